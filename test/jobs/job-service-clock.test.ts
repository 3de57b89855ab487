// Issue 13.12 through the JobService (the part that stamps events with the monotonic clock):
// a +15 day wall-clock jump while a cloud job waits in Moonraker's queue must not turn it into
// a local job when it starts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PrinterModel, type MoonrakerApi, type MoonrakerClient } from '../../moonraker-bridge/index.js';
import { JobService } from '../../src/jobs/job-service.js';
import { QUEUED_CLOUD_TTL_MS } from '../../src/jobs/job-tracker.js';
import { Logger } from '../../src/util/log.js';
import { FakeClock } from '../helpers/fake-clock.js';

const silent = Logger.create('error', []);
const noEvents = { on: () => () => undefined };

function printer(): PrinterModel {
  const m = new PrinterModel({ log: silent });
  m.setConnection('klippy_ready', 'Printer is ready');
  m.replaceAll({ print_stats: { state: 'standby', filename: '', print_duration: 0, total_duration: 0, filament_used: 0 } }, 1);
  return m;
}

test('a cloud job queued in Moonraker survives a +15 day wall-clock jump and starts as the cloud job', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'pc-jobclock-'));
  const clock = new FakeClock();
  const p = printer();
  const api = { ...noEvents, fileMetadata: () => Promise.reject(new Error('none')) } as unknown as MoonrakerApi;
  const jobs = new JobService({ dataDir: dir, printer: p, api, moonraker: noEvents as unknown as MoonrakerClient, clock, log: silent });
  try {
    await jobs.start();
    jobs.cloudQueue({ jobId: 'cj-queued', filename: 'polarcloud/q.gcode', since: clock.now() });
    await clock.advance(60_000);
    clock.jumpWall(15 * 24 * 3600_000);
    assert.ok(15 * 24 * 3600_000 > QUEUED_CLOUD_TTL_MS, 'the jump is longer than the queue TTL');
    p.applyUpdate([{ print_stats: { state: 'printing', filename: 'polarcloud/q.gcode' } }, 2]);
    assert.equal(jobs.job?.jobId, 'cj-queued');
    assert.equal(jobs.job?.cloud, true);
  } finally {
    await jobs.stop();
    await rm(dir, { recursive: true, force: true });
  }
});
