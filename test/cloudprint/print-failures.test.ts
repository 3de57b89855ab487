// Every way a cloud print can fail before it runs: reported to Polar as 12 with
// the reason (and in the consoles), no job report (the cloud keeps the job
// queued), no temporary file and no half-uploaded file left behind.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Bridge } from '../bridge/bridge-harness.js';
import { prusaGcode } from '../simulator/gcode-samples.js';
import type { FileFault } from '../../src/emulator/index.js';

const GCODE = prusaGcode({ layers: 2, movesPerLayer: 5 });

let b: Bridge;
before(async () => {
  b = await Bridge.start({ extraYaml: 'cloud_print:\n  stall_timeout: 1\n  download_attempts: 2\n  max_file_size: 1\n' });
});
after(async () => {
  await b.stop();
});

async function expectFailure(jobId: string, send: () => void, reason: RegExp): Promise<void> {
  const since = b.emu.control.lastSeq();
  send();
  const st = await b.waitStatus((s) => s.status === 12 && s.jobId === jobId, since, 15_000, `failure of ${jobId}`);
  assert.match(String(st.progressDetail), reason);
  assert.ok(b.commandResponses().some((r) => reason.test(r)), 'explained in the Polar console');
  assert.deepEqual(b.jobReports(), [], 'no job report: the job stays queued in the cloud');
  assert.deepEqual(await readdir(join(b.dataDir, 'downloads')).catch(() => []), [], 'no temporary file');
  const files = (await b.c.moonrakerApi.listFiles('gcodes')).map((f) => f.path);
  assert.ok(!files.some((f) => f.includes(jobId)), `no uploaded file: ${files.join(', ')}`);
}

function faultyJob(jobId: string, fault: FileFault | null, content: { content: string } | { size: number } = { content: GCODE }): () => void {
  const job = b.emu.control.addJob(b.serial, { jobId, jobName: jobId, ...content });
  if (fault) b.emu.control.faultFile(job.fileName!, fault);
  return () => b.send('print', { jobId, jobName: jobId, gcodeFile: job.gcodeUrl });
}

test('404', () => expectFailure('F404', faultyJob('F404', { kind: 'notFound' }), /Download for job F404 failed: HTTP 404/));
test('truncated on every attempt', () => expectFailure('FTRUNC', faultyJob('FTRUNC', { kind: 'truncate', afterBytes: 100 }), /failed after 2 attempts: .*(truncated|closed)/));
test('stalled server', () => expectFailure('FSTALL', faultyJob('FSTALL', { kind: 'stall', afterBytes: 100 }), /no data for 1 s/));
// Node 20's HTTP parser rejects bytes after Content-Length; Node 18's takes the announced length
// as the whole body (which, by HTTP's rules, it is) and ignores the rest — nothing to detect there.
const NODE_MAJOR = Number(process.versions.node.split('.')[0]);
test('more bytes than announced', { skip: NODE_MAJOR < 20 ? 'Node 18 ignores bytes after Content-Length' : false }, () =>
  expectFailure('FLEN', faultyJob('FLEN', { kind: 'wrongLength', contentLength: 50 }), /malformed HTTP response/));
test('too large', () => expectFailure('FBIG', faultyJob('FBIG', null, { size: 3 * 1048576 }), /over the 1\.0 MiB limit/));
test('plain http from a host that is not allowed', () =>
  expectFailure('FHTTP', () => b.send('print', { jobId: 'FHTTP', gcodeFile: 'http://files.example.com/x.gcode' }), /plain http from files\.example\.com is not allowed/));
test('Moonraker refuses the upload (403)', async () => {
  b.sim.control.refuseUploads(403);
  try {
    await expectFailure('F403', faultyJob('F403', null), /Upload of job F403 to the printer failed: Moonraker refused the upload \(HTTP 403/);
  } finally {
    b.sim.control.refuseUploads(null);
  }
});
test('checksum mismatch reported by Moonraker (422)', async () => {
  b.sim.control.refuseUploads(422);
  try {
    await expectFailure('F422', faultyJob('F422', null), /HTTP 422/);
  } finally {
    b.sim.control.refuseUploads(null);
  }
});
test('not enough disk space', async () => {
  const d = await Bridge.start({ extraYaml: 'cloud_print:\n  free_space_margin: 9000000\n' });
  try {
    const job = d.emu.control.addJob(d.serial, { jobId: 'FDISK', content: GCODE });
    const since = d.emu.control.lastSeq();
    d.send('print', { jobId: 'FDISK', gcodeFile: job.gcodeUrl });
    const st = await d.waitStatus((s) => s.status === 12 && s.jobId === 'FDISK', since, 10_000, 'disk full');
    assert.match(String(st.progressDetail), /not enough disk space on the printer/);
    assert.deepEqual(d.jobReports(), []);
  } finally {
    await d.stop();
  }
});
