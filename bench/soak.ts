// Soak: a simulated day (default 24 h at 60× real time) of the whole bridge —
// cloud and local prints, camera images and timelapses, cloud link drops,
// Moonraker websocket drops and restarts, a cloud outage — with the bridge's
// RSS, heap after GC, open descriptors and log size sampled. Fails when the
// heap (or, clearly, RSS) trends up, descriptors leak, the log outgrows its rotation bound, a
// cloud job is not reported exactly once, or the bridge ends offline.
// The emulator and simulator run in a child process (soak-servers.js) on the
// same accelerated clock, so this process's figures are the bridge's alone.
// On demand, not in CI:
//   npx tsc -p tsconfig.test.json && node --expose-gc build/bench/soak.js
//   env: SOAK_HOURS (24), SOAK_SCALE (60: simulated ms per real ms), SOAK_SEED (1),
//        SOAK_LOG_LEVEL (debug), SOAK_LOG_WIRE (true)
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseConfig } from '../src/config.js';
import { Controller } from '../src/controller.js';
import { socketIoTransportFactory } from '../src/polar/socketio-transport.js';
import { Logger, errText, type LogRecord } from '../src/util/log.js';
import { RotatingFile, fileSink } from '../src/util/rotating-file.js';
import { fixedNet } from '../test/helpers/bridge-setup.js';
import { ScaledClock } from './soak-clock.js';
import { CloudControl, PrinterControl } from './soak-control.js';
import { Day } from './soak-day.js';
import { logBytes, logFileCount, printTable, restingFds, takeSample, type Sample } from './soak-samples.js';
import { judge, printPrints } from './soak-verdict.js';

const HOURS = Number(process.env.SOAK_HOURS ?? 24);
const SCALE = Number(process.env.SOAK_SCALE ?? 60);
const SEED = Number(process.env.SOAK_SEED ?? 1);
const LOG_MAX_MB = 0.25;
const LOG_FILES = 3;
const servers = new URL('./soak-servers.js', import.meta.url).pathname;

const problems: string[] = [];
let child: ChildProcess | undefined;
const childTail: string[] = [];
let work: string | undefined;
let controller: Controller | undefined;

const out = (line: string): void => void process.stdout.write(`${line}\n`);

/** Starts the emulator + simulator child; resolves with their URLs. */
function startServers(clock: ScaledClock): Promise<{ emulator: string; simulator: string }> {
  const c = spawn(process.execPath, [servers, '--scale', String(clock.scale), '--origin', String(clock.originMs)], { stdio: ['pipe', 'pipe', 'pipe'] });
  child = c;
  createInterface({ input: c.stderr! }).on('line', (l) => {
    childTail.push(l);
    if (childTail.length > 40) childTail.shift();
  });
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: c.stdout! });
    lines.once('line', (l) => {
      try {
        const v: unknown = JSON.parse(l);
        const o = v as { emulator?: unknown; simulator?: unknown };
        if (typeof o.emulator !== 'string' || typeof o.simulator !== 'string') throw new Error('no URLs');
        resolve({ emulator: o.emulator, simulator: o.simulator });
      } catch {
        reject(new Error(`soak-servers said: ${l}`));
      }
    });
    c.once('exit', (code, sig) => {
      const msg = `the emulator/simulator process exited (code ${code}, signal ${sig}); stderr tail:\n${childTail.join('\n')}`;
      if (!stopping) problems.push(msg);
      reject(new Error(msg));
    });
  });
}

let stopping = false;
async function cleanup(): Promise<void> {
  if (stopping) return;
  stopping = true;
  const c = controller;
  controller = undefined;
  if (c) await Promise.race([c.stop().catch(() => undefined), new Promise((r) => setTimeout(r, 5000))]);
  const k = child;
  if (k && k.exitCode === null && k.signalCode === null) {
    const gone = new Promise((r) => k.once('exit', r));
    k.kill('SIGTERM');
    const t = setTimeout(() => k.kill('SIGKILL'), 5000);
    await gone;
    clearTimeout(t);
  }
  if (work) await rm(work, { recursive: true, force: true });
}

