// `polarcloud demo --printers 2`: several printers on one host, on loopback.
// One Polar Cloud emulator, a Moonraker simulator per printer (as KIAUH's
// printer_data and printer_2_data), and a bridge per printer on the same host
// network interface. Each registers (its own MAC, so its own serial), goes
// online, shows its own bed temperature, and prints its own cloud job. Prints
// what the emulated cloud saw per serial. Exits 0 only if every printer did
// all of that and the cloud recorded no protocol violation.
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../config.js';
import { Controller } from '../controller.js';
import { startPolarEmulator } from '../emulator/index.js';
import type { EmulatorEvent } from '../emulator/types.js';
import { startMoonrakerSimulator, type MoonrakerSimulator } from '../simulator/index.js';
import { socketIoTransportFactory } from '../polar/socketio-transport.js';
import { systemClock } from '../util/clock.js';
import { errText, type Logger } from '../util/log.js';
import { demoGcode } from './demo.js';
import { jobReportsOf, messageCounts } from './demo-report.js';

const ACCOUNT = { email: 'demo@polarcloud.example', pin: '1234' };
const SPEED_FACTOR = 100;
const TIMEOUT_MS = 60_000;

interface DemoPrinter {
  folder: string;
  sim: MoonrakerSimulator;
  bridge: Controller;
  bedC: number;
  serial?: string;
  jobId?: string;
}

async function until(cond: () => boolean, what: string, timeoutMs = TIMEOUT_MS): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const statusEvents = (events: EmulatorEvent[], serial: string | undefined): EmulatorEvent[] =>
  events.filter((e) => e.kind === 'in' && e.name === 'status' && e.serialNumber === serial);

export async function demoTwoCommand(log: Logger, count: number): Promise<number> {
  const out = (s: string): boolean => process.stdout.write(s + '\n');
  const emu = await startPolarEmulator({ accounts: [ACCOUNT], log: log.child('emu') });
  const home = await mkdtemp(join(tmpdir(), 'polarcloud-demo-host-'));
  const printers: DemoPrinter[] = [];
  let failure: string | undefined;
  try {
    for (let i = 0; i < count; i++) {
      const folder = i === 0 ? 'printer_data' : `printer_${i + 1}_data`;
      const sim = await startMoonrakerSimulator({ speedFactor: SPEED_FACTOR, log: log.child(`sim${i + 1}`) });
      await mkdir(join(home, folder), { recursive: true });
      const yaml = [
        `data_dir: ${join(home, folder, 'polarcloud')}`,
        'polar:',
        `  server_url: ${emu.url}`,
        '  reply_timeout: 10',
        'moonraker:',
        `  url: ${sim.url}`,
        'status:',
        '  idle_interval: 5',
        '  active_interval: 2',
        'camera:',
        '  enabled: false',
        '',
      ].join('\n');
      const bridge = new Controller({ config: parseConfig(yaml, undefined).config, log: log.child(`bridge${i + 1}`), clock: systemClock, transportFactory: socketIoTransportFactory });
      printers.push({ folder, sim, bridge, bedC: 41 + 2 * i }); // never 60, the demo file's own bed temperature
    }
    out(`Polar Cloud emulator on ${emu.url}; ${count} Moonraker simulators on ${printers.map((p) => p.sim.url).join(', ')} (one host, one network interface)`);
    for (const p of printers) {
      p.serial = (await p.bridge.register(ACCOUNT.email, ACCOUNT.pin)).serialNumber;
      out(`  ${p.folder}: registered as ${p.serial} (MAC ${p.bridge.identity.file.mac ?? '?'})`);
    }
    for (const p of printers) await p.bridge.start();
    await until(() => printers.every((p) => p.bridge.polar.online && p.bridge.printer.snapshot().connection === 'klippy_ready'), 'every bridge online with its printer ready');
    out(`all ${count} bridges online, one cloud connection each`);

    // A different bed target on each printer; each must show under its own serial only.
    for (const p of printers) await p.bridge.moonrakerApi.gcodeScript(`M140 S${p.bedC}`);
    await until(
      () => printers.every((p) => statusEvents(emu.control.events(), p.serial).some((e) => (e.payload as { targetBed?: number }).targetBed === p.bedC)),
      'each bed target in the cloud',
    );
    out(`bed targets ${printers.map((p) => `${p.bedC}°C on ${p.serial}`).join(', ')}: each under its own serial`);

    for (const p of printers) {
      p.sim.control.setHeaterTemperature('heater_bed', 60);
      p.sim.control.setHeaterTemperature('extruder', 210);
      p.jobId = emu.control.addJob(p.serial!, { jobName: `Demo cube for ${p.folder}`, content: demoGcode(10, 10) }).jobId;
      await p.bridge.session.sendNextPrint(p.jobId);
    }
    out(`queued a cloud job for each printer (${printers.map((p) => p.jobId).join(', ')}); each bridge asked for its own`);
    await until(() => printers.every((p) => jobReportsOf(emu.control.printer(p.serial!)).some((r) => r.jobId === p.jobId && r.state === 'completed')), 'every job reported completed');
  } catch (err) {
    failure = errText(err);
  }
  try {
    out('');
    out('What the emulated Polar Cloud saw:');
    const events = emu.control.events();
    for (const p of printers) {
      if (!p.serial) continue;
      const info = emu.control.printer(p.serial);
      const mine = events.filter((e) => e.serialNumber === p.serial);
      const beds = new Set(statusEvents(events, p.serial).map((e) => (e.payload as { targetBed?: number }).targetBed).filter((t) => t !== undefined && t > 0));
      const reports = jobReportsOf(info).map((r) => `${r.jobId ?? '?'} ${r.state ?? '?'}`);
      out(`  ${p.serial} (${p.folder}): MAC ${info?.mac ?? '?'}, ${info?.authenticated ? `online on ${info.connections} connection(s)` : 'NOT online'}`);
      out(`    bed targets seen: ${[...beds].join(', ') || 'none'}; job reports: ${reports.join(', ') || 'none'}`);
      out(`    messages: ${messageCounts(mine)}`);
      const others = printers.filter((o) => o !== p).map((o) => o.bedC);
      if (!failure && [...beds].some((t) => t !== undefined && others.includes(t))) failure = `${p.serial} showed another printer's bed target`;
    }
    const violations = emu.control.violations();
    out(`  protocol violations: ${violations.length}`);
    if (!failure && violations.length > 0) failure = `the cloud recorded ${violations.length} protocol violation(s)`;
    if (!failure && new Set(printers.map((p) => p.serial)).size !== count) failure = 'two printers got the same serial';
    if (failure) {
      process.stderr.write(`demo failed: ${failure}\n`);
      return 1;
    }
    out(`demo OK: ${count} printers on one host, ${count} serials`);
    return 0;
  } finally {
    for (const p of printers) await p.bridge.stop();
    for (const p of printers) await p.sim.stop();
    await emu.stop();
    await rm(home, { recursive: true, force: true });
  }
}
