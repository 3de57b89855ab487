// Connection lifecycle against the Moonraker simulator.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RpcClosedError, RpcTimeoutError, type PrinterModelEvents } from '../../moonraker-bridge/index.js';
import { connect, count, waitModel, waitState, withSim, type Sim } from './sim-harness.js';

function methods(sim: Sim): string[] {
  return sim.control.rpcLog().map((e: { method: string }) => e.method);
}

test('connect: identify, subscribe once, heaters with max_temp, deltas merged', async () => {
  await withSim({ port: 0, chamber: true }, async (sim) => {
    const h = connect(sim);
    try {
      await waitState(h.model, 'klippy_ready');
      const log = methods(sim);
      assert.equal(count(log, (m) => m === 'server.connection.identify'), 1);
      assert.equal(count(log, (m) => m === 'printer.objects.subscribe'), 1);
      assert.ok(log.indexOf('server.connection.identify') < log.indexOf('server.info'));
      assert.ok(log.indexOf('printer.objects.list') < log.indexOf('printer.objects.subscribe'));
      const snap = h.model.snapshot();
      const names = snap.heaters.map((x) => x.name);
      assert.ok(names.includes('extruder') && names.includes('heater_bed'), names.join());
      assert.ok(names.some((n) => n.startsWith('heater_generic ')), `chamber heater in ${names.join()}`);
      assert.ok(snap.heaters.every((x) => x.kind === 'sensor' || typeof x.max_temp === 'number'), JSON.stringify(snap.heaters));
      assert.equal(snap.webhooks.state, 'ready');
      assert.equal(snap.print_stats.state, 'standby');
      assert.ok(Array.isArray(snap.toolhead.position));

      const changes: Array<PrinterModelEvents['objectsChanged']> = [];
      h.model.on('objectsChanged', (e) => changes.push(e));
      await h.api.gcodeScript('M104 S185\nM140 S55');
      await waitModel(h.model, (s) => s.heaters.find((x) => x.name === 'extruder')?.target === 185 && s.heaters.find((x) => x.name === 'heater_bed')?.target === 55, 'targets');
      assert.ok(changes.some((c) => c.changed.extruder?.target === 185));
      assert.ok(changes.every((c) => typeof c.eventtime === 'number'));
      // Untouched fields survive the merge.
      assert.equal(typeof h.model.snapshot().heaters.find((x) => x.name === 'extruder')?.temperature, 'number');
    } finally {
      await h.stop();
    }
  });
});

test('reconnects and resubscribes after dropped sockets and a Moonraker restart', async () => {
  await withSim({ port: 0 }, async (sim) => {
    const h = connect(sim);
    try {
      await waitState(h.model, 'klippy_ready');
      const states: string[] = [];
      h.model.on('connectionChanged', (e) => states.push(e.to));

      await sim.control.dropWebsockets();
      await waitModel(h.model, () => states.includes('disconnected'), 'loss noticed');
      await waitState(h.model, 'klippy_ready');
      assert.equal(count(methods(sim), (m) => m === 'printer.objects.subscribe'), 2);
      await h.api.gcodeScript('M104 S150');
      await waitModel(h.model, (s) => s.heaters[0]?.target === 150, 'delta after reconnect');

      states.length = 0;
      const restarted = sim.control.restartMoonraker(300);
      await waitModel(h.model, () => states.includes('disconnected'), 'restart noticed');
      await restarted;
      await waitState(h.model, 'klippy_ready', 8000);
      assert.ok(count(methods(sim), (m) => m === 'printer.objects.subscribe') >= 1, 'subscribed on the restarted Moonraker');
      await h.api.gcodeScript('M104 S160');
      await waitModel(h.model, (s) => s.heaters[0]?.target === 160, 'delta after restart');
      const distinct = states.filter((st, i) => st !== states[i - 1]);
      assert.deepEqual(distinct.slice(0, 2), ['disconnected', 'connecting']);
      assert.equal(distinct.at(-1), 'klippy_ready');
      assert.equal(h.client.connected, true);
    } finally {
      await h.stop();
    }
  });
});

