// End to end: prints on the simulated printer appear in the emulated cloud as
// Polar statuses and exactly one job report each.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Bridge, eventually } from './bridge-harness.js';

test('a local print shows status 1 with jobId "123", then one completed report and Ready', async () => {
  const b = await Bridge.start();
  try {
    await b.addGcode('local.gcode');
    const since = b.emu.control.lastSeq();
    await b.sim.control.startLocalPrint('local.gcode');
    const printing = await b.waitStatus((s) => s.status === 1 && String(s.progressDetail).startsWith('Printing Job'), since, 15_000, 'printing (1)');
    assert.equal(printing.jobId, '123');
    assert.match(String(printing.progressDetail), /^Printing Job: local\.gcode Percent Complete: \d+\.\d%$/);
    assert.equal(typeof printing.tool0, 'number');
    assert.equal(typeof printing.bed, 'number');
    await eventually(() => b.jobReports().length === 1, 30_000, 'job report');
    const [report] = b.jobReports();
    assert.equal(report!.jobId, '123');
    assert.equal(report!.state, 'completed');
    assert.ok((report!.printSeconds ?? 0) >= 0);
    const after = b.emu.control.lastSeq();
    await b.waitStatus((s) => s.status === 0, since, 10_000, 'back to Ready');
    // Local jobs are not announced with 7 (the table reserves 6/7 for cloud jobs).
    assert.ok(!b.statuses(since).some((s) => s.status === 7 || s.status === 6));
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(b.jobReports().length, 1, 'exactly one report');
    assert.ok(b.emu.control.lastSeq() >= after);
    assert.deepEqual(b.emu.control.violations(), []);
  } finally {
    await b.stop();
  }
});

test('pause, resume and cancel from the cloud reach Moonraker; a cloud cancel shows 6 three times and is reported once', async () => {
  const b = await Bridge.start({ speedFactor: 5 });
  try {
    await b.addGcode('cloud.gcode', 40, 40);
    const since = b.emu.control.lastSeq();
    await b.startCloudJob('J-1', 'cloud.gcode');
    const printing = await b.waitStatus((s) => s.status === 3, since, 20_000, 'printing a cloud job (3)');
    assert.equal(printing.jobId, 'J-1');

    const t0 = Date.now();
    b.send('pause', { type: 'pause' });
    await b.waitStatus((s) => s.status === 4 && s.jobId === 'J-1', since, 10_000, 'paused (4)');
    assert.ok(b.rpcMethodsSince(t0).includes('printer.print.pause'));

    b.send('resume');
    const resumed = b.emu.control.lastSeq();
    await b.waitStatus((s) => s.status === 3, resumed, 10_000, 'printing again (3)');
    assert.ok(b.rpcMethodsSince(t0).includes('printer.print.resume'));

    const beforeCancel = b.emu.control.lastSeq();
    b.send('cancel');
    await eventually(() => b.jobReports().length === 1, 15_000, 'cancel report');
    assert.deepEqual(
      { jobId: b.jobReports()[0]!.jobId, state: b.jobReports()[0]!.state },
      { jobId: 'J-1', state: 'canceled' },
    );
    assert.ok(b.rpcMethodsSince(t0).includes('printer.print.cancel'));
    await b.waitStatus((s) => s.status === 0, beforeCancel, 10_000, 'Ready after the banner');
    const codes = b.statuses(beforeCancel).map((s) => s.status);
    const firstSix = codes.indexOf(6);
    assert.ok(firstSix >= 0, `6 sent: ${codes.join(',')}`);
    assert.deepEqual(codes.slice(firstSix, firstSix + 3), [6, 6, 6], `three consecutive 6: ${codes.join(',')}`);
    assert.equal(b.jobReports().length, 1);
  } finally {
    await b.stop();
  }
});

test('a cold pause turns the heaters off and resume heats them back before resuming', async () => {
  const b = await Bridge.start({ speedFactor: 5 });
  try {
    await b.addGcode('cold.gcode', 40, 40);
    const since = b.emu.control.lastSeq();
    await b.startCloudJob('J-cold', 'cold.gcode');
    await b.waitStatus((s) => s.status === 3, since, 20_000, 'printing');
    const g0 = b.sim.control.gcodeLog().length;
    b.send('pause', { type: 'cold' });
    await b.waitStatus((s) => s.status === 9, since, 10_000, 'cold pause (9)');
    await eventually(() => b.c.printer.snapshot().heaters.every((h) => (h.target ?? 0) === 0), 5000, 'heaters off');
    b.send('resume');
    await b.waitStatus((s) => s.status === 3, b.emu.control.lastSeq(), 20_000, 'printing after cold pause');
    const script = b.gcodeSince(g0).join('\n');
    assert.match(script, /SET_HEATER_TEMPERATURE HEATER=extruder TARGET=0/);
    assert.match(script, /SET_HEATER_TEMPERATURE HEATER=extruder TARGET=210/);
    assert.match(script, /TEMPERATURE_WAIT SENSOR=extruder MINIMUM=208/);
    b.send('pause', { type: 'filament' });
    await b.waitStatus((s) => s.status === 10, since, 10_000, 'filament change (10)');
    assert.ok(b.gcodeSince(g0).includes('M600'));
  } finally {
    await b.stop();
  }
});
