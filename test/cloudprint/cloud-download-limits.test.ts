// Issue 13 item 8 through the whole bridge. A cloud file served too slowly to
// ever finish (the emulator's `slow` fault) used to hold the job at
// "Downloading" for hours and block the next one; a file without
// Content-Length skipped the free-space check and could fill the SD card.
// Now: the job fails in time / as soon as the file outgrows the free space of
// Moonraker's gcodes root, shown as status 12 with the reason, the job stays
// queued in the cloud, and nothing is left behind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Bridge } from '../bridge/bridge-harness.js';
import { serve } from './download-server.js';

const MIB = 1048576;

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

test('no Content-Length: the download stops once it outgrows the printer free space (minus the margin); nothing stored', async () => {
  const b = await Bridge.start({ extraYaml: 'cloud_print:\n  free_space_margin: 10\n' });
  // A chunked file of 64 MiB from a host the policy allows (the Polar server's own, loopback here).
  const chunk = Buffer.alloc(256 * 1024, 0x47);
  let sent = 0;
  const srv = await serve((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    const more = (): void => {
      if (res.destroyed) return;
      if (sent >= 64 * MIB) return void res.end();
      sent += chunk.length;
      res.write(chunk, more);
    };
    more();
  });
  try {
    b.sim.control.setDiskFree(14 * MIB); // room for 4 MiB once the 10 MB margin is kept
    const since = b.emu.control.lastSeq();
    b.send('print', { jobId: 'FCHUNK', jobName: 'chunked', gcodeFile: `${srv.base}/chunked.gcode` });
    const st = await b.waitStatus((s) => s.status === 12 && s.jobId === 'FCHUNK', since, 15_000, 'the job failed');
    assert.match(String(st.progressDetail), /Download for job FCHUNK failed: not enough disk space: the file outgrew the 4\.0 MiB there is room for/);
    assert.ok(sent < 32 * MIB, `stopped early (${sent} bytes served)`);
    assert.deepEqual(b.jobReports(), [], 'no job report: the job stays queued in the cloud');
    assert.deepEqual(await readdir(join(b.dataDir, 'downloads')).catch(() => []), []);
    const files = (await b.c.moonrakerApi.listFiles('gcodes')).map((f) => f.path);
    assert.ok(!files.some((f) => f.includes('FCHUNK')), `no uploaded file: ${files.join(', ')}`);
  } finally {
    await srv.close();
    await b.stop();
  }
});
