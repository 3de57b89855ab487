// End to end under faults: Klippy shutdown mid-print, Moonraker going away,
// the cloud link down while a job finishes, and the bridge restarted mid-print.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Bridge, eventually } from './bridge-harness.js';

test('Klippy shutdown mid-print → 12 with the message; connectPrinter restarts the firmware; the cloud job is reported canceled once', async () => {
  const b = await Bridge.start({ speedFactor: 5 });
  try {
    await b.addGcode('shut.gcode', 40, 40);
    const since = b.emu.control.lastSeq();
    await b.startCloudJob('J-shut', 'shut.gcode');
    await b.waitStatus((s) => s.status === 3, since, 20_000, 'printing');
    await b.sim.control.klippyShutdown('MCU shutdown: Timer too close');
    const err = await b.waitStatus((s) => s.status === 12, since, 10_000, 'error (12)');
    assert.match(String(err.progressDetail), /Timer too close/);
    b.send('connectPrinter');
    await b.waitStatus((s) => s.status === 0, err.seq, 15_000, 'Ready after FIRMWARE_RESTART');
    assert.ok(b.sim.control.rpcLog().some((r) => r.method === 'printer.firmware_restart'));
    await eventually(() => b.jobReports().length === 1, 10_000, 'report');
    assert.equal(b.jobReports()[0]!.jobId, 'J-shut');
    assert.equal(b.jobReports()[0]!.state, 'canceled');
  } finally {
    await b.stop();
  }
});

test('Moonraker unreachable → 13; back → the print is mirrored again without a second job', async () => {
  const b = await Bridge.start({ speedFactor: 5 });
  try {
    await b.addGcode('mr.gcode', 40, 40);
    const since = b.emu.control.lastSeq();
    await b.startCloudJob('J-mr', 'mr.gcode');
    await b.waitStatus((s) => s.status === 3, since, 20_000, 'printing');
    const restarting = b.sim.control.restartMoonraker(1500);
    const down = await b.waitStatus((s) => s.status === 13, since, 10_000, 'disconnected (13)');
    assert.match(String(down.progressDetail), /Moonraker|Klipper/);
    await restarting;
    const back = await b.waitStatus((s) => s.status === 3, down.seq, 15_000, 'printing again');
    assert.equal(back.jobId, 'J-mr');
    assert.deepEqual(b.jobReports(), []);
  } finally {
    await b.stop();
  }
});

test('a job that finishes while the cloud link is down is kept in the outbox and reported once after the next hello', async () => {
  const b = await Bridge.start({ speedFactor: 100 });
  try {
    await b.addGcode('offline.gcode', 3, 10);
    b.preheat();
    await b.sim.control.startLocalPrint('offline.gcode');
    await b.sim.control.waitForPrintState('printing');
    b.emu.control.refuseConnections();
    await eventually(() => !b.c.polar.online, 5000, 'offline');
    await b.sim.control.waitForPrintState('complete', 30_000);
    await eventually(() => b.c.jobs.store.outbox.length === 1, 10_000, 'report queued');
    assert.deepEqual(b.jobReports(), [], 'nothing can reach the cloud yet');
    b.emu.control.acceptConnections();
    await eventually(() => b.jobReports().length === 1, 10_000, 'report after reconnect');
    await eventually(() => b.c.jobs.store.outbox.length === 0, 5000, 'outbox emptied');
    b.emu.control.dropConnections();
    await eventually(() => b.c.polar.online, 5000, 'online again');
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(b.jobReports().length, 1, 'not repeated after another reconnect');
    assert.deepEqual({ jobId: b.jobReports()[0]!.jobId, state: b.jobReports()[0]!.state }, { jobId: '123', state: 'completed' });
  } finally {
    await b.stop();
  }
});

test('the bridge restarted mid cloud print keeps the cloud jobId and reports the completion once', async () => {
  const b = await Bridge.start({ speedFactor: 40 });
  try {
    await b.addGcode('restart.gcode', 12, 20);
    const since = b.emu.control.lastSeq();
    await b.startCloudJob('J-restart', 'restart.gcode');
    await b.waitStatus((s) => s.status === 3, since, 20_000, 'printing');
    await b.restart();
    const afterRestart = b.emu.control.lastSeq();
    const mirrored = await b.waitStatus((s) => s.status === 3 || s.status === 7, afterRestart - 50, 10_000, 'mirrored after restart');
    assert.equal(mirrored.jobId, 'J-restart');
    await eventually(() => b.jobReports().length >= 1, 60_000, 'completion');
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(b.jobReports().length, 1);
    assert.deepEqual({ jobId: b.jobReports()[0]!.jobId, state: b.jobReports()[0]!.state }, { jobId: 'J-restart', state: 'completed' });
    await b.waitStatus((s) => s.status === 7 && s.jobId === 'J-restart', afterRestart, 5000, 'complete (7)');
  } finally {
    await b.stop();
  }
});
