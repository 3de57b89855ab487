// Issue 14: what Polar shows through every transition, scenario by scenario, on the
// whole bridge against the simulator. Each scenario asserts the transitions the issue
// saw lie; the status-stream checker (run by Bridge.stop) asserts the per-job grammar
// over everything received. The stream each scenario produced goes to the test output
// (t.diagnostic) as `code/jobId` tokens.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { Bridge, eventually, type StatusSeen } from './bridge-harness.js';
import { prusaGcode } from '../simulator/gcode-samples.js';

/** Runs one scenario on a fresh bridge; prints the stream the cloud received. */
async function scenario(t: TestContext, o: Parameters<typeof Bridge.start>[0], body: (b: Bridge) => Promise<void>): Promise<void> {
  const b = await Bridge.start(o);
  try {
    await body(b);
  } finally {
    t.diagnostic(`stream: ${runLength(b.statusCodes())}`);
    await b.stop();
  }
}

/** "2/KL1-100001 2/KL1-100001 3/KL1-100001" → "2/J1×2 3/J1" (cloud jobIds numbered in order of appearance). */
function runLength(stream: string): string {
  const ids = new Map<string, string>();
  const toks = stream.split(' ').filter(Boolean).map((tok) => {
    const [code, id] = tok.split('/');
    if (!id) return code!;
    if (id === '123') return `${code}/123`;
    if (!ids.has(id)) ids.set(id, `J${ids.size + 1}`);
    return `${code}/${ids.get(id)}`;
  });
  const out: string[] = [];
  for (let i = 0; i < toks.length; ) {
    let n = 1;
    while (toks[i + n] === toks[i]) n++;
    out.push(n > 1 ? `${toks[i]}×${n}` : toks[i]!);
    i += n;
  }
  return out.join(' ');
}

async function cloudJob(b: Bridge, name: string, layers = 6, moves = 20): Promise<string> {
  const job = b.emu.control.addJob(b.serial, { jobName: name, content: prusaGcode({ layers, movesPerLayer: moves }) });
  await b.c.session.sendNextPrint(job.jobId);
  return job.jobId;
}

function codes(list: StatusSeen[], jobId?: string): number[] {
  return list.filter((s) => jobId === undefined || s.jobId === jobId).map((s) => s.status);
}

/** The cloud job's statuses from its first to its last are one of 2* (3|4|9|10)* 5* (6|7)*, with no 0 in between. */
function assertCloudRun(b: Bridge, since: number, jobId: string): void {
  const all = b.statuses(since);
  const first = all.findIndex((s) => s.jobId === jobId);
  const last = all.map((s) => s.jobId).lastIndexOf(jobId);
  assert.ok(first >= 0, `statuses for ${jobId}`);
  const between = all.slice(first, last + 1);
  assert.ok(!between.some((s) => s.status === 0), `no 0 inside the job: ${b.statusCodes(since)}`);
  assert.ok(!between.some((s) => s.jobId === '123'), `no local status inside the job: ${b.statusCodes(since)}`);
  assert.match(codes(between, jobId).map((c) => (c === 10 ? 'T' : String(c))).join(''), /^2*[349T]*5*[67]*$/, b.statusCodes(since));
}

/**
 * The Ready (0) that follows the job's report and its banner. Not just any 0 since the scenario
 * began: an idle heartbeat 0 may come before the job's first status, and the test would end before
 * the banner arrived.
 */
async function readyAfterReport(b: Bridge, jobId: string, since: number): Promise<void> {
  const report = await b.emu.control.waitFor((e) => e.kind === 'in' && e.name === 'job' && (e.payload as { jobId?: string }).jobId === jobId, 10_000, since);
  await b.waitStatus((s) => s.status === 0, report.seq, 15_000, 'Ready after the banner');
}

test('local print with homing: 1 from the first status to the last (heating detail), never 2, no 0 inside', (t) =>
  scenario(t, { speedFactor: 20 }, async (b) => {
    // Cold heaters: the start G-code homes (G28) and heats (M190/M109) before the first extrusion.
    await b.addGcode('local.gcode', 4, 12);
    const since = b.emu.control.lastSeq();
    await b.sim.control.startLocalPrint('local.gcode');
    await eventually(() => b.jobReports().length === 1, 60_000, 'local job report');
    await readyAfterReport(b, '123', since);
    const local = b.statuses(since).filter((s) => s.jobId === '123');
    assert.ok(local.length > 0);
    assert.deepEqual([...new Set(codes(local))], [1], `local statuses: ${b.statusCodes(since)}`);
    assert.ok(local.some((s) => /^Heating \/ homing before printing local\.gcode$/.test(String(s.progressDetail))), 'heating detail sent as 1');
    assert.ok(local.some((s) => /^Printing Job: local\.gcode/.test(String(s.progressDetail))), 'printing detail');
  }));

