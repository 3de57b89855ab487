// Crash safety of the shipped bundle: the bridge (dist/polarcloud.mjs, its own
// process group, like a systemd unit) is SIGKILLed at each phase of a cloud
// print — downloading, uploading, printing, making the timelapse, and with the
// job report only in data_dir/jobs.json — then started again. After each: the
// bridge is back online within a bound, every finished job is reported exactly
// once with the right jobId/state, no temporary download or timelapse frame
// folder is left once it is idle, and Moonraker holds no stray file.
// Each invariant is its own subtest; the first run of this file found four bugs, fixed since.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { demoGcode } from '../../src/cli/demo.js';
import { filesUnder, LAYERS, MIB, MOVES_PER_LAYER, ONLINE_BOUND_MS, Rig, until, type StatusSeen } from './crash-rig.js';

const SCENARIO_TIMEOUT_MS = 120_000;

/** Runs a scenario on a fresh emulator + simulator + bridge; failures carry the rig's state and the bridges' logs. */
async function scenario(t: TestContext, body: (rig: Rig, t: TestContext) => Promise<void>): Promise<void> {
  const rig = await Rig.start();
  try {
    const first = await rig.startBridge('#1');
    t.diagnostic(`first start online after ${first} ms`);
    await body(rig, t);
  } catch (err) {
    const e = err instanceof Error ? err : new Error(String(err));
    e.message += `\n${await rig.context()}`;
    throw e;
  } finally {
    await rig.stop();
  }
}

/** Kills the bridge, runs `meanwhile`, starts it again and checks it is online within the bound. */
async function crashAndRestart(rig: Rig, t: TestContext, meanwhile: () => void | Promise<void> = () => undefined): Promise<{ at: number; seq: number }> {
  await rig.killBridge();
  await meanwhile();
  const restarted = { at: Date.now(), seq: rig.emu.control.lastSeq() };
  const onlineMs = await rig.startBridge('#2');
  t.diagnostic(`restarted bridge online after ${onlineMs} ms`);
  assert.ok(onlineMs < ONLINE_BOUND_MS, `online within ${ONLINE_BOUND_MS} ms`);
  return restarted;
}

/** The interrupted job is not left hanging: reported canceled (once) so the cloud can send it again, or printed after all. */
async function assertInterruptedJobResolved(rig: Rig, jobId: string, restartedAt: number): Promise<void> {
  const resolved = (): boolean => rig.reports().some((r) => r.jobId === jobId) || rig.statuses().some((s) => s.status === 3 && s.jobId === jobId);
  await until(resolved, Math.max(1000, restartedAt + 15_000 - Date.now()), `job ${jobId} reported or printed after the restart`).catch(() => undefined);
  const pending = (await rig.jobsFile())?.tracker?.pendingCloud ?? null;
  assert.ok(resolved(), `job ${jobId} neither reported nor printed after the restart (jobs.json pendingCloud: ${JSON.stringify(pending)})`);
  assert.ok(rig.reports().filter((r) => r.jobId === jobId).length <= 1, 'reported at most once');
}

