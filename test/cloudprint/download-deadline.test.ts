// Issue 13 item 8 through the whole bridge: a cloud file served too slowly to
// ever finish (the emulator's `slow` fault) used to hold the job at
// "Downloading" for hours and block the next one. With
// cloud_print.download_deadline the job fails in time, shown as status 12 with
// the reason, the job stays queued in the cloud, and nothing is left behind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Bridge } from '../bridge/bridge-harness.js';

test('a download slower than the deadline allows fails the job with the reason; nothing left behind', async () => {
  const b = await Bridge.start({ extraYaml: 'cloud_print:\n  download_deadline: 1\n  stall_timeout: 30\n' });
  try {
    const job = b.emu.control.addJob(b.serial, { jobId: 'FSLOW', jobName: 'slow', size: 16 * 1048576 });
    b.emu.control.faultFile(job.fileName!, { kind: 'slow', bytesPerSecond: 65536 });
    const since = b.emu.control.lastSeq();
    const t0 = Date.now();
    b.send('print', { jobId: 'FSLOW', jobName: 'slow', gcodeFile: job.gcodeUrl });
    const st = await b.waitStatus((s) => s.status === 12 && s.jobId === 'FSLOW', since, 15_000, 'the job failed');
    assert.match(String(st.progressDetail), /Download for job FSLOW failed: did not finish within 1 s/);
    assert.ok(Date.now() - t0 < 15_000);
    assert.deepEqual(b.jobReports(), [], 'no job report: the job stays queued in the cloud');
    assert.deepEqual(await readdir(join(b.dataDir, 'downloads')).catch(() => []), []);
    const files = (await b.c.moonrakerApi.listFiles('gcodes')).map((f) => f.path);
    assert.ok(!files.some((f) => f.includes('FSLOW')), `no uploaded file: ${files.join(', ')}`);
  } finally {
    await b.stop();
  }
});
