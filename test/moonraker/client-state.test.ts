// MoonrakerClient state machine with a fake socket and a fake clock.
import { test } from 'node:test';
import { FailureLog } from '../../src/util/backoff.js';
import assert from 'node:assert/strict';
import { FakeClock, flushMicrotasks } from '../helpers/fake-clock.js';
import { MoonrakerClient, PrinterModel, TransportError, type ConnectionState, type MoonrakerClientEvents } from '../../moonraker-bridge/index.js';
import { FakeMoonraker } from './fake-moonraker.js';
import { FixedBackoff, captureLog } from './helpers.js';

function setup(opts: { apiKey?: string; remoteMethods?: string[] } = {}) {
  const clock = new FakeClock();
  const log = captureLog();
  const server = new FakeMoonraker();
  const model = new PrinterModel({ log });
  const backoff = new FixedBackoff(1000);
  const states: ConnectionState[] = [];
  model.on('connectionChanged', (e) => states.push(e.to));
  const client = new MoonrakerClient({
    url: 'http://127.0.0.1:7125',
    version: '0.1.0',
    model,
    log,
    clock,
    backoff,
    failureLog: new FailureLog(log, 'cannot reach Moonraker', 5 * 60_000, () => clock.now()),
    connect: server.connector,
    unauthorizedRetryMs: 30_000,
    ...opts,
  });
  return { clock, log, server, model, backoff, states, client };
}

test('connect sequence: identify, remote methods, server.info until ready, list, query, one subscribe', async () => {
  const { clock, server, model, client, states } = setup({ apiKey: 'k1', remoteMethods: ['polar_notify', 'polar_pause'] });
  server.klippyState = 'startup';
  server.stateMessage = 'Printer is starting';
  client.start();
  await flushMicrotasks();
  assert.equal(model.connectionState, 'klippy_startup');
  assert.equal(model.snapshot().stateMessage, 'Printer is starting');
  const sock = server.last;
  assert.deepEqual(sock.calls[0], {
    jsonrpc: '2.0',
    id: sock.calls[0]!.id,
    method: 'server.connection.identify',
    params: { client_name: 'moonraker-polarcloud', version: '0.1.0', type: 'agent', url: 'https://www.polar3d.com/', api_key: 'k1' },
  });
  assert.deepEqual(sock.calls.slice(1, 3).map((c) => c.params), [{ method_name: 'polar_notify' }, { method_name: 'polar_pause' }]);
  const infoCalls = () => sock.methods().filter((m) => m === 'server.info').length;
  assert.equal(infoCalls(), 1);
  await clock.advance(1999);
  assert.equal(infoCalls(), 1);
  await clock.advance(1);
  assert.equal(infoCalls(), 2, 'polls server.info every 2 s while starting');
  server.klippyState = 'ready';
  server.stateMessage = 'Printer is ready';
  await clock.advance(2000);
  assert.equal(model.connectionState, 'klippy_ready');
  const methods = sock.methods();
  assert.deepEqual(methods.slice(-3), ['printer.objects.list', 'printer.objects.query', 'printer.objects.subscribe']);
  assert.equal(methods.filter((m) => m === 'printer.objects.subscribe').length, 1);
  const query = sock.calls.find((c) => c.method === 'printer.objects.query')!;
  assert.deepEqual(query.params, { objects: { heaters: null, configfile: ['settings'] } });
  const sub = sock.calls.find((c) => c.method === 'printer.objects.subscribe')!;
  assert.deepEqual(Object.keys(sub.params!.objects as object).sort(), [
    'extruder', 'heater_bed', 'heaters', 'idle_timeout', 'pause_resume', 'print_stats', 'temperature_sensor mcu', 'toolhead', 'virtual_sdcard', 'webhooks',
  ]);
  assert.deepEqual((sub.params!.objects as Record<string, unknown>).print_stats, ['state', 'filename', 'message', 'total_duration', 'print_duration', 'filament_used', 'info']);
  const snap = model.snapshot();
  assert.equal(snap.heaters.find((h) => h.name === 'extruder')?.max_temp, 250);
  assert.deepEqual(Object.keys((snap.object('configfile')?.settings ?? {}) as object).sort(), ['extruder', 'heater_bed'], 'configfile trimmed to heater sections');
  assert.deepEqual(snap.macros, ['PAUSE']);
  assert.deepEqual(states, ['connecting', 'klippy_startup', 'klippy_ready']);
  await client.stop();
  assert.equal(clock.pending, 0, 'no timer left after stop');
});

