import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { startMoonrakerSimulator, type MoonrakerSimulator } from '../../src/simulator/index.js';
import { prusaGcode } from './gcode-samples.js';
import { httpJson, RpcError, SimClient, until } from './sim-client.js';

let sim: MoonrakerSimulator;
before(async () => {
  sim = await startMoonrakerSimulator({ speedFactor: 200 });
  await sim.control.addFile('job.gcode', prusaGcode({ layers: 10, movesPerLayer: 40 }));
});
after(async () => {
  await sim.stop();
});

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

const historyStatus = (c: SimClient): string[] =>
  c.notifications
    .filter((n) => n.method === 'notify_history_changed' && (n.params as [{ action: string }])[0].action === 'finished')
    .map((n) => (n.params as [{ job: { status: string } }])[0].job.status);

test('dropWebsockets kills every socket without a close frame', async () => {
  const a = await SimClient.connect(sim.url);
  const b = await SimClient.connect(sim.url);
  sim.control.dropWebsockets();
  await Promise.all([a.waitClosed(), b.waitClosed()]);
  assert.equal(a.closed?.code, 1006);
  const again = await SimClient.connect(sim.url);
  assert.equal((await again.call<{ klippy_state: string }>('server.info')).klippy_state, 'ready');
  again.close();
});

test('restartMoonraker: graceful close, refused while down, back with startup -> ready; the print survives', async () => {
  const c = await SimClient.connect(sim.url);
  await c.identify();
  await c.call('printer.print.start', { filename: 'job.gcode' });
  await sim.control.waitForPrintState('printing');
  const restarted = sim.control.restartMoonraker(400);
  await c.waitClosed();
  assert.equal(c.closed?.code, 1001);
  assert.deepEqual(historyStatus(c), ['server_exit']);
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(await canConnect(sim.port), false, 'connections are refused while Moonraker is down');
  await until(() => canConnect(sim.port), 3000);
  const c2 = await SimClient.connect(sim.url);
  const info = await c2.call<{ klippy_state: string; klippy_connected: boolean }>('server.info');
  assert.equal(info.klippy_state, 'startup');
  await c2.identify();
  await c2.waitMethod('notify_klippy_ready', 3000);
  await restarted;
  assert.equal((await c2.call<{ klippy_state: string }>('server.info')).klippy_state, 'ready');
  const ps = await c2.call<{ status: Record<string, Record<string, unknown>> }>('printer.objects.query', { objects: { print_stats: ['state', 'filename'] } });
  assert.deepEqual(ps.status['print_stats'], { state: 'printing', filename: 'job.gcode' }, 'Klipper kept printing');
  await c2.call('printer.print.cancel');
  c2.close();
});

test('klippyShutdown mid-print: print_stats stays paused (as real Klipper), history klippy_shutdown, notify_klippy_shutdown', async () => {
  const c = await SimClient.connect(sim.url);
  try {
    await c.identify();
    await c.call('printer.objects.subscribe', { objects: { webhooks: null, print_stats: ['state', 'message'] } });
    await c.call('printer.print.start', { filename: 'job.gcode' });
    await sim.control.waitForPrintState('printing');
    const from = c.notifications.length;
    await sim.control.klippyShutdown('MCU \'mcu\' shutdown: Timer too close');
    await c.waitMethod('notify_klippy_shutdown', 2000, from);
    // Klipper's virtual_sdcard work handler stops like a pause: print_stats shows "paused" while
    // Klippy is shut down (seen on the real stack); the job's end is history's klippy_shutdown.
    await until(() => (sim.control.printerObjects()['print_stats'] ?? {})['state'] === 'paused', 2000);
    await until(() => historyStatus(c).includes('klippy_shutdown'), 2000);
    assert.deepEqual(historyStatus(c), ['klippy_shutdown']);
    const upd = await c.waitFor((n) => n.method === 'notify_status_update' && (n.params as [Record<string, Record<string, unknown>>])[0]['webhooks']?.['state'] === 'shutdown', 2000, from);
    assert.equal((upd.params as [Record<string, Record<string, unknown>>])[0]['webhooks']?.['state_message'], "MCU 'mcu' shutdown: Timer too close");
    assert.equal(sim.control.printerObjects()['extruder']?.['target'], 0);
    await sim.control.klippyReady();
    assert.equal((await c.call<{ klippy_state: string }>('server.info')).klippy_state, 'ready');
  } finally {
    c.close();
  }
});

