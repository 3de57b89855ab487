// server.extensions.request: a front end calls a method the bridge offers as a
// Moonraker agent; the simulator relays it like Moonraker's extensions component.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RpcMethodError } from '../../moonraker-bridge/index.js';
import { AGENT_REQUEST_TIMEOUT_MS } from '../../src/simulator/extensions.js';
import { systemClock, type Clock } from '../../src/util/clock.js';
import { RpcError, SimClient, httpJson } from '../simulator/sim-client.js';
import { connect, waitState, withSim, type Harness } from './sim-harness.js';

const AGENT = 'moonraker-polarcloud';

function offerMethods(h: Harness): void {
  h.client.registerExtensionMethod('echo', async (params) => ({ echo: params ?? null }));
  h.client.registerExtensionMethod('fail', async () => {
    throw new Error('deliberate failure');
  });
  h.client.registerExtensionMethod('bad_args', async () => {
    throw new RpcMethodError(-32602, 'Invalid params: need a heater');
  });
  h.client.registerExtensionMethod('nothing', async () => undefined);
}

/** Asserts a relayed agent error the way Moonraker reports it: 424 + the agent's error as `data`. */
function isAgentError(data: unknown) {
  return (e: unknown): boolean => {
    assert.ok(e instanceof RpcError, String(e));
    assert.equal(e.code, 424);
    assert.equal(e.message, `Agent ${AGENT} RPC error`);
    assert.deepEqual(e.data, data);
    return true;
  };
}

const post = (url: string, body: unknown) =>
  httpJson(url, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });

test('server.extensions.request reaches the bridge over websocket and HTTP', async () => {
  await withSim({ port: 0 }, async (sim) => {
    const h = connect(sim);
    let stopped = false;
    offerMethods(h);
    const web = await SimClient.connect(sim.url);
    try {
      await waitState(h.model, 'klippy_ready');
      await web.identify({ client_name: 'ui', type: 'web' });
      const request = (method: string, args?: unknown) => web.call('server.extensions.request', { agent: AGENT, method, ...(args === undefined ? {} : { arguments: args }) });

      const agentInfo = { name: AGENT, version: '0.1.0-test', type: 'agent', url: 'https://www.polar3d.com/' };
      assert.deepEqual(await web.call('server.extensions.list'), { agents: [agentInfo] });
      const listed = await httpJson(`${sim.url}/server/extensions/list`);
      assert.deepEqual([listed.status, listed.body], [200, { result: { agents: [agentInfo] } }]);

      assert.deepEqual(await request('echo', { a: 1 }), { echo: { a: 1 } });
      assert.deepEqual(await request('echo', [1, 'two']), { echo: [1, 'two'] });
      // Null or empty arguments are left out of the relayed request.
      assert.deepEqual(await request('echo', null), { echo: null });
      assert.deepEqual(await request('echo', {}), { echo: null });
      assert.deepEqual(await request('echo'), { echo: null });
      // Moonraker would turn a null result into an error: a void method answers "ok".
      assert.equal(await request('nothing'), 'ok');

      await assert.rejects(request('fail'), isAgentError({ code: -32000, message: 'deliberate failure' }));
      await assert.rejects(request('bad_args', { x: 1 }), isAgentError({ code: -32602, message: 'Invalid params: need a heater' }));
      await assert.rejects(request('no_such_method'), isAgentError({ code: -32601, message: 'Method not found' }));
      await assert.rejects(web.call('server.extensions.request', { agent: 'nobody', method: 'echo' }), (e: RpcError) => {
        assert.equal(e.code, 400);
        assert.equal(e.message, 'Agent nobody not connected');
        return true;
      });
      await assert.rejects(request('echo', 'text'), (e: RpcError) => e.code === 400 && /'arguments' field must contain an object or a list/.test(e.message));

      const ok = await post(`${sim.url}/server/extensions/request`, { agent: AGENT, method: 'echo', arguments: { via: 'http' } });
      assert.deepEqual([ok.status, ok.body], [200, { result: { echo: { via: 'http' } } }]);
      const failed = await post(`${sim.url}/server/extensions/request`, { agent: AGENT, method: 'fail' });
      assert.deepEqual([failed.status, failed.body], [424, { error: { code: 424, message: `Agent ${AGENT} RPC error` } }]);
      const missing = await post(`${sim.url}/server/extensions/request`, { agent: 'nobody', method: 'echo' });
      assert.deepEqual([missing.status, missing.body], [400, { error: { code: 400, message: 'Agent nobody not connected' } }]);

      // Unregistering a method makes it unknown again.
      const off = h.client.registerExtensionMethod('temp', async () => 'here');
      assert.throws(() => h.client.registerExtensionMethod('temp', async () => 'again'), /already registered/);
      assert.equal(await request('temp'), 'here');
      off();
      await assert.rejects(request('temp'), isAgentError({ code: -32601, message: 'Method not found' }));

      // The agent leaving is announced, and it is no longer listed or callable.
      stopped = true;
      await h.stop();
      const gone = await web.waitFor((n) => n.method === 'notify_agent_event' && JSON.stringify(n.params).includes('disconnected'));
      assert.deepEqual(gone.params, [{ agent: AGENT, event: 'disconnected' }]);
      assert.deepEqual(await web.call('server.extensions.list'), { agents: [] });
      await assert.rejects(request('echo'), (e: RpcError) => e.message === `Agent ${AGENT} not connected`);
    } finally {
      web.close();
      if (!stopped) await h.stop();
    }
  });
});