test('cloud print from idle: 2 … 3 … 7 7 7, then 0 — no Ready flicker at the start', (t) =>
  scenario(t, { speedFactor: 50 }, async (b) => {
    b.preheat();
    const since = b.emu.control.lastSeq();
    const jobId = await cloudJob(b, 'FromIdle', 8, 30);
    await eventually(() => b.jobReports().length === 1, 60_000, 'report');
    await readyAfterReport(b, jobId, since);
    assertCloudRun(b, since, jobId);
    assert.ok(codes(b.statuses(since), jobId).includes(3), 'printing (3) seen');
  }));

for (const previous of ['completed', 'canceled'] as const) {
  test(`cloud print right after a ${previous} local print: print_stats' old ${previous === 'completed' ? 'complete' : 'cancelled'} never counts for the new job (no 7 before it printed)`, (t) =>
    scenario(t, { speedFactor: 50 }, async (b) => {
      b.preheat();
      await b.addGcode('before.gcode', previous === 'completed' ? 3 : 40, 20);
      await b.sim.control.startLocalPrint('before.gcode');
      if (previous === 'canceled') {
        await b.sim.control.waitForPrintState('printing');
        await b.c.moonrakerApi.printCancel();
      }
      await b.sim.control.waitForPrintState(previous === 'completed' ? 'complete' : 'cancelled', 60_000);
      await eventually(() => b.jobReports().length === 1, 20_000, 'local report');
      const ended = previous === 'completed' ? 'complete' : 'cancelled';
      await eventually(() => b.c.printer.snapshot().print_stats.state === ended, 10_000, `the bridge sees print_stats ${ended}`);
      const since = b.emu.control.lastSeq();
      const jobId = await cloudJob(b, `After-${previous}`, 8, 30);
      await eventually(() => b.jobReports().length === 2, 60_000, 'cloud report');
      await readyAfterReport(b, jobId, since);
      assertCloudRun(b, since, jobId);
      const mine = codes(b.statuses(since), jobId);
      assert.ok(mine.indexOf(3) >= 0 && mine.indexOf(7) > mine.indexOf(3), `7 only after 3: ${mine.join(',')}`);
      assert.equal(b.jobReports()[1]!.state, 'completed');
    }));
}

test('cloud print paused, resumed and canceled from Polar: 2* 3 4 3 then 6 6 6 and 0 — no 1/123 or 2 during the cancel', (t) =>
  scenario(t, { speedFactor: 5 }, async (b) => {
    b.preheat();
    const since = b.emu.control.lastSeq();
    const jobId = await cloudJob(b, 'PauseCancel', 40, 40);
    await b.waitStatus((s) => s.status === 3 && s.jobId === jobId, since, 30_000, 'printing (3)');
    b.send('pause', { type: 'pause' });
    await b.waitStatus((s) => s.status === 4 && s.jobId === jobId, since, 10_000, 'paused (4)');
    b.send('resume');
    const resumed = b.emu.control.lastSeq();
    await b.waitStatus((s) => s.status === 3 && s.jobId === jobId, resumed, 10_000, 'printing again (3)');
    b.send('cancel');
    await eventually(() => b.jobReports().length === 1, 20_000, 'cancel report');
    await readyAfterReport(b, jobId, resumed);
    assertCloudRun(b, since, jobId);
    const mine = codes(b.statuses(since), jobId);
    assert.deepEqual(mine.slice(mine.indexOf(6)), [6, 6, 6], mine.join(','));
    assert.equal(b.jobReports()[0]!.state, 'canceled');
  }));

