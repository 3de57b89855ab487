// Realism check: holds the Moonraker simulator against request/response and notification examples
// recorded from Moonraker's documentation (test/fixtures/moonraker/*.json). Shapes are compared,
// not values; per-entry `shape` options in the fixtures say where the documentation allows variation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { request as httpRequest } from 'node:http';
import WebSocket from 'ws';
import { compareShape } from '../helpers/shape.js';
import type { ShapeOptions } from '../helpers/shape.js';
import { startMoonrakerSimulator } from '../../src/simulator/index.js';

// ---------------------------------------------------------------- fixtures
interface RequestFixture {
  name: string;
  doc: string;
  method: string;
  params: Record<string, unknown>;
  response: unknown;
  shape?: ShapeOptions;
  http?: { path: string; filename: string; status: number };
}
interface NotificationFixture { name: string; doc: string; method: string; params?: unknown[]; shape?: ShapeOptions }
interface ObjectFixture { name: string; doc: string; object: string; status: Record<string, unknown>; shape?: ShapeOptions }
interface FixtureFile<T> { entries: T[] }

function fixtureDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, 'test', 'fixtures', 'moonraker');
    if (existsSync(candidate)) return candidate;
    const up = dirname(dir);
    if (up === dir) throw new Error('test/fixtures/moonraker not found above ' + fileURLToPath(import.meta.url));
    dir = up;
  }
}
const FIXTURES = fixtureDir();
const load = <T>(file: string): T[] => (JSON.parse(readFileSync(join(FIXTURES, file), 'utf8')) as FixtureFile<T>).entries;
const requests = new Map<string, RequestFixture>();
for (const file of readdirSync(FIXTURES).sort()) {
  if (!file.endsWith('.json') || file === 'notifications.json' || file === 'objects.json') continue;
  for (const e of load<RequestFixture>(file)) requests.set(e.name, e);
}
const notifications = new Map(load<NotificationFixture>('notifications.json').map((e) => [e.method, e]));
const objects = load<ObjectFixture>('objects.json');
const covered = new Set<string>();

function req(name: string): RequestFixture {
  const f = requests.get(name);
  assert.ok(f, `no fixture named ${name}`);
  covered.add(name);
  return f;
}

function expectShape(name: string, actual: unknown): void {
  const f = req(name);
  assert.deepEqual(compareShape(f.response, actual, f.shape), [], `${name} differs from ${f.doc}`);
}

function expectNotification(method: string, got: Note | undefined, seen: string[] = []): void {
  const f = notifications.get(method);
  assert.ok(f, `no notification fixture ${method}`);
  assert.ok(got, `${method} was not received (${f.doc}); received meanwhile: ${seen.join(', ') || 'nothing'}`);
  if (f.params === undefined) {
    assert.ok(got.params === undefined || (Array.isArray(got.params) && got.params.length === 0),
      `${method}: documented without params, got ${JSON.stringify(got.params)}`);
    return;
  }
  const opts: ShapeOptions = { ...f.shape, tuples: [...(f.shape?.tuples ?? []), ''] };
  assert.deepEqual(compareShape(f.params, got.params, opts), [], `${method} params differ from ${f.doc}`);
}

// ---------------------------------------------------------------- JSON-RPC client
interface Note { method: string; params: unknown }

class Rpc {
  readonly notes: Note[] = [];
  private id = 0;
  private readonly pending = new Map<number, (msg: Record<string, unknown>) => void>();
  private readonly listeners = new Set<() => void>();

  constructor(private readonly ws: WebSocket) {
    ws.on('message', (data) => {
      const msg = JSON.parse(String(data)) as Record<string, unknown>;
      if (typeof msg.id === 'number' && this.pending.has(msg.id)) {
        this.pending.get(msg.id)!(msg);
        this.pending.delete(msg.id);
      } else if (typeof msg.method === 'string') {
        this.notes.push({ method: msg.method, params: msg.params });
        for (const l of this.listeners) l();
      }
    });
  }

