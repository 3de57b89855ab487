// Issue 13.1: a cloud jobId of ".." once made the timelapse cleanup remove
// data_dir/timelapse/.. — the whole data folder (key, identity, job outbox).
// Through the real bridge: the hostile print is dropped at the boundary, and a
// hostile jobId that gets past it anyway (an outbox written by an older
// version) still cannot make any delete leave its folder.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Bridge, eventually } from '../bridge/bridge-harness.js';
import { childPath, isStrictlyInside, PathEscapeError, removeInside, safeSegment } from '../../src/util/safe-path.js';
import { validateCloudCommand } from '../../src/polar/messages.js';
import { tmpdir } from 'node:os';
import { mkdtemp } from 'node:fs/promises';

const HOSTILE_IDS = ['..', '.', '../..', '../../etc', 'a/b', 'a\\b', '/', '', ' ', '..\u0000', 'a'.repeat(200), '%2e%2e', 'job.1'];

/** Waits up to `ms` for `cond`; false when it never held (used where the fixed code must never get there). */
async function within(ms: number, cond: () => boolean): Promise<boolean> {
  return eventually(cond, ms).then(() => true, () => false);
}

test('a cloud print with jobId ".." canceled during the download leaves the data folder intact', async () => {
  const b = await Bridge.start({ extraYaml: 'cloud_print:\n  stall_timeout: 30\n' });
  try {
    const identity = join(b.dataDir, 'identity.json');
    assert.ok(existsSync(identity), 'registered: identity.json in the data folder');
    b.emu.control.addFile('big.gcode', { size: 20 * 1048576 });
    b.emu.control.faultFile('big.gcode', { kind: 'stall', afterBytes: 256 * 1024 });
    const since = b.emu.control.lastSeq();
    const logFrom = b.log.records.length;
    b.send('print', { jobId: '..', jobName: 'Trap', gcodeFile: `${b.emu.url}/files/big.gcode` });
    // Today's fix: dropped at the boundary. Before it: the download starts (status 2) and a cancel deletes the data folder.
    const dropped = () => b.log.records.slice(logFrom).some((r) => r.msg.startsWith("dropped invalid 'print' from Polar Cloud: jobId"));
    const preparing = () => b.statuses(since).some((s) => s.status === 2 && s.jobId === '..');
    await eventually(() => dropped() || preparing(), 10_000, 'the print dropped or preparing');
    if (preparing()) {
      b.send('cancel');
      await eventually(() => b.jobReports().length === 1, 5000, 'canceled report');
      await within(3000, () => !existsSync(identity));
    }
    assert.ok(existsSync(identity), `identity.json still there (data folder: ${existsSync(b.dataDir) ? (await readdir(b.dataDir)).join(', ') : 'GONE'})`);
    assert.ok(dropped(), 'the print was dropped as invalid');
    assert.ok(!preparing(), 'nothing was downloaded for it');
    assert.equal(b.c.polar.state, 'online');
  } finally {
    await b.stop();
  }
});

test('a hostile jobId that reaches the tracker anyway (an old outbox) cannot make the timelapse cleanup leave its folder', async () => {
  const b = await Bridge.start({ speedFactor: 100 });
  try {
    const identity = join(b.dataDir, 'identity.json');
    // A sibling folder of timelapse/ that "../x" would name, and a frame folder that must be cleaned.
    await mkdir(join(b.dataDir, 'keep-me'), { recursive: true });
    await writeFile(join(b.dataDir, 'keep-me', 'x'), 'x');
    for (const jobId of ['..', '../keep-me']) {
      await b.addGcode(`t${b.jobReports().length}.gcode`, 30, 40);
      const n = b.jobReports().length;
      await b.startCloudJob(jobId, `t${n}.gcode`);
      await eventually(() => b.c.printer.snapshot().print_stats.state === 'printing', 10_000, 'printing');
      b.send('cancel');
      await eventually(() => b.jobReports().length === n + 1, 10_000, `report of ${jobId}`);
      // The cleanup of the report's frame folder runs right after the report is queued.
      await within(1500, () => !existsSync(identity) || !existsSync(join(b.dataDir, 'keep-me', 'x')));
      assert.ok(existsSync(identity), `identity.json still there after canceling job ${JSON.stringify(jobId)}`);
      assert.ok(existsSync(join(b.dataDir, 'keep-me', 'x')), `sibling folder still there after canceling job ${JSON.stringify(jobId)}`);
      await eventually(() => !['printing', 'paused', 'cancelling'].includes(b.c.printer.snapshot().print_stats.state ?? ''), 10_000, 'print ended');
    }
    assert.equal(b.c.polar.state, 'online');
  } finally {
    await b.stop();
  }
});

test('jobIds: only [A-Za-z0-9_-] (1-128) pass the print schema', () => {
  for (const jobId of HOSTILE_IDS) {
    const r = validateCloudCommand('print', { serialNumber: 'S', jobId, gcodeFile: 'https://x.example/a.gcode' });
    assert.equal(r.ok, false, `jobId ${JSON.stringify(jobId)} refused`);
  }
  for (const jobId of ['123', 'abc-DEF_9', 'A'.repeat(128)]) {
    assert.ok(validateCloudCommand('print', { serialNumber: 'S', jobId, gcodeFile: 'https://x.example/a.gcode' }).ok, jobId);
  }
});

test('safe path segments and checked deletes', async () => {
  for (const s of HOSTILE_IDS) {
    const seg = safeSegment(s);
    assert.match(seg, /^[A-Za-z0-9_-]{1,64}$/, `${JSON.stringify(s)} -> ${seg}`);
    assert.notEqual(seg, s.length <= 64 && /^[A-Za-z0-9_-]+$/.test(s) ? '' : s);
    assert.ok(isStrictlyInside('/data/timelapse', childPath('/data/timelapse', seg)));
  }
  assert.equal(safeSegment('123'), '123', 'a plain jobId keeps its name (folders from before survive a restart)');
  assert.notEqual(safeSegment('a/b'), safeSegment('a_b'), 'distinct inputs, distinct names');
  for (const bad of ['..', '.', '', '../x', '/etc', 'a/../..']) {
    assert.throws(() => childPath('/data/timelapse', bad), PathEscapeError, JSON.stringify(bad));
  }
  assert.equal(isStrictlyInside('/data/timelapse', '/data/timelapse'), false);
  assert.equal(isStrictlyInside('/data/timelapse', '/data/timelapse/../x'), false);
  assert.equal(isStrictlyInside('/data/timelapse', '/data/timelapse-other/x'), false);
  assert.equal(isStrictlyInside('/data/timelapse', '/data/timelapse/a/b'), true);
  const root = await mkdtemp(join(tmpdir(), 'pc-safe-'));
  await mkdir(join(root, 'inner', 'sub'), { recursive: true });
  await assert.rejects(removeInside(join(root, 'inner'), join(root, 'inner', '..'), { recursive: true }), PathEscapeError);
  await assert.rejects(removeInside(join(root, 'inner'), join(root, 'inner'), { recursive: true }), PathEscapeError);
  assert.ok(existsSync(join(root, 'inner', 'sub')));
  await removeInside(join(root, 'inner'), join(root, 'inner', 'sub'), { recursive: true });
  assert.ok(!existsSync(join(root, 'inner', 'sub')) && existsSync(join(root, 'inner')));
});
