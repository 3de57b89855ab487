// Runs every compiled test file with node's built-in runner. Files are listed
// explicitly because node 18 and node 22 disagree on directory/glob arguments.
// Extra arguments are passed to `node --test` (e.g. --test-name-pattern=...).
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

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
const files = collect('build/test').filter((f) => !only || f.includes(only));
if (files.length === 0) {
  console.error('run-tests: no test files found under build/test');
  process.exit(1);
}
const res = spawnSync(process.execPath, ['--enable-source-maps', '--test', ...process.argv.slice(2), ...files], {
  stdio: 'inherit',
});
process.exit(res.status ?? 1);
