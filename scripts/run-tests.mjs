// Runs every compiled test file with node's built-in runner, several files at
// a time. Node 18.19's `node --test` runs files one after another on a 2-core
// machine (its concurrency is cores - 1) and has no --test-concurrency flag,
// and most of our integration tests spend their time waiting on loopback
// sockets rather than on the CPU, so we start one `node --test` per file
// ourselves, TEST_JOBS at a time (default: 2 per core, at least 3). Each
// file's output is printed whole when it finishes so reports do not
// interleave. Files are listed explicitly because node 18 and node 22
// disagree on directory/glob arguments.
// Extra arguments are passed to `node --test` (e.g. --test-name-pattern=...).
// A file that fails in the parallel pass is run once more alone and, if it passes, named as
// FLAKY in the summary (TEST_RETRY=0 turns that off).
// TEST_FILTER=<substring> runs only matching files; TEST_JOBS=1 runs serially;
// TEST_ROOT=<dir> runs the tests compiled into another directory (default build).
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { cpus } from 'node:os';

function collect(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const full = join(dir, name);
    if (statSync(full).isDirectory()) out.push(...collect(full));
    else if (name.endsWith('.test.js')) out.push(full);
  }
  return out;
}

const only = process.env.TEST_FILTER;
const root = process.env.TEST_ROOT || 'build';
const files = collect(join(root, 'test')).filter((f) => !only || f.includes(only));
if (files.length === 0) {
  console.error(`run-tests: no test files found under ${root}/test`);
  process.exit(1);
}
// Longest first keeps the tail short; compiled size is a fair proxy for run time.
files.sort((a, b) => statSync(b).size - statSync(a).size);

const jobs = Math.max(1, Number(process.env.TEST_JOBS) || Math.max(3, cpus().length * 2));
const extra = process.argv.slice(2);
const started = Date.now();
const failed = [];
let totals = { tests: 0, pass: 0, fail: 0, skipped: 0 };

/** The counts of one file's run, from the "# tests N" style summary lines (spec reporter: "ℹ"). */
function countsOf(text) {
  const counts = { tests: 0, pass: 0, fail: 0, skipped: 0 };
  for (const key of Object.keys(counts)) {
    const m = new RegExp(`^(?:ℹ|#) ${key} (\\d+)$`, 'm').exec(text);
    if (m) counts[key] = Number(m[1]);
  }
  return counts;
}
/** Per file, the counts of its last run (a retried file counts once). */
const perFile = new Map();

function runOne(file) {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const child = spawn(process.execPath, ['--enable-source-maps', '--test', ...extra, file], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, FORCE_COLOR: '0', NO_COLOR: '1' },
    });
    const chunks = [];
    child.stdout.on('data', (c) => chunks.push(c));
    child.stderr.on('data', (c) => chunks.push(c));
    child.on('close', (code, signal) => {
      const text = Buffer.concat(chunks).toString('utf8');
      const secs = ((Date.now() - t0) / 1000).toFixed(1);
      const ok = code === 0;
      perFile.set(file, countsOf(text));
      if (!ok) failed.push(file);
      process.stdout.write(`\n=== ${ok ? 'ok  ' : 'FAIL'} ${file} (${secs} s)${signal ? ` signal ${signal}` : ''}\n${text}`);
      resolve();
    });
  });
}

const queue = [...files];
async function worker() {
  for (let file = queue.shift(); file; file = queue.shift()) await runOne(file);
}
await Promise.all(Array.from({ length: Math.min(jobs, files.length) }, worker));

// A file that failed in the parallel pass runs once more on its own (TEST_RETRY=0: never). A pass
// on retry is reported as flaky by name, so timing-dependent tests stay visible and get fixed.
const flaky = [];
if (failed.length > 0 && process.env.TEST_RETRY !== '0') {
  const again = failed.splice(0);
  console.log(`\n=== retrying alone: ${again.join(', ')}`);
  for (const file of again) {
    await runOne(file);
    if (!failed.includes(file)) flaky.push(file);
  }
}
for (const c of perFile.values()) for (const key of Object.keys(totals)) totals[key] += c[key];

const secs = ((Date.now() - started) / 1000).toFixed(1);
console.log(
  `\n=== ${files.length} files, ${totals.tests} tests: ${totals.pass} passed, ${totals.fail} failed, ` +
    `${totals.skipped} skipped; ${jobs} at a time, ${secs} s`,
);
if (flaky.length > 0) console.log(`=== FLAKY (failed in the parallel pass, passed alone):\n${flaky.map((f) => `  ${f}`).join('\n')}`);
if (failed.length > 0) {
  console.log(`=== failing files:\n${failed.map((f) => `  ${f}`).join('\n')}`);
  process.exit(1);
}