test('after a shutdown (M112) RESTART leaves Klippy in error; only FIRMWARE_RESTART recovers', async () => {
  const c = await SimClient.connect(sim.url);
  try {
    await c.identify();
    await sim.control.klippyReady();
    await c.call('printer.gcode.script', { script: 'M112' }).catch(() => undefined);
    await until(async () => (await c.call<{ klippy_state: string }>('server.info')).klippy_state === 'shutdown', 2000);
    await c.call('printer.restart');
    await until(async () => (await c.call<{ klippy_state: string }>('server.info')).klippy_state === 'error', 3000);
    const info = await c.call<{ state_message: string }>('printer.info');
    assert.match(info.state_message, /^Can not update MCU 'mcu' config as it is shutdown/);
    await c.call('printer.firmware_restart');
    await until(async () => (await c.call<{ klippy_state: string }>('server.info')).klippy_state === 'ready', 3000);
  } finally {
    c.close();
  }
});

test('klippyDisconnect: 503s, pending requests fail, subscriptions dropped; klippyReady restores', async () => {
  const c = await SimClient.connect(sim.url);
  try {
    await c.identify();
    await c.call('printer.objects.subscribe', { objects: { extruder: null } });
    await c.call('printer.gcode.script', { script: 'M104 S200' });
    const pending = c.call('printer.gcode.script', { script: 'M109 S200' });
    await new Promise((r) => setTimeout(r, 50));
    const from = c.notifications.length;
    await sim.control.klippyDisconnect();
    await assert.rejects(pending, (e: RpcError) => e.code === 503 && e.message === 'Klippy Disconnected');
    await c.waitMethod('notify_klippy_disconnected', 2000, from);
    const info = await c.call<{ klippy_state: string; klippy_connected: boolean }>('server.info');
    assert.deepEqual([info.klippy_state, info.klippy_connected], ['disconnected', false]);
    await assert.rejects(c.call('printer.info'), (e: RpcError) => e.code === 503 && e.message === 'Klippy Host not connected');
    await assert.rejects(c.call('printer.objects.query', { objects: { webhooks: null } }), (e: RpcError) => e.code === 503);
    const http = await httpJson(`${sim.url}/printer/info`);
    assert.equal(http.status, 503);
    const quiet = c.notifications.length;
    await sim.control.klippyReady();
    await c.waitMethod('notify_klippy_ready', 2000, quiet);
    await new Promise((r) => setTimeout(r, 400));
    assert.equal(c.notifications.slice(quiet).filter((n) => n.method === 'notify_status_update').length, 0, 'subscriptions must be renewed after a disconnect');
    assert.equal(sim.control.printerObjects()['extruder']?.['target'], 0, 'a restarted Klippy has heaters off');
  } finally {
    c.close();
  }
});

test('klippyError: Klippy restarts into the error state with the message', async () => {
  const c = await SimClient.connect(sim.url);
  try {
    await sim.control.klippyError('Option \'foo\' is not valid in section \'extruder\'');
    const info = await c.call<{ klippy_state: string; klippy_connected: boolean }>('server.info');
    assert.deepEqual([info.klippy_state, info.klippy_connected], ['error', true]);
    const pinfo = await c.call<{ state: string; state_message: string }>('printer.info');
    assert.equal(pinfo.state_message, "Option 'foo' is not valid in section 'extruder'");
    const list = await c.call<{ objects: string[] }>('printer.objects.list');
    assert.ok(!list.objects.includes('print_stats'));
    await assert.rejects(c.call('printer.print.start', { filename: 'job.gcode' }), (e: RpcError) => e.code === 400 && e.message.startsWith("Option 'foo'"));
    await sim.control.klippyReady();
    assert.equal((await c.call<{ klippy_state: string }>('server.info')).klippy_state, 'ready');
  } finally {
    c.close();
  }
});

