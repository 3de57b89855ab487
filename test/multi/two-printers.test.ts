// Several printers on one host, end to end: one Polar Cloud emulator, two
// Moonraker simulators (KIAUH's printer_data and printer_2_data) and two
// bridges on the same host (same network interface, same MAC). Everything runs
// on an accelerated clock (×60), so ten simulated minutes online take ten real
// seconds. Each bridge must be its own printer: its own serial, key and
// connection; a temperature set on one printer shows under its serial only;
// a cloud print to each lands on its own printer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../src/config.js';
import { Controller } from '../../src/controller.js';
import { startPolarEmulator, type EmulatorEvent } from '../../src/emulator/index.js';
import { startMoonrakerSimulator, type MoonrakerSimulator } from '../../src/simulator/index.js';
import { deriveInstanceMac, isLocallyAdministered } from '../../src/identity/instance-mac.js';
import { socketIoTransportFactory } from '../../src/polar/socketio-transport.js';
import { Backoff } from '../../src/util/backoff.js';
import { ScaledClock } from '../../bench/soak-clock.js';
import { LogCapture, TEST_MAC, eventually, fixedNet } from '../helpers/bridge-setup.js';
import { prusaGcode } from '../simulator/gcode-samples.js';

const SCALE = 60;
const ONLINE_SIM_MS = 10 * 60_000;
const IDLE_INTERVAL_S = 10;

interface Printer {
  name: string;
  dataDir: string;
  sim: MoonrakerSimulator;
  bridge: Controller;
  log: LogCapture;
  serial: string;
}

const statusesOf = (events: EmulatorEvent[], serial: string): Array<Record<string, unknown>> =>
  events.filter((e) => e.kind === 'in' && e.name === 'status' && e.serialNumber === serial).map((e) => e.payload as Record<string, unknown>);

async function gcode(sim: MoonrakerSimulator, script: string): Promise<void> {
  const res = await fetch(`${sim.url}/printer/gcode/script?script=${encodeURIComponent(script)}`, { method: 'POST' });
  assert.equal(res.status, 200, await res.text());
}

