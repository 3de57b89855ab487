// `npm run bench`: runs every compiled benchmark in build/bench one after the
// other (each in its own process, so memory figures do not mix), lets each print
// its rows as it goes, and ends with one markdown table of every row of every
// benchmark (rows reach it through BENCH_ROWS, see printRow in stats.ts).
//
// Env knobs (a CLI flag of a bench, when run alone, wins over its env knob):
//   BENCH_FILTER=name        only the benchmarks whose file name contains `name`
//   BENCH_QUICK=1            smoke run, about 2 minutes in all: the small value in [] below;
//                            its figures are indicative only
//   BENCH_SAMPLES=200 [30]   bridge-latency, moonraker-delta-latency (--samples; ≥ 200 unless quick)
//   BENCH_SNAPSHOTS=20 [3]   camera: snapshots per resolution
//   BENCH_TIMELAPSE_RUNS=3 [1]            camera: encodes per frame count and side
//   BENCH_TIMELAPSE_FRAMES=300,3000 [300] camera: timelapse frame counts
//   BENCH_RELAY_SIZES=100,1024 [50]       cloud-print-relay: file sizes in MiB (--sizes)
//   BENCH_IDLE_SECONDS=600 [30]           idle: sampling window after the 10 s warm-up
//   BENCH_PRINTING_SECONDS=120 [30]       idle: then a local print watched this long (CPU while printing)
//   BENCH_NODE_ARGS="..."                 idle: node flags for the bridge instead of the systemd unit's
//   BENCH_KEYS=20 [5], BENCH_STARTS=50 [10]  polar-startup: key generations, bridge starts
//   BENCH_UPLOAD_MB=200 [50]              upload-200mb: file size (--mb)
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

interface Row {
  name: string;
  fields: Record<string, string>;
}

interface Result {
  bench: string;
  rows: Row[];
  /** null: exited 0. */
  failure: string | null;
  seconds: number;
}

const here = dirname(fileURLToPath(import.meta.url));
const skip = new Set(['run-all.js', 'stats.js']);
// The soak (soak.js, ~24 real minutes, with its own verdict) runs on demand only; soak-*.js are its modules.
const onDemand = /^soak/;
const filter = process.env.BENCH_FILTER;
const benches = readdirSync(here)
  .filter((f) => f.endsWith('.js') && !skip.has(f) && !onDemand.test(f) && (!filter || f.includes(filter)))
  .sort();
const rowsDir = mkdtempSync(join(tmpdir(), 'bench-rows-'));

function readRows(file: string): Row[] {
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return []; // the bench printed no row
  }
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Row);
}

const results: Result[] = [];
try {
  for (const b of benches) {
    const bench = b.replace(/\.js$/, '');
    process.stdout.write(`\n## ${bench}\n`);
    const rowsFile = join(rowsDir, `${bench}.jsonl`);
    const t0 = performance.now();
    // stdio inherited: the bench's output streams to the terminal unchanged.
    const res = spawnSync(process.execPath, ['--expose-gc', join(here, b)], { stdio: 'inherit', env: { ...process.env, BENCH_ROWS: rowsFile } });
    const failure = res.error ? `did not run (${res.error.message})` : res.status === 0 ? null : res.signal ? `killed by ${res.signal}` : `exit code ${res.status}`;
    results.push({ bench, rows: readRows(rowsFile), failure, seconds: (performance.now() - t0) / 1000 });
  }
} finally {
  rmSync(rowsDir, { recursive: true, force: true });
}

const cell = (s: string): string => s.replace(/\|/g, '\\|');
// Indented names are sub-rows of the row above; markdown drops the indent, so mark them.
const measure = (name: string): string => (/^\s/.test(name) ? `… ${name.trim()}` : name);
const quick = process.env.BENCH_QUICK === '1';
const lines = [
  '',
  `## all benchmarks${quick ? ' (BENCH_QUICK=1: small sizes, figures indicative only)' : ''}, node ${process.version}`,
  '',
  '| benchmark | measure | figures |',
  '|---|---|---|',
];
for (const r of results) {
  if (r.failure) lines.push(`| ${r.bench} | **FAILED** (${cell(r.failure)}) | ${r.rows.length} row(s) before the failure |`);
  else if (r.rows.length === 0) lines.push(`| ${r.bench} | (no rows) | |`);
  for (const row of r.rows) {
    const figures = Object.entries(row.fields).map(([k, v]) => `${k}=${v}`).join(' ');
    lines.push(`| ${r.bench} | ${cell(measure(row.name))} | ${cell(figures)} |`);
  }
}
lines.push('', `took: ${results.map((r) => `${r.bench} ${Math.round(r.seconds)} s`).join(', ')}`);
process.stdout.write(results.length ? lines.join('\n') + '\n' : `no benchmark matches BENCH_FILTER=${filter ?? ''}\n`);
process.exit(results.some((r) => r.failure) ? 1 : 0);
