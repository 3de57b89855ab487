// Issue 18.1 end to end: Moonraker's power devices in Polar's custom-command
// menu, working while Klippy is down, refused while printing, and
// power.off_after_idle on a fake clock — simulator and emulator on both ends.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Bridge, eventually } from './bridge-harness.js';
import { Controller } from '../../src/controller.js';
import { Backoff } from '../../src/util/backoff.js';
import { systemClock } from '../../src/util/clock.js';
import { socketIoTransportFactory } from '../../src/polar/socketio-transport.js';
import { bridgeConfig, fixedNet, moonrakerYaml } from '../helpers/bridge-setup.js';
import { FakeClock } from '../helpers/fake-clock.js';
import type { PowerDeviceSpec } from '../../src/simulator/index.js';

const DEVICES: PowerDeviceSpec[] = [
  { name: 'printer', type: 'tplink_smartplug', powers_printer: true, restart_klipper_when_powered: true },
  { name: 'lights', locked_while_printing: true },
];

type Entry = { label: string; command: string; helpText?: string; confirmText?: string };

/** Every customCommandList the cloud received after `since`. */
function menus(b: Bridge, since = 0): Array<{ customCommandList: Entry[]; commandList?: Entry[] }> {
  return b.emu.control.events(since).filter((e) => e.kind === 'in' && e.name === 'customCommandList').map((e) => e.payload as { customCommandList: Entry[]; commandList?: Entry[] });
}

function device(b: Bridge, name: string): string | undefined {
  return b.sim.control.powerDevices().find((d) => d.device === name)?.status;
}

async function customCommand(b: Bridge, command: string): Promise<string> {
  const n = b.commandResponses().length;
  b.send('customCommand', { customCommand: command });
  await eventually(() => b.commandResponses().length > n, 10_000, `answer to ${command}`);
  return b.commandResponses()[n]!;
}

async function withPowerDevices(o: { speedFactor?: number } = {}): Promise<Bridge> {
  const b = await Bridge.start({ speedFactor: o.speedFactor ?? 50 });
  b.sim.control.setPowerDevices(DEVICES);
  await b.sim.control.restartMoonraker(100); // Moonraker reads [power] sections at start
  await b.ready();
  return b;
}

