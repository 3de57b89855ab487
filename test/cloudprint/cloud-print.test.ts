// End to end: a Polar `print` through the bridge into the simulated printer —
// the happy path, models with and without a slicer, a busy printer, cancel
// during download, and every failure reported and cleaned up.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Bridge, eventually } from '../bridge/bridge-harness.js';
import { prusaGcode } from '../simulator/gcode-samples.js';

const GCODE = prusaGcode({ layers: 3, movesPerLayer: 10 });

async function gcodeFiles(b: Bridge): Promise<string[]> {
  return (await b.c.moonrakerApi.listFiles('gcodes')).map((f) => f.path).sort();
}

async function downloadsLeft(b: Bridge): Promise<string[]> {
  return readdir(join(b.dataDir, 'downloads')).catch(() => []);
}

/** Queues a job in the emulated cloud and asks for it, as the Polar UI's PRINT does. */
async function printFromCloud(b: Bridge, spec: Parameters<Bridge['emu']['control']['addJob']>[1]): Promise<string> {
  const job = b.emu.control.addJob(b.serial, spec);
  await b.c.session.sendNextPrint(job.jobId);
  return job.jobId;
}

test('print: downloaded, uploaded under a safe name, started; 2 → 3 → 7 and one completed report', async () => {
  const b = await Bridge.start({ speedFactor: 100 });
  try {
    b.preheat();
    const since = b.emu.control.lastSeq();
    const jobId = await printFromCloud(b, { jobName: '../../printer.cfg', content: prusaGcode({ layers: 12, movesPerLayer: 30 }) });
    // A small file downloads, uploads and starts within one or two coalescing windows: 2 may be skipped.
    const first = await b.waitStatus((s) => (s.status === 2 || s.status === 3) && s.jobId === jobId, since, 10_000, 'preparing (2) or printing (3)');
    if (first.status === 2) await b.waitStatus((s) => s.status === 3 && s.jobId === jobId, first.seq, 20_000, 'printing (3)');
    assert.ok((await gcodeFiles(b)).includes(`polarcloud/printer.cfg-${jobId}.gcode`), `files: ${(await gcodeFiles(b)).join(', ')}`);
    await eventually(() => b.jobReports().length === 1, 30_000, 'report');
    assert.deepEqual({ jobId: b.jobReports()[0]!.jobId, state: b.jobReports()[0]!.state }, { jobId, state: 'completed' });
    await b.waitStatus((s) => s.status === 7 && s.jobId === jobId, since, 5000, 'complete (7)');
    assert.deepEqual(await downloadsLeft(b), []);
    assert.equal(b.emu.control.queue(b.serial).length, 0, 'the cloud moved it to history');
    assert.deepEqual(b.emu.control.violations(), []);
  } finally {
    await b.stop();
  }
});

test('an STL job without a slicer is refused with words and stays queued; with the stand-in slicer it prints', async () => {
  const b = await Bridge.start({ speedFactor: 100 });
  try {
    b.preheat();
    const model = b.emu.control.addFile('part.stl', { content: 'solid part\nendsolid part\n' });
    const since = b.emu.control.lastSeq();
    b.send('print', { jobId: 'STL-1', jobName: 'Part', stlFile: model.url, fileToPrint: 'stlFile' });
    const refused = await b.waitStatus((s) => s.status === 12 && s.jobId === 'STL-1', since, 5000, 'refused (12)');
    assert.match(String(refused.progressDetail), /3D model .*slicer\.command/);
    await eventually(() => b.commandResponses().some((r) => /slicer\.command/.test(r)), 5000, 'console message');
    assert.deepEqual(b.jobReports(), [], 'no report: the cloud keeps the job queued');
    assert.ok(b.log.has(/slicer\.command/, 'warn'));
  } finally {
    await b.stop();
  }

  const script = join(dirname(await (async () => (await import('node:os')).tmpdir())()), `stand-in-slicer-${process.pid}.mjs`);
  await writeFile(
    script,
    `import { writeFileSync, readFileSync } from 'node:fs';\nconst [input, config, output] = process.argv.slice(2);\nif (!readFileSync(input, 'utf8').startsWith('solid')) process.exit(3);\nwriteFileSync(output, ${JSON.stringify(GCODE)} + '; sliced with ' + (config ? readFileSync(config, 'utf8').trim() : 'no config') + '\\n');\n`,
  );
  const b2 = await Bridge.start({ speedFactor: 100, extraYaml: `slicer:\n  command: '"${process.execPath}" ${script} {input} {config} {output}'\n` });
  try {
    b2.preheat();
    const model = b2.emu.control.addFile('part.stl', { content: 'solid part\nendsolid part\n' });
    const ini = b2.emu.control.addFile('part.ini', { content: 'layer_height = 0.2\n' });
    const since = b2.emu.control.lastSeq();
    b2.send('print', { jobId: 'STL-2', jobName: 'Part', stlFile: model.url, configFile: ini.url });
    // A short print at speed 100 may finish inside one coalescing window: wait for its end (7).
    await b2.waitStatus((s) => s.status === 7 && s.jobId === 'STL-2', since, 30_000, 'the sliced model printed');
    assert.ok(b2.log.has(/cloud job STL-2: slicing/));
    const printed = (await gcodeFiles(b2)).find((f) => f.includes('STL-2'))!;
    const meta = await b2.c.moonrakerApi.fileMetadata(printed);
    assert.ok(meta.size > GCODE.length, 'the sliced G-code (with its config note) was uploaded');
    await eventually(() => b2.jobReports().length === 1, 30_000, 'report');
    assert.equal(b2.jobReports()[0]!.jobId, 'STL-2');
  } finally {
    await b2.stop();
  }
});

