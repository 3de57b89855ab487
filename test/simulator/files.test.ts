import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { startMoonrakerSimulator, type MoonrakerSimulator } from '../../src/simulator/index.js';
import { CURA_GCODE, prusaGcode } from './gcode-samples.js';
import { httpJson, RpcError, SimClient } from './sim-client.js';

let sim: MoonrakerSimulator;
let c: SimClient;
before(async () => {
  sim = await startMoonrakerSimulator({ speedFactor: 20, queueGcodeUploads: true });
  c = await SimClient.connect(sim.url);
  await c.identify();
});
after(async () => {
  c.close();
  await sim.stop();
});

async function upload(name: string, content: string | Buffer, fields: Record<string, string> = {}): Promise<{ status: number; body: unknown }> {
  const form = new FormData();
  for (const [k, v] of Object.entries(fields)) form.append(k, v);
  form.append('file', new Blob([content]), name);
  return httpJson(`${sim.url}/server/files/upload`, { method: 'POST', body: form });
}

test('metadata is parsed from slicer comments (PrusaSlicer, Cura, unknown)', async () => {
  await sim.control.addFile('prusa.gcode', prusaGcode({ layers: 4, movesPerLayer: 5 }));
  const md = await c.call<Record<string, unknown>>('server.files.metadata', { filename: 'prusa.gcode' });
  assert.equal(md['slicer'], 'PrusaSlicer');
  assert.equal(md['slicer_version'], '2.7.1+linux-x64-GTK3');
  assert.equal(md['estimated_time'], 3723);
  assert.equal(md['filament_total'], 20);
  assert.equal(md['filament_weight_total'], 0.25);
  assert.equal(md['layer_height'], 0.2);
  assert.equal(md['first_layer_height'], 0.2);
  assert.equal(md['first_layer_extr_temp'], 210);
  assert.equal(md['first_layer_bed_temp'], 60);
  assert.equal(md['nozzle_diameter'], 0.4);
  assert.equal(md['layer_count'], 4);
  assert.equal(md['object_height'], 0.8);
  assert.equal(md['filament_name'], 'Generic PLA');
  assert.equal(md['filament_type'], 'PLA');
  assert.equal(md['filename'], 'prusa.gcode');
  assert.equal(typeof md['size'], 'number');
  assert.equal(typeof md['modified'], 'number');
  assert.match(md['uuid'] as string, /^[0-9a-f-]{36}$/);
  assert.deepEqual(md['file_processors'], []);
  assert.equal(typeof md['gcode_start_byte'], 'number');
  assert.equal(typeof md['gcode_end_byte'], 'number');

  await sim.control.addFile('dir/cura.gcode', CURA_GCODE);
  const cura = await c.call<Record<string, unknown>>('server.files.metadata', { filename: 'dir/cura.gcode' });
  assert.equal(cura['slicer'], 'Cura');
  assert.equal(cura['slicer_version'], '5.4.0');
  assert.equal(cura['estimated_time'], 6195);
  assert.ok(Math.abs((cura['filament_total'] as number) - 1234.56) < 1e-6);
  assert.equal(cura['layer_height'], 0.12);
  assert.equal(cura['object_height'], 12.4);
  assert.equal(cura['first_layer_bed_temp'], 55);
  assert.equal(cura['first_layer_extr_temp'], 205);
  assert.equal(cura['layer_count'], 103);

  await sim.control.addFile('plain.gcode', 'M190 S70\nM109 S230\nG28\nG1 Z0.3 F600\nG1 Z5.0 F600\n');
  const plain = await c.call<Record<string, unknown>>('server.files.metadata', { filename: 'plain.gcode' });
  assert.equal(plain['slicer'], 'Unknown');
  assert.equal(plain['first_layer_bed_temp'], 70);
  assert.equal(plain['first_layer_extr_temp'], 230);
  assert.equal(plain['first_layer_height'], 0.3);
  assert.equal(plain['estimated_time'], undefined);

  await assert.rejects(c.call('server.files.metadata', { filename: 'missing.gcode' }), (e: RpcError) => e.code === -32601 && e.message === 'Metadata not available for <missing.gcode>');
  const http = await httpJson(`${sim.url}/server/files/metadata?filename=missing.gcode`);
  assert.equal(http.status, 404);
});

