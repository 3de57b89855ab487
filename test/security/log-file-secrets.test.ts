// The shipped bundle, run as the service runs it (log file, debug level, wire
// log on), with a Moonraker that needs an API key: a console registration
// (POLAR_REGISTER → remote method with the PIN) must leave neither the PIN nor
// moonraker.api_key in the log file — which sits in printer_data/logs, a
// folder Moonraker serves to every LAN client.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPolarEmulator } from '../../src/emulator/index.js';
import { startMoonrakerSimulator } from '../../src/simulator/index.js';
import { BundleProcess } from '../helpers/bundle-process.js';
import { eventually } from '../helpers/bridge-setup.js';

const PIN = 'Q7x0123z';
const API_KEY = 'MoonKey5ecret9f3a7c1d';
const EMAIL = 'lab@school.example';

test('full run, wire log on: a console registration leaves no PIN and no Moonraker API key in the log file', { timeout: 90_000 }, async () => {
  const emu = await startPolarEmulator({ accounts: [{ email: EMAIL, pin: PIN }] });
  const sim = await startMoonrakerSimulator({ apiKey: API_KEY, temperatureNoise: false });
  const work = await mkdtemp(join(tmpdir(), 'pc-logsecrets-'));
  const logFile = join(work, 'logs', 'moonraker-polarcloud.log');
  const configFile = join(work, 'polarcloud.yaml');
  await writeFile(
    configFile,
    `data_dir: ${join(work, 'data')}\nlog:\n  level: debug\n  wire: true\n  file: ${logFile}\npolar:\n  server_url: ${emu.url}\n  reply_timeout: 10\nmoonraker:\n  url: ${sim.url}\n  api_key: ${API_KEY}\ncamera:\n  enabled: false\n`,
  );
  const bridge = new BundleProcess(configFile, 'log-secrets');
  try {
    const logText = async (): Promise<string> => (await readFile(logFile, 'utf8').catch(() => ''));
    // The remote method can be called once the bridge has identified (with the key) and registered its methods.
    await eventually(async () => /printer link: klippy_ready/.test(await logText()), 30_000, 'bridge connected to Moonraker');
    await eventually(() => sim.control.callRemoteMethod('polarcloud_register', { email: EMAIL, pin: PIN }), 10_000, 'remote method delivered');
    await eventually(async () => /registered: serial number \S+/.test(await logText()), 30_000, 'registered from the console');
    await eventually(async () => /\] → hello /.test(await logText()), 30_000, 'hello after registering');

    const text = await logText();
    assert.match(text, /polarcloud_register/, 'the wire log shows the remote method call');
    assert.match(text, /server\.connection\.identify/, 'the wire log shows the identify call');
    assert.ok(!text.includes(PIN), 'the PIN is not in the log file');
    assert.ok(!text.includes(API_KEY), 'the Moonraker API key is not in the log file');
    assert.ok(!text.includes('PRIVATE KEY'), 'no private key in the log file');
    for (const line of text.split('\n').filter(Boolean)) assert.match(line, /^\d{4}-\d\d-\d\dT[\d:.]+Z /, `every line is a record: ${line}`);
  } catch (err) {
    (err as Error).message += `\n${bridge.describe()}`;
    throw err;
  } finally {
    await bridge.kill();
    await sim.stop();
    await emu.stop();
    await rm(work, { recursive: true, force: true });
  }
});
