// Status cadence with a fake clock: changes go out after a short debounce,
// bursts are coalesced, small temperature moves wait for the heartbeat, the
// heartbeat is 10 s while heating/printing and 60 s when idle, and nothing is
// sent before hello SUCCESS.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startPolarEmulator, type PolarEmulator } from '../../src/emulator/index.js';
import { PrinterModel, silentLogger, type MoonrakerApi, type MoonrakerClient } from '../../moonraker-bridge/index.js';
import { JobService } from '../../src/jobs/job-service.js';
import { StatusReporter } from '../../src/status/status-reporter.js';
import type { PolarStatusMessage } from '../../src/status/status-types.js';
import type { Controller } from '../../src/controller.js';
import { Logger } from '../../src/util/log.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { LogCapture, eventually, makeController, makeDataDir } from '../helpers/bridge-setup.js';

let emu: PolarEmulator;
let c: Controller;
before(async () => {
  emu = await startPolarEmulator();
  c = makeController(emu.url, await makeDataDir(), new LogCapture());
  await c.register('a@b.example', '1234');
});
after(async () => {
  await c.stop();
  await emu.stop();
});

function printerWith(extruder: { temperature: number; target: number }, state = 'standby'): PrinterModel {
  const m = new PrinterModel({ log: silentLogger });
  m.setConnection('klippy_ready', 'Printer is ready');
  m.replaceAll(
    {
      heaters: { available_heaters: ['extruder'], available_sensors: [] },
      extruder: { ...extruder, power: 0 },
      print_stats: { state, filename: '', print_duration: 0, total_duration: 0, filament_used: 0 },
      configfile: { settings: { extruder: { max_temp: 300, min_temp: 0 } } },
    },
    1,
  );
  return m;
}

function setup(printer: PrinterModel): { clock: FakeClock; reporter: StatusReporter; sent: PolarStatusMessage[] } {
  const clock = new FakeClock();
  // Not started: the reporter only reads its (empty) job state.
  const jobs = new JobService({ dataDir: '/nonexistent', printer, api: {} as MoonrakerApi, moonraker: {} as MoonrakerClient, clock, log: Logger.create('error', []) });
  const reporter = new StatusReporter({ polar: c.polar, printer, jobs, clock, log: Logger.create('error', []), idleIntervalMs: 60_000, activeIntervalMs: 10_000 });
  const sent: PolarStatusMessage[] = [];
  reporter.events.on('sent', ({ status }) => sent.push(status));
  return { clock, reporter, sent };
}

function update(printer: PrinterModel, fields: Record<string, unknown>): void {
  printer.applyUpdate([{ extruder: fields }, 2]);
}

test('nothing before hello; the current status right after it', async () => {
  const printer = printerWith({ temperature: 20, target: 0 });
  const { reporter, sent } = setup(printer);
  reporter.start();
  try {
    update(printer, { temperature: 40 });
    assert.equal(sent.length, 0, 'not online yet');
    await c.start();
    await eventually(() => sent.length === 1, 5000, 'status after hello');
    assert.equal(sent[0]!.status, 0);
    assert.equal(sent[0]!.tool0, 40);
  } finally {
    reporter.stop();
  }
});

test('a wall-clock step back does not hold the next status (spacing runs on the monotonic clock)', async () => {
  const printer = printerWith({ temperature: 20, target: 0 });
  const { clock, reporter, sent } = setup(printer);
  reporter.start();
  try {
    reporter.sendNow();
    await clock.advance(2000);
    clock.jumpWall(-3600_000);
    update(printer, { target: 200 });
    await clock.advance(250);
    assert.equal(sent.length, 2, 'the target change went out within 250 ms');
  } finally {
    reporter.stop();
  }
});

test('debounce, coalescing, the 1 °C rule and both heartbeats', async () => {
  const printer = printerWith({ temperature: 20, target: 0 });
  const { clock, reporter, sent } = setup(printer);
  reporter.start();
  try {
    reporter.sendNow();
    assert.equal(sent.length, 1);
    await clock.advance(2000);

    update(printer, { temperature: 20.9 });
    await clock.advance(100);
    assert.equal(sent.length, 1, 'a 0.9 °C move is not a change');

    update(printer, { temperature: 21.0 });
    assert.equal(sent.length, 1, 'debounced');
    await clock.advance(20);
    assert.equal(sent.length, 2, 'a 1 °C move goes out after the debounce');

    // A burst right after a send: one message, one second after the previous.
    for (let i = 0; i < 8; i++) {
      update(printer, { temperature: 23 + i * 2 });
      await clock.advance(50);
    }
    assert.equal(sent.length, 2);
    await clock.advance(600);
    assert.equal(sent.length, 3, 'coalesced to one message per second');
    assert.equal(sent[2]!.tool0, 37);

    // Idle: nothing for 60 s, then a heartbeat.
    await clock.advance(59_000);
    assert.equal(sent.length, 3);
    await clock.advance(1000);
    assert.equal(sent.length, 4, 'idle heartbeat at 60 s');

    // Heating: a target change is urgent — out 200 ms after the heartbeat that just left (not 1 s),
    // then heartbeats every 10 s.
    update(printer, { target: 200 });
    await clock.advance(199);
    assert.equal(sent.length, 4);
    await clock.advance(1);
    assert.equal(sent.length, 5);
    assert.equal(sent[4]!.targetTool0, 200);
    await clock.advance(10_000);
    assert.equal(sent.length, 6, 'active heartbeat at 10 s');
    await clock.advance(10_000);
    assert.equal(sent.length, 7);
  } finally {
    reporter.stop();
  }
});
