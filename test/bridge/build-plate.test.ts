// Issue 18.2 + 18.4: the "clear build plate" gate (status 15) and cloud jobs waiting for a busy
// printer, on the whole bridge against the simulator and the emulator. Bridge.stop() runs the
// status-stream checker over everything the cloud received; each test prints that stream.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Bridge, eventually } from './bridge-harness.js';
import { prusaGcode } from '../simulator/gcode-samples.js';
import { PLATE_CLEAR_METHOD, PLATE_FILE } from '../../src/features/build-plate.js';
import { ControlServer } from '../../src/local-control/control-server.js';
import { serviceMethods } from '../../src/local-control/service-methods.js';
import { plateClearCommand } from '../../src/cli/plate-clear-command.js';
import type { Config } from '../../src/config.js';

const GATE = 'control:\n  require_clear_plate: true\n';

async function scenario(t: TestContext, o: Parameters<typeof Bridge.start>[0], body: (b: Bridge) => Promise<void>): Promise<void> {
  const b = await Bridge.start(o);
  try {
    await body(b);
  } finally {
    t.diagnostic(`stream: ${b.statusCodes()}`);
    await b.stop();
  }
}

function printCommand(b: Bridge, name: string, layers = 6): string {
  const job = b.emu.control.addJob(b.serial, { jobName: name, content: prusaGcode({ layers, movesPerLayer: 20 }) });
  b.send('print', { jobId: job.jobId, jobName: name, gcodeFile: job.gcodeUrl });
  return job.jobId;
}

test('plate gate: after a cloud job completes Polar shows 15; the next cloud print waits at 15 until POLAR_PLATE_CLEAR, then prints', (t) =>
  scenario(t, { speedFactor: 50, extraYaml: GATE }, async (b) => {
    b.preheat();
    const since = b.emu.control.lastSeq();
    const first = printCommand(b, 'First');
    await eventually(() => b.jobReports().length === 1, 60_000, 'first report');
    await b.waitStatus((s) => s.status === 15 && !s.jobId, since, 10_000, '15 with nothing waiting');
    assert.equal(b.c.plate.occupied, true);
    const saved = JSON.parse(await readFile(join(b.dataDir, PLATE_FILE), 'utf8')) as { occupied: boolean };
    assert.equal(saved.occupied, true, 'persisted in the data folder');

    const second = printCommand(b, 'Second');
    const waiting = await b.waitStatus((s) => s.status === 15 && s.jobId === second, since, 20_000, '15 with the waiting job');
    assert.match(String(waiting.progressDetail), /POLAR_PLATE_CLEAR/);
    assert.equal(b.sim.control.printerObjects().print_stats!.state, 'complete', 'the job did not start on an occupied plate');
    assert.ok(!b.statuses(waiting.seq).some((s) => s.status === 0), 'never Ready while it waits');

    assert.equal(b.sim.control.callRemoteMethod(PLATE_CLEAR_METHOD), true, 'POLAR_PLATE_CLEAR reaches the bridge');
    await eventually(() => b.jobReports().length === 2, 60_000, 'second report');
    assert.deepEqual(b.jobReports().map((r) => [r.jobId, r.state]), [[first, 'completed'], [second, 'completed']]);
    const mine = b.statuses(since).filter((s) => s.jobId === second).map((s) => s.status);
    assert.ok(mine.indexOf(15) < mine.indexOf(3), `15 before it printed: ${mine.join(',')}`);
    await b.waitStatus((s) => s.status === 15 && !s.jobId, waiting.seq, 10_000, '15 again after the second job');
  }));