for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    out(`\n${sig}: stopping`);
    void cleanup().finally(() => process.exit(130));
  });
}
process.on('uncaughtException', (err) => void problems.push(`uncaught exception: ${err.stack ?? err.message}`));
process.on('unhandledRejection', (err) => void problems.push(`unhandled rejection: ${errText(err)}`));

/**
 * Bridge warnings and errors, and timeouts at any level (every clock-based timeout shrinks by
 * SOAK_SCALE in real time: a spurious one would show here), counted by message shape, bounded.
 */
class WarnCount {
  readonly byShape = new Map<string, number>();
  other = 0;
  readonly sink = (r: LogRecord): void => {
    // Wire lines (Polar → ←, Moonraker > <) carry payloads such as Klipper's idle_timeout object.
    const timeout = !/^[→←<>] /.test(r.msg) && /time(d)?[ -]?out/i.test(r.msg);
    if (r.level !== 'warn' && r.level !== 'error' && !timeout) return;
    const key = `${r.level} [${r.ns}] ${r.msg.replace(/\d+/g, '#').slice(0, 150)}`;
    if (this.byShape.has(key) || this.byShape.size < 40) this.byShape.set(key, (this.byShape.get(key) ?? 0) + 1);
    else this.other++;
  };
}

async function until(cond: () => boolean | Promise<boolean>, realMs: number, what: string): Promise<void> {
  const end = Date.now() + realMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function main(): Promise<number> {
  if (typeof gc !== 'function') throw new Error('run with: node --expose-gc build/bench/soak.js');
  if (!(HOURS > 0) || !(SCALE > 0)) throw new Error('SOAK_HOURS and SOAK_SCALE must be positive numbers');
  work = await mkdtemp(join(tmpdir(), 'pc-soak-'));
  const clock = new ScaledClock(SCALE);
  const urls = await startServers(clock);
  const cloud = new CloudControl(urls.emulator);
  const printer = new PrinterControl(urls.simulator);
  const logFile = join(work, 'logs', 'moonraker-polarcloud.log');
  const yaml = [
    `data_dir: ${join(work, 'data')}`,
    'log:',
    // Debug with every Polar message (log.wire): a few MB a day, so the file rotates many times.
    `  level: ${process.env.SOAK_LOG_LEVEL ?? 'debug'}`,
    `  wire: ${process.env.SOAK_LOG_WIRE ?? 'true'}`,
    `  file: ${logFile}`,
    `  max_size: ${LOG_MAX_MB}`,
    `  files: ${LOG_FILES}`,
    'polar:',
    `  server_url: ${urls.emulator}`,
    'moonraker:',
    `  url: ${urls.simulator}`,
    'camera:',
    `  web_base_url: ${urls.simulator}`,
    // Sparser than the defaults (60 / 10 s): each image is an ffmpeg run, and at 60× the defaults
    // would keep ffmpeg busy without pause on a 2-core machine.
    '  idle_interval: 300',
    '  printing_interval: 60',
    '',
  ].join('\n');
  const config = parseConfig(yaml, undefined).config;
  const file = new RotatingFile(logFile, config.log.max_size * 1048576, config.log.files);
  const warns = new WarnCount();
  const log = Logger.create(config.log.level, [fileSink(file), warns.sink]);
  const c = new Controller({ config, log, clock, transportFactory: socketIoTransportFactory, netSource: fixedNet });
  controller = c;
  const serial = (await c.register('soak@example.com', '1234')).serialNumber;
  await c.start();
  await until(() => c.polar.online && c.printer.connectionState === 'klippy_ready', 30_000, 'the bridge online and Klipper ready');
  out(`soak: ${HOURS} simulated h at ${SCALE}× (≈ ${((HOURS * 60) / SCALE).toFixed(1)} real min), printer ${serial}, log ${LOG_MAX_MB} MB × ${LOG_FILES}`);

  const samples: Sample[] = [];
  // The rotation bound must hold at every moment, not only at sample times.
  let logPeak = 0;
  const logWatch = setInterval(() => void (logPeak = Math.max(logPeak, logBytes(logFile, LOG_FILES))), 200);
  const fdsStart = await restingFds();
  const realStart = Date.now();
  const stamp = (h: number): string => `[${h.toFixed(2).padStart(5)} h]`;
  const day = new Day({
    clock,
    cloud,
    printer,
    controller: c,
    serial,
    hours: HOURS,
    seed: SEED,
    broken: () => (child && (child.exitCode !== null || child.signalCode !== null) ? 'the emulator/simulator process exited' : undefined),
    sample: (h, state, prints) => {
      const s = takeSample(h, logFile, LOG_FILES, clock.pending, state, prints);
      samples.push(s);
      if (samples.length % 3 === 1) out(`${stamp(h)} prints ${prints}, RSS ${s.rssMiB.toFixed(1)} MiB, heap ${s.heapMiB.toFixed(2)} MiB, fds ${s.fds}, log ${(s.logBytes / 1024).toFixed(0)} KiB`);
    },
    note: (h, msg) => out(`${stamp(h)} ${msg}`),
  });
  await day.run();

  // Every report out and acknowledged (the outbox is durable) before the books are closed.
  const reportsExpected = day.prints.filter((p) => p.startedH !== undefined).length;
  await until(
    async () => c.jobs.store.outbox.length === 0 && (await cloud.printer(serial)).jobReports.length >= reportsExpected,
    clock.real(15 * 60_000) + 5000,
    'every job report received by the cloud',
  ).catch((err: unknown) => problems.push(errText(err)));
  const hEnd = (clock.now() - clock.originMs) / 3600_000;
  const ended = day.prints.filter((p) => p.endedH !== undefined).length;
  samples.push(takeSample(hEnd, logFile, LOG_FILES, clock.pending, (await printer.printStats().catch(() => ({ state: '?' }))).state, ended));
  clearInterval(logWatch);
  const logFiles = logFileCount(logFile, LOG_FILES);
  const fdsEnd = await restingFds();
  const info = await cloud.printer(serial);
  const online = c.polar.online && info.authenticated && info.connections === 1 && c.printer.connectionState === 'klippy_ready';
  const onlineWhy = `bridge polar.online=${c.polar.online}, cloud sees authenticated=${info.authenticated} connections=${info.connections}, Moonraker link ${c.printer.connectionState}`;
  const violations = await cloud.violations();
  const uploads = await cloud.uploadsByType();
  const realMin = (Date.now() - realStart) / 60_000;
  await cleanup();

  out('');
  printTable(samples);
  out('');
  out('prints (planned length, started → ended in simulated hours, print_stats end, cloud report):');
  printPrints(day.prints, info.jobReports);
  out('');
  const verdict = judge({
    samples,
    fdsStart,
    fdsEnd,
    logBound: (LOG_FILES + 1) * LOG_MAX_MB * 1048576,
    logPeak: Math.max(logPeak, ...samples.map((s) => s.logBytes)),
    logFiles,
    prints: day.prints,
    reports: info.jobReports,
    online,
    onlineWhy,
    violations,
    problems,
  });
  out('');
  out(`link events: ${day.counts.cloudDrops} cloud drops, ${day.counts.wsDrops} Moonraker websocket drops, ${day.counts.moonrakerRestarts} Moonraker restarts, ${day.counts.cloudOutages} cloud outage; ${day.counts.controlErrors} control calls retried`);
  out(`uploads seen by the cloud (newest 1000): ${Object.entries(uploads).map(([k, v]) => `${k} ${v}`).join(', ') || 'none'}; real time ${realMin.toFixed(1)} min`);
  const shapes = [...warns.byShape].sort((a, b) => b[1] - a[1]);
  out(`bridge warnings/errors (and timeouts at any level): ${shapes.reduce((n, [, v]) => n + v, 0) + warns.other}${shapes.length ? ':' : ''}`);
  for (const [k, v] of shapes.slice(0, 15)) out(`  ${String(v).padStart(5)} × ${k}`);
  out('');
  if (verdict.length === 0) {
    out('soak verdict: PASS');
    return 0;
  }
  out('soak verdict: FAIL');
  for (const v of verdict) out(`  - ${v}`);
  return 1;
}

main().then(
  (code) => process.exit(code),
  async (err: unknown) => {
    out(`soak failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    for (const p of problems) out(`  - ${p}`);
    if (childTail.length) out(`emulator/simulator stderr tail:\n${childTail.join('\n')}`);
    await cleanup();
    process.exit(1);
  },
);
