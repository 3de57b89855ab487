import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../helpers/fake-clock.js';
import {
  JsonRpcPeer,
  METHOD_NOT_FOUND,
  MoonrakerRpcError,
  RpcAbortedError,
  RpcClosedError,
  RpcMethodError,
  RpcTimeoutError,
  type JsonRpcPeerOptions,
} from '../../moonraker-bridge/index.js';
import { captureLog, waitFor } from './helpers.js';

interface Frame {
  jsonrpc: string;
  id?: number | string;
  method?: string;
  params?: unknown;
  result?: unknown;
  error?: unknown;
}

function setup(extra: Partial<JsonRpcPeerOptions> = {}) {
  const clock = new FakeClock();
  const log = captureLog();
  const sent: Frame[] = [];
  const notifications: Array<[string, unknown]> = [];
  const peer = new JsonRpcPeer({
    send: (t) => sent.push(JSON.parse(t) as Frame),
    clock,
    log,
    onNotification: (m, p) => notifications.push([m, p]),
    methodTimeoutsMs: { 'printer.gcode.script': 3_600_000 },
    ...extra,
  });
  return { clock, log, sent, notifications, peer };
}

test('call sends a JSON-RPC 2.0 request and resolves with the result', async () => {
  const { peer, sent, clock } = setup();
  const p = peer.call('server.info', { a: 1 });
  const q = peer.call('printer.info');
  assert.equal(sent.length, 2);
  assert.deepEqual(sent[0], { jsonrpc: '2.0', method: 'server.info', id: sent[0]!.id, params: { a: 1 } });
  assert.equal('params' in sent[1]!, false, 'params omitted when not given');
  assert.notEqual(sent[0]!.id, sent[1]!.id);
  peer.handleFrame(JSON.stringify({ jsonrpc: '2.0', id: sent[1]!.id, result: 'second' }));
  peer.handleFrame(JSON.stringify({ jsonrpc: '2.0', id: sent[0]!.id, result: { klippy_state: 'ready' } }));
  assert.deepEqual(await p, { klippy_state: 'ready' });
  assert.equal(await q, 'second');
  assert.equal(peer.pendingCount, 0);
  assert.equal(clock.pending, 0, 'timeout timers released');
});

test('a JSON-RPC error becomes MoonrakerRpcError {code, message, method}', async () => {
  const { peer, sent } = setup();
  const p = peer.call('printer.print.start', { filename: 'x.gcode' });
  peer.handleFrame(JSON.stringify({ jsonrpc: '2.0', id: sent[0]!.id, error: { code: 400, message: 'File not found' } }));
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof MoonrakerRpcError);
    assert.equal(err.code, 400);
    assert.equal(err.message, 'File not found');
    assert.equal(err.method, 'printer.print.start');
    return true;
  });
});

test('calls time out after the default 30 s; printer.gcode.script waits 1 h', async () => {
  const { peer, clock } = setup();
  const info = peer.call('server.info');
  const gcode = peer.call('printer.gcode.script', { script: 'G28' });
  let gcodeDone = false;
  gcode.catch(() => undefined).finally(() => (gcodeDone = true));
  const infoResult = assert.rejects(info, (err: unknown) => err instanceof RpcTimeoutError && err.method === 'server.info' && err.timeoutMs === 30_000);
  await clock.advance(29_999);
  assert.equal(peer.pendingCount, 2);
  await clock.advance(1);
  await infoResult;
  assert.equal(gcodeDone, false, 'gcode script still pending after 30 s');
  await clock.advance(3_600_000 - 30_000);
  await assert.rejects(gcode, (err: unknown) => err instanceof RpcTimeoutError && err.timeoutMs === 3_600_000);
  assert.equal(peer.pendingCount, 0);
});

test('per-call timeout overrides, 0 waits forever, and a late reply is ignored', async () => {
  const { peer, clock, sent, log } = setup();
  const p = peer.call('server.info', undefined, { timeoutMs: 100 });
  const forever = peer.call('server.info', undefined, { timeoutMs: 0 });
  const timedOut = assert.rejects(p, RpcTimeoutError);
  await clock.advance(100);
  await timedOut;
  peer.handleFrame(JSON.stringify({ jsonrpc: '2.0', id: sent[0]!.id, result: 'late' }));
  assert.equal(log.count('debug', /unknown or expired/), 1);
  await clock.advance(10 * 3_600_000);
  assert.equal(peer.pendingCount, 1);
  peer.handleFrame(JSON.stringify({ jsonrpc: '2.0', id: sent[1]!.id, result: 'ok' }));
  assert.equal(await forever, 'ok');
});

