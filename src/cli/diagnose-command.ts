// `polarcloud diagnose`: writes the diagnostics archive (see
// src/diagnostics/bundle.ts) and prints each live check. Safe beside the
// running service: it only reads, and opens one short Polar Cloud socket.
import { resolve } from 'node:path';
import type { Config } from '../config.js';
import type { Logger } from '../util/log.js';
import { writeDiagnostics } from '../diagnostics/bundle.js';

export async function diagnoseCommand(config: Config, _log: Logger, outDir: string | undefined): Promise<number> {
  process.stdout.write('Running checks (up to 10 s)...\n');
  const r = await writeDiagnostics(config, { outDir: outDir ? resolve(outDir) : undefined });
  for (const c of r.checks) process.stdout.write(`  ${c.ok === true ? 'PASS' : c.ok === false ? 'FAIL' : 'SKIP'}  ${c.name.padEnd(18)} ${c.detail}\n`);
  process.stdout.write(`Diagnostics written to ${r.path}\n`);
  process.stdout.write(r.failed.length ? `${r.failed.length} check(s) failed: ${r.failed.map((c) => c.name).join(', ')}\n` : 'All checks passed.\n');
  // The archive was written either way; a failed check is the answer, not an error of this command.
  return 0;
}
