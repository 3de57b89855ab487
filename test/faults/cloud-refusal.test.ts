// The cloud refusing every connection for 30 s, on fake time with the
// production backoff (1 s doubling, capped at 2 min, jittered down): the bridge
// keeps trying without looping hot, warns once rather than per attempt, and is
// authenticated again within the backoff bound once the cloud accepts. Both
// refusals: at the HTTP handshake (a load balancer saying no) and at the
// socket.io namespace (connect_error).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startPolarEmulator, type PolarEmulator } from '../../src/emulator/index.js';
import type { RefuseMode } from '../../src/emulator/types.js';
import { Backoff } from '../../src/util/backoff.js';
import { LogCapture, eventually, makeController, makeDataDir } from '../helpers/bridge-setup.js';
import { FakeClock } from '../helpers/fake-clock.js';
import type { Controller } from '../../src/controller.js';

const OUTAGE_MS = 30_000;
const STEP_MS = 250;

/** Fake time moves in steps; after each, real I/O (a refused attempt) settles before the next. */
async function advance(clock: FakeClock, c: Controller, ms: number): Promise<void> {
  for (let t = 0; t < ms; t += STEP_MS) {
    await clock.advance(Math.min(STEP_MS, ms - t));
    await eventually(() => c.polar.state !== 'connecting' && c.polar.state !== 'authenticating', 5000, 'the attempt settled');
  }
}

async function refusalScenario(mode: RefuseMode): Promise<void> {
  const emu: PolarEmulator = await startPolarEmulator();
  const clock = new FakeClock();
  const log = new LogCapture();
  const dir = await makeDataDir();
  // Backoff as shipped (src/controller.ts), with its jitter pinned to the middle.
  const backoff = new Backoff({ initialMs: 1000, maxMs: 120_000, random: () => 0.5 });
  const c = makeController(emu.url, dir, log, { clock, polarBackoff: backoff });
  try {
    await c.register('a@b.example', '1234');
    await c.start();
    await eventually(() => c.polar.online, 5000, 'online');
    const since = emu.control.lastSeq();
    const warningsBefore = log.lines('warn').length;

    emu.control.refuseConnections(undefined, mode);
    await eventually(() => c.polar.state === 'backoff', 5000, 'offline, backing off');
    await advance(clock, c, OUTAGE_MS);
    const attempts = emu.control.events(since).filter((e) => e.kind === 'refused').length;
    // 1 + 2 + 4 + 8 + 16 s (less 15% jitter) fit in 30 s: five or six attempts, not hundreds.
    assert.ok(attempts >= 4 && attempts <= 7, `${attempts} connection attempts in ${OUTAGE_MS / 1000} s`);
    const warnings = log.lines('warn').slice(warningsBefore);
    assert.ok(warnings.length <= 2, `warned ${warnings.length} times:\n${warnings.join('\n')}`);
    assert.equal(c.polar.state, 'backoff');

    emu.control.acceptConnections();
    // The wait already scheduled is the bound: at most the next backoff step (32 s here, 2 min at worst).
    const wait = clock.nextDelay() ?? Infinity;
    assert.ok(wait <= 32_000, `next attempt in ${wait} ms`);
    await clock.advance(wait);
    await eventually(() => c.polar.online, 5000, 'online once the cloud accepts');
    assert.ok(log.has(/connected to Polar Cloud as .* \(after \d+ failed attempts\)/, 'info'), 'the recovery is logged');
    // A fresh outage starts over at the first step (the backoff was reset by the hello).
    assert.equal(backoff.attempts, 0);
  } finally {
    await c.stop();
    await emu.stop();
  }
}

test('the cloud refuses connections for 30 s at the HTTP handshake: bounded retries, one warning, online within the backoff bound', { timeout: 60_000 }, () =>
  refusalScenario('http'),
);

test('the cloud refuses connections for 30 s at the socket.io namespace: the same', { timeout: 60_000 }, () => refusalScenario('middleware'));
