// Console macros (remote methods answered with RESPOND), front-end extension
// methods, and registration from the config file (PIN removed afterwards).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Bridge, eventually } from './bridge-harness.js';
import { startPolarEmulator } from '../../src/emulator/index.js';
import { startMoonrakerSimulator } from '../../src/simulator/index.js';
import { loadConfig } from '../../src/config.js';
import { Controller } from '../../src/controller.js';
import { Backoff } from '../../src/util/backoff.js';
import { systemClock } from '../../src/util/clock.js';
import { socketIoTransportFactory } from '../../src/polar/socketio-transport.js';
import { LogCapture, fixedNet } from '../helpers/bridge-setup.js';

async function extension(sim: string, method: string, args: Record<string, unknown> = {}): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${sim}/server/extensions/request`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ agent: 'moonraker-polarcloud', method, arguments: args }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

test('POLAR_STATUS answers in the console; a bad POLAR_REGISTER gets an error line; front-ends read status', async () => {
  const b = await Bridge.start();
  try {
    const g0 = b.sim.control.gcodeLog().length;
    assert.ok(b.sim.control.callRemoteMethod('polarcloud_status'));
    await eventually(() => b.gcodeSince(g0).some((l) => l.startsWith('RESPOND')), 5000, 'status answer');
    assert.match(b.gcodeSince(g0).find((l) => l.startsWith('RESPOND'))!, new RegExp(`^RESPOND TYPE=echo MSG="Polar Cloud: printer ${b.serial}, Polar Cloud online`));

    const g1 = b.sim.control.gcodeLog().length;
    b.sim.control.callRemoteMethod('polarcloud_register', { email: 'not-an-email', pin: '1234' });
    await eventually(() => b.gcodeSince(g1).some((l) => l.startsWith('RESPOND TYPE=error')), 5000, 'error answer');
    assert.match(b.gcodeSince(g1).join('\n'), /EMAIL must be the e-mail address/);

    const st = await extension(b.sim.url, 'status');
    assert.equal(st.status, 200);
    const result = st.body.result as { serialNumber: string; connection: string; printerLink: string };
    assert.equal(result.serialNumber, b.serial);
    assert.equal(result.connection, 'online');
    assert.equal(result.printerLink, 'klippy_ready');
    const bad = await extension(b.sim.url, 'register', { email: 'x' });
    assert.notEqual(bad.status, 200, 'an error, not a hang');
  } finally {
    await b.stop();
  }
});

test('polar.email + polar.pin in the config: registers at start and removes the PIN from the file, comments kept', async () => {
  const emu = await startPolarEmulator({ accounts: [{ email: 'lab@school.example', pin: '9876' }] });
  const sim = await startMoonrakerSimulator({ temperatureNoise: false });
  const dir = await mkdtemp(join(tmpdir(), 'pc-cfgreg-'));
  const file = join(dir, 'polarcloud.yaml');
  await writeFile(file, `# my printer\ndata_dir: ${join(dir, 'data')}\npolar:\n  server_url: ${emu.url}  # the lab's cloud\n  email: lab@school.example\n  pin: 9876\nmoonraker:\n  url: ${sim.url}\ncamera:\n  enabled: false\n`);
  const log = new LogCapture();
  const c = new Controller({
    config: (await loadConfig(file)).config,
    log: log.logger,
    clock: systemClock,
    transportFactory: socketIoTransportFactory,
    netSource: fixedNet,
    polarBackoff: new Backoff({ initialMs: 20, maxMs: 200 }),
    identityPollMs: 50,
  });
  try {
    await c.start();
    await eventually(() => c.polar.online, 10_000, 'online after registering from the config');
    await eventually(async () => !(await readFile(file, 'utf8')).includes('pin:'), 5000, 'PIN removed');
    const text = await readFile(file, 'utf8');
    assert.match(text, /# my printer/);
    assert.match(text, /# the lab's cloud/);
    assert.match(text, /email: lab@school\.example/);
    assert.ok(!log.lines().some((l) => l.includes('9876')), 'the PIN is never logged');
  } finally {
    await c.stop();
    await sim.stop();
    await emu.stop();
  }
});