  raw(method: string, params?: unknown, timeoutMs = 5000): Promise<{ sentId: number; msg: Record<string, unknown> }> {
    const id = ++this.id;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`${method}: no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, (msg) => {
        clearTimeout(timer);
        resolve({ sentId: id, msg });
      });
      const body: Record<string, unknown> = { jsonrpc: '2.0', method, id };
      if (params !== undefined && !(typeof params === 'object' && params !== null && Object.keys(params).length === 0)) body.params = params;
      this.ws.send(JSON.stringify(body));
    });
  }

  async call(method: string, params?: unknown): Promise<unknown> {
    const { msg } = await this.raw(method, params);
    if (msg.error) {
      const e = msg.error as { code?: number; message?: string };
      throw new Error(`${method}: error ${e.code ?? '?'} ${e.message ?? JSON.stringify(e)}`);
    }
    return msg.result;
  }

  mark(): number {
    return this.notes.length;
  }

  /** Notifications since `from`, as `method(action)` for the report when an expected one is missing. */
  since(from: number): string[] {
    return this.notes.slice(from).map((n) => {
      const action = first(n.params).action;
      return typeof action === 'string' ? `${n.method}(${action})` : n.method;
    });
  }

  /** First notification `method` at or after index `from` that satisfies `pred`, or undefined on timeout. */
  waitFor(method: string, from: number, pred: (params: unknown) => boolean = () => true, timeoutMs = 3000): Promise<Note | undefined> {
    const find = (): Note | undefined => this.notes.slice(from).find((n) => n.method === method && pred(n.params));
    return new Promise((resolve) => {
      const hit = find();
      if (hit) return resolve(hit);
      const onNote = (): void => {
        const h = find();
        if (h) done(h);
      };
      const done = (v: Note | undefined): void => {
        clearTimeout(timer);
        this.listeners.delete(onNote);
        resolve(v);
      };
      const timer = setTimeout(() => done(undefined), timeoutMs);
      this.listeners.add(onNote);
    });
  }
}

const first = (p: unknown): Record<string, unknown> =>
  (Array.isArray(p) && p[0] && typeof p[0] === 'object' ? p[0] : {}) as Record<string, unknown>;

// A PrusaSlicer-style file (layer-change markers, config block at the end), so the simulator's
// metadata parser has every documented field to find, as Moonraker's PrusaSlicer parser would.
function slicerGcode(layers: number, movesPerLayer: number): string {
  const body: string[] = ['; generated by PrusaSlicer 2.7.1+win64 on 2024-01-27 at 12:44:25 UTC', '', 'M190 S60', 'M109 S215', 'G28', 'G90', 'M83'];
  for (let l = 1; l <= layers; l++) {
    const z = (l * 0.2).toFixed(1);
    body.push(';LAYER_CHANGE', `;Z:${z}`, ';HEIGHT:0.2', ';BEFORE_LAYER_CHANGE', `;${z}`, '', `G1 Z${z} F720`, ';AFTER_LAYER_CHANGE', `;${z}`);
    for (let i = 0; i < movesPerLayer; i++) body.push(`G1 X${10 + ((i * 13) % 200)} Y${10 + ((i * 7) % 200)} E0.05 F3000`);
  }
  body.push(
    '', '; filament used [mm] = 9159.55', '; filament used [g] = 27.32', '; total filament used [g] = 27.32',
    '; estimated printing time (normal mode) = 1h 39m 7s', '', '; prusaslicer_config = begin', '; chamber_temperature = 50',
    '; filament_settings_id = "Generic PLA Brown"', '; filament_type = PLA', '; first_layer_bed_temperature = 60',
    '; first_layer_height = 0.2', '; first_layer_temperature = 215', '; layer_height = 0.2', '; nozzle_diameter = 0.4',
    '; prusaslicer_config = end', '',
  );
  return body.join('\n');
}

function upload(baseUrl: string, path: string, filename: string, content: string): Promise<{ status: number; body: unknown }> {
  const boundary = '----realism' + Date.now().toString(16);
  const payload = Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="root"\r\n\r\ngcodes\r\n` +
      `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${filename}"\r\n` +
      `Content-Type: application/octet-stream\r\n\r\n${content}\r\n--${boundary}--\r\n`,
  );
  return new Promise((resolve, reject) => {
    const r = httpRequest(new URL(path, baseUrl), {
      method: 'POST',
      headers: { 'Content-Type': `multipart/form-data; boundary=${boundary}`, 'Content-Length': payload.length },
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let body: unknown = text;
        try { body = JSON.parse(text); } catch { /* keep text */ }
        resolve({ status: res.statusCode ?? 0, body });
      });
    });
    r.on('error', reject);
    r.end(payload);
  });
}