test('refuseUploads and setReplyDelay', async () => {
  sim.control.refuseUploads(413);
  const form = new FormData();
  form.append('file', new Blob(['G28\n'.repeat(1000)]), 'big.gcode');
  const res = await httpJson(`${sim.url}/server/files/upload`, { method: 'POST', body: form });
  assert.equal(res.status, 413);
  assert.deepEqual(res.body, { error: { code: 413, message: 'Payload Too Large' } });
  sim.control.refuseUploads(null);
  const form2 = new FormData();
  form2.append('file', new Blob(['G28\n']), 'ok.gcode');
  assert.equal((await httpJson(`${sim.url}/server/files/upload`, { method: 'POST', body: form2 })).status, 201);
  sim.control.setReplyDelay(300);
  const c = await SimClient.connect(sim.url);
  const t0 = Date.now();
  await c.call('server.info');
  const dt = Date.now() - t0;
  sim.control.setReplyDelay(0);
  c.close();
  assert.ok(dt >= 290, `reply took ${dt} ms`);
});

test('holdReplies holds the replies to one method until released, in order; the rest flows', async () => {
  const c = await SimClient.connect(sim.url);
  try {
    const infos = (): number => sim.control.rpcLog().filter((e) => e.method === 'server.info').length;
    const before = infos();
    sim.control.holdReplies('server.info');
    let answered = 0;
    const first = c.call<{ klippy_state: string }>('server.info').then((r) => (answered++, r));
    const second = c.call<{ klippy_state: string }>('server.info').then((r) => (answered++, r));
    // Sent after the held calls and answered: the two server.info requests were handled, their replies wait.
    await c.call('printer.info');
    await until(() => infos() === before + 2);
    await c.call('printer.info');
    assert.equal(answered, 0, 'server.info replies held');
    sim.control.holdReplies(null);
    assert.equal((await first).klippy_state, 'ready');
    assert.equal((await second).klippy_state, 'ready');
    assert.equal(answered, 2);
  } finally {
    c.close();
  }
});

test('holdNotifications holds notifications (replies flow) and sends them in order on release', async () => {
  const c = await SimClient.connect(sim.url);
  try {
    await c.identify();
    sim.control.holdNotifications(true);
    await c.call('printer.gcode.script', { script: 'RESPOND MSG=one' });
    await c.call('printer.gcode.script', { script: 'RESPOND MSG=two' });
    // Without the hold each response goes out before the script's reply.
    assert.deepEqual(c.notifications.filter((n) => n.method === 'notify_gcode_response'), [], 'held');
    sim.control.holdNotifications(false);
    const line = (n: { params?: unknown }): string => String((n.params as unknown[] | undefined)?.[0]);
    await c.waitFor((n) => n.method === 'notify_gcode_response' && line(n).includes('two'));
    const lines = c.notifications.filter((n) => n.method === 'notify_gcode_response').map(line);
    assert.deepEqual(lines.filter((l) => /one|two/.test(l)), ['echo: one', 'echo: two']);
  } finally {
    c.close();
  }
});

test('the same controls over HTTP under /_sim', async () => {
  const shut = await httpJson(`${sim.url}/_sim/klippy_shutdown`, { method: 'POST', body: JSON.stringify({ message: 'via http' }), headers: { 'Content-Type': 'application/json' } });
  assert.deepEqual(shut.body, { result: 'ok' });
  assert.equal((await httpJson(`${sim.url}/_sim/printer_objects`)).status, 200);
  const objs = (await httpJson(`${sim.url}/_sim/printerObjects`)).body as { result: Record<string, Record<string, unknown>> };
  assert.equal(objs.result['webhooks']?.['state_message'], 'via http');
  await httpJson(`${sim.url}/_sim/klippy_ready`, { method: 'POST' });
  const log = (await httpJson(`${sim.url}/_sim/rpc_log`)).body as { result: Array<{ method: string }> };
  assert.ok(log.result.some((e) => e.method === 'server.info'));
  const bad = await httpJson(`${sim.url}/_sim/nope`, { method: 'POST' });
  assert.equal(bad.status, 404);
});

test('reset returns to a clean, ready printer', async () => {
  const c = await SimClient.connect(sim.url);
  await c.call('printer.gcode.script', { script: 'M104 S100' });
  await sim.control.reset();
  assert.deepEqual(sim.control.gcodeLog(), []);
  assert.equal(sim.control.printerObjects()['extruder']?.['target'], 0);
  const hist = await c.call<{ count: number }>('server.history.list');
  assert.equal(hist.count, 0);
  assert.equal((await c.call<{ klippy_state: string }>('server.info')).klippy_state, 'ready');
  c.close();
});