test('agent_event "connected" reaches other clients, not the agent itself', async () => {
  await withSim({ port: 0 }, async (sim) => {
    const web = await SimClient.connect(sim.url);
    const agent = await SimClient.connect(sim.url);
    try {
      await web.identify({ client_name: 'ui', type: 'web' });
      await agent.identify({ client_name: 'raw-agent', version: '2.0', type: 'agent', url: 'https://example.invalid' });
      const n = await web.waitMethod('notify_agent_event');
      assert.deepEqual(n.params, [{ agent: 'raw-agent', event: 'connected', data: { name: 'raw-agent', version: '2.0', type: 'agent', url: 'https://example.invalid' } }]);
      assert.equal(agent.notifications.filter((x) => x.method === 'notify_agent_event').length, 0);
    } finally {
      web.close();
      agent.close();
    }
  });
});

test('a silent agent: the call fails when its socket closes, or after the timeout', async () => {
  // Only the agent-request timeout is shortened; every other simulator timer runs in real time.
  const clock: Clock = {
    now: () => systemClock.now(),
    setTimeout: (fn, ms) => systemClock.setTimeout(fn, ms === AGENT_REQUEST_TIMEOUT_MS ? 100 : ms),
    clearTimeout: (t) => systemClock.clearTimeout(t),
  };
  await withSim({ port: 0, clock }, async (sim) => {
    const web = await SimClient.connect(sim.url);
    const agent = await SimClient.connect(sim.url);
    try {
      await agent.identify({ client_name: 'silent', type: 'agent' });
      const seen: unknown[] = [];
      agent.ws.on('message', (data) => seen.push(JSON.parse(String(data))));

      await assert.rejects(web.call('server.extensions.request', { agent: 'silent', method: 'hello', arguments: { x: 1 } }), (e: RpcError) => {
        assert.equal(e.code, 504);
        assert.match(e.message, /Agent silent did not answer 'hello' within 30 s/);
        return true;
      });
      const relayed = seen.find((m) => (m as { method?: string }).method === 'hello') as { id: unknown; params: unknown };
      assert.equal(typeof relayed.id, 'number');
      assert.deepEqual(relayed.params, { x: 1 });

      // An answer without a result is an agent error with a null `data`, like Moonraker's.
      const pending = web.call('server.extensions.request', { agent: 'silent', method: 'second' });
      const second = await waitForFrame(seen, 'second');
      agent.sendRaw(JSON.stringify({ jsonrpc: '2.0', id: second.id, result: null }));
      await assert.rejects(pending, (e: RpcError) => e.code === 424 && e.message === 'Agent silent RPC error' && e.data === null);

      const orphan = web.call('server.extensions.request', { agent: 'silent', method: 'third' });
      await waitForFrame(seen, 'third');
      agent.close();
      await assert.rejects(orphan, (e: RpcError) => e.code === 500 && e.message === 'Client Socket Disconnected');
    } finally {
      web.close();
      agent.close();
    }
  });
});

async function waitForFrame(seen: unknown[], method: string): Promise<{ id: number }> {
  for (let i = 0; i < 200; i++) {
    const f = seen.find((m) => (m as { method?: string }).method === method);
    if (f) return f as { id: number };
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`agent never received ${method}`);
}