test('plate gate: a cloud cancel while a job waits for the plate reports it canceled once and deletes its file; a local print marks the plate clear', (t) =>
  scenario(t, { speedFactor: 50, extraYaml: GATE }, async (b) => {
    b.preheat();
    await b.addGcode('part.gcode', 3, 20);
    const since = b.emu.control.lastSeq();
    await b.sim.control.startLocalPrint('part.gcode');
    await eventually(() => b.jobReports().length === 1, 60_000, 'local report');
    await b.waitStatus((s) => s.status === 15 && !s.jobId, since, 10_000, '15 after a local print');
    const jobId = printCommand(b, 'Waits');
    await b.waitStatus((s) => s.status === 15 && s.jobId === jobId, since, 20_000, 'waiting (15)');
    b.send('cancel');
    await eventually(() => b.jobReports().length === 2, 20_000, 'canceled report');
    assert.deepEqual([b.jobReports()[1]!.jobId, b.jobReports()[1]!.state], [jobId, 'canceled']);
    await eventually(async () => !(await b.c.moonrakerApi.listFiles('gcodes')).some((f) => f.path.includes('Waits')), 10_000, 'its file deleted');
    // The user takes the part off and starts a print at the printer: the plate was cleared.
    await b.addGcode('long.gcode', 40, 40);
    const local = b.emu.control.lastSeq();
    await b.sim.control.startLocalPrint('long.gcode');
    await b.waitStatus((s) => s.status === 1, local, 10_000, 'local print (1)');
    await eventually(() => !b.c.plate.occupied, 10_000, 'plate marked clear by the local print').catch((e) => {
      t.diagnostic(b.log.lines().filter((l) => /plate|waits|job/i.test(l)).join('\n'));
      throw e;
    });
    await b.c.moonrakerApi.printCancel();
    await eventually(() => b.jobReports().length === 3, 60_000, 'local report');
    await b.waitStatus((s) => s.status === 15 && !s.jobId, local, 10_000, '15 after the canceled local print');
    assert.equal(b.jobReports().filter((r) => r.jobId === jobId).length, 1, 'reported once');
  }));

test('plate gate: a cloud print arriving while the printer prints waits in the bridge (not Moonraker\'s queue), survives a cancel of the running print, and starts after plate-clear', (t) =>
  scenario(t, { speedFactor: 20, extraYaml: GATE }, async (b) => {
    b.preheat();
    await b.addGcode('busy.gcode', 40, 40);
    const since = b.emu.control.lastSeq();
    await b.sim.control.startLocalPrint('busy.gcode');
    await b.waitStatus((s) => s.status === 1, since, 10_000, 'local print (1)');
    const jobId = printCommand(b, 'Behind');
    await eventually(() => b.c.jobs.queuedCloud.some((j) => j.jobId === jobId), 30_000, 'waiting in the bridge');
    assert.deepEqual((await b.c.moonrakerApi.jobQueueStatus()).queued_jobs, [], "nothing in Moonraker's queue");
    await b.c.moonrakerApi.printCancel();
    const waiting = await b.waitStatus((s) => s.status === 15 && s.jobId === jobId, since, 20_000, 'the waiting job shows 15 after the cancel');
    assert.ok(!b.statuses(waiting.seq).some((s) => s.status === 0), 'never Ready while it waits');
    await eventually(() => b.c.plate.occupied, 10_000, 'plate occupied after the cancel');
    // `polarcloud plate-clear`: the CLI asks the running service through its control socket.
    // (Only data_dir and polar.reply_timeout of the config are read by these two.)
    const config = { data_dir: b.dataDir, polar: { reply_timeout: 10 } } as unknown as Config;
    const control = new ControlServer(b.dataDir, serviceMethods(b.c, config), b.log.logger.child('control'));
    await control.start();
    try {
      assert.equal(await plateClearCommand(config), 0, 'plate-clear succeeded');
    } finally {
      await control.stop();
    }
    await eventually(() => b.jobReports().some((r) => r.jobId === jobId), 90_000, 'cloud report');
    assert.deepEqual(b.jobReports().map((r) => [r.jobId, r.state]), [['123', 'canceled'], [jobId, 'completed']]);
  }));

test('without the gate (default when auto_next_print is off) nothing changes: Ready after a print, no 15', (t) =>
  scenario(t, { speedFactor: 50 }, async (b) => {
    b.preheat();
    const since = b.emu.control.lastSeq();
    printCommand(b, 'NoGate');
    await eventually(() => b.jobReports().length === 1, 60_000, 'report');
    await b.waitStatus((s) => s.status === 0, since, 10_000, 'Ready');
    assert.equal(b.c.plate.required, false);
    assert.equal(b.c.plate.occupied, true, 'tracked all the same');
    assert.ok(!b.statuses(since).some((s) => s.status === 15));
  }));

