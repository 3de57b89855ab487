// The Polar client against the real emulator over loopback: registration,
// signed hello, reconnects, FAILED/DELETED handling, and inbound validation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { startPolarEmulator, type PolarEmulator } from '../../src/emulator/index.js';
import type { Controller } from '../../src/controller.js';
import { deriveInstanceMac } from '../../src/identity/instance-mac.js';
import { LogCapture, TEST_MAC, eventually, makeController, makeDataDir } from '../helpers/bridge-setup.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { toSpkiPem } from '../../src/identity/keys.js';

const ACCOUNT = { email: 'teacher@school.example', pin: '4321' };

async function withEmulator(fn: (emu: PolarEmulator) => Promise<void>): Promise<void> {
  const emu = await startPolarEmulator({ accounts: [ACCOUNT] });
  try {
    await fn(emu);
  } finally {
    await emu.stop();
  }
}

async function registeredBridge(emu: PolarEmulator, log = new LogCapture(), dataDir?: string): Promise<{ c: Controller; serial: string; dataDir: string; log: LogCapture }> {
  const dir = dataDir ?? (await makeDataDir());
  const c = makeController(emu.url, dir, log);
  const res = await c.register(ACCOUNT.email, ACCOUNT.pin);
  return { c, serial: res.serialNumber, dataDir: dir, log };
}

test('register, reconnect with the new identity, hello SUCCESS', async () => {
  await withEmulator(async (emu) => {
    const { c, serial, dataDir, log } = await registeredBridge(emu);
    try {
      assert.match(serial, /^KL\d{6}$/);
      await c.start();
      await eventually(() => c.polar.online, 5000, 'online');
      const p = emu.control.printer(serial);
      assert.ok(p?.authenticated);
      // Each data folder is its own printer: a MAC derived from the host's and the folder.
      assert.equal(p.mac, deriveInstanceMac(TEST_MAC, dataDir));
      assert.notEqual(p.mac, TEST_MAC);
      assert.equal(p.hello?.protocol, '2');
      assert.equal(p.hello?.MAC, p.mac);
      assert.equal(p.hello?.localIP, '192.168.1.50');
      assert.equal(typeof p.hello?.version, 'string');
      // Register, then disconnect, then a new connection with hello (protocol §1.1).
      const names = emu.control.events().filter((e) => e.kind === 'in').map((e) => e.name);
      assert.deepEqual(names, ['register', 'hello']);
      assert.deepEqual(emu.control.violations(), []);
      // The PIN is neither stored nor logged.
      const identity = await readFile(join(dataDir, 'identity.json'), 'utf8');
      assert.ok(!identity.includes(ACCOUNT.pin));
      assert.ok(!log.lines().some((l) => l.includes(ACCOUNT.pin)), 'PIN must not be logged');
      assert.equal((await stat(join(dataDir, 'private-key.pem'))).mode & 0o777, 0o600);
    } finally {
      await c.stop();
    }
  });
});

test('a restart with a stored identity says hello without registering again', async () => {
  await withEmulator(async (emu) => {
    const first = await registeredBridge(emu);
    await first.c.stop();
    const since = emu.control.lastSeq();
    const c2 = makeController(emu.url, first.dataDir, new LogCapture());
    try {
      await c2.start();
      await eventually(() => c2.polar.online, 5000, 'online after restart');
      const names = emu.control.events(since).filter((e) => e.kind === 'in').map((e) => e.name);
      assert.deepEqual(names, ['hello']);
      assert.equal(c2.polar.serialNumber, first.serial);
    } finally {
      await c2.stop();
    }
  });
});

test('hello FAILED backs off (never hot) and then succeeds', async () => {
  await withEmulator(async (emu) => {
    const dir = await makeDataDir();
    const log = new LogCapture();
    const clock = new FakeClock();
    await (await registeredBridge(emu, new LogCapture(), dir)).c.stop();
    emu.control.failNextHellos(2);
    const c = makeController(emu.url, dir, log, { clock, failedHelloDelayMs: 30_000 });
    try {
      await c.start();
      await eventually(() => c.polar.state === 'backoff', 5000, 'backoff after FAILED');
      const hellos = (): number => emu.control.events().filter((e) => e.kind === 'out' && e.name === 'helloResponse').length;
      const before = hellos();
      // Real time passes, fake time does not: no reconnect attempt happens.
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(hellos(), before);
      assert.ok((clock.nextDelay() ?? 0) >= 30_000, 'waits at least the FAILED delay');
      await clock.advance(30_000);
      await eventually(() => hellos() === before + 1 && c.polar.state === 'backoff', 5000, 'second FAILED');
      await clock.advance(30_000);
      await eventually(() => c.polar.online, 5000, 'online after the failures');
      assert.ok(log.has(/hello rejected/, 'warn'), log.lines().join('\n'));
    } finally {
      await c.stop();
    }
  });
});