test('two printers on one host: two serials, both online for 10 simulated minutes, each mirrors its own printer, a cloud print to each', { timeout: 180_000 }, async () => {
  const clock = new ScaledClock(SCALE);
  const emu = await startPolarEmulator({ now: () => clock.now() });
  const home = await mkdtemp(join(tmpdir(), 'pc-two-printers-'));
  const printers: Printer[] = [];
  try {
    for (const name of ['printer_data', 'printer_2_data']) {
      const sim = await startMoonrakerSimulator({ clock, speedFactor: 1, temperatureNoise: false });
      const dataDir = join(home, name, 'polarcloud');
      await mkdir(join(home, name), { recursive: true });
      const yaml = [
        `data_dir: ${dataDir}`,
        'polar:',
        `  server_url: ${emu.url}`,
        '  reply_timeout: 10',
        'moonraker:',
        `  url: ${sim.url}`,
        'status:',
        `  idle_interval: ${IDLE_INTERVAL_S}`,
        '  active_interval: 2',
        'camera:',
        '  enabled: false',
        '',
      ].join('\n');
      const log = new LogCapture();
      const bridge = new Controller({
        config: parseConfig(yaml, undefined).config,
        log: log.logger,
        clock,
        transportFactory: socketIoTransportFactory,
        netSource: fixedNet, // both on the same host interface
        polarBackoff: new Backoff({ initialMs: 1000, maxMs: 10_000 }),
        moonrakerBackoff: new Backoff({ initialMs: 1000, maxMs: 10_000 }),
      });
      printers.push({ name, dataDir, sim, bridge, log, serial: '' });
    }
    const [a, b] = printers as [Printer, Printer];

    // Registration from the same host: two MACs, two serials, two keys.
    for (const p of printers) p.serial = (await p.bridge.register('school@example.org', '1234')).serialNumber;
    assert.notEqual(a.serial, b.serial);
    const infoA = emu.control.printer(a.serial)!;
    const infoB = emu.control.printer(b.serial)!;
    assert.equal(infoA.mac, deriveInstanceMac(TEST_MAC, a.dataDir));
    assert.equal(infoB.mac, deriveInstanceMac(TEST_MAC, b.dataDir));
    assert.ok(isLocallyAdministered(infoA.mac) && isLocallyAdministered(infoB.mac));
    assert.notEqual(infoA.publicKey, infoB.publicKey);
    for (const p of printers) {
      const stored = JSON.parse(await readFile(join(p.dataDir, 'identity.json'), 'utf8')) as { serialNumber: string; mac: string };
      assert.equal(stored.serialNumber, p.serial);
      assert.equal(stored.mac, emu.control.printer(p.serial)!.mac);
    }

    for (const p of printers) await p.bridge.start();
    await eventually(() => printers.every((p) => p.bridge.polar.online && p.bridge.printer.snapshot().connection === 'klippy_ready'), 20_000, 'both online, both printers ready');
    const from = emu.control.events().at(-1)?.seq ?? 0;
    const t0 = clock.now();

    // Ten simulated minutes: both stay online on their one connection each.
    await eventually(() => clock.now() - t0 >= ONLINE_SIM_MS, ONLINE_SIM_MS / SCALE + 20_000, 'ten simulated minutes');
    const during = emu.control.events(from);
    for (const p of printers) {
      const info = emu.control.printer(p.serial)!;
      assert.ok(info.authenticated, `${p.name} online`);
      assert.equal(info.connections, 1, `${p.name}: one cloud connection`);
      assert.ok(p.bridge.polar.online);
      assert.equal(during.filter((e) => e.kind === 'in' && e.name === 'hello' && e.serialNumber === p.serial).length, 0, `${p.name} never had to say hello again`);
      const n = statusesOf(during, p.serial).length;
      assert.ok(n >= (ONLINE_SIM_MS / 1000 / IDLE_INTERVAL_S) * 0.8, `${p.name}: ${n} statuses in 10 simulated minutes`);
      assert.ok(statusesOf(during, p.serial).every((s) => s.status === 0), `${p.name}: idle all along`);
    }
    assert.equal(during.filter((e) => e.kind === 'in' && e.name === 'status' && e.serialNumber !== a.serial && e.serialNumber !== b.serial).length, 0);

    // A temperature set on one printer appears under its serial only.
    const beforeTemps = emu.control.events().at(-1)?.seq ?? 0;
    await gcode(a.sim, 'M140 S77');
    await gcode(b.sim, 'M140 S66');
    await emu.control.waitFor((e) => e.kind === 'in' && e.name === 'status' && e.serialNumber === a.serial && (e.payload as { targetBed?: number }).targetBed === 77, 20_000, beforeTemps);
    await emu.control.waitFor((e) => e.kind === 'in' && e.name === 'status' && e.serialNumber === b.serial && (e.payload as { targetBed?: number }).targetBed === 66, 20_000, beforeTemps);
    const temps = emu.control.events(beforeTemps);
    assert.ok(!statusesOf(temps, b.serial).some((s) => s.targetBed === 77), "printer 2 never shows printer 1's bed target");
    assert.ok(!statusesOf(temps, a.serial).some((s) => s.targetBed === 66), "printer 1 never shows printer 2's bed target");

    // A cloud print to each: each job is printed by its own printer and reported under its serial.
    const jobs = printers.map((p, i) => {
      p.sim.control.setHeaterTemperature('heater_bed', 60);
      p.sim.control.setHeaterTemperature('extruder', 210);
      return emu.control.addJob(p.serial, { jobName: `Cube ${i + 1}`, content: prusaGcode({ layers: 2, movesPerLayer: 5 }) });
    });
    await Promise.all(printers.map((p, i) => p.bridge.session.sendNextPrint(jobs[i]!.jobId)));
    const reported = (p: Printer, jobId: string): boolean =>
      (emu.control.printer(p.serial)?.jobReports ?? []).some((r) => (r as { jobId?: string; state?: string }).jobId === jobId && (r as { state?: string }).state === 'completed');
    await eventually(() => printers.every((p, i) => reported(p, jobs[i]!.jobId)), 60_000, 'both cloud jobs reported completed');
    assert.ok(!reported(a, jobs[1]!.jobId) && !reported(b, jobs[0]!.jobId), 'each job reported under its own serial only');
    for (const [i, p] of printers.entries()) {
      const printed = p.sim.control.gcodeLog().join('\n');
      assert.ok(p.log.has(new RegExp(`cloud job ${jobs[i]!.jobId}`)), `${p.name} ran job ${jobs[i]!.jobId}`);
      assert.ok(!p.log.has(new RegExp(`cloud job ${jobs[1 - i]!.jobId}`)), `${p.name} never saw the other job`);
      assert.ok(printed.length > 0);
    }
    assert.deepEqual(emu.control.violations(), []);

    // What the emulated cloud saw, for the closing note.
    const all = emu.control.events();
    for (const p of printers) {
      const info = emu.control.printer(p.serial)!;
      const counts = new Map<string, number>();
      for (const e of all) if (e.kind === 'in' && e.serialNumber === p.serial) counts.set(e.name ?? '?', (counts.get(e.name ?? '?') ?? 0) + 1);
      process.stdout.write(
        `# cloud saw ${p.name}: serial ${p.serial}, MAC ${info.mac}, connections ${info.connections}, ` +
          `job reports ${JSON.stringify(info.jobReports.map((r) => [(r as { jobId: string }).jobId, (r as { state: string }).state]))}, messages ${[...counts].map(([k, v]) => `${k}×${v}`).join(' ')}\n`,
      );
    }
  } finally {
    for (const p of printers) await p.bridge.stop();
    for (const p of printers) await p.sim.stop();
    await emu.stop();
    await rm(home, { recursive: true, force: true });
  }
});
