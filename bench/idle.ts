// Benchmark: the bridge as shipped (dist/polarcloud.mjs, run as its own process)
// sitting idle between the Polar Cloud emulator and the Moonraker simulator (both
// in this process). After it is online and a 10 s warm-up, VmRSS (/proc/<pid>/status)
// and CPU (utime+stime, /proc/<pid>/stat) are sampled every 5 s for
// BENCH_IDLE_SECONDS (default 600; 30 under BENCH_QUICK=1).
// Production-like config: log level info, default status and camera settings, the
// camera on with the simulator's webcam (an idle image every 60 s), thermistor noise
// on as on a real printer. The simulator's 640x480 frame is upright and under 150 kB,
// so it goes out without an ffmpeg pass; a rotated or larger camera adds ffmpeg
// children, counted on the "incl. ffmpeg children" row (see bench/camera.ts for their cost).
// The bridge runs with the systemd unit's node flags (BENCH_NODE_ARGS replaces them).
// Then: a local print watched for BENCH_PRINTING_SECONDS (CPU while Klipper prints), and
// the floor under the RSS target (node with the built-ins the service needs, no project code).
//   node --expose-gc <build>/bench/idle.js
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPolarEmulator, type PolarEmulator } from '../src/emulator/index.js';
import { startMoonrakerSimulator, type MoonrakerSimulator } from '../src/simulator/index.js';
import { sleep, until } from '../test/faults/crash-rig.js';
import { BundleProcess, writeConfigAndRegister } from '../test/helpers/bundle-process.js';
import { knob, percentile, printRow } from './stats.js';

const WINDOW_S = knob('BENCH_IDLE_SECONDS', 600, 30);
// Then a local print (heaters at temperature, moves for an hour) watched for this long: what the
// bridge costs beside Klipper while it prints (statuses, 4 pushes a second, an image every 10 s).
const PRINTING_S = knob('BENCH_PRINTING_SECONDS', 120, 30);
const WARMUP_MS = 10_000;
const EVERY_MS = 5_000;
const ONLINE_BOUND_MS = 30_000;
const CLK_TCK = clockTicks();
const RSS_TARGET_MIB = 45;
const CPU_TARGET_PCT = 0.15;
if (WINDOW_S * 1000 < EVERY_MS) throw new Error(`BENCH_IDLE_SECONDS=${WINDOW_S} is shorter than one ${EVERY_MS / 1000} s sample`);

function clockTicks(): number {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100; // Linux's USER_HZ everywhere we run
  }
}

/** A "Key:   1234 kB" line of /proc/<pid>/status or smaps_rollup, in MiB (NaN when absent). */
function fieldMiB(text: string, key: string): number {
  return Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? NaN) / 1024;
}

interface Sample {
  at: number;
  rssMiB: number;
  /** Seconds of CPU, the bridge's own (all threads) and its reaped children's (ffmpeg). */
  self: number;
  children: number;
}

function sample(pid: number): Sample {
  const at = performance.now();
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after "(comm) ": index 0 is field 3 (state); utime, stime, cutime, cstime are fields 14-17.
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ').map(Number);
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return { at, rssMiB: fieldMiB(status, 'VmRSS'), self: (f[11]! + f[12]!) / CLK_TCK, children: (f[13]! + f[14]!) / CLK_TCK };
}

let bridge: BundleProcess | null = null;
let workDir: string | null = null;
// The bridge is detached (its own process group), so a Ctrl-C or a kill of this process would not reach it.
process.once('exit', () => bridge?.killNow());
for (const [sig, code] of [['SIGINT', 130], ['SIGTERM', 143], ['SIGHUP', 129]] as const) {
  process.once(sig, () => {
    bridge?.killNow();
    if (workDir) rmSync(workDir, { recursive: true, force: true });
    process.exit(code);
  });
}

// The floor under the RSS target: Node with only the built-in modules the service cannot
// do without (https with a TLS context for the cloud, an RSA signature for hello, http and
// zlib) and none of the project's code, measured the same way after the same settling time.
const FLOOR_SCRIPT = `
require('node:https'); require('node:http'); const zlib = require('node:zlib');
const tls = require('node:tls'); const crypto = require('node:crypto');
tls.createSecureContext();
const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
crypto.sign('sha256', Buffer.from('hello'), privateKey);
zlib.gzipSync(Buffer.alloc(1024));
process.stdout.write('ready\\n');
setInterval(() => undefined, 60_000);
`;