test('SIGKILL while downloading: back online, nothing stray on the printer, the unprinted job is not reported completed', { timeout: SCENARIO_TIMEOUT_MS }, (t) =>
  scenario(t, async (rig) => {
    const job = rig.emu.control.addJob(rig.serial, { jobName: 'big', size: 200 * MIB });
    // The download stalls after 4 MiB: it is still in progress whenever the kill comes.
    rig.emu.control.faultFile(job.fileName!, { kind: 'stall', afterBytes: 4 * MIB });
    rig.print(job);
    // Streamed: the download flows into Moonraker's upload, with no copy in data_dir/downloads.
    await until(() => rig.sim.control.rpcLog().some((r) => r.method === 'server.files.upload'), 15_000, 'the download streaming into Moonraker');
    assert.deepEqual(await filesUnder(join(rig.dataDir, 'downloads')), [], 'no copy of the file in data_dir/downloads');
    const restartedAt = (await crashAndRestart(rig, t, () => rig.emu.control.faultFile(job.fileName!, null))).at;
    await rig.waitIdle(20_000);

    assert.ok(!rig.reports().some((r) => r.jobId === job.jobId && r.state === 'completed'), 'a job that never printed is not reported completed');
    assert.ok(rig.reports().length <= 1, 'at most one report');
    assert.notEqual(rig.printStats().state, 'printing');
    await rig.assertGcodesClean(job, 200 * MIB);
    rig.assertNoViolations();

    await t.test('no temporary download is left once idle', () => rig.assertNoStaleDownloads());
    await t.test('the interrupted job is reported canceled (or printed), not left pending', () => assertInterruptedJobResolved(rig, job.jobId, restartedAt));
  }),
);

test('SIGKILL while uploading to Moonraker: back online, no half-written or stray file on the printer', { timeout: SCENARIO_TIMEOUT_MS }, (t) =>
  scenario(t, async (rig) => {
    const job = rig.smallJob('upload');
    const content = demoGcode(LAYERS, MOVES_PER_LAYER);
    const since = rig.emu.control.lastSeq();
    // Moonraker answers slowly (every request waits 3 s before it is read): the upload is in flight
    // for 3 s once the download is complete (the bytes wait in the connection's buffers).
    rig.sim.control.setReplyDelay(3000);
    rig.print(job);
    await rig.emu.control.waitFor((e) => e.kind === 'in' && e.name === 'status' && /^Uploading to printer/.test(String((e.payload as StatusSeen).progressDetail)), 15_000, since);
    assert.deepEqual(await filesUnder(join(rig.dataDir, 'downloads')), [], 'streamed: no copy in data_dir/downloads');
    assert.ok(!rig.sim.control.rpcLog().some((r) => r.method === 'server.files.upload'), 'Moonraker has not taken the upload yet');
    assert.deepEqual(await filesUnder(join(rig.gcodesDir, 'polarcloud')), [], 'killed before the upload completed');
    const restartedAt = (await crashAndRestart(rig, t, () => rig.sim.control.setReplyDelay(0))).at;
    await rig.waitIdle(20_000);

    assert.ok(!rig.reports().some((r) => r.jobId === job.jobId && r.state === 'completed'), 'a job that never printed is not reported completed');
    assert.ok(rig.reports().length <= 1, 'at most one report');
    assert.notEqual(rig.printStats().state, 'printing');
    await rig.assertGcodesClean(job, Buffer.byteLength(content));
    rig.assertNoViolations();

    await t.test('no temporary download is left once idle', () => rig.assertNoStaleDownloads());
    await t.test('the interrupted job is reported canceled (or printed), not left pending', () => assertInterruptedJobResolved(rig, job.jobId, restartedAt));
  }),
);

test('SIGKILL while printing: the print goes on, is reported completed exactly once, the timelapse resumes and is cleaned up', { timeout: SCENARIO_TIMEOUT_MS }, (t) =>
  scenario(t, async (rig) => {
    const job = rig.smallJob('printing');
    rig.print(job);
    await until(() => rig.printStats().state === 'printing' && rig.progress() > 0.2, 60_000, 'the print 20% done'); // the simulated print slows down with the machine
    const frames = join(rig.dataDir, 'timelapse');
    await until(async () => (await filesUnder(frames)).some((f) => f.endsWith('.jpg')), 5000, 'timelapse frames on disk');
    const restarted = await crashAndRestart(rig, t);
    assert.equal(rig.printStats().state, 'printing', 'the print went on without the bridge');
    // The restarted bridge mirrors the print as the cloud job, not as a local one.
    await until(() => rig.statuses(restarted.seq).some((s) => s.status === 3 && s.jobId === job.jobId), 10_000, `status 3 for ${job.jobId} from the restarted bridge`);
    assert.ok(!rig.statuses(restarted.seq).some((s) => s.jobId === '123'), 'never shown as a local job');
    await rig.sim.control.waitForPrintState('complete', 30_000);

    await rig.assertReportedOnce(job.jobId, 'completed');
    assert.equal(rig.emu.control.uploads().filter((u) => u.type === 'timelapse' && u.jobId === job.jobId).length, 1, 'one timelapse for the job');
    await rig.assertNoStaleDownloads();
    await rig.assertNoFrameFolders();
    await rig.assertGcodesClean(job, Buffer.byteLength(demoGcode(LAYERS, MOVES_PER_LAYER)));
    rig.assertNoViolations();
  }),
);

