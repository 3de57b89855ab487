// Every MoonrakerApi wrapper round-trips against the simulator.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GcodeError, MoonrakerRpcError, type MoonrakerApiEvents, type PrinterModelEvents } from '../../moonraker-bridge/index.js';
import { connect, waitModel, waitState, withSim } from './sim-harness.js';

// M109 waits for the nozzle: the simulator refuses cold extrusion like Klipper does.
const GCODE = ['G28', 'M109 S200', ...Array.from({ length: 3000 }, (_, i) => `G1 X${(i % 50) + 10} Y${(i % 40) + 10} E${i * 0.05} F3000`), 'M104 S0', ''].join('\n');

test('print control, G-code and object queries', async () => {
  await withSim({ port: 0, speedFactor: 50 }, async (sim) => {
    const h = connect(sim);
    try {
      await waitState(h.model, 'klippy_ready');
      await sim.control.addFile('cube.gcode', GCODE);
      const states: Array<PrinterModelEvents['printStateChanged']> = [];
      h.model.on('printStateChanged', (e) => states.push(e));

      await h.api.printStart('cube.gcode');
      await waitModel(h.model, (s) => s.print_stats.state === 'printing', 'printing');
      assert.equal(h.model.snapshot().print_stats.filename, 'cube.gcode');
      await h.api.printPause();
      await waitModel(h.model, (s) => s.print_stats.state === 'paused' && s.pause_resume.is_paused === true, 'paused');
      await h.api.printResume();
      await waitModel(h.model, (s) => s.print_stats.state === 'printing', 'resumed');
      await h.api.printCancel();
      await waitModel(h.model, (s) => s.print_stats.state === 'cancelled', 'cancelled');
      assert.deepEqual(states.map((s) => s.to), ['printing', 'paused', 'printing', 'cancelled']);

      const lines = await h.api.gcodeScriptCollect('M118 hello polar');
      assert.ok(lines.some((l) => l.includes('hello polar')), JSON.stringify(lines));
      await assert.rejects(h.api.gcodeScriptCollect('G1 X-99999'), (err: unknown) => err instanceof GcodeError && err.method === 'printer.gcode.script');
      await assert.rejects(h.api.printStart('missing.gcode'), MoonrakerRpcError);

      const q = await h.api.queryObjects({ toolhead: ['position', 'homed_axes'], webhooks: null });
      assert.equal(typeof q.eventtime, 'number');
      assert.ok(Array.isArray(q.status.toolhead?.position));
      assert.equal(q.status.webhooks?.state, 'ready');

      await h.api.emergencyStop();
      await waitState(h.model, 'klippy_shutdown');
      await h.api.firmwareRestart();
      await waitState(h.model, 'klippy_ready', 8000);
      await h.api.hostRestart();
      await waitState(h.model, 'klippy_ready', 8000);
      await waitModel(h.model, (s) => s.webhooks.state === 'ready', 'ready after restart', 8000);
    } finally {
      await h.stop();
    }
  });
});

test('files, metadata, disk space, delete', async () => {
  await withSim({ port: 0 }, async (sim) => {
    const h = connect(sim);
    try {
      await waitState(h.model, 'klippy_ready');
      await sim.control.addFile('sub/part.gcode', '; estimated printing time (normal mode) = 1m 2s\nG28\nG1 X10\n');
      const files = await h.api.listFiles();
      assert.ok(files.some((f) => f.path === 'sub/part.gcode'), JSON.stringify(files));
      const meta = await h.api.fileMetadata('sub/part.gcode');
      assert.equal(typeof meta.size, 'number');
      assert.equal(typeof meta.modified, 'number');
      const dir = await h.api.getDirectory('gcodes/sub');
      assert.ok(dir.files.some((f) => f.filename === 'part.gcode'));
      const free = await h.api.freeDiskSpace();
      assert.ok(free > 0);
      const filelist: Array<MoonrakerApiEvents['filelistChanged']> = [];
      h.api.on('filelistChanged', (e) => filelist.push(e));
      const del = await h.api.deleteFile('sub/part.gcode');
      assert.equal(del.item.path, 'sub/part.gcode');
      assert.equal(del.item.root, 'gcodes');
      assert.ok(!(await h.api.listFiles()).some((f) => f.path === 'sub/part.gcode'));
      await assert.rejects(h.api.fileMetadata('sub/part.gcode'), MoonrakerRpcError);
    } finally {
      await h.stop();
    }
  });
});