async function measureFloor(): Promise<{ rssMiB: number; anonMiB: number; fileMiB: number }> {
  const child = spawn(process.execPath, ['-e', FLOOR_SCRIPT], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    await new Promise<void>((resolve, reject) => {
      child.stdout.once('data', () => resolve());
      child.once('exit', (code) => reject(new Error(`the floor process exited (${code})`)));
    });
    await sleep(WARMUP_MS);
    const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
    return { rssMiB: fieldMiB(status, 'VmRSS'), anonMiB: fieldMiB(status, 'RssAnon'), fileMiB: fieldMiB(status, 'RssFile') };
  } finally {
    child.kill();
  }
}

function configYaml(work: string, emu: PolarEmulator, sim: MoonrakerSimulator): string {
  return [
    `data_dir: ${join(work, 'data')}`,
    'log:',
    '  level: info',
    'polar:',
    `  server_url: ${emu.url}`,
    'moonraker:',
    `  url: ${sim.url}`,
    // The simulator serves the webcam on Moonraker's port, not on :80 where Mainsail's would be.
    'camera:',
    `  web_base_url: ${sim.url}`,
    '',
  ].join('\n');
}

function report(samples: Sample[], counts: { statuses: number; images: number; logLines: number }): void {
  const first = samples[0]!;
  const last = samples[samples.length - 1]!;
  const windowS = (last.at - first.at) / 1000;
  const rss = samples.map((s) => s.rssMiB);
  const pct = (cpuS: number, wallS: number): number => (100 * cpuS) / wallS;
  const perSample = (pick: (s: Sample) => number): number[] => samples.slice(1).map((s, i) => pct(pick(s) - pick(samples[i]!), (s.at - samples[i]!.at) / 1000));
  const selfPct = perSample((s) => s.self);
  const allPct = perSample((s) => s.self + s.children);
  const rssMedian = percentile([...rss].sort((a, b) => a - b), 50);
  const cpuMean = pct(last.self - first.self, windowS);
  // Issue 15's targets; the ok column compares the median RSS and the mean CPU.
  printRow('idle RSS (MiB)', { median: rssMedian, min: Math.min(...rss), max: Math.max(...rss), first: first.rssMiB, last: last.rssMiB, samples: samples.length, window_s: Math.round(windowS), target: `<= ${RSS_TARGET_MIB}`, ok: String(rssMedian <= RSS_TARGET_MIB) });
  printRow('idle CPU (%)', { mean: cpuMean, max_sample: Math.max(...selfPct), cpu_s: last.self - first.self, window_s: Math.round(windowS), target: `<= ${CPU_TARGET_PCT}`, ok: String(cpuMean <= CPU_TARGET_PCT) });
  printRow('idle CPU incl. ffmpeg children (%)', { mean: pct(last.self + last.children - first.self - first.children, windowS), max_sample: Math.max(...allPct) });
  printRow('idle traffic in window (sanity)', { statuses: counts.statuses, images: counts.images, log_lines: counts.logLines, window_s: Math.round(windowS) });
}

/** A sample now and every EVERY_MS for `seconds`; `died` names why to stop (null: still running). */
async function sampleFor(pid: number, seconds: number, died: () => string | null): Promise<Sample[]> {
  const samples: Sample[] = [sample(pid)];
  const t0 = samples[0]!.at;
  for (let i = 1; i * EVERY_MS <= seconds * 1000; i++) {
    // Absolute schedule, so the window does not drift by the sampling cost.
    await sleep(Math.max(0, t0 + i * EVERY_MS - performance.now()));
    const why = died();
    if (why !== null) throw new Error(why);
    samples.push(sample(pid));
  }
  return samples;
}

/** Hot end 210, bed 60, then 10 mm moves at 50 mm/s: about an hour of printing at speed factor 1. */
function longPrint(): string {
  const lines = ['M140 S60', 'M104 S210', 'G28', 'M190 S60', 'M109 S210', 'G90', 'M83'];
  for (let i = 0; i < 18_000; i++) lines.push(`G1 X${i % 2 === 0 ? 110 : 100} Y${100 + (i % 20)} E0.4 F3000`);
  return lines.join('\n') + '\n';
}

