import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startMoonrakerSimulator, type MoonrakerSimulator } from '../../src/simulator/index.js';
import { httpJson, RpcError, SimClient } from './sim-client.js';

const KEY = 'c0ffee0123456789abcdef0123456789';
let sim: MoonrakerSimulator;
before(async () => {
  sim = await startMoonrakerSimulator({ apiKey: KEY });
});
after(async () => {
  await sim.stop();
});

test('HTTP requires X-Api-Key (401 without), except open endpoints', async () => {
  const denied = await httpJson(`${sim.url}/server/info`);
  assert.equal(denied.status, 401);
  assert.deepEqual(denied.body, { error: { code: 401, message: 'Unauthorized' } });
  const wrong = await httpJson(`${sim.url}/server/info`, { headers: { 'X-Api-Key': 'nope' } });
  assert.equal(wrong.status, 401);
  const ok = await httpJson(`${sim.url}/server/info`, { headers: { 'X-Api-Key': KEY } });
  assert.equal(ok.status, 200);
  const form = new FormData();
  form.append('file', new Blob(['G28\n']), 'a.gcode');
  assert.equal((await httpJson(`${sim.url}/server/files/upload`, { method: 'POST', body: form })).status, 401);
  assert.equal((await fetch(`${sim.url}/server/files/gcodes/a.gcode`)).status, 401);
  const info = await httpJson(`${sim.url}/access/info`);
  assert.equal(info.status, 200, '/access/info needs no authentication');
  assert.equal((info.body as { result: { trusted: boolean } }).result.trusted, false);
});

test('oneshot tokens authorize one request within 5 s', async () => {
  const tok = await httpJson(`${sim.url}/access/oneshot_token`, { headers: { 'X-Api-Key': KEY } });
  const token = (tok.body as { result: string }).result;
  assert.match(token, /^[A-Z2-7]{32}$/);
  assert.equal((await httpJson(`${sim.url}/server/info?token=${token}`)).status, 200);
  assert.equal((await httpJson(`${sim.url}/server/info?token=${token}`)).status, 401, 'single use');
});

test('unauthenticated websocket: only identify with the api_key unlocks it; no notifications before', async () => {
  const c = await SimClient.connect(sim.url);
  try {
    await assert.rejects(c.call('server.info'), (e: RpcError) => e.code === -32602 && e.message === 'Unauthorized');
    await assert.rejects(c.identify(), (e: RpcError) => e.code === -32602 && e.message === 'Unauthorized');
    await assert.rejects(c.identify({ api_key: 'wrong' }), (e: RpcError) => e.code === -32602 && e.message === 'Invalid API Key');
    await sim.control.klippyShutdown('no notification for unauthenticated sockets');
    await sim.control.klippyReady();
    assert.equal(c.notifications.length, 0);
    const res = await c.identify({ api_key: KEY });
    assert.equal(typeof res.connection_id, 'number');
    assert.equal((await c.call<{ klippy_state: string }>('server.info')).klippy_state, 'ready');
    await sim.control.klippyShutdown('now it hears');
    await c.waitMethod('notify_klippy_shutdown');
    await sim.control.klippyReady();
  } finally {
    c.close();
  }
});

test('a websocket opened with X-Api-Key (or a oneshot token) is authenticated from the start', async () => {
  const c = await SimClient.connect(sim.url, { 'X-Api-Key': KEY });
  const tok = await httpJson(`${sim.url}/access/oneshot_token`, { headers: { 'X-Api-Key': KEY } });
  const c2 = await SimClient.connect(sim.url);
  try {
    assert.equal((await c.call<{ klippy_state: string }>('server.info')).klippy_state, 'ready');
    await assert.rejects(c2.call('server.info'), (e: RpcError) => e.code === -32602);
    const withToken = await SimClient.connectPath(`${sim.url}/websocket?token=${(tok.body as { result: string }).result}`);
    assert.equal((await withToken.call<{ klippy_state: string }>('server.info')).klippy_state, 'ready');
    withToken.close();
  } finally {
    c.close();
    c2.close();
  }
});

test('requireApiKey(null) switches to trusted mode and back', async () => {
  sim.control.requireApiKey(null);
  assert.equal((await httpJson(`${sim.url}/server/info`)).status, 200);
  const c = await SimClient.connect(sim.url);
  assert.equal((await c.call<{ klippy_state: string }>('server.info')).klippy_state, 'ready');
  sim.control.requireApiKey('other');
  assert.equal((await httpJson(`${sim.url}/server/info`, { headers: { 'X-Api-Key': KEY } })).status, 401);
  assert.equal((await httpJson(`${sim.url}/server/info`, { headers: { 'X-Api-Key': 'other' } })).status, 200);
  // Sockets keep the authentication they had.
  assert.equal((await c.call<{ klippy_state: string }>('server.info')).klippy_state, 'ready');
  c.close();
  sim.control.requireApiKey(KEY);
});
