// data_dir (the private key's folder) is never served by Moonraker: refused when
// it is inside one of Moonraker's roots or contains one — by Moonraker's own
// list of roots (server.files.roots) once connected, by folder names before.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseConfig, ConfigError } from '../../src/config.js';
import { servedFolderProblem } from '../../src/features/served-folders.js';
import { startPolarEmulator } from '../../src/emulator/index.js';
import { startMoonrakerSimulator } from '../../src/simulator/index.js';
import { LogCapture, eventually, makeController, makeDataDir, moonrakerYaml } from '../helpers/bridge-setup.js';

const env = { HOME: '/home/pi' };

function refused(dataDir: string): string | undefined {
  try {
    parseConfig(`data_dir: ${dataDir}\n`, 'polarcloud.yaml', env);
    return undefined;
  } catch (err) {
    if (err instanceof ConfigError) return err.problems.join('\n');
    throw err;
  }
}

for (const dir of ['~/printer_voron_data/config/polarcloud', '~/printer_voron_data/config/', '~/klipper_config/', '~/klipper_config/polar', '~/gcode_files/x', '~/printer_data', '~/printer_2_data/', '~/printer_data/logs/pc']) {
  test(`before Moonraker answers, the folder-name check refuses data_dir ${dir}`, () => {
    assert.match(refused(dir) ?? 'accepted', /data_dir: .*served '[^']+' folder; the private key would be downloadable/);
  });
}

for (const dir of ['~/printer_data/polarcloud', '~/printer_voron_data/polarcloud', '~/polarcloud', '/var/lib/polarcloud']) {
  test(`data_dir ${dir} is accepted by the folder-name check`, () => {
    assert.equal(refused(dir), undefined);
  });
}

test("Moonraker's roots decide: inside a root, containing a root, or through a symlink", async () => {
  const base = await mkdtemp(join(tmpdir(), 'pc-roots-'));
  try {
    const pd = join(base, 'srv');
    const roots = ['config', 'gcodes', 'logs'].map((name) => ({ name, path: join(pd, name), permissions: 'rw' }));
    for (const r of roots) await mkdir(r.path, { recursive: true });
    await symlink(join(pd, 'config'), join(base, 'cfg-link'));
    assert.match(servedFolderProblem(join(pd, 'config', 'polarcloud'), roots)!, /inside Moonraker's served 'config' folder/);
    assert.match(servedFolderProblem(join(pd, 'gcodes'), roots)!, /inside Moonraker's served 'gcodes' folder/);
    assert.match(servedFolderProblem(pd, roots)!, /contains Moonraker's served 'config' folder/);
    assert.match(servedFolderProblem(base, roots)!, /contains/);
    assert.match(servedFolderProblem(join(base, 'cfg-link', 'pc'), roots)!, /inside Moonraker's served 'config'/, 'symlinks resolved');
    assert.equal(servedFolderProblem(join(pd, 'polarcloud'), roots), undefined);
    assert.equal(servedFolderProblem(join(pd, 'config-backup'), roots), undefined, 'a sibling with a common prefix is not inside');
  } finally {
    await rm(base, { recursive: true, force: true });
  }
});

async function roots(simUrl: string): Promise<Array<{ name: string; path: string }>> {
  const res = await fetch(`${simUrl}/server/files/roots`);
  return ((await res.json()) as { result: Array<{ name: string; path: string }> }).result;
}

for (const where of ['inside the config root', 'containing the roots'] as const) {
  test(`a running bridge whose data_dir is ${where} (names look harmless) stays off Polar Cloud`, async () => {
    const emu = await startPolarEmulator();
    const sim = await startMoonrakerSimulator({ temperatureNoise: false });
    const log = new LogCapture();
    const r = await roots(sim.url);
    const config = r.find((x) => x.name === 'config')!.path;
    const dataDir = where === 'inside the config root' ? join(config, 'polarcloud') : dirname(config);
    assert.equal(refused(dataDir), undefined, 'the folder-name check alone would accept it');
    const c = makeController(emu.url, dataDir, log, { extraYaml: moonrakerYaml(sim.url), withMoonraker: true });
    try {
      await c.register('a@b.example', '1234');
      await c.start();
      await eventually(() => log.lines().some((l) => /served '\w+' folder .*Not connecting to Polar Cloud/.test(l)), 10_000, 'refusal logged');
      assert.equal(c.polar.state, 'stopped');
      assert.ok(!emu.control.events().some((e) => e.kind === 'in' && e.name === 'hello'), 'no hello was sent');
    } finally {
      await c.stop();
      await sim.stop();
      await emu.stop();
    }
  });
}

test('a private data_dir goes online as before (the check answers, nothing refused)', async () => {
  const emu = await startPolarEmulator();
  const sim = await startMoonrakerSimulator({ temperatureNoise: false });
  const log = new LogCapture();
  const c = makeController(emu.url, await makeDataDir(), log, { extraYaml: moonrakerYaml(sim.url), withMoonraker: true });
  try {
    await c.register('a@b.example', '1234');
    await c.start();
    await eventually(() => c.polar.online, 10_000, 'online');
    assert.equal(c.servedFolders.problem, undefined);
    assert.ok(sim.control.rpcLog().some((x) => x.method === 'server.files.roots'), 'Moonraker was asked for its roots');
  } finally {
    await c.stop();
    await sim.stop();
    await emu.stop();
  }
});
