import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startMoonrakerSimulator, type MoonrakerSimulator } from '../../src/simulator/index.js';
import { httpJson, RpcError, SimClient } from './sim-client.js';

let sim: MoonrakerSimulator;
before(async () => {
  sim = await startMoonrakerSimulator({ speedFactor: 200 });
});
after(async () => {
  await sim.stop();
});

test('identify returns a connection id and refuses a second identify on the same socket', async () => {
  const c = await SimClient.connect(sim.url);
  try {
    const res = await c.identify({ type: 'web' });
    assert.equal(typeof res.connection_id, 'number');
    await assert.rejects(c.identify(), (e: RpcError) => e.code === 400 && e.message.startsWith('Connection already identified'));
    const c2 = await SimClient.connect(sim.url);
    await assert.rejects(c2.identify({ type: 'robot' }), (e: RpcError) => e.message === 'Invalid Client Type: robot');
    await assert.rejects(c2.call('server.connection.identify', { client_name: 'x' }), (e: RpcError) => e.message === 'No data for argument: version');
    c2.close();
  } finally {
    c.close();
  }
});

test('server.info and printer.info report Moonraker/Klippy state', async () => {
  const c = await SimClient.connect(sim.url);
  try {
    const info = await c.call<Record<string, unknown>>('server.info');
    assert.equal(info['klippy_connected'], true);
    assert.equal(info['klippy_state'], 'ready');
    assert.deepEqual(info['api_version'], [1, 5, 0]);
    assert.ok((info['registered_directories'] as string[]).includes('gcodes'));
    assert.equal(typeof info['websocket_count'], 'number');
    const pinfo = await c.call<Record<string, unknown>>('printer.info');
    assert.equal(pinfo['state'], 'ready');
    assert.equal(pinfo['state_message'], 'Printer is ready');
    const http = await httpJson(`${sim.url}/server/info`);
    assert.equal(http.status, 200);
    assert.equal((http.body as { result: Record<string, unknown> }).result['klippy_state'], 'ready');
  } finally {
    c.close();
  }
});

test('JSON-RPC protocol errors use Moonraker codes', async () => {
  const c = await SimClient.connect(sim.url);
  try {
    await assert.rejects(c.call('no.such.method'), (e: RpcError) => e.code === -32601 && e.message === 'Method not found');
    // Error replies to malformed requests carry no usable id, so inspect the raw traffic.
    const raw: string[] = [];
    c.ws.on('message', (d) => raw.push(String(d)));
    c.sendRaw('{not json');
    c.sendRaw(JSON.stringify({ jsonrpc: '1.0', method: 'server.info', id: 99 }));
    c.sendRaw(JSON.stringify({ jsonrpc: '2.0', method: 'server.info', params: [1, 2], id: 98 }));
    await new Promise((r) => setTimeout(r, 100));
    const parsed = raw.map((t) => JSON.parse(t) as { error?: { code: number }; id: unknown });
    assert.deepEqual(parsed.map((p) => [p.error?.code, p.id]), [[-32700, null], [-32600, 99], [-32602, 98]]);
  } finally {
    c.close();
  }
});

test('subscribe replies with current values and then sends only changed fields of subscribed objects', async () => {
  const c = await SimClient.connect(sim.url);
  try {
    await c.identify();
    const sub = await c.call<{ eventtime: number; status: Record<string, Record<string, unknown>> }>('printer.objects.subscribe', {
      objects: { extruder: ['target', 'temperature'], toolhead: ['homed_axes'], webhooks: null, nonexistent: null },
    });
    assert.equal(typeof sub.eventtime, 'number');
    assert.deepEqual(Object.keys(sub.status).sort(), ['extruder', 'toolhead', 'webhooks']);
    assert.deepEqual(Object.keys(sub.status['extruder'] ?? {}).sort(), ['target', 'temperature']);
    assert.equal(sub.status['webhooks']?.['state'], 'ready');
    const from = c.notifications.length;
    await c.call('printer.gcode.script', { script: 'M104 S180' });
    const n = await c.waitFor((x) => x.method === 'notify_status_update' && !!(x.params as [Record<string, Record<string, unknown>>])[0]['extruder']?.['target'], 3000, from);
    const [changes, eventtime] = n.params as [Record<string, Record<string, unknown>>, number];
    assert.equal(changes['extruder']?.['target'], 180);
    assert.ok(eventtime > sub.eventtime);
    assert.equal(changes['webhooks'], undefined, 'unchanged objects are not resent');
    // Only subscribed fields ever appear.
    for (const note of c.notifications.filter((x) => x.method === 'notify_status_update')) {
      const ch = (note.params as [Record<string, Record<string, unknown>>])[0];
      for (const [obj, fields] of Object.entries(ch)) {
        assert.ok(['extruder', 'toolhead', 'webhooks'].includes(obj));
        if (obj === 'extruder') for (const f of Object.keys(fields)) assert.ok(['target', 'temperature'].includes(f));
      }
    }
    // Updates are batched: at most ~4 per second.
    const start = c.notifications.length;
    await new Promise((r) => setTimeout(r, 1000));
    const count = c.notifications.slice(start).filter((x) => x.method === 'notify_status_update').length;
    assert.ok(count >= 2 && count <= 5, `expected batched updates, got ${count}`);
    // An empty subscription cancels updates.
    await c.call('printer.objects.subscribe', { objects: {} });
    await new Promise((r) => setTimeout(r, 300));
    const quiet = c.notifications.length;
    await new Promise((r) => setTimeout(r, 600));
    assert.equal(c.notifications.slice(quiet).filter((x) => x.method === 'notify_status_update').length, 0);
    await c.call('printer.gcode.script', { script: 'M104 S0' });
  } finally {
    c.close();
  }
});