test('upload: checksum mismatch is 422; subfolder via path; notify_filelist_changed', async () => {
  const content = 'G28\nG1 Z5 F600\n';
  const bad = await upload('sum.gcode', content, { checksum: '0'.repeat(64) });
  assert.equal(bad.status, 422);
  const calc = createHash('sha256').update(content).digest('hex');
  assert.deepEqual(bad.body, { error: { code: 422, message: `File checksum mismatch: expected ${'0'.repeat(64)}, calculated ${calc}` } });
  const list = await c.call<Array<{ path: string }>>('server.files.list');
  assert.ok(!list.some((f) => f.path === 'sum.gcode'), 'a rejected upload leaves no file');

  const from = c.notifications.length;
  const ok = await upload('sum.gcode', content, { checksum: calc.toUpperCase(), path: 'sub/dir' });
  assert.equal(ok.status, 201);
  assert.equal((ok.body as { item: { path: string } }).item.path, 'sub/dir/sum.gcode');
  const n = await c.waitMethod('notify_filelist_changed', 2000, from);
  const info = (n.params as [{ action: string; item: Record<string, unknown> }])[0];
  assert.equal(info.action, 'create_file');
  assert.equal(info.item['path'], 'sub/dir/sum.gcode');
  assert.equal(info.item['root'], 'gcodes');

  const dl = await fetch(`${sim.url}/server/files/gcodes/sub/dir/sum.gcode`);
  assert.equal(dl.status, 200);
  assert.equal(await dl.text(), content);
  const ranged = await fetch(`${sim.url}/server/files/gcodes/sub/dir/sum.gcode`, { headers: { Range: 'bytes=0-2' } });
  assert.equal(ranged.status, 206);
  assert.equal(await ranged.text(), 'G28');
  assert.equal((await fetch(`${sim.url}/server/files/gcodes/nope.gcode`)).status, 404);

  const dir = await c.call<Record<string, unknown>>('server.files.get_directory', { path: 'gcodes/sub/dir', extended: true });
  const files = dir['files'] as Array<Record<string, unknown>>;
  assert.equal(files[0]?.['filename'], 'sum.gcode');
  assert.equal(files[0]?.['slicer'], 'Unknown');
  const usage = dir['disk_usage'] as Record<string, number>;
  assert.ok(usage['total'] > 0 && usage['free'] >= 0 && usage['used'] >= 0);
  assert.deepEqual(dir['root_info'], { name: 'gcodes', permissions: 'rw' });
  const top = await httpJson(`${sim.url}/server/files/directory?path=gcodes`);
  const dirs = ((top.body as { result: { dirs: Array<{ dirname: string }> } }).result.dirs).map((d) => d.dirname);
  assert.ok(dirs.includes('sub'));

  const del = await httpJson(`${sim.url}/server/files/gcodes/sub/dir/sum.gcode`, { method: 'DELETE' });
  assert.equal(del.status, 200);
  assert.deepEqual(del.body, { result: { action: 'delete_file', item: { path: 'sub/dir/sum.gcode', root: 'gcodes', size: 0, modified: 0, permissions: '' } } });
  await assert.rejects(c.call('server.files.delete_file', { path: 'gcodes/sub/dir/sum.gcode' }), (e: RpcError) => e.code === 400 && e.message === 'Invalid file path: gcodes/sub/dir/sum.gcode');
});

test('the file being printed cannot be overwritten (403) or deleted; upload+print while busy is queued', async () => {
  // No heat-up: a CANCEL_PRINT would wait for M109/M190 to finish (they hold the G-code queue, as in Klipper).
  const moves = Array.from({ length: 400 }, (_, i) => `G1 X${i % 2 ? 10 : 200} F3000`).join('\n');
  await sim.control.addFile('busy.gcode', `G28\nG90\n${moves}\n`);
  await c.call('printer.print.start', { filename: 'busy.gcode' });
  await sim.control.waitForPrintState('printing');
  const over = await upload('busy.gcode', 'G28\n');
  assert.equal(over.status, 403);
  assert.deepEqual(over.body, { error: { code: 403, message: 'File is loaded, upload not permitted' } });
  await assert.rejects(c.call('server.files.delete_file', { path: 'gcodes/busy.gcode' }), (e: RpcError) => e.code === 403 && e.message === 'File currently in use');
  const queued = await upload('next.gcode', 'G28\n', { print: 'true' });
  assert.equal(queued.status, 201);
  assert.equal((queued.body as { print_started: boolean }).print_started, false);
  assert.equal((queued.body as { print_queued: boolean }).print_queued, true);
  const q = await c.call<{ queued_jobs: Array<{ filename: string }> }>('server.job_queue.status');
  assert.deepEqual(q.queued_jobs.map((j) => j.filename), ['next.gcode']);
  await c.call('server.job_queue.delete_job', { all: true });
  await c.call('printer.print.cancel');
  const after403 = await upload('busy.gcode', 'G28\n');
  assert.equal(after403.status, 201, 'overwriting is allowed once the print ended');
});

test('directories, move and copy', async () => {
  await c.call('server.files.post_directory', { path: 'gcodes/newdir' });
  await sim.control.addFile('mv.gcode', 'G28\n');
  const mv = await c.call<Record<string, unknown>>('server.files.move', { source: 'gcodes/mv.gcode', dest: 'gcodes/newdir/mv.gcode' });
  assert.equal(mv['action'], 'move_file');
  assert.deepEqual(mv['source_item'], { path: 'mv.gcode', root: 'gcodes' });
  const cp = await c.call<Record<string, unknown>>('server.files.copy', { source: 'gcodes/newdir/mv.gcode', dest: 'gcodes/copy.gcode' });
  assert.equal(cp['action'], 'create_file');
  assert.ok(await c.call('server.files.metadata', { filename: 'newdir/mv.gcode' }));
  await assert.rejects(c.call('server.files.delete_directory', { path: 'gcodes/newdir' }), (e: RpcError) => e.code === 400);
  const rm = await c.call<Record<string, unknown>>('server.files.delete_directory', { path: 'gcodes/newdir', force: true });
  assert.equal(rm['action'], 'delete_dir');
  const roots = await c.call<Array<{ name: string }>>('server.files.roots');
  assert.deepEqual(roots.map((r) => r.name).sort(), ['config', 'gcodes', 'logs']);
  const cfg = await c.call<Array<{ path: string }>>('server.files.list', { root: 'config' });
  assert.ok(cfg.some((f) => f.path === 'printer.cfg'));
  await assert.rejects(c.call('server.files.list', { root: 'nope' }), (e: RpcError) => e.code === 400);
});