test('plate gate: a restart keeps the occupied plate (data folder): 15 again after the restart, cleared by the front-end method', (t) =>
  scenario(t, { speedFactor: 50, extraYaml: GATE }, async (b) => {
    b.preheat();
    const since = b.emu.control.lastSeq();
    printCommand(b, 'BeforeRestart');
    await eventually(() => b.jobReports().length === 1, 60_000, 'report');
    await b.waitStatus((s) => s.status === 15 && !s.jobId, since, 10_000, '15');
    await b.c.plate.flushed();
    await b.restart();
    await eventually(() => b.c.plate.occupied, 10_000, 'occupied after the restart');
    const after = b.emu.control.lastSeq();
    await b.waitStatus((s) => s.status === 15 && !s.jobId, after, 15_000, '15 after the restart');
    const jobId = printCommand(b, 'AfterRestart');
    await b.waitStatus((s) => s.status === 15 && s.jobId === jobId, after, 20_000, 'the next job waits (15)');
    // What a front-end (Mainsail/Fluidd button) calls: server.extensions.request → plate_clear.
    const res = await fetch(`${b.sim.url}/server/extensions/request`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ agent: 'moonraker-polarcloud', method: 'plate_clear', arguments: {} }),
    });
    const answer = (await res.json()) as { result?: { wasOccupied?: boolean } };
    assert.equal(answer.result?.wasOccupied, true, JSON.stringify(answer));
    await eventually(() => b.jobReports().length === 2, 60_000, 'second report');
    assert.equal(b.jobReports()[1]!.state, 'completed');
  }));

