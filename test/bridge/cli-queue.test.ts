// `polarcloud queue` from the shipped bundle: a short authenticated connection
// that prints the printer's cloud queue.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { startPolarEmulator } from '../../src/emulator/index.js';
import { LogCapture, makeController, makeDataDir } from '../helpers/bridge-setup.js';

const run = promisify(execFile);

test('polarcloud queue lists the cloud queue (text and --json)', async () => {
  const emu = await startPolarEmulator();
  try {
    const dataDir = await makeDataDir();
    const c = makeController(emu.url, dataDir, new LogCapture());
    const { serialNumber } = await c.register('a@b.example', '1234');
    await c.stop();
    emu.control.addJob(serialNumber, { jobName: 'Calibration cube' });
    emu.control.addJob(serialNumber, { jobName: 'Benchy' });
    const configFile = join(dirname(dataDir), 'polarcloud.yaml');
    await writeFile(configFile, `data_dir: ${dataDir}\npolar:\n  server_url: ${emu.url}\n  reply_timeout: 5\n`);
    const text = await run(process.execPath, ['dist/polarcloud.mjs', 'queue', '--config', configFile, '--log-level', 'warn']);
    assert.match(text.stdout, new RegExp(`2 job\\(s\\) in the Polar Cloud queue of ${serialNumber}`));
    assert.match(text.stdout, /1\. Calibration cube/);
    assert.match(text.stdout, /2\. Benchy/);
    const json = await run(process.execPath, ['dist/polarcloud.mjs', 'queue', '--config', configFile, '--json', '--log-level', 'warn']);
    const parsed = JSON.parse(json.stdout) as { totalCount: number; jobs: Array<{ jobName: string }> };
    assert.equal(parsed.totalCount, 2);
    assert.deepEqual(parsed.jobs.map((j) => j.jobName), ['Calibration cube', 'Benchy']);
  } finally {
    await emu.stop();
  }
});
