// Issue 18.3 end to end: the simulator's runout sensor trips during a cloud
// print, Klipper pauses (pause_on_runout), Polar sees 10 "Changing filament"
// naming the sensor (never a plain 4), and 3 again after the resume.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Bridge, eventually } from './bridge-harness.js';

test('filament runout during a cloud print: 3 → 10 (sensor named) → 3 after resume, no plain 4', async () => {
  const b = await Bridge.start({ speedFactor: 20 });
  try {
    assert.ok(b.c.printer.snapshot().objectNames.includes('filament_switch_sensor runout'), 'the sensor is listed');
    await b.addGcode('runout.gcode', 30, 30);
    const since = b.emu.control.lastSeq();
    await b.startCloudJob('J-runout', 'runout.gcode');
    await b.waitStatus((s) => s.status === 3 && s.jobId === 'J-runout', since, 15_000, 'printing');

    b.sim.control.setFilamentDetected('runout', false);
    await b.sim.control.waitForPrintState('paused');
    const ten = await b.waitStatus((s) => s.status === 10 && s.jobId === 'J-runout', since, 10_000, 'changing filament');
    assert.equal(ten.progress, 'Changing filament');
    assert.match(String(ten.progressDetail), /^Filament runout \(sensor runout\): Printing Job: Job J-runout Percent Complete: \d+\.\d%$/);
    assert.ok(b.sim.control.gcodeLog().every((l) => l !== 'PAUSE'), 'Klipper paused by itself, not through the API');

    b.sim.control.setFilamentDetected('runout', true);
    const resumeFrom = b.emu.control.lastSeq();
    b.send('resume');
    await b.waitStatus((s) => s.status === 3 && s.jobId === 'J-runout', resumeFrom, 10_000, 'printing again');

    const seq = b.statuses(since).filter((s) => s.jobId === 'J-runout').map((s) => s.status);
    assert.ok(!seq.includes(4), `no plain 4 for a runout pause: ${seq.join(',')}`);
    const collapsed = seq.filter((s, i) => s !== seq[i - 1]);
    assert.deepEqual(collapsed.slice(collapsed.indexOf(3)), [3, 10, 3], `sequence ${collapsed.join(',')}`);
    b.send('cancel');
    await eventually(() => b.jobReports().some((r) => r.jobId === 'J-runout' && r.state === 'canceled'), 15_000, 'canceled');
    assert.deepEqual(b.emu.control.violations(), []);
  } finally {
    await b.stop();
  }
});