test('a cloud cancel during the download: 2* then 6 6 6 and 0', (t) =>
  scenario(t, { extraYaml: 'cloud_print:\n  stall_timeout: 30\n' }, async (b) => {
    const job = b.emu.control.addJob(b.serial, { jobName: 'Big', size: 20 * 1048576 });
    b.emu.control.faultFile(job.fileName!, { kind: 'stall', afterBytes: 256 * 1024 });
    const since = b.emu.control.lastSeq();
    await b.c.session.sendNextPrint(job.jobId);
    await b.waitStatus((s) => s.status === 2 && s.jobId === job.jobId, since, 5000, 'downloading (2)');
    b.send('cancel');
    await eventually(() => b.jobReports().length === 1, 10_000, 'canceled report');
    // The Ready after the three 6s (an idle heartbeat 0 may have come before the job's first 2).
    await readyAfterReport(b, job.jobId, since);
    assertCloudRun(b, since, job.jobId);
    assert.deepEqual(codes(b.statuses(since), job.jobId).filter((c) => c !== 2), [6, 6, 6]);
  }));

test('Klippy shutdown mid-print: 12 while shut down (print_stats still "paused"), the job reported canceled once, 0 after FIRMWARE_RESTART', (t) =>
  scenario(t, { speedFactor: 5 }, async (b) => {
    b.preheat();
    const since = b.emu.control.lastSeq();
    const jobId = await cloudJob(b, 'Shutdown', 40, 40);
    await b.waitStatus((s) => s.status === 3 && s.jobId === jobId, since, 30_000, 'printing (3)');
    await b.sim.control.klippyShutdown("MCU 'mcu' shutdown: Timer too close");
    const err = await b.waitStatus((s) => s.status === 12, since, 5000, 'error (12)');
    assert.match(String(err.progressDetail), /Timer too close/);
    await eventually(() => b.jobReports().length === 1, 10_000, 'report');
    assert.deepEqual([b.jobReports()[0]!.jobId, b.jobReports()[0]!.state], [jobId, 'canceled']);
    // Polar's "Connect printer" → FIRMWARE_RESTART, the only way out of a shutdown.
    b.send('connectPrinter');
    await b.waitStatus((s) => s.status === 0, err.seq, 15_000, 'Ready after FIRMWARE_RESTART');
    assertCloudRun(b, since, jobId);
  }));

test('Moonraker restart mid-print: 13 while it is away, then the same job again (3), completed once', (t) =>
  scenario(t, { speedFactor: 10 }, async (b) => {
    b.preheat();
    const since = b.emu.control.lastSeq();
    const jobId = await cloudJob(b, 'MoonrakerRestart', 30, 30);
    await b.waitStatus((s) => s.status === 3 && s.jobId === jobId, since, 30_000, 'printing (3)');
    await b.sim.control.restartMoonraker(1500);
    const away = await b.waitStatus((s) => s.status === 13, since, 5000, 'disconnected (13)');
    await b.waitStatus((s) => s.status === 3 && s.jobId === jobId, away.seq, 15_000, 'printing again (3)');
    await eventually(() => b.jobReports().length === 1, 90_000, 'report');
    assert.deepEqual([b.jobReports()[0]!.jobId, b.jobReports()[0]!.state], [jobId, 'completed']);
    await readyAfterReport(b, jobId, away.seq);
    assertCloudRun(b, since, jobId);
  }));

test("a cloud print queued behind a busy printer: the local print stays 1 while the job downloads, then the cloud job 2* 3 … 7", (t) =>
  scenario(t, { speedFactor: 50 }, async (b) => {
    b.preheat();
    await b.addGcode('busy.gcode', 10, 30);
    const since = b.emu.control.lastSeq();
    await b.sim.control.startLocalPrint('busy.gcode');
    await b.waitStatus((s) => s.status === 1, since, 10_000, 'local print (1)');
    // The Polar UI's PRINT on a busy printer (the CLI's `next` refuses while printing).
    const job = b.emu.control.addJob(b.serial, { jobName: 'Queued', content: prusaGcode({ layers: 6, movesPerLayer: 20 }) });
    const jobId = job.jobId;
    b.send('print', { jobId, jobName: 'Queued', gcodeFile: job.gcodeUrl });
    await eventually(() => b.jobReports().length === 2, 90_000, 'both reports');
    assert.deepEqual(b.jobReports().map((r) => [r.jobId, r.state]), [['123', 'completed'], [jobId, 'completed']]);
    await readyAfterReport(b, jobId, since);
    assertCloudRun(b, since, jobId);
    const all = b.statuses(since);
    const firstCloud = all.findIndex((s) => s.jobId === jobId);
    const lastLocal = all.map((s) => s.jobId).lastIndexOf('123');
    assert.ok(firstCloud > lastLocal, `the cloud job shows once the local print is done: ${b.statusCodes(since)}`);
  }));
