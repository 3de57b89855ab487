import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import jpeg from 'jpeg-js';
import { startMoonrakerSimulator, type MoonrakerSimulator } from '../../src/simulator/index.js';
import { httpJson, RpcError, SimClient, until } from './sim-client.js';

let sim: MoonrakerSimulator;
let c: SimClient;
before(async () => {
  sim = await startMoonrakerSimulator({ speedFactor: 200 });
  c = await SimClient.connect(sim.url);
  await c.identify();
});
after(async () => {
  c.close();
  await sim.stop();
});

function pixel(img: { data: Uint8Array; width: number }, x: number, y: number): [number, number, number] {
  const i = (y * img.width + x) * 4;
  return [img.data[i] ?? 0, img.data[i + 1] ?? 0, img.data[i + 2] ?? 0];
}

test('webcam list entry and snapshot: a real JPEG with the top-left corner marked red', async () => {
  const { webcams } = await c.call<{ webcams: Array<Record<string, unknown>> }>('server.webcams.list');
  assert.equal(webcams.length, 1);
  const cam = webcams[0] ?? {};
  for (const k of ['name', 'location', 'service', 'enabled', 'icon', 'target_fps', 'target_fps_idle', 'stream_url', 'snapshot_url', 'flip_horizontal', 'flip_vertical', 'rotation', 'aspect_ratio', 'extra_data', 'source', 'uid']) {
    assert.ok(k in cam, `webcam entry lacks ${k}`);
  }
  const res = await fetch(`${sim.url}${String(cam['snapshot_url'])}`);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), 'image/jpeg');
  const img = jpeg.decode(Buffer.from(await res.arrayBuffer()), { useTArray: true });
  assert.equal(img.width, 640);
  assert.equal(img.height, 480);
  const [r, g, b] = pixel(img, 10, 10);
  assert.ok(r > 200 && g < 60 && b < 60, `top-left should be red, got ${r},${g},${b}`);
  const [r2, g2, b2] = pixel(img, 630, 470);
  assert.ok(r2 > 200 && g2 > 180 && b2 < 80, `bottom-right should be yellow, got ${r2},${g2},${b2}`);
  const test = await c.call<Record<string, unknown>>('server.webcams.test', { uid: cam['uid'] });
  assert.equal(test['snapshot_url'], `${sim.url}/webcam/?action=snapshot`);
  assert.equal(test['snapshot_reachable'], true);
  const item = await c.call<{ webcam: Record<string, unknown> }>('server.webcams.get_item', { uid: cam['uid'] });
  assert.equal(item.webcam['name'], cam['name']);
  await assert.rejects(c.call('server.webcams.get_item', { uid: 'nope' }), (e: RpcError) => e.code === -32601 && e.message === 'Webcam with UID nope not found');
});

test('MJPEG stream delivers successive frames', async () => {
  const frames = await new Promise<Buffer[]>((resolve, reject) => {
    const req = request(`${sim.url}/webcam/?action=stream`, (res) => {
      assert.match(res.headers['content-type'] ?? '', /^multipart\/x-mixed-replace;boundary=/);
      let buf = Buffer.alloc(0);
      const found: Buffer[] = [];
      res.on('data', (chunk: Buffer) => {
        buf = Buffer.concat([buf, chunk]);
        for (;;) {
          const head = buf.indexOf('\r\n\r\n');
          if (head < 0) break;
          const len = Number(/Content-Length: (\d+)/.exec(buf.subarray(0, head).toString())?.[1]);
          if (buf.length < head + 4 + len) break;
          found.push(buf.subarray(head + 4, head + 4 + len));
          buf = buf.subarray(head + 4 + len + 2);
        }
        if (found.length >= 3) {
          req.destroy();
          resolve(found);
        }
      });
    });
    req.on('error', (e) => (e.message.includes('aborted') ? undefined : reject(e)));
    req.end();
  });
  const decoded = frames.map((f) => jpeg.decode(f, { useTArray: true }));
  assert.ok(decoded.every((d) => d.width === 640));
  assert.notDeepEqual(frames[0], frames[2], 'frames change over time');
});

