// Issue 15 (idle CPU): the whole bridge with its default quiet stream at idle
// (moonraker-bridge/idle-stream.ts: temperatures polled every 5 s after 10 s idle).
// What Polar sees must not change beyond the documented latency: a target set at
// idle is out at the urgent spacing, a temperature drift within the poll period.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Bridge, eventually } from './bridge-harness.js';
import { IDLE_POLL_MS, QUIET_AFTER_MS } from '../../moonraker-bridge/klippy-sync.js';

test('quiet stream at idle: a target reaches Polar at the urgent spacing, a drift within the poll period', async (t) => {
  const b = await Bridge.start({ speedFactor: 1 });
  try {
    await eventually(() => b.c.moonraker.streamMode === 'quiet', QUIET_AFTER_MS + 10_000, 'quiet stream at idle');

    // Drift: the bed warms to 40 °C (target 0, below the 50 °C "hot" line): polled, then sent.
    let since = b.emu.control.lastSeq();
    b.sim.control.setHeaterTemperature('heater_bed', 40);
    let t0 = Date.now();
    await b.waitStatus((s) => typeof s.bed === 'number' && s.bed >= 35, since, IDLE_POLL_MS + 10_000, 'drift at idle');
    const drift = Date.now() - t0;
    t.diagnostic(`drift reached Polar after ${drift} ms (poll ${IDLE_POLL_MS} ms)`);
    // Poll period + the reporter's 1 s drift spacing + slack for a loaded machine.
    assert.ok(drift <= IDLE_POLL_MS + 1_000 + 1_500, `drift after ${drift} ms`);
    assert.equal(b.c.moonraker.streamMode, 'quiet');

    // Target: pushed (targets stay subscribed), urgent at the reporter.
    since = b.emu.control.lastSeq();
    await b.c.moonrakerApi.gcodeScript('M140 S60');
    t0 = Date.now();
    await b.waitStatus((s) => s.targetBed === 60, since, 5_000, 'bed target at idle');
    const target = Date.now() - t0;
    t.diagnostic(`target reached Polar ${target} ms after the G-code reply`);
    // ≤ 250 ms + spacing on a quiet machine; generous here, still far below the 5 s poll.
    assert.ok(target < 1_500, `target after ${target} ms`);
    await eventually(() => b.c.moonraker.streamMode === 'full', 5_000, 'full stream while heating');

    await b.c.moonrakerApi.gcodeScript('M140 S0');
    b.sim.control.setHeaterTemperature('heater_bed', 25);
    await eventually(() => b.c.moonraker.streamMode === 'quiet', QUIET_AFTER_MS + 10_000, 'quiet again');
  } finally {
    await b.stop();
  }
});