test('close rejects every pending call with RpcClosedError and later calls fail at once', async () => {
  const { peer, clock } = setup();
  const a = peer.call('server.info');
  const b = peer.call('printer.gcode.script', { script: 'G4 P100000' });
  peer.close('socket closed');
  await assert.rejects(a, (err: unknown) => err instanceof RpcClosedError && err.method === 'server.info' && err.reason === 'socket closed');
  await assert.rejects(b, RpcClosedError);
  await assert.rejects(peer.call('server.info'), RpcClosedError);
  assert.equal(peer.pendingCount, 0);
  assert.equal(clock.pending, 0);
  assert.equal(peer.notify('x'), false);
});

test('a send that throws rejects the call as closed', async () => {
  const clock = new FakeClock();
  const peer = new JsonRpcPeer({ send: () => { throw new Error('not open'); }, clock, log: captureLog() });
  await assert.rejects(peer.call('server.info'), (err: unknown) => err instanceof RpcClosedError && /not open/.test(err.message));
  assert.equal(peer.pendingCount, 0);
  assert.equal(clock.pending, 0);
});

test('an AbortSignal rejects the call', async () => {
  const { peer } = setup();
  const ac = new AbortController();
  const p = peer.call('printer.gcode.script', { script: 'G28' }, { signal: ac.signal });
  ac.abort();
  await assert.rejects(p, RpcAbortedError);
  assert.equal(peer.pendingCount, 0);
  await assert.rejects(peer.call('server.info', undefined, { signal: ac.signal }), RpcAbortedError);
});

test('notifications are dispatched with their params', () => {
  const { peer, notifications } = setup();
  peer.handleFrame(JSON.stringify({ jsonrpc: '2.0', method: 'notify_status_update', params: [{ toolhead: { homed_axes: 'xyz' } }, 12.5] }));
  peer.handleFrame(JSON.stringify({ jsonrpc: '2.0', method: 'notify_klippy_ready' }));
  peer.handleFrame(JSON.stringify({ jsonrpc: '2.0', method: 'my_remote', params: { a: 1 } }));
  assert.deepEqual(notifications, [
    ['notify_status_update', [{ toolhead: { homed_axes: 'xyz' } }, 12.5]],
    ['notify_klippy_ready', undefined],
    ['my_remote', { a: 1 }],
  ]);
});

test('malformed frames are logged and dropped, never thrown', async () => {
  const { peer, sent, log, notifications } = setup();
  const p = peer.call('server.info');
  const id = sent[0]!.id;
  const bad = [
    'not json',
    '[1,2,3]',
    'null',
    '42',
    JSON.stringify({ id, result: 'no jsonrpc member' }),
    JSON.stringify({ jsonrpc: '2.0', id, result: 1, error: { code: 1, message: 'both' } }),
    JSON.stringify({ jsonrpc: '2.0', id }),
    JSON.stringify({ jsonrpc: '2.0', id, error: { code: 'x', message: 1 } }),
    JSON.stringify({ jsonrpc: '2.0', method: 5 }),
    JSON.stringify({ jsonrpc: '2.0', method: 'notify_x', params: 'string params' }),
    JSON.stringify({ jsonrpc: '2.0', id: 'abc', result: 1 }),
    JSON.stringify({ jsonrpc: '2.0', id: null, error: { code: -32700, message: 'Parse error' } }),
  ];
  for (const frame of bad) assert.doesNotThrow(() => peer.handleFrame(frame));
  assert.equal(notifications.length, 0);
  assert.equal(peer.pendingCount, 1, 'the pending call survived');
  assert.ok(log.count('warn') >= bad.length - 1, `warned: ${log.count('warn')}`);
  peer.handleFrame(JSON.stringify({ jsonrpc: '2.0', id, result: 'fine' }));
  assert.equal(await p, 'fine');
});

test('a throwing notification handler is logged, not propagated', () => {
  const log = captureLog();
  const peer = new JsonRpcPeer({
    send: () => undefined,
    clock: new FakeClock(),
    log,
    onNotification: () => {
      throw new Error('boom');
    },
  });
  assert.doesNotThrow(() => peer.handleFrame(JSON.stringify({ jsonrpc: '2.0', method: 'notify_x' })));
  assert.equal(log.count('error', /boom/), 1);
});