test('busy printer: the cloud job goes to Moonraker’s job queue, starts after the current print and is reported as the cloud job', async () => {
  const b = await Bridge.start({ speedFactor: 100 });
  try {
    b.preheat();
    await b.addGcode('local.gcode', 6, 20);
    const since = b.emu.control.lastSeq();
    await b.sim.control.startLocalPrint('local.gcode');
    // Busy as the bridge knows it (print_stats reach it up to a status batch later): a job that came
    // before would rightly show its download (2) and then the local print (1) inside its run.
    await b.waitStatus((s) => s.status === 1 && s.jobId === '123', since, 10_000, 'the local print shown (1)');
    // Simulated time nearly stands still until the job is queued: the local print cannot end first,
    // however long the download and upload take on a loaded machine.
    b.sim.control.setSpeedFactor(0.01);
    // The Polar UI's PRINT on a busy printer (the CLI's `next`, sendNextPrint, refuses while printing).
    const job = b.emu.control.addJob(b.serial, { jobName: 'Queued', content: GCODE });
    const jobId = job.jobId;
    b.send('print', { jobId, jobName: 'Queued', gcodeFile: job.gcodeUrl });
    await eventually(() => b.commandResponses().some((r) => r.includes(`job ${jobId} is in the printer's job queue`)), 10_000, 'queued message');
    const queued = await b.c.moonrakerApi.jobQueueStatus();
    assert.deepEqual(queued.queued_jobs.map((j) => j.filename), [`polarcloud/Queued-${jobId}.gcode`]);
    b.sim.control.setSpeedFactor(100);
    await eventually(() => b.jobReports().length === 2, 60_000, 'both reports');
    assert.deepEqual(b.jobReports().map((r) => [r.jobId, r.state]), [['123', 'completed'], [jobId, 'completed']]);
  } finally {
    await b.stop();
  }
});

test('cancel during the download aborts both legs, leaves no file behind and reports the job canceled', async () => {
  const b = await Bridge.start({ extraYaml: 'cloud_print:\n  stall_timeout: 30\n' });
  try {
    const job = b.emu.control.addJob(b.serial, { jobName: 'Big', size: 20 * 1048576 });
    b.emu.control.faultFile(job.fileName!, { kind: 'stall', afterBytes: 256 * 1024 });
    const since = b.emu.control.lastSeq();
    const t0 = Date.now();
    await b.c.session.sendNextPrint(job.jobId);
    const dl = await b.waitStatus((s) => s.status === 2, since, 5000, 'downloading');
    assert.match(String(dl.progressDetail), new RegExp(`^Downloading file for job: ${job.jobId}( \\(\\d+%\\))?$`));
    // Streamed: the upload to Moonraker is open while the download runs, and nothing is copied to disk.
    await eventually(() => b.rpcMethodsSince(t0).includes('server.files.upload'), 5000, 'the upload leg open');
    assert.deepEqual(await downloadsLeft(b), [], 'no copy of the file on the bridge side');
    b.send('cancel');
    await eventually(() => b.jobReports().length === 1, 5000, 'canceled report');
    assert.deepEqual({ jobId: b.jobReports()[0]!.jobId, state: b.jobReports()[0]!.state }, { jobId: job.jobId, state: 'canceled' });
    assert.deepEqual(await downloadsLeft(b), []);
    assert.ok(!(await gcodeFiles(b)).some((f) => f.startsWith('polarcloud/')));
    await b.waitStatus((s) => s.status === 0, since, 5000, 'Ready again');
  } finally {
    await b.stop();
  }
});