async function printingPhase(sim: MoonrakerSimulator, pid: number, running: () => boolean, printer: () => { lastStatus?: unknown } | undefined): Promise<void> {
  await sim.control.addFile('bench-printing.gcode', longPrint());
  await sim.control.startLocalPrint('bench-printing.gcode');
  // Printing as Polar sees it (status 1), heaters up to temperature, then a short settling time.
  await until(() => !running() || (printer()?.lastStatus as { status?: number } | undefined)?.status === 1, ONLINE_BOUND_MS, 'the print started');
  await sim.control.waitForPrintState('printing', 120_000);
  await sleep(WARMUP_MS);
  const samples = await sampleFor(pid, PRINTING_S, () => (running() ? null : 'the bridge died while printing'));
  const first = samples[0]!;
  const last = samples[samples.length - 1]!;
  const windowS = (last.at - first.at) / 1000;
  const rss = samples.map((x) => x.rssMiB).sort((a, b) => a - b);
  printRow('printing CPU (%)', { mean: (100 * (last.self - first.self)) / windowS, cpu_s: last.self - first.self, window_s: Math.round(windowS), rss_median_mib: percentile(rss, 50) });
}

async function main(): Promise<void> {
  const work = (workDir = await mkdtemp(join(tmpdir(), 'pc-bench-idle-')));
  let emu: PolarEmulator | null = null;
  let sim: MoonrakerSimulator | null = null;
  try {
    emu = await startPolarEmulator();
    sim = await startMoonrakerSimulator();
    const { configFile, serial } = await writeConfigAndRegister(work, configYaml(work, emu, sim), 'idle@example.com');
    const e = emu;
    const printer = () => e.control.printer(serial);
    const b = (bridge = new BundleProcess(configFile, 'idle'));
    const pid = b.pid;
    if (pid === undefined) throw new Error('the bridge did not start');
    // Online: authenticated, reporting, and Klippy seen as Ready (status 0).
    await until(() => !b.running || (!!printer()?.authenticated && (printer()?.lastStatus as { status?: number } | undefined)?.status === 0), ONLINE_BOUND_MS, 'the bridge online and Ready');
    if (!b.running) throw new Error(b.describe());
    console.log(
      `idle: dist/polarcloud.mjs (pid ${pid}), node ${process.version}, CLK_TCK ${CLK_TCK}; log level info, default intervals ` +
        `(status heartbeat 60 s; camera on: the simulator's webcam, 640x480 upright so no ffmpeg pass, an idle image every 60 s); ` +
        `${WARMUP_MS / 1000} s warm-up, then a sample every ${EVERY_MS / 1000} s for ${WINDOW_S} s`,
    );
    await sleep(WARMUP_MS);

    const statuses0 = printer()?.statusCount ?? 0;
    const images0 = e.control.uploads().length;
    const log0 = b.logLines;
    const samples = await sampleFor(pid, WINDOW_S, () => (b.running ? null : `the bridge died during the window\n${b.describe()}`));
    const counts = { statuses: (printer()?.statusCount ?? 0) - statuses0, images: e.control.uploads().length - images0, logLines: b.logLines - log0 };
    if (printer()?.connections !== 1) console.log(`note: the bridge holds ${printer()?.connections ?? 0} connections at the end (expected 1)`);
    report(samples, counts);
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    // anon: V8's heap and malloc; file: the pages of the node binary and its libraries in use.
    printRow('idle RSS split at the end (MiB)', { anon: fieldMiB(status, 'RssAnon'), file: fieldMiB(status, 'RssFile') });
    // Pages no other process maps. The node binary's pages are shared with this bench's own node,
    // as they are between the services of several printers on one Pi: this is what each further
    // printer's service adds to the host.
    const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
    printRow('idle memory private to the service (MiB)', { private: fieldMiB(rollup, 'Private_Clean') + fieldMiB(rollup, 'Private_Dirty'), pss: fieldMiB(rollup, 'Pss') });
    await printingPhase(sim, pid, () => b.running, printer);
    const floor = await measureFloor();
    printRow('Node floor, no project code (MiB)', { rss: floor.rssMiB, anon: floor.anonMiB, file: floor.fileMiB, what: 'https+TLS context, RSA sign, http, zlib' });
  } finally {
    await bridge?.kill();
    await sim?.stop();
    await emu?.stop();
    await rm(work, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