test('an inbound request with an id is answered with method-not-found', () => {
  const { peer, sent, notifications } = setup();
  peer.handleFrame(JSON.stringify({ jsonrpc: '2.0', method: 'polar.hello', params: {}, id: 77 }));
  assert.equal(notifications.length, 0);
  assert.deepEqual(sent, [{ jsonrpc: '2.0', id: 77, error: { code: -32601, message: 'Method not found: polar.hello' } }]);
});

test('onRequest: an inbound request is answered with the handler result (undefined -> null)', async () => {
  const calls: Array<[string, unknown]> = [];
  const { peer, sent, notifications } = setup({
    onRequest: async (method, params) => {
      calls.push([method, params]);
      return method === 'polar.void' ? undefined : { echoed: params };
    },
  });
  peer.handleFrame(JSON.stringify({ jsonrpc: '2.0', method: 'polar.echo', params: { a: 1 }, id: 5 }));
  peer.handleFrame(JSON.stringify({ jsonrpc: '2.0', method: 'polar.echo', params: [1, 'x'], id: 'str-id' }));
  peer.handleFrame(JSON.stringify({ jsonrpc: '2.0', method: 'polar.void', id: 6 }));
  await waitFor(() => sent.length === 3, 'three replies');
  assert.deepEqual(calls, [['polar.echo', { a: 1 }], ['polar.echo', [1, 'x']], ['polar.void', undefined]]);
  assert.deepEqual(sent, [
    { jsonrpc: '2.0', id: 5, result: { echoed: { a: 1 } } },
    { jsonrpc: '2.0', id: 'str-id', result: { echoed: [1, 'x'] } },
    { jsonrpc: '2.0', id: 6, result: null },
  ]);
  assert.equal(notifications.length, 0);
  // A request without an id is still a notification.
  peer.handleFrame(JSON.stringify({ jsonrpc: '2.0', method: 'notify_x', params: [1] }));
  assert.deepEqual(notifications, [['notify_x', [1]]]);
  assert.equal(calls.length, 3);
});

test('onRequest: a thrown error becomes {code, message}: RpcMethodError as is, numeric err.code, else -32000', async () => {
  const { peer, sent, log } = setup({
    onRequest: async (method) => {
      if (method === 'nf') throw RpcMethodError.notFound(method);
      if (method === 'custom') throw new RpcMethodError(-32602, 'bad args', { field: 'x' });
      if (method === 'coded') throw Object.assign(new Error('upstream said no'), { code: 400 });
      if (method === 'text-code') throw Object.assign(new Error('fs failure'), { code: 'ENOENT' });
      throw new Error('boom');
    },
  });
  for (const [i, m] of ['nf', 'custom', 'coded', 'text-code', 'plain'].entries()) {
    peer.handleFrame(JSON.stringify({ jsonrpc: '2.0', method: m, id: i + 1 }));
  }
  await waitFor(() => sent.length === 5, 'five replies');
  const byId = new Map(sent.map((f) => [f.id, f.error]));
  assert.deepEqual(byId.get(1), { code: METHOD_NOT_FOUND, message: 'Method not found: nf' });
  assert.deepEqual(byId.get(2), { code: -32602, message: 'bad args', data: { field: 'x' } });
  assert.deepEqual(byId.get(3), { code: 400, message: 'upstream said no' });
  assert.deepEqual(byId.get(4), { code: -32000, message: 'fs failure' });
  assert.deepEqual(byId.get(5), { code: -32000, message: 'boom' });
  assert.ok(sent.every((f) => !('result' in f)));
  assert.equal(log.count('warn', /inbound request 'plain' failed/), 1);
});

test('onRequest: no reply is sent once the connection closed while the handler ran', async () => {
  let release: () => void = () => undefined;
  const gate = new Promise<void>((r) => (release = r));
  const { peer, sent } = setup({
    onRequest: async () => {
      await gate;
      return 'late';
    },
  });
  peer.handleFrame(JSON.stringify({ jsonrpc: '2.0', method: 'slow', id: 1 }));
  peer.close('socket closed');
  release();
  await new Promise((r) => setTimeout(r, 10));
  assert.deepEqual(sent, []);
});