test('a hello the cloud never answers times out (reply_timeout), then the bridge reconnects and gets online', async () => {
  await withEmulator(async (emu) => {
    const dir = await makeDataDir();
    const log = new LogCapture();
    const clock = new FakeClock();
    await (await registeredBridge(emu, new LogCapture(), dir)).c.stop();
    emu.control.ignoreNextHellos(1);
    const c = makeController(emu.url, dir, log, { clock });
    try {
      const hellos = (): number => emu.control.events().filter((e) => e.kind === 'in' && e.name === 'hello').length;
      const before = hellos();
      await c.start();
      await eventually(() => hellos() === before + 1 && c.polar.state === 'authenticating', 5000, 'hello sent, no answer');
      // Real time passes, fake time does not: the bridge keeps waiting without a timeout.
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(c.polar.state, 'authenticating');
      await clock.advance(4_999);
      assert.equal(c.polar.state, 'authenticating', 'not before reply_timeout (5 s in these tests)');
      await clock.advance(1);
      assert.equal(c.polar.state, 'backoff');
      assert.ok(log.has(/no answer to hello from Polar Cloud within 5 s/, 'warn'), log.lines().join('\n'));
      await clock.advance(clock.nextDelay() ?? 0);
      await eventually(() => c.polar.online, 5000, 'online with the next connection');
      assert.equal(hellos(), before + 2);
      // Online: the timer is gone, so fake time passing changes nothing.
      await clock.advance(60_000);
      assert.ok(c.polar.online);
    } finally {
      await c.stop();
    }
  });
});

test('DELETED at hello: the serial is forgotten, the key kept, no automatic re-registration', async () => {
  await withEmulator(async (emu) => {
    const { c: first, serial, dataDir } = await registeredBridge(emu);
    await first.stop();
    emu.control.deletePrinter(serial);
    const log = new LogCapture();
    const c = makeController(emu.url, dataDir, log);
    try {
      await c.start();
      await eventually(() => c.polar.state === 'deleted', 5000, 'deleted');
      const identity = JSON.parse(await readFile(join(dataDir, 'identity.json'), 'utf8')) as Record<string, unknown>;
      assert.equal(identity.serialNumber, undefined);
      assert.ok(c.identity.hasKey);
      assert.ok(log.has(/register again/, 'error'));
      const seq = emu.control.lastSeq();
      await new Promise((r) => setTimeout(r, 300));
      const later = emu.control.events(seq);
      assert.deepEqual(later.filter((e) => e.kind === 'connect' || e.kind === 'in'), [], 'no cloud traffic after DELETED');
    } finally {
      await c.stop();
    }
  });
});

test('a delete command while online stops cloud traffic; registering again brings it back', async () => {
  await withEmulator(async (emu) => {
    const { c, serial } = await registeredBridge(emu);
    try {
      await c.start();
      await eventually(() => c.polar.online);
      emu.control.deletePrinter(serial);
      await eventually(() => c.polar.state === 'deleted', 5000, 'deleted');
      assert.equal(emu.control.printer(serial)?.connected, false);
      const res = await c.register(ACCOUNT.email, ACCOUNT.pin);
      assert.equal(res.serialNumber, serial, 'same MAC, same serial');
      await eventually(() => c.polar.online, 5000, 'online after re-registering');
    } finally {
      await c.stop();
    }
  });
});

test('every registerResponse failure reason becomes a sentence, nothing is stored', async () => {
  await withEmulator(async (emu) => {
    const expected: Record<string, RegExp> = {
      EMAIL_PIN_ERROR: /e-mail address and PIN do not match/,
      MFG_MISSING: /no manufacturer code/,
      MFG_UNKNOWN: /does not know the manufacturer code "kl"/,
      FORBIDDEN: /may already belong to another account/,
      INVALID_KEY: /rejected this printer's public key\. Delete .*private-key\.pem/,
      SERVER_ERROR: /server error .* Try again/,
    };
    for (const [reason, re] of Object.entries(expected)) {
      emu.control.failNextRegister(reason as 'FORBIDDEN');
      const dir = await makeDataDir();
      const c = makeController(emu.url, dir, new LogCapture());
      await assert.rejects(c.register(ACCOUNT.email, ACCOUNT.pin), (err: Error & { reason?: string }) => {
        assert.equal(err.reason, reason);
        assert.match(err.message, re);
        return true;
      });
      assert.equal(c.identity.serialFor(emu.url), undefined);
      await c.stop();
    }
    // A real wrong PIN, not a forced one.
    const c = makeController(emu.url, await makeDataDir(), new LogCapture());
    await assert.rejects(c.register(ACCOUNT.email, '0000'), /e-mail address and PIN do not match/);
  });
});

test('transport drops and server-side disconnects: reconnect and hello again', async () => {
  await withEmulator(async (emu) => {
    const { c, serial } = await registeredBridge(emu);
    try {
      await c.start();
      await eventually(() => c.polar.online);
      const hellos = (): number => emu.control.events().filter((e) => e.kind === 'in' && e.name === 'hello').length;
      const base = hellos();
      let offline = 0;
      c.polar.events.on('offline', () => offline++);
      assert.equal(emu.control.dropConnections(serial), 1);
      await eventually(() => hellos() === base + 1 && c.polar.online, 5000, 'online after a transport drop');
      assert.equal(emu.control.disconnect(serial), 1);
      await eventually(() => hellos() === base + 2 && c.polar.online, 5000, 'online after io server disconnect');
      assert.equal(offline, 2);
      emu.control.refuseConnections(300);
      await eventually(() => !c.polar.online, 5000, 'offline while refused');
      await eventually(() => hellos() === base + 3 && c.polar.online, 5000, 'online after refusals end');
      assert.equal(emu.control.printer(serial)?.connections, 1, 'exactly one live connection');
    } finally {
      await c.stop();
    }
  });
});