test('Klippy shutdown is a model state; firmware restart recovers and resubscribes', async () => {
  await withSim({ port: 0 }, async (sim) => {
    const h = connect(sim);
    try {
      await waitState(h.model, 'klippy_ready');
      const klippy: Array<PrinterModelEvents['klippyStateChanged']> = [];
      h.model.on('klippyStateChanged', (e) => klippy.push(e));
      const subsBefore = count(methods(sim), (m) => m === 'printer.objects.subscribe');
      await sim.control.klippyShutdown('MCU shutdown: Timer too close');
      await waitState(h.model, 'klippy_shutdown');
      assert.match(h.model.snapshot().stateMessage, /Timer too close/);
      await h.api.firmwareRestart();
      await waitState(h.model, 'klippy_ready', 8000);
      assert.ok(count(methods(sim), (m) => m === 'printer.objects.subscribe') > subsBefore, 'resubscribed after ready');
      assert.equal(klippy[0]?.to, 'shutdown');
      assert.equal(klippy.at(-1)?.to, 'ready');
      await h.api.gcodeScript('M140 S40');
      await waitModel(h.model, (s) => s.heaters.find((x) => x.name === 'heater_bed')?.target === 40, 'delta after firmware restart');

      await sim.control.klippyError('Option "foo" is not valid in section "extruder"');
      await waitState(h.model, 'klippy_error');
      assert.match(h.model.snapshot().stateMessage, /not valid/);
      await sim.control.klippyReady();
      await waitState(h.model, 'klippy_ready', 8000);

      await sim.control.klippyDisconnect();
      await waitState(h.model, 'klippy_disconnected');
      await sim.control.klippyReady();
      await waitState(h.model, 'klippy_ready', 8000);
    } finally {
      await h.stop();
    }
  });
});

test('API key mode: unauthorized without the key, works with it', async () => {
  await withSim({ port: 0, apiKey: 'sim-secret' }, async (sim) => {
    const bad = connect(sim);
    try {
      await waitState(bad.model, 'unauthorized');
      assert.equal(bad.records.filter((r) => r.level === 'error' && /unauthorized/i.test(r.msg)).length, 1);
    } finally {
      await bad.stop();
    }
    const good = connect(sim, { apiKey: 'sim-secret' });
    try {
      await waitState(good.model, 'klippy_ready');
      await good.api.gcodeScript('M104 S120');
      await waitModel(good.model, (s) => s.heaters[0]?.target === 120, 'deltas on the authenticated socket');
      assert.equal(good.records.filter((r) => r.level === 'error').length, 0);
    } finally {
      await good.stop();
    }
  });
});

test('pending calls are rejected when the socket closes; a call can time out', async () => {
  await withSim({ port: 0 }, async (sim) => {
    const h = connect(sim);
    try {
      await waitState(h.model, 'klippy_ready');
      await sim.control.setReplyDelay(2000);
      const slow = h.client.call('server.info', undefined, { timeoutMs: 200 });
      await assert.rejects(slow, (err: unknown) => err instanceof RpcTimeoutError && err.method === 'server.info');
      const pending = h.client.call('printer.info');
      await sim.control.dropWebsockets();
      await assert.rejects(pending, RpcClosedError);
      await sim.control.setReplyDelay(0);
      await waitState(h.model, 'klippy_ready');
    } finally {
      await h.stop();
    }
  });
});

test('remote methods registered; a macro call arrives as an event', async () => {
  await withSim({ port: 0 }, async (sim) => {
    const h = connect(sim, { remoteMethods: ['polar_test_event'] });
    try {
      await waitState(h.model, 'klippy_ready');
      assert.ok(methods(sim).includes('connection.register_remote_method'));
      const calls: Array<{ method: string; params: Record<string, unknown> }> = [];
      h.client.on('remoteMethod', (e) => calls.push(e));
      assert.equal(sim.control.callRemoteMethod('polar_test_event', { heater: 'extruder', temp: 200 }), true);
      assert.equal(sim.control.callRemoteMethod('not_ours'), false);
      await waitModel(h.model, () => calls.length === 1, 'remote method call');
      assert.deepEqual(calls, [{ method: 'polar_test_event', params: { heater: 'extruder', temp: 200 } }]);
    } finally {
      await h.stop();
    }
  });
});

test('a second agent with the same name retries until the first one is gone', async () => {
  await withSim({ port: 0 }, async (sim) => {
    const first = connect(sim);
    await waitState(first.model, 'klippy_ready');
    const second = connect(sim);
    try {
      await waitModel(second.model, (s) => /already registered/.test(s.stateMessage), 'identify refused');
      assert.equal(second.model.connectionState, 'connecting');
      await first.stop();
      await waitState(second.model, 'klippy_ready');
      assert.ok(count(methods(sim), (m) => m === 'server.connection.identify') >= 3);
    } finally {
      await first.stop();
      await second.stop();
    }
  });
});
