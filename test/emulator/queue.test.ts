import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { startPolarEmulator, type PolarEmulator } from '../../src/emulator/index.js';
import { connectAuthenticated, makeKeys, type RawPrinter, register } from './raw-printer.js';

const keys = makeKeys();

describe('emulator queue, sendNextPrint and job', () => {
  let emu: PolarEmulator;
  let serial: string;
  let p: RawPrinter;

  before(async () => {
    emu = await startPolarEmulator();
  });
  beforeEach(async () => {
    p?.close();
    emu.control.reset();
    serial = await register(emu, keys);
    p = await connectAuthenticated(emu, serial, keys);
  });
  after(async () => {
    p?.close();
    await emu.stop();
  });

  const getQueue = async (extra: Record<string, unknown> = {}): Promise<Record<string, unknown>> => {
    p.emit('getQueue', { serialNumber: serial, ...extra });
    return (await p.next('getQueueResponse')) as Record<string, unknown>;
  };
  const ids = (res: Record<string, unknown>): string[] => (res.jobs as { jobId: string }[]).map((j) => j.jobId);

  it('pages with skip and limit (0 = unlimited) and always reports the total', async () => {
    for (let i = 1; i <= 5; i++) emu.control.addJob(serial, { jobId: `J${i}`, jobName: `part ${i}`, owner: 'Ann' });
    emu.control.addJob(serial, { jobId: 'NOTREADY', ready: false });
    const all = await getQueue();
    assert.deepEqual({ ...all, jobs: undefined }, { serialNumber: serial, totalCount: 5, skip: 0, limit: 0, jobCount: 5, jobs: undefined });
    assert.deepEqual(ids(all), ['J1', 'J2', 'J3', 'J4', 'J5']);
    assert.deepEqual((all.jobs as Record<string, unknown>[])[0], { jobId: 'J1', jobName: 'part 1', owner: 'Ann' });
    const page = await getQueue({ skip: 2, limit: 2 });
    assert.deepEqual([page.totalCount, page.skip, page.limit, page.jobCount, ids(page)], [5, 2, 2, 2, ['J3', 'J4']]);
    const tail = await getQueue({ skip: 4, limit: 10 });
    assert.deepEqual(ids(tail), ['J5']);
    const past = await getQueue({ skip: 9 });
    assert.deepEqual([past.totalCount, past.jobCount, ids(past)], [5, 0, []]);
    assert.deepEqual(emu.control.violations(), []);
  });

  it('sendNextPrint sends the first ready job as a print', async () => {
    emu.control.addJob(serial, { jobId: 'HIDDEN', ready: false });
    const job = emu.control.addJob(serial, { jobId: 'J1', jobName: 'cube.gcode', size: 1000 });
    p.emit('sendNextPrint', { serialNumber: serial });
    const print = (await p.next('print')) as Record<string, unknown>;
    assert.deepEqual(print, {
      serialNumber: serial,
      jobId: 'J1',
      jobName: 'cube.gcode',
      gcodeFile: `${emu.url}/files/J1.gcode`,
      fileToPrint: 'gcodeFile',
    });
    assert.equal(job.gcodeUrl, print.gcodeFile);
    assert.equal(emu.control.queue(serial).find((j) => j.jobId === 'J1')?.printsSent, 1);
    const r = await fetch(print.gcodeFile as string);
    assert.equal(r.status, 200);
    assert.equal((await r.arrayBuffer()).byteLength, 1000);
  });

  it('sendNextPrint with a jobId sends that job, or answers NONE / FAILED', async () => {
    emu.control.addJob(serial, { jobId: 'J1' });
    emu.control.addJob(serial, { jobId: 'J2', url: 'https://files.example/x.gcode', printFields: { fileToPrint: null, stlFile: 'https://files.example/x.stl' } });
    p.emit('sendNextPrint', { serialNumber: serial, jobId: 'J2' });
    assert.deepEqual(await p.next('print'), {
      serialNumber: serial,
      jobId: 'J2',
      jobName: 'J2.gcode',
      gcodeFile: 'https://files.example/x.gcode',
      stlFile: 'https://files.example/x.stl',
    });
    p.emit('sendNextPrint', { serialNumber: serial, jobId: 'GONE' });
    assert.deepEqual(await p.next('sendNextPrintResponse'), { serialNumber: serial, status: 'NONE', message: 'NO_QUEUED_JOBS' });
    p.emit('sendNextPrint', { serialNumber: serial, jobId: '../../etc' });
    assert.deepEqual(await p.next('sendNextPrintResponse'), { serialNumber: serial, status: 'FAILED', message: 'INVALID_JOBID' });
    p.emit('sendNextPrint', { serialNumber: serial, jobId: 42 });
    assert.deepEqual(await p.next('sendNextPrintResponse'), { serialNumber: serial, status: 'FAILED', message: 'INVALID_JOBID' });
    assert.equal(emu.control.violations().length, 1, 'the ill-typed jobId is a violation');
  });

  it('sendNextPrint on an empty queue answers NONE NO_QUEUED_JOBS', async () => {
    p.emit('sendNextPrint', { serialNumber: serial });
    assert.deepEqual(await p.next('sendNextPrintResponse'), { serialNumber: serial, status: 'NONE', message: 'NO_QUEUED_JOBS' });
  });

  it('job completed moves the job to history; canceled leaves it queued', async () => {
    emu.control.addJob(serial, { jobId: 'J1' });
    emu.control.addJob(serial, { jobId: 'J2' });
    p.emit('job', { serialNumber: serial, jobId: 'J2', state: 'canceled' });
    p.emit('job', { serialNumber: serial, jobId: 'J1', state: 'completed', printSeconds: 60, filamentUsed: 100 });
    await emu.control.waitFor((e) => e.kind === 'in' && e.name === 'job' && (e.payload as { state: string }).state === 'completed');
    assert.deepEqual(emu.control.queue(serial).map((j) => j.jobId), ['J2']);
    assert.deepEqual(emu.control.history(serial).map((j) => [j.jobId, j.state]), [['J1', 'completed']]);
    assert.equal(emu.control.printer(serial)?.jobReports.length, 2);
    p.emit('job', { serialNumber: serial, jobId: '123', state: 'completed' }); // a local print: just recorded
    p.emit('capabilities', { serialNumber: serial }); // handled in order: its answer means the job was too
    await p.next('capabilitiesResponse');
    assert.equal(emu.control.printer(serial)?.jobReports.length, 3);
    assert.deepEqual(emu.control.violations(), []);
  });

  it('addJob refuses duplicates, unknown printers and several sources', () => {
    emu.control.addJob(serial, { jobId: 'J1' });
    assert.throws(() => emu.control.addJob(serial, { jobId: 'J1' }), /already queued/);
    assert.throws(() => emu.control.addJob('KL999999'), /no printer/);
    assert.throws(() => emu.control.addJob(serial, { size: 1, url: 'http://x' }), /at most one/);
    assert.equal(emu.control.removeJob(serial, 'J1'), true);
    assert.equal(emu.control.removeJob(serial, 'J1'), false);
  });
});