test('power devices: "Turn <device> on/off" in the menu; off takes Klipper down; the menu is sent and works while Klippy is down', async () => {
  const b = await withPowerDevices();
  try {
    await eventually(() => menus(b).some((m) => m.customCommandList.some((e) => e.command === 'power:off:lights')), 10_000, 'power entries in the menu');
    const menu = menus(b).at(-1)!;
    assert.deepEqual(menu.customCommandList.map((e) => e.label), ['Firmware restart', 'Turn printer on', 'Turn printer off', 'Turn lights on', 'Turn lights off']);
    assert.deepEqual(menu.commandList, menu.customCommandList, 'the same list under commandList');
    assert.equal(menu.customCommandList.find((e) => e.command === 'power:off:printer')!.confirmText, 'Turn printer off?');

    const since = b.emu.control.lastSeq();
    assert.equal(await customCommand(b, 'power:off:printer'), 'printer is off');
    assert.equal(device(b, 'printer'), 'off');
    const twelve = await b.waitStatus((s) => s.status === 12, since, 10_000, 'Klipper lost its board');
    assert.match(String(twelve.progressDetail), /Lost communication with MCU 'mcu'/);

    // A bridge (re)started while the printer is off still offers the power entries.
    await b.c.stop();
    const s2 = b.emu.control.lastSeq();
    b.c = b.makeController();
    await b.c.start();
    await eventually(() => b.c.polar.online && b.c.printer.snapshot().connection === 'klippy_shutdown', 10_000, 'online, Klippy shut down');
    await eventually(() => menus(b, s2).some((m) => m.customCommandList.some((e) => e.command === 'power:on:printer')), 10_000, 'menu while Klippy is down');
    assert.equal(await customCommand(b, 'power:on:printer'), 'printer is on');
    // Moonraker's restart_klipper_when_powered: FIRMWARE_RESTART a second later, then ready.
    await b.waitStatus((s) => s.status === 0, s2, 15_000, 'Ready again');
    assert.equal(b.c.printer.snapshot().connection, 'klippy_ready');
    assert.match(await customCommand(b, 'power:on:nonexistent'), /not in this printer's list/);
    assert.deepEqual(b.emu.control.violations(), []);
  } finally {
    await b.stop();
  }
});

test('power devices while printing: "off" is refused, a locked_while_printing device is left alone; after the print they switch', async () => {
  const b = await withPowerDevices();
  try {
    await eventually(() => b.c.power.list.length === 2, 10_000, 'devices read');
    await b.addGcode('power.gcode', 30, 30);
    await b.startCloudJob('J-power', 'power.gcode');
    await b.sim.control.waitForPrintState('printing');
    assert.match(await customCommand(b, 'power:off:printer'), /^!! turning printer off refused: a print is running/);
    assert.match(await customCommand(b, 'power:on:lights'), /^!! power device lights is locked while printing/);
    assert.match(await customCommand(b, 'power:off:lights'), /refused/);
    assert.equal(device(b, 'printer'), 'on');
    assert.equal(device(b, 'lights'), 'on');
    assert.equal(b.sim.control.printerObjects().print_stats!.state, 'printing', 'the print went on');
    b.send('cancel');
    await eventually(() => b.jobReports().some((r) => r.jobId === 'J-power' && r.state === 'canceled'), 15_000, 'canceled');
    await eventually(() => b.c.printer.snapshot().print_stats.state === 'cancelled' && b.c.jobs.job === null, 10_000, 'printer free');
    assert.equal(await customCommand(b, 'power:off:lights'), 'lights is off');
    assert.equal(device(b, 'lights'), 'off');
  } finally {
    await b.stop();
  }
});

test('power.off_after_idle: announced in both consoles, held off by a heater in use, then the device is switched off', async () => {
  const b = await withPowerDevices();
  const clock = new FakeClock(Date.now());
  try {
    await b.c.stop();
    const yaml = `${moonrakerYaml(b.sim.url)}camera:\n  enabled: false\nstatus:\n  idle_interval: 5\n  active_interval: 2\npower:\n  off_after_idle:\n    device: printer\n    minutes: 10\n`;
    b.c = new Controller({
      config: bridgeConfig(b.emu.url, b.dataDir, yaml),
      log: b.log.logger,
      clock: systemClock,
      powerClock: clock,
      transportFactory: socketIoTransportFactory,
      netSource: fixedNet,
      polarBackoff: new Backoff({ initialMs: 20, maxMs: 200 }),
      moonrakerBackoff: new Backoff({ initialMs: 20, maxMs: 200 }),
      withMoonraker: true,
      statusSpacingMs: 100,
      failedHelloDelayMs: 100,
      identityPollMs: 50,
    });
    await b.c.start();
    await b.ready();
    await eventually(() => b.c.power.list.length === 2, 10_000, 'devices read');
    const responses = (): string[] => b.commandResponses().filter((r) => /power\.off_after_idle|stays on/.test(r));

    await clock.advance(9 * 60_000);
    assert.deepEqual(responses(), [], 'not yet');
    const g0 = b.sim.control.gcodeLog().length;
    await clock.advance(90_000);
    await eventually(() => responses().length === 1, 5000, 'announcement');
    assert.match(responses()[0]!, /^Polar Cloud bridge: printer switches off in 60 s: idle for 10 min with every heater below 50 C/);
    await eventually(() => b.gcodeSince(g0).some((l) => /^RESPOND TYPE=echo MSG="Polar Cloud: printer switches off in 60 s/.test(l)), 5000, 'Klipper console too');

    // Someone heats the bed within the minute: the printer stays on.
    const since = b.emu.control.lastSeq();
    b.send('temperature', { bed: 40 });
    await b.waitStatus((s) => s.targetBed === 40, since, 5000, 'bed target');
    await clock.advance(90_000);
    await eventually(() => responses().some((r) => /printer stays on: the printer is in use again/.test(r)), 5000, 'stays on');
    assert.equal(device(b, 'printer'), 'on');

    const s1 = b.emu.control.lastSeq();
    b.send('temperature', { bed: 0 });
    await b.waitStatus((s) => s.targetBed === 0, s1, 5000, 'bed off');
    b.sim.control.setHeaterTemperature('heater_bed', 25);
    const bed = (): { temperature: number | null; target: number | null } | undefined => b.c.printer.snapshot().heaters.find((h) => h.name === 'heater_bed');
    await eventually(() => bed()?.target === 0 && (bed()?.temperature ?? 99) < 50, 5000, 'bed cold and off');
    const s2 = b.emu.control.lastSeq();
    await clock.advance(10 * 60_000 + 30_000);
    await eventually(() => responses().filter((r) => /switches off in 60 s/.test(r)).length === 2, 5000, 'second announcement');
    assert.equal(device(b, 'printer'), 'on', 'not before the minute is up');
    await clock.advance(75_000);
    await eventually(() => device(b, 'printer') === 'off', 5000, 'switched off');
    await eventually(() => responses().some((r) => /printer switched off after 10 min idle/.test(r)), 5000, 'told');
    await b.waitStatus((s) => s.status === 12, s2, 10_000, 'Klipper lost its board');
    assert.deepEqual(b.emu.control.violations(), []);
  } finally {
    await b.stop();
  }
});