test('history, job queue, webcams, machine and update manager', async () => {
  await withSim({ port: 0, speedFactor: 200 }, async (sim) => {
    const h = connect(sim);
    try {
      await waitState(h.model, 'klippy_ready');
      await sim.control.addFile('a.gcode', 'G28\nG1 X10 Y10 F6000\n');
      await sim.control.addFile('b.gcode', 'G28\nG1 X20 Y20 F6000\n');

      const history: Array<MoonrakerApiEvents['historyChanged']> = [];
      h.api.on('historyChanged', (e) => history.push(e));
      await h.api.printStart('a.gcode');
      await waitModel(h.model, (s) => s.print_stats.state === 'complete', 'print complete', 8000);
      const list = await h.api.historyList({ limit: 10 });
      assert.ok(list.count >= 1);
      const job = list.jobs[0]!;
      assert.equal(job.filename, 'a.gcode');
      assert.equal((await h.api.historyJob(job.job_id)).job_id, job.job_id);
      await waitModel(h.model, () => history.some((e) => e.action === 'finished'), 'history finished event');
      assert.ok(history.some((e) => e.action === 'added' && e.job.filename === 'a.gcode'));

      const queueEvents: Array<MoonrakerApiEvents['jobQueueChanged']> = [];
      h.api.on('jobQueueChanged', (e) => queueEvents.push(e));
      await h.api.jobQueuePause();
      const posted = await h.api.jobQueuePost(['a.gcode', 'b.gcode']);
      assert.deepEqual(posted.queued_jobs.map((j) => j.filename), ['a.gcode', 'b.gcode']);
      const status = await h.api.jobQueueStatus();
      assert.equal(status.queued_jobs.length, 2);
      const afterDelete = await h.api.jobQueueDelete([status.queued_jobs[0]!.job_id]);
      assert.deepEqual(afterDelete.queued_jobs.map((j) => j.filename), ['b.gcode']);
      const started = await h.api.jobQueueStart();
      assert.equal(typeof started.queue_state, 'string');
      await h.api.jobQueuePause();
      assert.equal((await h.api.jobQueueDelete('all')).queued_jobs.length, 0);
      await waitModel(h.model, () => queueEvents.some((e) => e.action === 'jobs_added'), 'queue event');

      const camEvents: Array<MoonrakerApiEvents['webcamsChanged']> = [];
      h.api.on('webcamsChanged', (e) => camEvents.push(e));
      sim.control.setWebcams([{ name: 'polar-cam', stream_url: '/webcam/?action=stream', snapshot_url: '/webcam/?action=snapshot' }]);
      await waitModel(h.model, () => camEvents.length > 0, 'webcams event');
      assert.equal(camEvents[0]?.webcams[0]?.name, 'polar-cam');
      const cams = await h.api.webcams();
      assert.deepEqual(cams.map((c) => c.name), ['polar-cam']);
      assert.equal(cams[0]?.snapshot_url, '/webcam/?action=snapshot');
      const sys = await h.api.systemInfo();
      assert.equal(typeof sys, 'object');
      const upd = await h.api.updateStatus();
      assert.equal(typeof upd.busy, 'boolean');
      assert.equal(typeof upd.version_info, 'object');
      const name = Object.keys(upd.version_info).find((n) => n !== 'system') ?? 'moonraker';
      await h.api.updateUpgrade(name);
      await h.api.updateClient(name);
    } finally {
      await h.stop();
    }
  });
});