test('a cancel that arrives while the print is being started cancels the started print (not swallowed)', async () => {
  // Fast simulated time: Klipper runs CANCEL_PRINT only after the start's heat-up waits end.
  const b = await Bridge.start({ speedFactor: 100 });
  try {
    b.preheat();
    const job = b.emu.control.addJob(b.serial, { jobName: 'Race', content: prusaGcode({ layers: 200, movesPerLayer: 60 }) });
    const t0 = Date.now();
    // Moonraker answers the start only once the bridge has taken the cancel in (not after a delay
    // that a loaded machine can outlast: then the cancel would meet an already started print).
    b.sim.control.holdReplies('printer.print.start');
    b.send('print', { jobId: job.jobId, gcodeFile: job.gcodeUrl });
    await eventually(() => b.rpcMethodsSince(t0).includes('printer.print.start'), 15_000, 'start requested');
    b.send('cancel');
    await eventually(() => b.log.has(new RegExp(`cloud job ${job.jobId}: canceled from Polar Cloud`)), 15_000, 'the cancel reached the job being started');
    assert.ok(!b.log.has(new RegExp(`cloud job ${job.jobId} started`)), 'the start was still unanswered');
    b.sim.control.holdReplies(null);
    await eventually(() => b.jobReports().some((r) => r.jobId === job.jobId), 15_000, 'report');
    assert.deepEqual(b.jobReports().map((r) => [r.jobId, r.state]), [[job.jobId, 'canceled']]);
    assert.ok(b.rpcMethodsSince(t0).includes('printer.print.cancel'), 'the running print was canceled');
    await b.sim.control.waitForPrintState('cancelled', 5000);
  } finally {
    await b.stop();
  }
});

test('a cancel after Klipper accepted the start but before Moonraker shows the print cancels the print', async () => {
  // print_stats and the history entry follow the start's reply by up to a status batch: hold them,
  // so the cancel meets a job that is started in Klipper but still pending in the bridge.
  const b = await Bridge.start({ speedFactor: 100 });
  try {
    b.preheat();
    const job = b.emu.control.addJob(b.serial, { jobName: 'Unseen', content: prusaGcode({ layers: 200, movesPerLayer: 60 }) });
    const t0 = Date.now();
    const started = new RegExp(`cloud job ${job.jobId} started`);
    b.sim.control.holdNotifications(true);
    b.send('print', { jobId: job.jobId, gcodeFile: job.gcodeUrl });
    await eventually(() => b.log.has(started), 15_000, 'the start answered');
    assert.equal(b.c.jobs.pendingCloud?.jobId, job.jobId, 'the bridge has not seen the print yet');
    b.send('cancel');
    await eventually(() => b.rpcMethodsSince(t0).includes('printer.print.cancel') || b.jobReports().length > 0, 15_000, 'the cancel handled');
    assert.deepEqual(b.jobReports(), [], 'not reported canceled while the print runs');
    assert.ok(b.rpcMethodsSince(t0).includes('printer.print.cancel'), 'the running print was canceled');
    b.sim.control.holdNotifications(false);
    await eventually(() => b.jobReports().length > 0, 15_000, 'report');
    assert.deepEqual(b.jobReports().map((r) => [r.jobId, r.state]), [[job.jobId, 'canceled']]);
    await b.sim.control.waitForPrintState('cancelled', 5000);
  } finally {
    await b.stop();
  }
});

test('the cloud folder keeps only the newest cloud_print.keep_files files', async () => {
  const b = await Bridge.start({ speedFactor: 100, extraYaml: 'cloud_print:\n  keep_files: 2\n' });
  try {
    b.preheat();
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const id = await printFromCloud(b, { jobName: `keep${i}`, content: GCODE });
      ids.push(id);
      await eventually(() => b.jobReports().some((r) => r.jobId === id), 30_000, `job ${i} done`);
      await new Promise((r) => setTimeout(r, 1100)); // distinct modification times
    }
    await eventually(async () => (await gcodeFiles(b)).filter((f) => f.startsWith('polarcloud/')).length === 2, 10_000, 'two files kept');
    const kept = (await gcodeFiles(b)).filter((f) => f.startsWith('polarcloud/'));
    assert.deepEqual(kept, [`polarcloud/keep1-${ids[1]}.gcode`, `polarcloud/keep2-${ids[2]}.gcode`]);
  } finally {
    await b.stop();
  }
});
