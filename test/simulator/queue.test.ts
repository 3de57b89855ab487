import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startMoonrakerSimulator, type MoonrakerSimulator } from '../../src/simulator/index.js';
import { RpcError, SimClient, until } from './sim-client.js';

let sim: MoonrakerSimulator;
let c: SimClient;
const quick = (n: number): string => `G28\nG90\n${Array.from({ length: n }, (_, i) => `G1 X${i % 2 ? 10 : 100} F6000`).join('\n')}\n`;

before(async () => {
  sim = await startMoonrakerSimulator({ speedFactor: 300 });
  c = await SimClient.connect(sim.url);
  await c.identify();
  await sim.control.addFile('a.gcode', quick(20));
  await sim.control.addFile('b.gcode', quick(5));
  await sim.control.addFile('c.gcode', quick(5));
});
after(async () => {
  c.close();
  await sim.stop();
});

interface QueueStatus {
  queued_jobs: Array<{ filename: string; job_id: string; time_added: number; time_in_queue: number }>;
  queue_state: string;
}

test('queue management: post, jump, delete, pause', async () => {
  const from = c.notifications.length;
  const st = await c.call<QueueStatus>('server.job_queue.post_job', { filenames: ['b.gcode', 'c.gcode'] });
  assert.deepEqual(st.queued_jobs.map((j) => j.filename), ['b.gcode', 'c.gcode']);
  assert.equal(st.queue_state, 'paused', 'the queue starts paused, as in Moonraker');
  assert.match(st.queued_jobs[0]?.job_id ?? '', /^[0-9A-F]{16}$/);
  assert.ok((st.queued_jobs[0]?.time_in_queue ?? -1) >= 0);
  const n = await c.waitMethod('notify_job_queue_changed', 2000, from);
  const info = (n.params as [{ action: string; updated_queue: unknown[]; queue_state: string }])[0];
  assert.equal(info.action, 'jobs_added');
  assert.equal(info.updated_queue.length, 2);
  const jumped = await c.call<QueueStatus>('server.job_queue.jump', { job_id: st.queued_jobs[1]?.job_id });
  assert.deepEqual(jumped.queued_jobs.map((j) => j.filename), ['c.gcode', 'b.gcode']);
  await assert.rejects(c.call('server.job_queue.jump', { job_id: 'nope' }), (e: RpcError) => e.message === 'Invalid job id: nope');
  await assert.rejects(c.call('server.job_queue.post_job', { filenames: ['missing.gcode'] }), (e: RpcError) => e.message === 'G-Code File missing.gcode does not exist');
  const del = await c.call<QueueStatus>('server.job_queue.delete_job', { job_ids: [st.queued_jobs[0]?.job_id] });
  assert.deepEqual(del.queued_jobs.map((j) => j.filename), ['c.gcode']);
  const cleared = await c.call<QueueStatus>('server.job_queue.delete_job', { all: true });
  assert.deepEqual(cleared.queued_jobs, []);
});

test('start loads the next job when idle; a completed job starts the next one automatically', async () => {
  await c.call('server.job_queue.post_job', { filenames: ['a.gcode', 'b.gcode'], reset: true });
  const started = await c.call<QueueStatus>('server.job_queue.start');
  assert.equal(started.queue_state, 'loading');
  await until(() => sim.control.printerObjects()['print_stats']?.['filename'] === 'a.gcode', 3000);
  let st = await c.call<QueueStatus>('server.job_queue.status');
  assert.deepEqual(st.queued_jobs.map((j) => j.filename), ['b.gcode']);
  assert.equal(st.queue_state, 'ready');
  // a.gcode completes -> b.gcode is loaded without any request.
  await until(() => sim.control.printerObjects()['print_stats']?.['filename'] === 'b.gcode', 8000);
  await sim.control.waitForPrintState('complete', 8000);
  st = await c.call<QueueStatus>('server.job_queue.status');
  assert.deepEqual(st.queued_jobs, []);
  assert.equal(st.queue_state, 'paused');
  const actions = (): string[] => c.notifications.filter((n) => n.method === 'notify_job_queue_changed').map((n) => (n.params as [{ action: string }])[0].action);
  await until(() => actions().filter((a) => a === 'job_loaded').length >= 2, 2000);
  const hist = await c.call<{ jobs: Array<{ filename: string; status: string }> }>('server.history.list');
  assert.deepEqual(hist.jobs.slice(0, 2).map((j) => [j.filename, j.status]), [['b.gcode', 'completed'], ['a.gcode', 'completed']]);
});

test('a paused queue does not start the next job; Klippy becoming ready loads a waiting queue', async () => {
  await c.call('printer.print.start', { filename: 'a.gcode' });
  await c.call('server.job_queue.post_job', { filenames: ['c.gcode'] });
  assert.equal((await c.call<QueueStatus>('server.job_queue.status')).queue_state, 'ready');
  await c.call('server.job_queue.pause');
  await sim.control.waitForPrintState('complete', 8000);
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(sim.control.printerObjects()['print_stats']?.['filename'], 'a.gcode');
  assert.equal((await c.call<QueueStatus>('server.job_queue.status')).queued_jobs.length, 1);
  // load_on_startup: when Klippy (re)starts and becomes ready, a non-empty queue loads.
  await sim.control.klippyShutdown('test');
  await sim.control.klippyReady();
  await until(() => sim.control.printerObjects()['print_stats']?.['filename'] === 'c.gcode', 4000);
});
