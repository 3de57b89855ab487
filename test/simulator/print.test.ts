import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { startMoonrakerSimulator, type MoonrakerSimulator } from '../../src/simulator/index.js';
import { prusaGcode } from './gcode-samples.js';
import { httpJson, SimClient, until, type Notification } from './sim-client.js';

let sim: MoonrakerSimulator;
before(async () => {
  sim = await startMoonrakerSimulator({ speedFactor: 400 });
});
after(async () => {
  await sim.stop();
});

async function upload(name: string, content: string, fields: Record<string, string> = {}): Promise<{ status: number; body: unknown; headers: Headers }> {
  const form = new FormData();
  for (const [k, v] of Object.entries(fields)) form.append(k, v);
  form.append('file', new Blob([content]), name);
  return httpJson(`${sim.url}/server/files/upload`, { method: 'POST', body: form });
}

type Status = Record<string, Record<string, unknown>>;

function history(c: SimClient, action: string): Notification[] {
  return c.notifications.filter((n) => n.method === 'notify_history_changed' && (n.params as [{ action: string }])[0].action === action);
}

test('a print from upload (print=true) to complete', async () => {
  const c = await SimClient.connect(sim.url);
  try {
    await c.identify();
    await c.call('printer.objects.subscribe', { objects: { print_stats: null, virtual_sdcard: null, display_status: null } });
    const gcode = prusaGcode({ layers: 3, movesPerLayer: 10 });
    const sha = createHash('sha256').update(gcode).digest('hex');
    const res = await upload('cube.gcode', gcode, { print: 'true', checksum: sha });
    assert.equal(res.status, 201);
    const body = res.body as { item: Record<string, unknown>; print_started: boolean; print_queued: boolean; action: string };
    assert.deepEqual(Object.keys(body.item).sort(), ['modified', 'path', 'permissions', 'root', 'size']);
    assert.equal(body.item['path'], 'cube.gcode');
    assert.equal(body.item['root'], 'gcodes');
    assert.equal(body.item['size'], Buffer.byteLength(gcode));
    assert.equal(body.print_started, true);
    assert.equal(body.print_queued, false);
    assert.equal(body.action, 'create_file');
    assert.equal(res.headers.get('location'), `${sim.url}/server/files/gcodes/cube.gcode`);

    const added = await c.waitFor((n) => history(c, 'added').includes(n));
    const addedJob = (added.params as [{ job: Record<string, unknown> }])[0].job;
    assert.equal(addedJob['status'], 'in_progress');
    assert.equal(addedJob['filename'], 'cube.gcode');
    assert.equal(addedJob['job_id'], '000001');
    assert.equal(addedJob['end_time'], null);
    assert.equal((addedJob['metadata'] as Record<string, unknown>)['estimated_time'], 3723);

    const finished = await c.waitFor((n) => history(c, 'finished').includes(n), 10_000);
    const job = (finished.params as [{ job: Record<string, unknown> }])[0].job;
    assert.equal(job['status'], 'completed');
    assert.equal(typeof job['end_time'], 'number');
    assert.ok(Math.abs((job['filament_used'] as number) - 30) < 1e-6, `filament_used ${String(job['filament_used'])}`);
    assert.ok((job['print_duration'] as number) > 0);
    assert.ok((job['total_duration'] as number) >= (job['print_duration'] as number));
    assert.equal(job['exists'], true);

    const objs = sim.control.printerObjects() as Status;
    const ps = objs['print_stats'] ?? {};
    assert.equal(ps['state'], 'complete');
    assert.equal(ps['filename'], 'cube.gcode');
    assert.deepEqual(ps['info'], { total_layer: 3, current_layer: 3 });
    // Heat-up happens before the first extrusion: it counts in total_duration only.
    assert.ok((ps['total_duration'] as number) - (ps['print_duration'] as number) > 20, JSON.stringify(ps));
    const vsd = objs['virtual_sdcard'] ?? {};
    assert.equal(vsd['progress'], 1);
    assert.equal(vsd['is_active'], false);
    assert.equal(vsd['file_position'], Buffer.byteLength(gcode));
    // The status stream saw the job go printing -> complete.
    await c.waitFor((n) => n.method === 'notify_status_update' && (n.params as [Status])[0]['print_stats']?.['state'] === 'complete', 2000);
    const updates = c.notifications.filter((n) => n.method === 'notify_status_update').map((n) => (n.params as [Status])[0]);
    const states = updates.map((u) => u['print_stats']?.['state']).filter((s) => s !== undefined);
    assert.deepEqual([...new Set(states)], ['printing', 'complete']);
    const gcodeLines = c.notifications.filter((n) => n.method === 'notify_gcode_response').map((n) => (n.params as [string])[0]);
    assert.ok(gcodeLines.includes('File opened:cube.gcode Size:' + Buffer.byteLength(gcode)));
    assert.ok(gcodeLines.includes('Done printing file'));
    assert.ok(gcodeLines.some((l) => /^T0:\d+\.\d \/210\.0 B:\d+\.\d \/60\.0/.test(l)), 'M109/M190 report temperatures while waiting');
    const meta = await c.call<Record<string, unknown>>('server.files.metadata', { filename: 'cube.gcode' });
    assert.equal(meta['job_id'], '000001');
    assert.equal(typeof meta['print_start_time'], 'number');
    const list = await c.call<{ count: number; jobs: Array<Record<string, unknown>> }>('server.history.list', { limit: 10 });
    assert.equal(list.count, 1);
    const totals = await c.call<{ job_totals: Record<string, number> }>('server.history.totals');
    assert.equal(totals.job_totals['total_jobs'], 1);
    const one = await c.call<{ job: Record<string, unknown> }>('server.history.get_job', { uid: '000001' });
    assert.equal(one.job['status'], 'completed');
  } finally {
    c.close();
  }
});