test("18.4 without the gate: a cloud job in Moonraker's queue is not stranded when the running print is canceled (Moonraker pauses its queue; the bridge starts it), never 0 while it waits", (t) =>
  scenario(t, { speedFactor: 20 }, async (b) => {
    b.preheat();
    await b.addGcode('busy.gcode', 40, 40);
    const since = b.emu.control.lastSeq();
    await b.sim.control.startLocalPrint('busy.gcode');
    await b.waitStatus((s) => s.status === 1, since, 10_000, 'local print (1)');
    const jobId = printCommand(b, 'InQueue');
    await eventually(async () => (await b.c.moonrakerApi.jobQueueStatus()).queued_jobs.length === 1, 30_000, "in Moonraker's queue");
    const canceled = b.emu.control.lastSeq();
    await b.c.moonrakerApi.printCancel();
    await b.waitStatus((s) => s.status === 3 && s.jobId === jobId, canceled, 30_000, 'the queued cloud job prints (3)');
    assert.ok(b.log.lines().some((l) => /starting cloud job .* from the printer's job queue/.test(l)), 'the bridge started the paused queue');
    await eventually(() => b.jobReports().length === 2, 90_000, 'both reports');
    assert.deepEqual(b.jobReports().map((r) => [r.jobId, r.state]), [['123', 'canceled'], [jobId, 'completed']]);
    const after = b.statuses(canceled);
    const firstMine = after.findIndex((s) => s.jobId === jobId);
    const printing = after.findIndex((s) => s.jobId === jobId && s.status === 3);
    assert.match(String(after[firstMine]!.progressDetail), /Waiting in the printer's job queue: InQueue/, 'shown waiting while idle');
    assert.ok(!after.slice(firstMine, printing).some((s) => s.status === 0), `no Ready while it waits: ${b.statusCodes(canceled)}`);
    // From the local print's last status straight to the waiting job: no 0 in between, no flicker back to 1.
    const all = b.statuses(since);
    const lastLocal = all.map((s) => s.status).lastIndexOf(1);
    const firstCloud = all.findIndex((s) => s.jobId === jobId);
    assert.ok(lastLocal >= 0 && firstCloud > lastLocal, `local print, then the cloud job: ${b.statusCodes(since)}`);
    assert.deepEqual(all.slice(lastLocal + 1, firstCloud).map((s) => s.status), [], `nothing between the local print and the waiting job: ${b.statusCodes(since)}`);
  }));

// The cloud's `cancel` names the job Polar shows as the printer's current one (protocol: "cancel an
// ongoing print"): a running print first; the waiting cloud job only once nothing runs. To hold the
// job in Moonraker's queue while the printer is idle (no race with the keeper's job_queue.start),
// the simulator's queue takes a long time "loading" it.
test("18.4 without the gate: a cloud cancel of the job waiting in Moonraker's queue deletes it from the queue and its file, reports it canceled once, and it never starts", (t) =>
  scenario(t, { speedFactor: 20 }, async (b) => {
    b.preheat();
    await b.addGcode('busy.gcode', 40, 40);
    const since = b.emu.control.lastSeq();
    await b.sim.control.startLocalPrint('busy.gcode');
    await b.waitStatus((s) => s.status === 1, since, 10_000, 'local print (1)');
    const jobId = printCommand(b, 'ToCancel');
    await eventually(async () => (await b.c.moonrakerApi.jobQueueStatus()).queued_jobs.length === 1, 30_000, "in Moonraker's queue");
    const file = (await b.c.moonrakerApi.jobQueueStatus()).queued_jobs[0]!.filename;
    assert.ok(file.endsWith(`-${jobId}.gcode`), file);
    b.sim.control.setJobQueueLoadDelay(10 * 60_000);
    await b.c.moonrakerApi.printCancel();
    const waiting = await b.waitStatus((s) => s.status === 2 && s.jobId === jobId, since, 30_000, 'the waiting job shows 2');
    assert.match(String(waiting.progressDetail), /Waiting in the printer's job queue: ToCancel/);
    await eventually(async () => (await b.c.moonrakerApi.jobQueueStatus()).queue_state === 'loading', 10_000, 'the bridge started the paused queue (loading)');
    const rpcBefore = b.sim.control.rpcLog().length;
    b.send('cancel');
    await eventually(() => b.jobReports().some((r) => r.jobId === jobId), 20_000, 'canceled report');
    assert.deepEqual(b.jobReports().map((r) => [r.jobId, r.state]), [['123', 'canceled'], [jobId, 'canceled']]);
    assert.ok(b.sim.control.rpcLog().slice(rpcBefore).some((r) => r.method === 'server.job_queue.delete_job'), 'delete_job sent');
    assert.equal(b.sim.control.rpcLog().slice(rpcBefore).filter((r) => r.method === 'printer.print.cancel').length, 0, 'nothing running was canceled');
    const q = await b.c.moonrakerApi.jobQueueStatus();
    assert.deepEqual(q.queued_jobs, [], "out of Moonraker's queue");
    await eventually(async () => !(await b.c.moonrakerApi.listFiles('gcodes')).some((f) => f.path.includes(jobId)), 10_000, 'its file deleted');
    // Let Moonraker's load run now: nothing is left to start.
    b.sim.control.setJobQueueLoadDelay(0);
    await b.c.moonrakerApi.jobQueueStart();
    await b.waitStatus((s) => s.status === 0, waiting.seq, 10_000, 'Ready after the 6');
    assert.ok(!b.sim.control.gcodeLog().some((l) => /SDCARD_PRINT_FILE/.test(l) && l.includes(jobId)), `never started: ${b.sim.control.gcodeLog().filter((l) => /SDCARD/.test(l)).join(' | ')}`);
    assert.notEqual(b.sim.control.printerObjects().print_stats!.state, 'printing');
    assert.equal(b.jobReports().filter((r) => r.jobId === jobId).length, 1, 'reported once');
    const mine = b.statuses(since).filter((s) => s.jobId === jobId).map((s) => s.status);
    assert.ok(mine.every((c) => c === 2 || c === 6) && mine.includes(6), `2 then 6: ${mine.join(',')}`);
  }));

// Issue 18.4 after a bridge restart: a job held by the bridge for the plate lost its pipeline —
// reported canceled once (file deleted) so the cloud can send it again; a job in Moonraker's queue
// is still there and is resumed.
test('restart while a cloud job waits for the plate: reported canceled once after the restart, its file deleted, never started', (t) =>
  scenario(t, { speedFactor: 50, extraYaml: GATE }, async (b) => {
    b.preheat();
    await b.addGcode('part.gcode', 3, 20);
    const since = b.emu.control.lastSeq();
    await b.sim.control.startLocalPrint('part.gcode');
    await eventually(() => b.jobReports().length === 1, 60_000, 'local report');
    const jobId = printCommand(b, 'Held');
    await b.waitStatus((s) => s.status === 15 && s.jobId === jobId, since, 20_000, 'waiting for the plate (15)');
    await eventually(async () => (await b.c.moonrakerApi.listFiles('gcodes')).some((f) => f.path.includes(jobId)), 10_000, 'uploaded');
    await b.c.plate.flushed();
    await b.restart();
    await eventually(() => b.jobReports().some((r) => r.jobId === jobId), 20_000, 'canceled report after the restart');
    assert.deepEqual(b.jobReports().map((r) => [r.jobId, r.state]), [['123', 'completed'], [jobId, 'canceled']]);
    await eventually(async () => !(await b.c.moonrakerApi.listFiles('gcodes')).some((f) => f.path.includes(jobId)), 10_000, 'its file deleted');
    await b.waitStatus((s) => s.status === 15 && !s.jobId, since + 1, 10_000, 'jobless 15 again (plate still occupied)');
    assert.equal(b.c.jobs.queuedCloud.length, 0, 'nothing left waiting');
    assert.ok(!b.sim.control.gcodeLog().some((l) => /SDCARD_PRINT_FILE/.test(l) && l.includes(jobId)), 'never started');
    assert.equal(b.jobReports().filter((r) => r.jobId === jobId).length, 1, 'reported once');
  }));

test("restart while a cloud job waits in Moonraker's queue (gate off): resumed — shown 2 after the restart, started when the printer is free, completed", (t) =>
  scenario(t, { speedFactor: 20 }, async (b) => {
    b.preheat();
    await b.addGcode('busy.gcode', 40, 40);
    const since = b.emu.control.lastSeq();
    await b.sim.control.startLocalPrint('busy.gcode');
    await b.waitStatus((s) => s.status === 1, since, 10_000, 'local print (1)');
    const jobId = printCommand(b, 'Survives');
    await eventually(async () => (await b.c.moonrakerApi.jobQueueStatus()).queued_jobs.length === 1, 30_000, "in Moonraker's queue");
    await b.restart();
    const after = b.emu.control.lastSeq();
    await b.waitStatus((s) => s.status === 1, after, 20_000, 'the local print again after the restart');
    await b.c.moonrakerApi.printCancel();
    await b.waitStatus((s) => s.status === 2 && s.jobId === jobId, after, 30_000, 'the waiting job shows 2');
    await b.waitStatus((s) => s.status === 3 && s.jobId === jobId, after, 60_000, 'it prints (3)');
    await eventually(() => b.jobReports().filter((r) => r.jobId === jobId).length === 1, 120_000, 'its report');
    assert.deepEqual(b.jobReports().map((r) => [r.jobId, r.state]), [['123', 'canceled'], [jobId, 'completed']]);
  }));

test("cloud cancel while a local print runs and a cloud job waits in Moonraker's queue (gate off): cancels the print Polar shows, the queued job then prints", (t) =>
  scenario(t, { speedFactor: 20 }, async (b) => {
    b.preheat();
    await b.addGcode('busy.gcode', 40, 40);
    const since = b.emu.control.lastSeq();
    await b.sim.control.startLocalPrint('busy.gcode');
    await b.waitStatus((s) => s.status === 1, since, 10_000, 'local print (1)');
    const jobId = printCommand(b, 'Behind', 3);
    await eventually(async () => (await b.c.moonrakerApi.jobQueueStatus()).queued_jobs.length === 1, 30_000, "in Moonraker's queue");
    b.send('cancel');
    await eventually(() => b.jobReports().length >= 1, 30_000, 'the local print reported');
    assert.deepEqual([b.jobReports()[0]!.jobId, b.jobReports()[0]!.state], ['123', 'canceled'], 'the running print was canceled');
    await b.waitStatus((s) => s.status === 3 && s.jobId === jobId, since, 60_000, 'the queued cloud job prints (3)');
    assert.equal(b.jobReports().filter((r) => r.jobId === jobId).length, 0, 'the queued job was not canceled');
  }));
