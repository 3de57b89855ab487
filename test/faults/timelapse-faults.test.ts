// The timelapse upload under cloud faults (real socket.io server, Moonraker
// simulator with its webcam, and the emulator's verifying S3 endpoint): an S3
// outage, an expired policy, a failed getUrl and the link lost between the
// encode and the upload. The job report and the frames never depend on the
// video: each scenario ends with the invariants of ./invariants.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Bridge, eventually } from '../bridge/bridge-harness.js';
import { prusaGcode } from '../simulator/gcode-samples.js';
import {
  assertBackToBaseline,
  assertCompletionSeen,
  assertNoOrphans,
  assertNoViolations,
  assertReportedExactlyOnce,
  resourceBaseline,
  scenario,
} from './invariants.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const SPEED = 40;

/** Runs a cloud print with the camera on and calls `atStatus5` when the cloud sees the timelapse being made. */
async function printWithTimelapse(b: Bridge, name: string, atStatus5: () => void | Promise<void>): Promise<string> {
  const job = b.emu.control.addJob(b.serial, { jobName: name, content: prusaGcode({ layers: 8, movesPerLayer: 15 }) });
  b.preheat();
  // The previous print's end may still be on its way from Klippy (print_stats is batched).
  await eventually(() => !['printing', 'paused'].includes(b.c.printer.snapshot().print_stats.state ?? ''), 5000, 'the printer free');
  const since = b.emu.control.lastSeq();
  await b.c.session.sendNextPrint(job.jobId);
  const five = await b.waitStatus((s) => s.status === 5 && s.jobId === job.jobId, since, 60_000, 'making the timelapse (5)');
  await atStatus5();
  // A 7 may go out before the 5 too (the report is sent first): wait for the one after it.
  await b.waitStatus((s) => s.status === 7 && s.jobId === job.jobId, five.seq, 60_000, 'complete (7) after the timelapse');
  return job.jobId;
}

const timelapses = (b: Bridge, jobId: string): number => b.emu.control.uploads().filter((u) => u.type === 'timelapse' && u.jobId === jobId).length;
const rejected = (b: Bridge, re: RegExp): number => b.emu.control.events().filter((e) => e.kind === 'upload-rejected' && re.test(String(e.reason))).length;

test('timelapse upload: S3 503, an expired policy and a lost link are all survived; the video arrives once', { timeout: 120_000 }, (t) =>
  scenario(t, { speedFactor: SPEED, camera: 'idle_interval: 3600' }, async (b) => {
    const base = await resourceBaseline();
    const jobId = await printWithTimelapse(b, 'Lapse', () => {
      // The link drops while the video is encoded; S3 answers the first POST with
      // 503, and the URL (valid 1 s) has expired by the retry 2 s later.
      b.emu.control.setUrlOptions({ expires: 1 });
      b.emu.control.faultUploads({ status: 503 }, 1);
      b.emu.control.dropConnections();
    });
    assert.equal(timelapses(b, jobId), 1, 'the timelapse arrived exactly once');
    assert.ok(rejected(b, /ServiceUnavailable/) >= 1, 'S3 refused it with 503 first');
    assert.ok(rejected(b, /Policy expired/) >= 1, 'then as expired');
    await assertReportedExactlyOnce(b, [{ jobId, state: 'completed' }]);
    await assertCompletionSeen(b, jobId);
    assertNoViolations(b);
    await assertNoOrphans(b);
    await assertBackToBaseline(base, { heapSlackMiB: 24 });
  }),
);

test('timelapse upload: getUrl FAILED, then S3 down for good; the job is still reported once and the frames are deleted', { timeout: 120_000 }, (t) =>
  scenario(t, { speedFactor: SPEED, camera: 'idle_interval: 3600' }, async (b) => {
    const first = await printWithTimelapse(b, 'NoUrl', () => b.emu.control.setUrlOptions({ fail: 'SERVER_ERROR' }));
    assert.equal(timelapses(b, first), 0);
    assert.ok(b.log.has(/timelapse of cloud job .* not uploaded: .*SERVER_ERROR/, 'warn'), 'the refusal is logged');
    b.emu.control.setUrlOptions({});

    const second = await printWithTimelapse(b, 'NoS3', () => b.emu.control.faultUploads({ status: 500 }));
    assert.equal(timelapses(b, second), 0);
    assert.ok(rejected(b, /InternalError/) >= 3, 'tried three times');
    // S3 answers before reading the body and closes: the sender sees the 500, or only
    // the closed connection (EPIPE/ECONNRESET) when its write fails first.
    assert.ok(b.log.has(/timelapse of cloud job .* not uploaded: (HTTP 500|NetworkError).*after 3 attempts/, 'warn'), b.log.lines('warn').join('\n'));
    b.emu.control.faultUploads(null);

    await assertReportedExactlyOnce(b, [
      { jobId: first, state: 'completed' },
      { jobId: second, state: 'completed' },
    ]);
    await assertCompletionSeen(b, second);
    assert.deepEqual(await readdir(join(b.dataDir, 'timelapse')).catch(() => []), []);
    assertNoViolations(b);
    await assertNoOrphans(b);
  }),
);

test('a timelapse finished while the cloud refuses connections waits for the link and is uploaded once it is back', { timeout: 120_000 }, (t) =>
  scenario(t, { speedFactor: SPEED, camera: 'idle_interval: 3600' }, async (b) => {
    const jobId = await printWithTimelapse(b, 'Offline', async () => {
      b.emu.control.refuseConnections();
      await eventually(() => !b.c.polar.online, 5000, 'offline');
      await sleep(1500);
      b.emu.control.acceptConnections();
    });
    assert.equal(timelapses(b, jobId), 1, 'uploaded after the link came back');
    assert.ok(b.log.has(/waiting for the Polar Cloud link to upload it/, 'info'), 'it waited for the link');
    await assertReportedExactlyOnce(b, [{ jobId, state: 'completed' }]);
    await assertCompletionSeen(b, jobId);
    assertNoViolations(b);
    await assertNoOrphans(b);
  }),
);

for (const when of ['while encoding', 'while waiting for the link'] as const) {
  test(`stopping the bridge ${when} gives the timelapse up at once and deletes the frames`, { timeout: 120_000 }, (t) =>
    scenario(t, { speedFactor: SPEED, camera: 'idle_interval: 3600' }, async (b) => {
      const job = b.emu.control.addJob(b.serial, { jobName: 'Stop', content: prusaGcode({ layers: 8, movesPerLayer: 15 }) });
      b.preheat();
      const since = b.emu.control.lastSeq();
      await b.c.session.sendNextPrint(job.jobId);
      await b.waitStatus((s) => s.status === 5 && s.jobId === job.jobId, since, 60_000, 'making the timelapse (5)');
      if (when === 'while waiting for the link') {
        b.emu.control.refuseConnections();
        await eventually(() => b.log.has(/waiting for the Polar Cloud link to upload it/), 30_000, 'waiting for the link');
      }
      const t0 = Date.now();
      await b.c.stop();
      await eventually(() => b.log.has(/timelapse of cloud job .* not uploaded: stopping/, 'warn'), 10_000, 'the timelapse given up');
      t.diagnostic(`given up ${Date.now() - t0} ms after stop()`);
      await eventually(async () => (await readdir(join(b.dataDir, 'timelapse')).catch(() => [])).length === 0, 5000, 'frames deleted');
      b.emu.control.acceptConnections();
    }),
  );
}