test('status updates merge, klippy notifications change state and ready resubscribes', async () => {
  const { clock, server, model, client } = setup({ remoteMethods: ['polar_alert'] });
  const ready: Array<MoonrakerClientEvents['ready']> = [];
  const remote: Array<MoonrakerClientEvents['remoteMethod']> = [];
  const gcode: string[] = [];
  client.on('ready', (e) => ready.push(e));
  client.on('remoteMethod', (e) => remote.push(e));
  client.on('gcodeResponse', (e) => gcode.push(e.line));
  client.start();
  await flushMicrotasks();
  assert.equal(ready.length, 1);
  const sock = server.last;
  sock.notify('notify_status_update', [{ extruder: { temperature: 180 } }, 12]);
  assert.equal(model.snapshot().heaters[0]?.temperature, 180);
  sock.notify('polar_alert', { heater: 'extruder', temp: 200 });
  sock.notify('polar_alert');
  sock.notify('not_registered', { x: 1 });
  assert.deepEqual(remote, [
    { method: 'polar_alert', params: { heater: 'extruder', temp: 200 } },
    { method: 'polar_alert', params: {} },
  ]);
  sock.notify('notify_gcode_response', ['// hello']);
  assert.deepEqual(gcode, ['// hello']);

  server.klippyState = 'shutdown';
  server.stateMessage = 'Emergency stop';
  sock.notify('notify_klippy_shutdown');
  await flushMicrotasks();
  assert.equal(model.connectionState, 'klippy_shutdown');
  assert.equal(model.snapshot().stateMessage, 'Emergency stop');
  server.klippyState = 'disconnected';
  sock.notify('notify_klippy_disconnected');
  await flushMicrotasks();
  assert.equal(model.connectionState, 'klippy_disconnected');
  server.klippyState = 'ready';
  server.stateMessage = 'Printer is ready';
  sock.notify('notify_klippy_ready');
  await flushMicrotasks();
  assert.equal(model.connectionState, 'klippy_ready');
  assert.equal(ready.length, 2);
  assert.equal(sock.methods().filter((m) => m === 'printer.objects.subscribe').length, 2, 'resubscribed after ready');
  assert.equal(sock.methods().filter((m) => m === 'server.connection.identify').length, 1, 'same socket');
  await client.stop();
  assert.equal(clock.pending, 0);
});

test('a dropped socket reconnects with the backoff and resubscribes', async () => {
  const { clock, server, model, client, backoff, log, states } = setup();
  client.start();
  await flushMicrotasks();
  assert.equal(backoff.resets, 1);
  server.refuse = new TransportError('network', 'connect ECONNREFUSED 127.0.0.1:7125');
  server.last.drop(1006, '');
  assert.equal(model.connectionState, 'disconnected');
  assert.equal(clock.nextDelay(), 1000, 'waits the backoff delay');
  for (let i = 0; i < 5; i++) await clock.advance(1000);
  assert.equal(server.connectAttempts, 6);
  assert.equal(model.connectionState, 'disconnected');
  assert.equal(log.count('warn', /cannot reach Moonraker/), 1, 'first failure loud, the rest rate-limited');
  // One event for the loss, one for the new reason (ECONNREFUSED); none per attempt.
  assert.deepEqual(states.slice(-2), ['disconnected', 'disconnected'], 'failed attempts do not flap the state');
  assert.equal(states.filter((s) => s === 'disconnected').length, 2);
  assert.equal(model.snapshot().stateMessage, 'connect ECONNREFUSED 127.0.0.1:7125');
  server.refuse = undefined;
  await clock.advance(1000);
  assert.equal(model.connectionState, 'klippy_ready');
  assert.equal(server.sockets.length, 2);
  assert.ok(server.last.methods().includes('printer.objects.subscribe'));
  assert.equal(log.count('info', /connected to Moonraker .*after 6 failed attempts/), 1);
  await client.stop();
  assert.equal(clock.pending, 0);
});

test('401 on upgrade: state unauthorized, one error log, slow retries, then recovers', async () => {
  const { clock, server, model, client, log, backoff } = setup();
  server.refuse = server.unauthorized();
  client.start();
  await flushMicrotasks();
  assert.equal(model.connectionState, 'unauthorized');
  assert.equal(clock.nextDelay(), 30_000, 'retried slowly, not with the backoff');
  await clock.advance(30_000);
  await clock.advance(30_000);
  assert.equal(server.connectAttempts, 3);
  assert.equal(log.count('error', /unauthorized/), 1);
  assert.equal(backoff.attempts, 0);
  server.refuse = undefined;
  await clock.advance(30_000);
  assert.equal(model.connectionState, 'klippy_ready');
  assert.equal(log.count('info', /accepted the connection/), 1);
  await client.stop();
});

