// Quiet status stream at idle (moonraker-bridge/idle-stream.ts) against the
// Moonraker simulator over real loopback: temperatures leave the subscription and
// are polled; targets, print state and the owner's hold bring the full stream back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, waitModel, waitState, withSim, type Harness, type Sim } from './sim-harness.js';
import { waitFor } from './helpers.js';

/** notify_status_update frames that carry a heater/sensor temperature, counted from now on. */
function temperaturePushes(h: Harness): { count(): number; stop(): void } {
  let n = 0;
  const off = h.client.on('notification', ({ method, params }) => {
    if (method !== 'notify_status_update' || !Array.isArray(params)) return;
    const status = params[0] as Record<string, Record<string, unknown>>;
    if (Object.values(status).some((fields) => typeof fields === 'object' && fields !== null && 'temperature' in fields)) n++;
  });
  return { count: () => n, stop: off };
}

function queries(sim: Sim): number {
  return sim.control.rpcLog().filter((e) => e.method === 'printer.objects.query').length;
}

const temp = (h: Harness, name: string): number | null => h.model.snapshot().heaters.find((x) => x.name === name)?.temperature ?? null;


test('idle: temperatures leave the subscription, are polled, and a drift reaches the model within the poll period', async () => {
  await withSim({ port: 0 }, async (sim) => {
    const h = connect(sim, { idleTemperaturePollMs: 400, quietAfterMs: 1_500 });
    try {
      await waitState(h.model, 'klippy_ready');
      assert.equal(h.client.streamMode, 'full');
      // Full stream first: the simulated thermistor noise is pushed on every tick.
      const full = temperaturePushes(h);
      await waitFor(() => full.count() >= 1 || h.client.streamMode === 'quiet', 'temperature pushes in the full stream');
      assert.ok(full.count() >= 1, 'temperatures pushed before the stream went quiet');
      full.stop();
      await waitFor(() => h.client.streamMode === 'quiet', 'quiet stream at idle');
      const q0 = queries(sim);
      const quiet = temperaturePushes(h);
      await new Promise((r) => setTimeout(r, 1_200));
      quiet.stop();
      assert.equal(quiet.count(), 0, 'no temperature is pushed while quiet');
      assert.ok(queries(sim) - q0 >= 1, 'temperatures are polled with printer.objects.query');
      assert.equal(h.client.streamMode, 'quiet');

      // A drift at idle (a warm room, a hand on the bed): in the model within one poll period.
      sim.control.setHeaterTemperature('heater_bed', 45);
      const t0 = Date.now();
      await waitModel(h.model, (s) => (s.heaters.find((x) => x.name === 'heater_bed')?.temperature ?? 0) > 40, 'drift polled', 5_000);
      const took = Date.now() - t0;
      assert.ok(took <= 400 + 600, `drift reached the model in ${took} ms (poll 400 ms, slack for a loaded machine)`);
      assert.equal(h.client.streamMode, 'quiet', 'a cool heater drifting keeps the stream quiet');

      // A heater above 50 °C (e.g. cooling after a print) is followed live again.
      sim.control.setHeaterTemperature('heater_bed', 70);
      await waitFor(() => h.client.streamMode === 'full', 'full stream for a hot heater');
      const pushes = temperaturePushes(h);
      await waitFor(() => pushes.count() >= 2, 'temperatures pushed while the bed is hot');
      pushes.stop();
    } finally {
      await h.stop();
    }
  });
});

test('a target set at idle is pushed at once (not polled) and the full stream comes back; quiet again once off', async () => {
  await withSim({ port: 0 }, async (sim) => {
    // A long poll period: the target can only arrive this fast by push.
    const h = connect(sim, { idleTemperaturePollMs: 30_000, quietAfterMs: 300 });
    try {
      await waitState(h.model, 'klippy_ready');
      await waitFor(() => h.client.streamMode === 'quiet', 'quiet stream at idle');
      const t0 = Date.now();
      await h.api.gcodeScript('M140 S60');
      await waitModel(h.model, (s) => s.heaters.find((x) => x.name === 'heater_bed')?.target === 60, 'bed target', 5_000);
      const took = Date.now() - t0;
      assert.ok(took < 2_000, `target in the model after ${took} ms`);
      await waitFor(() => h.client.streamMode === 'full', 'full stream while heating');
      // Heating: the bed's temperature is pushed again, tick by tick.
      const before = temp(h, 'heater_bed');
      const pushes = temperaturePushes(h);
      await waitFor(() => pushes.count() >= 3, 'temperature pushes while heating');
      pushes.stop();
      assert.notEqual(temp(h, 'heater_bed'), before);

      await h.api.gcodeScript('M140 S0');
      await waitFor(() => h.client.streamMode === 'quiet', 'quiet again with every target 0');
    } finally {
      await h.stop();
    }
  });
});

test('the owner can hold the full stream (a cloud job on its way); released, the stream goes quiet again', async () => {
  await withSim({ port: 0 }, async (sim) => {
    const h = connect(sim, { idleTemperaturePollMs: 400, quietAfterMs: 300 });
    try {
      await waitState(h.model, 'klippy_ready');
      await waitFor(() => h.client.streamMode === 'quiet', 'quiet stream at idle');
      h.client.holdFullStream('cloud job', true);
      await waitFor(() => h.client.streamMode === 'full', 'full stream while held');
      const pushes = temperaturePushes(h);
      await waitFor(() => pushes.count() >= 2, 'temperatures pushed while held');
      pushes.stop();
      // Still held after the quiet delay.
      await new Promise((r) => setTimeout(r, 700));
      assert.equal(h.client.streamMode, 'full');
      h.client.holdFullStream('cloud job', false);
      await waitFor(() => h.client.streamMode === 'quiet', 'quiet after release');
    } finally {
      await h.stop();
    }
  });
});

test('a print started at idle brings the full stream back; the print state is not lost in the switch', async () => {
  await withSim({ port: 0, speedFactor: 20 }, async (sim) => {
    const h = connect(sim, { idleTemperaturePollMs: 30_000, quietAfterMs: 300 });
    try {
      await waitState(h.model, 'klippy_ready');
      await waitFor(() => h.client.streamMode === 'quiet', 'quiet stream at idle');
      await sim.control.addFile('idle-stream.gcode', 'G28\nM104 S0\nG1 X10 Y10 F3000\nG1 X20 Y20\n'.repeat(50));
      await sim.control.startLocalPrint('idle-stream.gcode');
      await waitModel(h.model, (s) => s.print_stats.state === 'printing', 'printing pushed while quiet', 5_000);
      await waitFor(() => h.client.streamMode === 'full', 'full stream while printing');
      // The switch's subscribe reply merged, not replacing: the print is still seen as printing.
      assert.equal(h.model.snapshot().print_stats.state, 'printing');
      await waitModel(h.model, (s) => s.print_stats.state === 'complete', 'print complete in the model', 20_000);
    } finally {
      await h.stop();
    }
  });
});