test('SIGKILL while the timelapse is made (status 5): back online, the job stays reported completed', { timeout: SCENARIO_TIMEOUT_MS }, (t) =>
  scenario(t, async (rig) => {
    const job = rig.smallJob('postproc');
    const since = rig.emu.control.lastSeq();
    // Kill the moment the cloud sees 5 (encoding under way): in the same tick the event is recorded.
    const killed = rig.emu.control
      .waitFor((e) => e.kind === 'in' && e.name === 'status' && (e.payload as StatusSeen).status === 5 && (e.payload as StatusSeen).jobId === job.jobId, 40_000, since)
      .then(() => rig.bridge!.kill());
    rig.print(job);
    await killed;
    const reportsAtKill = rig.reports().length;
    t.diagnostic(`job reports when killed: ${reportsAtKill}; jobs.json outbox: ${JSON.stringify((await rig.jobsFile())?.outbox ?? [])}`);
    assert.equal(reportsAtKill, 1, 'the report went out before status 5');
    await crashAndRestart(rig, t);

    await until(() => rig.reports().length > 0, 20_000, `the job report of ${job.jobId}`);
    await rig.waitIdle(20_000);
    assert.ok(
      rig.reports().every((r) => r.jobId === job.jobId && r.state === 'completed'),
      'every report is the cloud job, completed',
    );
    await rig.assertNoStaleDownloads();
    await rig.assertGcodesClean(job, Buffer.byteLength(demoGcode(LAYERS, MOVES_PER_LAYER)));
    rig.assertNoViolations();
    await t.test('the job is reported exactly once', () => rig.assertReportedOnce(job.jobId, 'completed'));
    await t.test('no timelapse frame folder is left once idle', () => rig.assertNoFrameFolders());
  }),
);

test('SIGKILL with the job report only in the outbox (cloud unreachable): it is reported exactly once after the restart', { timeout: SCENARIO_TIMEOUT_MS }, (t) =>
  scenario(t, async (rig) => {
    const job = rig.smallJob('outbox');
    rig.print(job);
    await until(() => rig.printStats().state === 'printing' && rig.progress() > 0.75, 60_000, 'the print 75% done'); // the simulated print slows down with the machine
    rig.emu.control.refuseConnections();
    await until(() => rig.emu.control.printer(rig.serial)?.authenticated === false, 5000, 'the bridge offline');
    await rig.sim.control.waitForPrintState('complete', 30_000);
    await until(async () => ((await rig.jobsFile())?.outbox ?? []).some((r) => r.jobId === job.jobId), 15_000, 'the report in jobs.json outbox');
    assert.deepEqual(rig.reports(), [], 'nothing reached the cloud yet');
    await crashAndRestart(rig, t, () => rig.emu.control.acceptConnections());

    await rig.assertReportedOnce(job.jobId, 'completed');
    await rig.assertNoStaleDownloads();
    await rig.assertGcodesClean(job, Buffer.byteLength(demoGcode(LAYERS, MOVES_PER_LAYER)));
    rig.assertNoViolations();
    await t.test('no timelapse frame folder is left once idle', () => rig.assertNoFrameFolders());
  }),
);