// Moonraker's HTTP API wraps results as {"result": ...}; the documented examples show the inner value.
const unwrap = (body: unknown): unknown =>
  body && typeof body === 'object' && 'result' in body ? (body as { result: unknown }).result : body;

// ---------------------------------------------------------------- the realism check
test('simulator matches the Moonraker documentation examples', { timeout: 60_000 }, async (t) => {
  const sim = await startMoonrakerSimulator({ port: 0, speedFactor: 100 });
  const control = sim.control;
  const baseUrl = sim.url.replace(/\/$/, '');
  const ws = new WebSocket(baseUrl.replace(/^http/, 'ws') + '/websocket');
  await new Promise<void>((resolve, reject) => { ws.once('open', () => resolve()); ws.once('error', reject); });
  const rpc = new Rpc(ws);
  const step = (name: string, fn: () => Promise<void>): Promise<void> => t.test(name, fn).then(() => undefined);
  const shapeOf = async (name: string, params: unknown = req(name).params): Promise<unknown> => {
    const result = await rpc.call(req(name).method, params);
    expectShape(name, result);
    return result;
  };
  // Marks the notification stream before an action; the fixture counts as exercised from here on.
  const expecting = (method: string): number => {
    covered.add(method);
    return rpc.mark();
  };
  // Waits for `method` after mark `from` and checks it against its fixture; returns the notification.
  const expectNote = async (method: string, from: number, pred?: (p: unknown) => boolean, timeoutMs = 3000): Promise<Note> => {
    const got = await rpc.waitFor(method, from, pred, timeoutMs);
    expectNotification(method, got, rpc.since(from));
    return got!;
  };
  // Starts waiting for notify_klippy_ready before the action that triggers it.
  const ready = (): (() => Promise<Note>) => {
    const from = expecting('notify_klippy_ready');
    return () => expectNote('notify_klippy_ready', from, undefined, 5000);
  };
  const state = { jobId: '', queued: [] as Array<{ filename: string; job_id: string }>, webcamUid: '', objectNames: [] as string[] };

  try {
    await step('server.connection.identify', async () => { await shapeOf('server.connection.identify'); });

    await step('JSON-RPC envelopes', async () => {
      for (const name of ['success envelope', 'error envelope']) {
        const f = req(name);
        const { sentId, msg } = await rpc.raw(f.method);
        expectShape(name, msg);
        assert.equal(msg.id, sentId, `${name}: id must echo the request id`);
      }
    });

    for (const name of ['server.info', 'printer.info', 'machine.system_info', 'machine.update.status']) {
      await step(name, async () => { await shapeOf(name); });
    }
    await step('printer.objects.list', async () => {
      state.objectNames = ((await shapeOf('printer.objects.list')) as { objects: string[] }).objects;
    });
    await step('printer.objects.query', async () => { await shapeOf('printer.objects.query'); });

    for (const name of ['access.info', 'access.oneshot_token']) {
      await step(name, async () => { await shapeOf(name); });
    }

    // ---- printer objects
    const objName = (o: ObjectFixture): string | undefined =>
      o.object === 'heater_generic' || o.object === 'filament_switch_sensor'
        ? state.objectNames.find((n) => n.startsWith(`${o.object} `))
        : state.objectNames.includes(o.object) ? o.object : undefined;
    const queried = await rpc.call('printer.objects.query', {
      objects: Object.fromEntries(objects.map(objName).filter((n): n is string => !!n).map((n) => [n, null])),
    }).catch(() => ({ status: {} })) as { status: Record<string, unknown> };
    for (const o of objects) {
      await step(`object ${o.object}`, async () => {
        covered.add(`object ${o.object}`);
        const name = objName(o);
        assert.ok(name, `${o.object} is not in printer.objects.list`);
        assert.deepEqual(compareShape(o.status, queried.status[name], o.shape), [], `${name} differs from ${o.doc}`);
      });
    }

    // ---- subscriptions and gcode
    await step('printer.objects.subscribe', async () => { await shapeOf('printer.objects.subscribe'); });
    await step('notify_status_update', async () => {
      const sub = Object.fromEntries(['heater_bed', 'extruder', 'print_stats', 'virtual_sdcard', 'webhooks', 'idle_timeout', 'display_status', 'pause_resume', 'toolhead', 'gcode_move']
        .filter((n) => state.objectNames.includes(n)).map((n) => [n, null]));
      await rpc.call('printer.objects.subscribe', { objects: sub });
      const from = expecting('notify_status_update');
      await rpc.call('printer.gcode.script', { script: 'M140 S60' });
      const got = await expectNote('notify_status_update', from, (p) => 'heater_bed' in first(p));
      // every object in the update must also match its documented object shape (fields are partial)
      for (const [name, value] of Object.entries(first(got.params))) {
        const o = objects.find((x) => x.object === name);
        if (!o) continue;
        const opts: ShapeOptions = { ...o.shape, optional: [...(o.shape?.optional ?? []), '*', '**'] };
        assert.deepEqual(compareShape(o.status, value, opts), [], `notify_status_update ${name} differs from ${o.doc}`);
      }
      await rpc.call('printer.gcode.script', { script: 'M140 S0' });
    });
    await step('printer.gcode.script', async () => { await shapeOf('printer.gcode.script'); });
    await step('notify_gcode_response', async () => {
      const from = expecting('notify_gcode_response');
      await rpc.call('printer.gcode.script', { script: 'M115' }).catch(() => undefined);
      await expectNote('notify_gcode_response', from);
    });

    // ---- files
    const gcode = slicerGcode(40, 10);
    for (const f of ['my_subdir/Funnel_0.2mm_PLA_Ender2_2h4m.gcode', 'my_subdir/test/inner.gcode', 'tools/drill.gcode', 'test_print.gcode',
      'job1.gcode', 'job2.gcode', 'subdir/job3.gcode']) await control.addFile(f, gcode);
    for (const name of ['server.files.list', 'server.files.get_directory', 'server.files.metadata']) {
      await step(name, async () => { await shapeOf(name); });
    }
    await step('POST /server/files/upload', async () => {
      const f = req('POST /server/files/upload');
      const from = expecting('notify_filelist_changed');
      const res = await upload(baseUrl, f.http!.path, f.http!.filename, gcode);
      expectShape(f.name, unwrap(res.body));
      assert.equal(res.status, f.http!.status, 'upload status code');
      await expectNote('notify_filelist_changed', from, (p) => first(p).action === 'create_file');
    });
    await step('server.files.delete_file', async () => { await shapeOf('server.files.delete_file'); });

    // ---- a print, with the job queue exercised while it is paused (so queued jobs cannot start)
    await step('printer.print.start', async () => {
      const from = expecting('notify_history_changed');
      await shapeOf('printer.print.start');
      const got = await expectNote('notify_history_changed', from, (p) => first(p).action === 'added');
      state.jobId = String((first(got.params).job as { job_id?: unknown } | undefined)?.job_id ?? '');
    });
    await step('printer.print.pause', async () => { await shapeOf('printer.print.pause'); });
    await step('server.job_queue.post_job', async () => {
      state.queued = ((await shapeOf('server.job_queue.post_job')) as { queued_jobs: typeof state.queued }).queued_jobs;
    });
    await step('server.job_queue.status', async () => { await shapeOf('server.job_queue.status'); });
    await step('server.job_queue.delete_job', async () => {
      const ids = state.queued.filter((j) => j.filename !== 'job1.gcode').map((j) => j.job_id);
      await shapeOf('server.job_queue.delete_job', { job_ids: ids });
    });
    await step('server.job_queue.pause', async () => {
      const from = expecting('notify_job_queue_changed');
      await shapeOf('server.job_queue.pause');
      await expectNote('notify_job_queue_changed', from, (p) => first(p).action === 'state_changed');
    });
    await step('server.job_queue.start', async () => {
      await shapeOf('server.job_queue.start');
      await rpc.call('server.job_queue.delete_job', { all: true });
    });
    await step('printer.print.resume', async () => { await shapeOf('printer.print.resume'); });
    await step('printer.print.cancel', async () => {
      const from = expecting('notify_history_changed');
      await shapeOf('printer.print.cancel');
      await expectNote('notify_history_changed', from, (p) => first(p).action === 'finished');
    });
    await step('server.history.list', async () => { await shapeOf('server.history.list'); });
    await step('server.history.get_job', async () => {
      assert.ok(state.jobId, 'no job id from the print (notify_history_changed missing)');
      await shapeOf('server.history.get_job', { uid: state.jobId });
    });
    await step('server.history.totals', async () => { await shapeOf('server.history.totals'); });

    // ---- webcams
    await step('server.webcams.post_item', async () => {
      const from = expecting('notify_webcams_changed');
      state.webcamUid = ((await shapeOf('server.webcams.post_item')) as { webcam: { uid: string } }).webcam.uid;
      await expectNote('notify_webcams_changed', from);
    });
    await step('server.webcams.list', async () => { await shapeOf('server.webcams.list'); });
    await step('server.webcams.delete_item', async () => {
      await shapeOf('server.webcams.delete_item', { uid: state.webcamUid });
    });

    // ---- power devices (Moonraker's [power] sections)
    await step('power: without [power] sections the methods do not exist', async () => {
      const { msg } = await rpc.raw('machine.device_power.devices');
      assert.equal((msg.error as { code?: number } | undefined)?.code, -32601);
    });
    await step('power: the example devices', async () => {
      control.setPowerDevices([{ name: 'green_led', locked_while_printing: true, initial_state: 'off' }, { name: 'printer', type: 'tplink_smartplug', initial_state: 'off' }]);
    });
    for (const name of ['machine.device_power.devices', 'machine.device_power.get_device', 'machine.device_power.status']) {
      await step(name, async () => { await shapeOf(name); });
    }
    await step('machine.device_power.post_device', async () => {
      const from = expecting('notify_power_changed');
      await shapeOf('machine.device_power.post_device');
      await expectNote('notify_power_changed', from, (p) => first(p).device === 'green_led' && first(p).status === 'on');
    });
    for (const name of ['machine.device_power.on', 'machine.device_power.off']) {
      await step(name, async () => { await shapeOf(name); });
    }

    // ---- klippy lifecycle
    await step('printer.emergency_stop', async () => {
      const from = expecting('notify_klippy_shutdown');
      await shapeOf('printer.emergency_stop');
      await expectNote('notify_klippy_shutdown', from);
    });
    await step('printer.firmware_restart', async () => {
      const back = ready();
      await shapeOf('printer.firmware_restart');
      await back();
    });
    await step('printer.restart', async () => {
      const back = ready();
      await shapeOf('printer.restart');
      await back();
    });
    await step('control: shutdown, ready, disconnect', async () => {
      let from = expecting('notify_klippy_shutdown');
      await control.klippyShutdown('x');
      await expectNote('notify_klippy_shutdown', from);
      const back = ready();
      await control.klippyReady();
      await back();
      from = expecting('notify_klippy_disconnected');
      await control.klippyDisconnect();
      await expectNote('notify_klippy_disconnected', from);
      await control.klippyReady();
    });

    await step('every fixture was exercised', async () => {
      const all = [...requests.keys(), ...notifications.keys(), ...objects.map((o) => `object ${o.object}`)];
      assert.deepEqual(all.filter((n) => !covered.has(n)), []);
    });
  } finally {
    ws.terminate();
    await sim.stop();
  }
});