test('Moonraker\'s -32602 "Invalid API Key" on identify is unauthorized', async () => {
  const { clock, server, model, client } = setup({ apiKey: 'wrong' });
  server.override = (m) => (m === 'server.connection.identify' ? { error: { code: -32602, message: 'Invalid API Key' } } : undefined);
  client.start();
  await flushMicrotasks();
  assert.equal(model.connectionState, 'unauthorized');
  assert.equal(model.snapshot().stateMessage, 'Invalid API Key');
  assert.equal(server.last.open, false, 'socket closed');
  assert.equal(clock.nextDelay(), 30_000);
  await client.stop();
  assert.equal(clock.pending, 0);
});

test('"already registered" on identify: retry on a new socket after a short delay', async () => {
  const { clock, server, model, client } = setup();
  let refusals = 2;
  server.override = (m) =>
    m === 'server.connection.identify' && refusals-- > 0 ? { error: { code: 400, message: "Agent 'moonraker-polarcloud' already registered and connected'" } } : undefined;
  client.start();
  await flushMicrotasks();
  assert.equal(model.connectionState, 'connecting');
  assert.equal(server.last.open, false);
  assert.equal(clock.nextDelay(), 2000);
  await clock.advance(2000);
  await clock.advance(2000);
  assert.equal(server.sockets.length, 3);
  assert.equal(model.connectionState, 'klippy_ready');
  await client.stop();
});

test('Moonraker not answering server.info is treated as a lost connection', async () => {
  const { clock, server, model, client } = setup();
  server.override = (m) => (m === 'server.info' ? 'none' : undefined);
  client.start();
  await flushMicrotasks();
  assert.equal(model.connectionState, 'connecting');
  await clock.advance(30_000);
  assert.equal(model.connectionState, 'disconnected');
  assert.equal(server.sockets[0]!.open, false);
  server.override = undefined;
  await clock.advance(1000);
  assert.equal(model.connectionState, 'klippy_ready');
  await client.stop();
  assert.equal(clock.pending, 0);
});

test('calls without a connection reject; pending calls reject when the socket drops', async () => {
  const { server, client } = setup();
  await assert.rejects(client.call('server.info'), /not connected/);
  client.start();
  await flushMicrotasks();
  server.override = (m) => (m === 'printer.gcode.script' ? 'none' : undefined);
  const p = client.call('printer.gcode.script', { script: 'G28' });
  server.last.drop();
  await assert.rejects(p, (err: Error) => err.name === 'RpcClosedError');
  await client.stop();
});

test('deltas right after the subscribe reply (same tick) are kept; deltas before it are superseded', async () => {
  const { server, model, client } = setup();
  server.override = (m, _p, sock) => {
    if (m === 'printer.objects.subscribe') {
      sock.notify('notify_status_update', [{ extruder: { temperature: 5, target: 7 } }, 10.5]);
      sock.afterReply = (method) => {
        if (method !== 'printer.objects.subscribe') return;
        sock.afterReply = undefined;
        sock.notify('notify_status_update', [{ extruder: { temperature: 99 } }, 11.5]);
      };
    }
    return undefined;
  };
  client.start();
  await flushMicrotasks();
  assert.equal(model.connectionState, 'klippy_ready');
  const extruder = model.snapshot().object('extruder');
  assert.equal(extruder?.temperature, 99, 'delta after the reply applied on top of it');
  assert.equal(extruder?.target, 0, 'delta before the reply superseded by it');
  await client.stop();
});

test('-32602 "Unauthorized" on server.info (unauthenticated socket) is unauthorized; other -32602 are not', async () => {
  const { clock, server, model, client } = setup();
  server.override = (m) => (m === 'server.info' ? { error: { code: -32602, message: 'Unauthorized' } } : undefined);
  client.start();
  await flushMicrotasks();
  assert.equal(model.connectionState, 'unauthorized');
  assert.equal(clock.nextDelay(), 30_000);
  server.override = (m) => (m === 'server.connection.identify' ? { error: { code: -32602, message: 'Invalid params: missing url' } } : undefined);
  await clock.advance(30_000);
  assert.equal(model.connectionState, 'klippy_ready', 'a non-auth identify error does not block the connection');
  await client.stop();
});