test('malformed and wrong-serial commands are logged and dropped; valid ones reach handlers', async () => {
  await withEmulator(async (emu) => {
    const { c, serial, log } = await registeredBridge(emu);
    try {
      await c.start();
      await eventually(() => c.polar.online);
      const received: string[] = [];
      c.polar.onCommand('pause', (m) => received.push(`pause:${m.type}`));
      c.polar.onCommand('temperature', () => received.push('temperature'));
      c.polar.onCommand('cancel', () => received.push('cancel'));
      c.polar.onCommand('command', () => {
        throw new Error('handler bug');
      });
      emu.control.send(serial, 'pause', { serialNumber: 'KL999999' });
      // Not an object: dropped whole (one bad field alone is ignored field by field: issue 14.7).
      emu.control.sendRaw(serial, 'temperature', ['bed: hot; M112']);
      emu.control.sendRaw(serial, 'pause', ['not an object']);
      emu.control.sendRaw(serial, 'cancel', []);
      emu.control.send(serial, 'selfDestruct', { serialNumber: serial });
      emu.control.send(serial, 'command', { serialNumber: serial, command: 'M115' });
      emu.control.send(serial, 'pause', { serialNumber: serial, type: 'cold' });
      emu.control.send(serial, 'cancel', { serialNumber: serial });
      await eventually(() => received.length === 2, 3000, 'valid commands');
      assert.deepEqual(received, ['pause:cold', 'cancel']);
      assert.ok(log.has(/ignored 'pause' for serial KL999999/, 'warn'));
      assert.ok(log.has(/dropped invalid 'temperature'/, 'warn'));
      assert.ok(log.has(/dropped invalid 'pause'/, 'warn'));
      assert.ok(log.has(/dropped invalid 'cancel'/, 'warn'));
      assert.ok(log.has(/unknown command from Polar Cloud: 'selfDestruct'/, 'warn'));
      assert.ok(log.has(/'command' handler failed: Error: handler bug/, 'error'));
      assert.ok(c.polar.online, 'still online');
    } finally {
      await c.stop();
    }
  });
});

test('a cloud-made key pair is checked before it is stored (makeKeyPair path)', async () => {
  const { registerPrinter } = await import('../../src/polar/registration.js');
  const { IdentityStore } = await import('../../src/identity/identity-store.js');
  const { socketIoTransportFactory } = await import('../../src/polar/socketio-transport.js');
  const { systemClock } = await import('../../src/util/clock.js');
  await withEmulator(async (emu) => {
    const attempt = async (behavior: 'normal' | 'mismatch' | 'fail'): Promise<{ identity: InstanceType<typeof IdentityStore>; result: Promise<unknown> }> => {
      emu.control.setKeyPairBehavior(behavior);
      const identity = new IdentityStore(await makeDataDir());
      await identity.load();
      const log = new LogCapture();
      const result = registerPrinter(
        {
          serverUrl: emu.url,
          identity,
          transportFactory: socketIoTransportFactory,
          clock: systemClock,
          log: log.logger,
          mfg: 'kl',
          mac: '02:00:00:00:00:0' + behavior.length,
          replyTimeoutMs: 5000,
          generateKey: () => Promise.reject(new Error('no entropy')),
        },
        ACCOUNT.email,
        ACCOUNT.pin,
      );
      return { identity, result };
    };
    const mismatch = await attempt('mismatch');
    await assert.rejects(mismatch.result, /do not match; nothing was stored/);
    assert.equal(mismatch.identity.hasKey, false);
    const failed = await attempt('fail');
    await assert.rejects(failed.result, /could not make a key pair/);
    const ok = await attempt('normal');
    const res = (await ok.result) as { keySource: string; serialNumber: string };
    assert.equal(res.keySource, 'cloud');
    assert.ok(ok.identity.hasKey);
    // The cloud registered exactly the public half of the pair we stored.
    const printer = emu.control.printer(res.serialNumber);
    assert.ok(printer);
    assert.equal(toSpkiPem(printer.publicKey), ok.identity.getPublicKey());
  });
});

test('unregister clears the serial locally and in the cloud', async () => {
  await withEmulator(async (emu) => {
    const { c, serial } = await registeredBridge(emu);
    try {
      await c.start();
      await eventually(() => c.polar.online);
      await c.polar.unregister(5000);
      assert.equal(c.polar.state, 'unregistered');
      assert.equal(c.identity.serialFor(emu.url), undefined);
      assert.equal(emu.control.printer(serial)?.deleted, true);
    } finally {
      await c.stop();
    }
  });
});
