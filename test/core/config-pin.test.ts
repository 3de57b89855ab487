// polar.pin: read as written (leading zeros kept, quoted or not), and removed
// after registration by deleting exactly its line — through a symlink, keeping
// the file's mode — so the installed template's comments stay where they were.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, lstat, mkdir, mkdtemp, realpath, readFile, readlink, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig, loadConfig } from '../../src/config.js';
import { removePinFromConfig, withoutPinLine } from '../../src/config-pin.js';
import { Controller } from '../../src/controller.js';
import { startPolarEmulator } from '../../src/emulator/index.js';
import { Backoff } from '../../src/util/backoff.js';
import { systemClock } from '../../src/util/clock.js';
import { socketIoTransportFactory } from '../../src/polar/socketio-transport.js';
import { LogCapture, eventually, fixedNet } from '../helpers/bridge-setup.js';

const TEMPLATE = new URL('../../../moonraker-bridge/install/polarcloud.yaml.template', import.meta.url).pathname;

async function tmp(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'pc-pin-'));
}

/** The config as install.sh writes it (placeholders filled) for a printer_data under `dir`. */
async function installedConfig(dir: string, moonrakerUrl = 'http://127.0.0.1:7125'): Promise<string> {
  const t = await readFile(TEMPLATE, 'utf8');
  return t
    .replaceAll('@REPO@', '/home/pi/moonraker-polarcloud')
    .replaceAll('@CONFIG_FILE@', join(dir, 'config/polarcloud.yaml'))
    .replaceAll('@DATA_DIR@', `'${join(dir, 'polarcloud')}'`)
    .replaceAll('@MOONRAKER_URL@', `'${moonrakerUrl}'`)
    .replaceAll('@LOG_FILE@', `'${join(dir, 'logs/moonraker-polarcloud.log')}'`);
}

for (const [written, expected] of [
  ['0123', '0123'],
  ["'0123'", '0123'],
  ['"0123"', '0123'],
  ['1234', '1234'],
  ['0x1F', '0x1F'],
  ['00', '00'],
  ['abc9', 'abc9'],
  ['0123   # my PIN', '0123'],
] as const) {
  test(`polar.pin: ${written} is read as '${expected}'`, () => {
    const { config } = parseConfig(`polar:\n  email: a@b.example\n  pin: ${written}\n`, undefined);
    assert.equal(config.polar.pin, expected);
  });
}

test('installed template + polar.email/pin at the end: registration (unquoted 0123) removes exactly the pin line', async () => {
  const emu = await startPolarEmulator({ accounts: [{ email: 'lab@school.example', pin: '0123' }] });
  const dir = await tmp();
  const file = join(dir, 'polarcloud.yaml');
  const withoutPin = (await installedConfig(dir)) + `\npolar:\n  server_url: ${emu.url}\n  email: lab@school.example\n`;
  const original = withoutPin + '  pin: 0123\n';
  await writeFile(file, original);
  await chmod(file, 0o640);
  const log = new LogCapture();
  const c = new Controller({
    config: (await loadConfig(file)).config,
    log: log.logger,
    clock: systemClock,
    transportFactory: socketIoTransportFactory,
    netSource: fixedNet,
    polarBackoff: new Backoff({ initialMs: 20, maxMs: 200 }),
    identityPollMs: 50,
    withMoonraker: false,
  });
  try {
    // Cloud-only controller: the console feature is not started, so run its registration path directly.
    const cfg = (await loadConfig(file)).config;
    assert.equal(cfg.polar.pin, '0123', 'the leading zero survives YAML');
    const r = await c.register(cfg.polar.email!, cfg.polar.pin!);
    assert.ok(r.serialNumber);
    const removal = await removePinFromConfig(file);
    assert.deepEqual(removal, { removed: true, file: await realpath(file) });
    assert.equal(await readFile(file, 'utf8'), withoutPin, 'byte for byte: the original minus the pin line');
    assert.equal((await stat(file)).mode & 0o777, 0o640, 'mode kept');
  } finally {
    await c.stop();
    await emu.stop();
    await rm(dir, { recursive: true, force: true });
  }
});

test('the running bridge registers from the config and leaves the file byte-identical minus the pin line', async () => {
  const { startMoonrakerSimulator } = await import('../../src/simulator/index.js');
  const emu = await startPolarEmulator({ accounts: [{ email: 'lab@school.example', pin: '0123' }] });
  const sim = await startMoonrakerSimulator({ temperatureNoise: false });
  const dir = await tmp();
  const real = join(dir, 'real', 'polarcloud.yaml');
  const link = join(dir, 'polarcloud.yaml');
  await mkdir(join(dir, 'real'));
  // What a user does after install: camera off, and polar.email/pin added at the end.
  const base = (await installedConfig(dir, sim.url)) + `camera:\n  enabled: false\n\npolar:\n  server_url: ${emu.url}\n  email: lab@school.example\n`;
  const original = base + '  pin: 0123   # from the account page\n';
  await writeFile(real, original);
  await chmod(real, 0o600);
  await symlink(real, link);
  const log = new LogCapture();
  const c = new Controller({
    config: (await loadConfig(link)).config,
    log: log.logger,
    clock: systemClock,
    transportFactory: socketIoTransportFactory,
    netSource: fixedNet,
    polarBackoff: new Backoff({ initialMs: 20, maxMs: 200 }),
    moonrakerBackoff: new Backoff({ initialMs: 20, maxMs: 200 }),
    identityPollMs: 50,
  });
  try {
    await c.start();
    await eventually(() => c.polar.online, 15_000, 'online after registering from the config');
    await eventually(async () => !(await readFile(real, 'utf8')).includes('pin:'), 5000, 'PIN removed');
    assert.ok((await lstat(link)).isSymbolicLink(), 'the config is still a symlink');
    assert.equal(await readlink(link), real);
    assert.equal(await readFile(real, 'utf8'), base, 'the target is the original minus the pin line, byte for byte');
    assert.equal((await stat(real)).mode & 0o777, 0o600, 'mode kept');
    assert.ok(!log.lines().some((l) => l.includes('0123')), 'the PIN is never logged');
  } finally {
    await c.stop();
    await sim.stop();
    await emu.stop();
    await rm(dir, { recursive: true, force: true });
  }
});

test('a PIN that is not on a line of its own is left in place with a reason (never a rewrite of the file)', async () => {
  const dir = await tmp();
  const file = join(dir, 'c.yaml');
  const text = '# x\npolar: {email: a@b.example, pin: 1234}\n# camera:\n';
  await writeFile(file, text);
  try {
    const r = await removePinFromConfig(file);
    assert.equal(r.removed, false);
    assert.match((r as { reason: string }).reason, /delete it by hand/);
    assert.equal(await readFile(file, 'utf8'), text);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('withoutPinLine keeps CRLF files, comments and the other polar keys', () => {
  const text = '# top\r\npolar:\r\n  # the account\r\n  email: a@b.example\r\n  pin: "0042"\r\n  mfg: kl\r\n# slicer:\r\n';
  assert.equal(withoutPinLine(text), '# top\r\npolar:\r\n  # the account\r\n  email: a@b.example\r\n  mfg: kl\r\n# slicer:\r\n');
});
