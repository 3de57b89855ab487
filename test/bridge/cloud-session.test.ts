// End to end: per-connection housekeeping (capabilities, setVersion, the
// queue), next-print requests from a Klipper macro, the cloud's `update`
// (refused while printing, status 8, update_manager call) and `delete`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { Bridge, eventually } from './bridge-harness.js';
import { UPDATE_INTENT_FILE } from '../../src/features/self-update.js';

test('after hello: capabilities asked, setVersion with the update_manager version; the queue is readable; POLAR_NEXT asks for the next print', async () => {
  const b = await Bridge.start();
  try {
    // Issue 14.5: both versions from update_manager, same scheme, equal when up to date.
    await eventually(() => b.emu.control.printer(b.serial)?.version !== undefined, 5000, 'setVersion');
    assert.deepEqual(b.emu.control.printer(b.serial)!.version, { runningVersion: 'v0.1.0', latestVersion: 'v0.1.0' });
    b.sim.control.setUpdateAvailable('moonraker-polarcloud', 'v0.2.0');
    await eventually(() => b.c.session.capabilities !== null, 5000, 'capabilitiesResponse');
    assert.deepEqual(b.c.session.capabilities, ['sendNextPrint']);
    // A reconnect sends setVersion again, now with the newer version Moonraker knows about.
    b.emu.control.dropConnections();
    await eventually(() => b.emu.control.printer(b.serial)?.version?.latestVersion === 'v0.2.0', 8000, 'latestVersion');

    b.emu.control.addJob(b.serial, { jobName: 'Benchy' });
    const q = await b.c.session.getQueue();
    assert.equal(q.totalCount, 1);
    assert.equal(q.jobs[0]!.jobName, 'Benchy');

    const since = b.emu.control.lastSeq();
    assert.ok(b.sim.control.callRemoteMethod('polarcloud_next_print', { job: q.jobs[0]!.jobId }));
    const ev = await b.emu.control.waitFor((e) => e.kind === 'in' && e.name === 'sendNextPrint', 5000, since);
    assert.deepEqual(ev.payload, { serialNumber: b.serial, jobId: q.jobs[0]!.jobId });
    b.sim.control.callRemoteMethod('polarcloud_next_print', { job: 'bad id; M112' });
    await eventually(() => b.commandResponses().some((r) => /JOB must be a Polar job id/.test(r)), 5000, 'bad job refused');
  } finally {
    await b.stop();
  }
});

test('update: refused while printing; when idle, status 8 and update_manager upgrades moonraker-polarcloud', async () => {
  const b = await Bridge.start({ speedFactor: 5 });
  try {
    await b.addGcode('upd.gcode', 30, 30);
    await b.startCloudJob('J-upd', 'upd.gcode');
    await b.sim.control.waitForPrintState('printing');
    const t0 = Date.now();
    b.send('update');
    await eventually(() => b.commandResponses().some((r) => /update refused: a print is running/.test(r)), 5000, 'refusal');
    assert.ok(!b.rpcMethodsSince(t0).includes('machine.update.upgrade'));
    b.send('cancel');
    await eventually(() => b.jobReports().length === 1, 30_000, 'canceled');
    await eventually(() => b.c.printer.snapshot().print_stats.state !== 'printing', 5000, 'stopped');
    await new Promise((r) => setTimeout(r, 5200)); // the tracker's grace after the end

    const since = b.emu.control.lastSeq();
    b.send('update');
    const eight = await b.waitStatus((s) => s.status === 8, since, 5000, 'updating (8)');
    await eventually(() => b.rpcMethodsSince(t0).includes('machine.update.upgrade'), 5000, 'upgrade called');
    // The Ready after the 8 (a heartbeat 0 can go out between `since` and the 8 on a loaded machine).
    await b.waitStatus((s) => s.status === 0, eight.seq, 15_000, 'Ready after the update');
    await assert.rejects(access(join(b.dataDir, UPDATE_INTENT_FILE)), 'intent removed once the update finished');
  } finally {
    await b.stop();
  }
});

test('delete from the cloud stops cloud traffic but never touches a running local print', async () => {
  const b = await Bridge.start({ speedFactor: 5 });
  try {
    await b.addGcode('del.gcode', 30, 30);
    b.preheat();
    await b.sim.control.startLocalPrint('del.gcode');
    await b.sim.control.waitForPrintState('printing');
    const t0 = Date.now();
    b.emu.control.deletePrinter(b.serial);
    await eventually(() => b.c.polar.state === 'deleted', 5000, 'deleted');
    const statusCount = b.emu.control.printer(b.serial)!.statusCount;
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(b.emu.control.printer(b.serial)!.statusCount, statusCount, 'no status after delete');
    assert.equal(b.c.printer.snapshot().print_stats.state, 'printing');
    assert.ok(!b.rpcMethodsSince(t0).some((m) => m.startsWith('printer.print.')));
  } finally {
    await b.stop();
  }
});