test('objects.list and query (JSON-RPC and HTTP query-string form)', async () => {
  const c = await SimClient.connect(sim.url);
  try {
    const list = await c.call<{ objects: string[] }>('printer.objects.list');
    for (const o of ['webhooks', 'print_stats', 'virtual_sdcard', 'heaters', 'heater_bed', 'heater_generic chamber', 'extruder', 'toolhead', 'gcode_move', 'display_status', 'pause_resume', 'idle_timeout', 'configfile', 'gcode_macro PAUSE', 'gcode_macro M600']) {
      assert.ok(list.objects.includes(o), `missing ${o}`);
    }
    const q = await c.call<{ status: Record<string, Record<string, unknown>> }>('printer.objects.query', { objects: { heaters: null, configfile: ['settings'] } });
    assert.deepEqual(q.status['heaters']?.['available_heaters'], ['extruder', 'heater_bed', 'heater_generic chamber']);
    const settings = q.status['configfile']?.['settings'] as Record<string, Record<string, unknown>>;
    assert.equal(settings['extruder']?.['max_temp'], 300);
    assert.equal(settings['heater_bed']?.['max_temp'], 120);
    const http = await httpJson(`${sim.url}/printer/objects/query?webhooks&extruder=target,temperature`);
    const status = (http.body as { result: { status: Record<string, Record<string, unknown>> } }).result.status;
    assert.deepEqual(Object.keys(status['extruder'] ?? {}).sort(), ['target', 'temperature']);
    assert.equal(status['webhooks']?.['state'], 'ready');
    await assert.rejects(c.call('printer.objects.query', {}), (e: RpcError) => e.code === 400 && e.message === 'No data for argument: objects');
  } finally {
    c.close();
  }
});

test('registered remote methods reach the agent as notifications', async () => {
  const agent = await SimClient.connect(sim.url);
  const web = await SimClient.connect(sim.url);
  try {
    await agent.identify({ client_name: 'polar-agent', type: 'agent' });
    await web.identify({ client_name: 'ui', type: 'web' });
    await assert.rejects(web.call('connection.register_remote_method', { method_name: 'x' }), (e: RpcError) => e.message.includes("'agent' type"));
    assert.equal(await agent.call('connection.register_remote_method', { method_name: 'polar_notify' }), 'ok');
    assert.equal(sim.control.callRemoteMethod('polar_notify', { heater: 'extruder', temp: 200 }), true);
    const n = await agent.waitMethod('polar_notify');
    assert.deepEqual(n.params, { heater: 'extruder', temp: 200 });
    assert.equal(sim.control.callRemoteMethod('polar_notify'), true);
    await agent.waitFor((x) => x.method === 'polar_notify' && x.params === undefined);
    assert.equal(sim.control.callRemoteMethod('nobody_registered'), false);
    assert.equal(web.notifications.filter((x) => x.method === 'polar_notify').length, 0);
    // A second agent with the same name is refused.
    const dup = await SimClient.connect(sim.url);
    await assert.rejects(dup.identify({ client_name: 'polar-agent', type: 'agent' }), (e: RpcError) => e.message.includes('already registered'));
    dup.close();
  } finally {
    agent.close();
    web.close();
  }
});

test('HTTP JSON-RPC endpoint and unknown HTTP routes', async () => {
  const res = await httpJson(`${sim.url}/server/jsonrpc`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', method: 'printer.info', id: 7 }),
  });
  assert.equal(res.status, 200);
  assert.equal((res.body as { id: number; result: { state: string } }).result.state, 'ready');
  const ident = await httpJson(`${sim.url}/server/jsonrpc`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', method: 'server.connection.identify', params: {}, id: 8 }),
  });
  assert.equal((ident.body as { error: { code: number } }).error.code, -32601);
  const missing = await httpJson(`${sim.url}/no/such/route`);
  assert.equal(missing.status, 404);
  assert.deepEqual(missing.body, { error: { code: 404, message: 'Not Found' } });
});