test('pause, resume and cancel behave like the Klipper macros', async () => {
  const c = await SimClient.connect(sim.url);
  try {
    await c.identify();
    sim.control.setSpeedFactor(100);
    await sim.control.addFile('long.gcode', prusaGcode({ layers: 5, movesPerLayer: 40 }));
    await c.call('printer.print.start', { filename: 'long.gcode' });
    await sim.control.waitForPrintState('printing');
    await until(() => ((sim.control.printerObjects()['print_stats'] ?? {})['filament_used'] as number) > 2, 5000);
    assert.equal(await c.call('printer.print.pause'), 'ok');
    let objs = sim.control.printerObjects() as Status;
    assert.equal(objs['print_stats']?.['state'], 'paused');
    assert.equal(objs['pause_resume']?.['is_paused'], true);
    assert.equal(objs['virtual_sdcard']?.['is_active'], false);
    const pos = objs['virtual_sdcard']?.['file_position'] as number;
    const printDuration = objs['print_stats']?.['print_duration'] as number;
    await new Promise((r) => setTimeout(r, 300));
    objs = sim.control.printerObjects() as Status;
    assert.equal(objs['virtual_sdcard']?.['file_position'], pos, 'no progress while paused');
    assert.ok(Math.abs((objs['print_stats']?.['print_duration'] as number) - printDuration) < 1e-6, 'print_duration excludes pauses');
    assert.ok((objs['print_stats']?.['total_duration'] as number) > printDuration);
    // Pausing twice only reports; resuming when not paused is refused politely.
    await c.call('printer.print.pause');
    assert.ok(c.notifications.some((n) => n.method === 'notify_gcode_response' && (n.params as [string])[0] === '// Print already paused'));
    assert.equal(await c.call('printer.print.resume'), 'ok');
    await until(() => (sim.control.printerObjects()['virtual_sdcard']?.['file_position'] as number) > pos, 3000);
    assert.equal(sim.control.printerObjects()['print_stats']?.['state'], 'printing');
    assert.equal(await c.call('printer.print.cancel'), 'ok');
    objs = sim.control.printerObjects() as Status;
    assert.equal(objs['print_stats']?.['state'], 'cancelled');
    assert.equal(objs['extruder']?.['target'], 0);
    assert.equal(objs['heater_bed']?.['target'], 0);
    assert.equal(objs['virtual_sdcard']?.['file_position'], 0);
    const fin = await c.waitFor((n) => history(c, 'finished').includes(n));
    assert.equal((fin.params as [{ job: Record<string, unknown> }])[0].job['status'], 'cancelled');
    await c.call('printer.gcode.script', { script: 'RESUME' });
    assert.ok(c.notifications.some((n) => n.method === 'notify_gcode_response' && (n.params as [string])[0] === '// Print is not paused, resume aborted'));
    const log = sim.control.gcodeLog();
    assert.ok(log.includes('SDCARD_PRINT_FILE FILENAME="long.gcode"'));
    assert.deepEqual(log.slice(log.indexOf('SDCARD_PRINT_FILE FILENAME="long.gcode"') + 1), ['PAUSE', 'PAUSE', 'RESUME', 'CANCEL_PRINT', 'RESUME']);
  } finally {
    sim.control.setSpeedFactor(400);
    c.close();
  }
});

test('M600 in the file pauses the print; M73 and M117 feed display_status', async () => {
  const c = await SimClient.connect(sim.url);
  try {
    await c.identify();
    await sim.control.addFile('m600.gcode', prusaGcode({ layers: 1, movesPerLayer: 4, extra: 'M117 Hello printer\nM73 P42\nM600\nG1 X60 E1 F3000' }));
    await sim.control.startLocalPrint('m600.gcode');
    await sim.control.waitForPrintState('paused', 5000);
    const objs = sim.control.printerObjects() as Status;
    assert.equal(objs['display_status']?.['message'], 'Hello printer');
    assert.equal(typeof objs['display_status']?.['progress'], 'number');
    assert.equal(objs['pause_resume']?.['is_paused'], true);
    await c.call('printer.print.resume');
    await sim.control.waitForPrintState('complete', 5000);
    const status = await httpJson(`${sim.url}/printer/objects/query?display_status`);
    assert.equal(((status.body as { result: { status: Status } }).result.status['display_status'] ?? {})['message'], 'Hello printer');
  } finally {
    c.close();
  }
});

test('a G-code error in the file ends the print in error (print_stats message, history error)', async () => {
  const c = await SimClient.connect(sim.url);
  try {
    await c.identify();
    await sim.control.addFile('bad.gcode', 'G28\nG90\nG1 X10 F3000\nG1 X9999 F3000\nG1 X20\n');
    await c.call('printer.print.start', { filename: 'bad.gcode' });
    await sim.control.waitForPrintState('error', 5000);
    const ps = sim.control.printerObjects()['print_stats'] ?? {};
    // The E coordinate carries over from earlier prints, as in Klipper.
    assert.match(ps['message'] as string, /^Move out of range: 9999\.000 0\.000 0\.000 \[\d+\.000\]$/);
    const fin = await c.waitFor((n) => history(c, 'finished').includes(n), 3000);
    assert.equal((fin.params as [{ job: Record<string, unknown> }])[0].job['status'], 'error');
    assert.ok(c.notifications.some((n) => n.method === 'notify_gcode_response' && (n.params as [string])[0] === `!! ${String(ps['message'])}`));
  } finally {
    c.close();
  }
});
