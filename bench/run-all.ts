// `npm run bench`: runs every compiled benchmark in build/bench one after the
// other (each in its own process, so memory figures do not mix) and lets each
// print its rows. BENCH_FILTER=name runs only matching ones.
import { readdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const skip = new Set(['run-all.js', 'stats.js']);
const filter = process.env.BENCH_FILTER;
const benches = readdirSync(here)
  .filter((f) => f.endsWith('.js') && !skip.has(f) && (!filter || f.includes(filter)))
  .sort();
let failed = 0;
for (const b of benches) {
  process.stdout.write(`\n## ${b.replace(/\.js$/, '')}\n`);
  const res = spawnSync(process.execPath, ['--expose-gc', join(here, b)], { stdio: 'inherit' });
  if (res.status !== 0) failed++;
}
process.exit(failed ? 1 : 0);
