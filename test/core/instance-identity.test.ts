// Identity per data folder (instance-mac.ts) and the data folder's lock
// (data-dir-lock.ts): two instances on one host get two MACs and so two
// serials; a printer registered before this change keeps its MAC, serial and
// key; a second process on one folder is refused, a stale lock is taken over.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPolarEmulator } from '../../src/emulator/index.js';
import { deriveInstanceMac, isLocallyAdministered } from '../../src/identity/instance-mac.js';
import { DataDirLock, DataDirLockedError, LOCK_FILE } from '../../src/identity/data-dir-lock.js';
import { IdentityStore } from '../../src/identity/identity-store.js';
import { registerPrinter } from '../../src/polar/registration.js';
import { socketIoTransportFactory } from '../../src/polar/socketio-transport.js';
import { systemClock } from '../../src/util/clock.js';
import { LogCapture, TEST_MAC, eventually, makeController, makeDataDir } from '../helpers/bridge-setup.js';

test('the derived MAC is stable, locally administered unicast, and differs per folder and per host', () => {
  const a = deriveInstanceMac(TEST_MAC, '/home/pi/printer_data/polarcloud');
  assert.match(a, /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
  assert.equal(a, deriveInstanceMac(TEST_MAC.toUpperCase(), '/home/pi/printer_data/polarcloud/'), 'same host + folder, same MAC');
  assert.ok(isLocallyAdministered(a));
  const macs = new Set([a]);
  for (const dir of ['/home/pi/printer_2_data/polarcloud', '/home/pi/printer_3_data/polarcloud', '/home/pi/printer_bench_data/polarcloud']) macs.add(deriveInstanceMac(TEST_MAC, dir));
  macs.add(deriveInstanceMac('b8:27:eb:00:00:01', '/home/pi/printer_data/polarcloud'));
  assert.equal(macs.size, 5);
  for (const m of macs) assert.ok(isLocallyAdministered(m), m);
  assert.ok(!isLocallyAdministered(TEST_MAC));
});

test("a printer registered with today's identity file keeps its serial, key and MAC; a new instance beside it gets its own", async () => {
  const emu = await startPolarEmulator();
  const log = new LogCapture();
  const oldDir = await makeDataDir();
  try {
    // What the previous version left behind: registered with the host's MAC.
    const identity = new IdentityStore(oldDir);
    await identity.load();
    const reg = await registerPrinter(
      { serverUrl: emu.url, identity, transportFactory: socketIoTransportFactory, clock: systemClock, log: log.logger, mfg: 'kl', mac: TEST_MAC, replyTimeoutMs: 5000 },
      'a@b.example',
      '1234',
    );
    const fileBefore = JSON.parse(await readFile(join(oldDir, 'identity.json'), 'utf8')) as Record<string, unknown>;
    assert.deepEqual(Object.keys(fileBefore).sort(), ['mac', 'registeredAt', 'serialNumber', 'serverUrl']);
    assert.equal(fileBefore.mac, TEST_MAC);
    const keyBefore = await readFile(join(oldDir, 'private-key.pem'), 'utf8');

    const old = makeController(emu.url, oldDir, log);
    await old.start();
    await eventually(() => old.polar.online, 5000, 'the old printer online');
    assert.equal(old.polar.serialNumber, reg.serialNumber);
    assert.equal(emu.control.printer(reg.serialNumber)?.hello?.MAC, TEST_MAC, 'hello keeps the MAC it registered with');
    assert.equal(await readFile(join(oldDir, 'private-key.pem'), 'utf8'), keyBefore);
    assert.deepEqual(JSON.parse(await readFile(join(oldDir, 'identity.json'), 'utf8')), fileBefore, 'identity file untouched');

    // A second instance on the same host: its own MAC, so its own serial; the first stays online with its key.
    const firstKey = emu.control.printer(reg.serialNumber)?.publicKey;
    assert.ok(firstKey);
    const newDir = await makeDataDir();
    const second = makeController(emu.url, newDir, log);
    const reg2 = await second.register('a@b.example', '1234');
    assert.notEqual(reg2.serialNumber, reg.serialNumber);
    await second.start();
    await eventually(() => second.polar.online, 5000, 'the new printer online');
    assert.equal(emu.control.printer(reg.serialNumber)?.publicKey, firstKey, "the second registration did not replace the first printer's key");
    assert.ok(emu.control.printer(reg.serialNumber)?.authenticated, 'the first printer is still online');
    assert.equal(emu.control.events().filter((e) => e.kind === 'in' && e.name === 'register').length, 2, 'the old printer never registered again');
    await second.stop();
    await old.stop();
  } finally {
    await emu.stop();
  }
});

test('a second process on the same data folder is refused with the holder PID; a stale lock is taken over', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'pc-lock-'));
  const first = new DataDirLock(dir);
  await first.acquire();
  const second = new DataDirLock(dir);
  await assert.rejects(second.acquire(), (err: unknown) => {
    assert.ok(err instanceof DataDirLockedError);
    assert.match(err.message, new RegExp(`^${dir} is in use by another moonraker-polarcloud process \\(PID ${process.pid}\\)`));
    return true;
  });
  await first.release();
  await second.acquire();
  assert.equal((await readFile(join(dir, LOCK_FILE), 'utf8')).split(' ')[0], String(process.pid));
  await second.release();

  // A dead PID (a process that has exited) and a lock from an earlier boot are stale.
  const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  const deadPid = Number(dead.stdout);
  assert.ok(deadPid > 0);
  await writeFile(join(dir, LOCK_FILE), `${deadPid} \n`);
  const third = new DataDirLock(dir);
  await third.acquire();
  await third.release();
  await writeFile(join(dir, LOCK_FILE), `${process.pid} 00000000-0000-0000-0000-000000000000\n`);
  const fourth = new DataDirLock(dir);
  await fourth.acquire();
  assert.ok(fourth.isHeld, 'a lock written before the last reboot (PIDs repeat) is stale');
  await fourth.release();
});

test('two controllers on one data folder: the second start is refused and does not go online', async () => {
  const emu = await startPolarEmulator();
  const dir = await makeDataDir();
  const log = new LogCapture();
  try {
    const a = makeController(emu.url, dir, log);
    await a.register('a@b.example', '1234');
    await a.start();
    await eventually(() => a.polar.online, 5000, 'online');
    const b = makeController(emu.url, dir, log);
    await assert.rejects(b.start(), DataDirLockedError);
    await assert.rejects(b.register('a@b.example', '1234'), DataDirLockedError);
    assert.equal(b.polar.state, 'stopped');
    assert.equal(emu.control.events().filter((e) => e.kind === 'in' && e.name === 'hello').length, 1);
    await a.stop();
    await b.start();
    await eventually(() => b.polar.online, 5000, 'the second one online once the first stopped');
    await b.stop();
  } finally {
    await emu.stop();
  }
});
