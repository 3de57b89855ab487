// One checkout serves every printer on the host: when an update through one
// printer's Moonraker replaces dist/polarcloud.mjs, the other printers'
// services restart themselves (under systemd) once idle; run by hand, the
// bridge only says so.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { appendFile, cp, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPolarEmulator } from '../../src/emulator/index.js';
import { startMoonrakerSimulator } from '../../src/simulator/index.js';
import { eventually } from '../helpers/bridge-setup.js';

// The bundle is split (dist/polarcloud.mjs + dist/chunks/): copy the whole folder.
const DIST = new URL('../../../dist', import.meta.url).pathname;

test('an updated bundle restarts an idle service under systemd; by hand it only warns', { timeout: 90_000 }, async () => {
  const emu = await startPolarEmulator();
  // One Moonraker per printer (Moonraker accepts one agent of a name).
  const sims = [await startMoonrakerSimulator(), await startMoonrakerSimulator()];
  const work = await mkdtemp(join(tmpdir(), 'pc-bundle-update-'));
  try {
    await cp(DIST, join(work, 'dist'), { recursive: true });
    const bundle = join(work, 'dist/polarcloud.mjs');
    const start = async (name: string, sim: (typeof sims)[number], env: Record<string, string>): Promise<{ exit: Promise<number | null>; err: () => string; kill: () => void }> => {
      const cfg = join(work, `${name}.yaml`);
      await writeFile(cfg, `data_dir: ${join(work, name)}\npolar:\n  server_url: ${emu.url}\nmoonraker:\n  url: ${sim.url}\ncamera:\n  enabled: false\n`);
      const env2: NodeJS.ProcessEnv = { ...process.env, ...env };
      if (!('INVOCATION_ID' in env)) delete env2.INVOCATION_ID;
      const child = spawn(process.execPath, [bundle, 'run', '--config', cfg], { stdio: ['ignore', 'ignore', 'pipe'], env: env2 });
      let err = '';
      child.stderr.setEncoding('utf8').on('data', (s: string) => (err += s));
      return { exit: once(child, 'exit').then(([code]) => code as number | null), err: () => err, kill: () => child.kill('SIGKILL') };
    };
    const underSystemd = await start('a', sims[0]!, { INVOCATION_ID: 'test' });
    const byHand = await start('b', sims[1]!, {});
    try {
      await eventually(() => underSystemd.err().includes('printer link: klippy_ready') && byHand.err().includes('printer link: klippy_ready'), 30_000, 'both bridges talking to the printer').catch((e: Error) => { throw new Error(`${e.message}\n${underSystemd.err()}\n---\n${byHand.err()}`); });
      await appendFile(bundle, '\n// a newer version\n');
      const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no restart within 30 s:\n${underSystemd.err()}`)), 30_000).unref());
      assert.equal(await Promise.race([underSystemd.exit, timeout]), 0, underSystemd.err());
      assert.match(underSystemd.err(), /dist\/polarcloud\.mjs was updated \(one checkout serves every printer on this host\): restarting to run the new version/);
      await eventually(() => byHand.err().includes('was updated; restart this bridge to run the new version'), 20_000, 'the warning');
    } finally {
      underSystemd.kill();
      byHand.kill();
    }
  } finally {
    for (const sim of sims) await sim.stop();
    await emu.stop();
  }
});

test('while the printer prints (or a cloud job is on its way) the restart waits until it is idle', async () => {
  const { BundleWatch } = await import('../../src/cli/bundle-watch.js');
  const { LogCapture } = await import('../helpers/bridge-setup.js');
  const dir = await mkdtemp(join(tmpdir(), 'pc-bundle-idle-'));
  const file = join(dir, 'polarcloud.mjs');
  await writeFile(file, '// v1\n');
  let state = 'printing';
  let pendingCloud: object | null = null;
  const printerAndJobs = {
    printer: { snapshot: () => ({ print_stats: { state } }) },
    jobs: { get pendingCloud() { return pendingCloud; } },
  } as unknown as ConstructorParameters<typeof BundleWatch>[1];
  const log = new LogCapture();
  let restarted = 0;
  const w = new BundleWatch(file, printerAndJobs, log.logger, () => restarted++, true, { settleMs: 50, idleCheckMs: 50 });
  await w.start();
  try {
    await writeFile(file, '// v2\n');
    await eventually(() => log.has(/was updated; restarting once the printer is idle/), 5000, 'the deferral');
    assert.equal(restarted, 0);
    state = 'complete';
    pendingCloud = { jobId: 'J1' }; // a cloud job on its way still holds it
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(restarted, 0);
    pendingCloud = null;
    await eventually(() => restarted === 1, 5000, 'the restart once idle');
  } finally {
    w.stop();
  }
});
