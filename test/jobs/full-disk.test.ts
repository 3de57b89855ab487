// A full SD card must not lose a job report. With jobs.json impossible to
// write (a real file-system failure: the file was replaced by a folder), a
// finished print is still reported at once from memory; and a print that ended
// while the state could not be saved — the service then restarted with only
// the older file — is found in Moonraker's history and reported exactly once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Bridge, eventually } from '../bridge/bridge-harness.js';
import { JOBS_FILE } from '../../src/jobs/job-store.js';
import { LOCAL_JOB_ID } from '../../src/jobs/job-types.js';

async function breakJobsFile(dataDir: string): Promise<void> {
  // The store's retry may write jobs.json again between the rm and the mkdir: then try again.
  for (let attempt = 0; ; attempt++) {
    await rm(join(dataDir, JOBS_FILE), { recursive: true, force: true });
    try {
      await mkdir(join(dataDir, JOBS_FILE, 'not-a-file'), { recursive: true });
      return;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (attempt >= 50 || (code !== 'ENOTDIR' && code !== 'EEXIST')) throw err;
    }
  }
}

async function printLocal(b: Bridge, name: string): Promise<void> {
  await b.addGcode(name, 3, 8);
  b.preheat();
  await b.c.moonrakerApi.printStart(name);
}

function localReports(b: Bridge): number {
  return b.jobReports().filter((r) => r.jobId === LOCAL_JOB_ID).length;
}

test('jobs.json cannot be saved: the report is sent at once, and a job that ended unsaved before a restart is reported once', { timeout: 180_000 }, async () => {
  const b = await Bridge.start({ speedFactor: 50 });
  try {
    // 1. The file cannot be written while a print starts and ends: the report still goes out, now.
    await breakJobsFile(b.dataDir);
    await printLocal(b, 'disk-full-a.gcode');
    await eventually(() => localReports(b) === 1, 60_000, 'report of the first print sent while saves fail');
    assert.equal(b.c.jobs.store.unsaved, true, 'the saves were failing all along');
    assert.ok(b.log.lines().some((l) => /could not save job state to .*jobs\.json: .*kept in memory/.test(l)), 'the failure is logged');

    // 2. Space again: the retry catches up without any new change.
    await rm(join(b.dataDir, JOBS_FILE), { recursive: true });
    await eventually(() => !b.c.jobs.store.unsaved, 70_000, 'the retried save succeeded');
    const good = await readFile(join(b.dataDir, JOBS_FILE), 'utf8');

    // 3. Full again, and the cloud is away: the second print ends with its report only in memory.
    await breakJobsFile(b.dataDir);
    b.emu.control.refuseConnections();
    b.emu.control.dropConnections(b.serial);
    await eventually(() => !b.c.polar.online, 10_000, 'offline');
    await printLocal(b, 'disk-full-b.gcode');
    await eventually(() => b.c.jobs.store.outbox.some((r) => r.filename === 'disk-full-b.gcode'), 60_000, 'second print ended');
    await b.c.stop();

    // 4. The service comes back with the file as it last was on disk (without the second print).
    await rm(join(b.dataDir, JOBS_FILE), { recursive: true });
    await writeFile(join(b.dataDir, JOBS_FILE), good, { mode: 0o600 });
    b.emu.control.acceptConnections();
    b.c = b.makeController();
    await b.c.start();
    await b.ready();
    await eventually(() => localReports(b) === 2, 30_000, 'the second print reported after the restart');
    assert.ok(b.log.has(/job finished while its state could not be saved: local job disk-full-b\.gcode completed/), 'found in the history');
    await eventually(() => b.c.jobs.store.outbox.length === 0 && !b.c.jobs.store.unsaved, 10_000, 'outbox sent and saved');

    // 5. Once: another restart finds nothing new to report.
    const checks = (): number => b.log.lines().filter((l) => /checked Moonraker's history for jobs since the last save/.test(l)).length;
    const before = checks();
    await b.restart();
    await eventually(() => checks() === before + 1, 10_000, 'history checked again after the restart');
    assert.ok(b.log.lines().at(-1) !== undefined);
    assert.match(b.log.lines().filter((l) => /checked Moonraker's history/.test(l)).at(-1)!, /: 0 unreported$/);
    assert.equal(b.c.jobs.store.outbox.length, 0, 'nothing queued');
    assert.equal(localReports(b), 2, 'each print reported exactly once');
  } finally {
    await b.stop();
  }
});