test('setWebcams changes flip/rotation and notifies', async () => {
  const from = c.notifications.length;
  sim.control.setWebcams([{ name: 'cam', flip_horizontal: true, rotation: 90 }, { name: 'second' }]);
  const n = await c.waitMethod('notify_webcams_changed', 2000, from);
  const cams = (n.params as [{ webcams: Array<Record<string, unknown>> }])[0].webcams;
  assert.deepEqual(cams.map((w) => [w['name'], w['flip_horizontal'], w['rotation'], w['snapshot_url']]), [
    ['cam', true, 90, '/webcam/?action=snapshot'],
    ['second', false, 0, '/webcam2/?action=snapshot'],
  ]);
  assert.equal((await fetch(`${sim.url}/webcam2/?action=snapshot`)).status, 200);
  sim.control.setWebcams([{}]);
});

test('machine.system_info and update status include the polarcloud repo', async () => {
  const si = await c.call<{ system_info: Record<string, unknown> }>('machine.system_info');
  for (const k of ['cpu_info', 'distribution', 'available_services', 'service_state', 'python', 'network']) assert.ok(k in si.system_info);
  const st = await c.call<{ busy: boolean; version_info: Record<string, Record<string, unknown>> }>('machine.update.status');
  assert.equal(st.busy, false);
  const repo = st.version_info['moonraker-polarcloud'] ?? {};
  assert.equal(repo['configured_type'], 'git_repo');
  assert.equal(repo['version'], 'v0.1.0');
});

test('machine.update.upgrade: busy -> done with notifications; refused while printing; unknown updater', async () => {
  sim.control.setUpdateAvailable('moonraker-polarcloud', 'v0.2.0');
  await c.waitMethod('notify_update_refreshed');
  const from = c.notifications.length;
  const pending = c.call('machine.update.upgrade', { name: 'moonraker-polarcloud' });
  await new Promise((r) => setTimeout(r, 50));
  assert.equal((await c.call<{ busy: boolean }>('machine.update.status')).busy, true);
  await assert.rejects(c.call('machine.update.upgrade', { name: 'klipper' }), (e: RpcError) => e.code === 503);
  assert.equal(await pending, 'ok');
  const responses = c.notifications.slice(from).filter((n) => n.method === 'notify_update_response').map((n) => (n.params as [Record<string, unknown>])[0]);
  assert.ok(responses.length >= 2);
  assert.ok(responses.every((r) => r['application'] === 'moonraker-polarcloud' && typeof r['proc_id'] === 'number'));
  assert.equal(responses.at(-1)?.['complete'], true);
  assert.ok(responses.slice(0, -1).every((r) => r['complete'] === false));
  await c.waitMethod('notify_update_refreshed', 2000, from);
  const st = await c.call<{ busy: boolean; version_info: Record<string, Record<string, unknown>> }>('machine.update.status');
  assert.equal(st.busy, false);
  assert.equal(st.version_info['moonraker-polarcloud']?.['version'], 'v0.2.0');
  await assert.rejects(c.call('machine.update.upgrade', { name: 'nope' }), (e: RpcError) => e.code === -32601 && e.message === 'Updater nope not available');

  await sim.control.addFile('p.gcode', `G28\n${Array.from({ length: 200 }, (_, i) => `G1 X${i % 2 ? 10 : 200} F3000`).join('\n')}\n`);
  await c.call('printer.print.start', { filename: 'p.gcode' });
  await until(() => sim.control.printerObjects()['print_stats']?.['state'] === 'printing');
  await assert.rejects(c.call('machine.update.client', { name: 'moonraker-polarcloud' }), (e: RpcError) => e.code === 503 && e.message === 'Update Refused: Klippy is printing');
  const http = await httpJson(`${sim.url}/machine/update/upgrade`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ name: 'klipper' }) });
  assert.equal(http.status, 503);
  await c.call('printer.print.cancel');
});
