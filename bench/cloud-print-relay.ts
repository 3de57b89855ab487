// Benchmark: relay a generated G-code file from the Polar Cloud emulator into
// the Moonraker simulator through the bridge (the shipped bundle, run as its
// own process so its memory is measured alone): `print` command → download
// streamed into the upload → printer.print.start. Reports the bridge's peak
// RSS (VmHWM) per file size — it must not grow with the file — and its time
// against `curl` downloading and then uploading the same file on the same
// machine. The simulator runs in its own process, as Moonraker does (in this
// process it would serve the download and take the upload on one thread, and
// the relay could never be faster than the two legs one after the other).
// Targets (issue 15): peak RSS ≤ 80 MiB, time ≤ 0.8× curl; pass/fail per size
// on the median of the runs (runs alternate bridge and curl; ranges shown).
//   node <build>/bench/cloud-print-relay.js [--sizes=200,1024] [--runs=3]
//   (MiB; or BENCH_RELAY_SIZES, BENCH_RELAY_RUNS; BENCH_QUICK=1: 50 MiB, 1 run)
import { spawn, execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startPolarEmulator } from '../src/emulator/index.js';
import { createInterface } from 'node:readline';
import { parseConfig } from '../src/config.js';
import { Controller } from '../src/controller.js';
import { systemClock } from '../src/util/clock.js';
import { Logger } from '../src/util/log.js';
import { socketIoTransportFactory } from '../src/polar/socketio-transport.js';
import { knob, knobText, printRow, summarize } from './stats.js';
import { serviceNodeFlags } from '../test/helpers/bundle-process.js';

const exec = promisify(execFile);
const args = new Map(process.argv.slice(2).map((a) => a.replace(/^--/, '').split('=') as [string, string | undefined]));
const SIZES = (args.get('sizes') ?? knobText('BENCH_RELAY_SIZES', '200,1024', '50')).split(',').map(Number);
const RUNS = Number(args.get('runs') ?? knob('BENCH_RELAY_RUNS', 3, 1));
const TRACE = process.env.BENCH_RELAY_TRACE === '1'; // the bridge's log lines, with ms since the `print` command
// The bridge's node flags: the systemd unit's by default; BENCH_RELAY_NODE_ARGS replaces them, e.g. '--cpu-prof --cpu-prof-dir=/tmp/prof' (diagnosis only).
// Default: the systemd unit's own flags (the bundle as the service runs it).
const NODE_ARGS = process.env.BENCH_RELAY_NODE_ARGS === undefined ? serviceNodeFlags() : process.env.BENCH_RELAY_NODE_ARGS.split(' ').filter(Boolean);
const TARGET_RSS_MIB = 80;
const TARGET_TIME_VS_CURL = 0.8;
const simModule = new URL('../src/simulator/index.js', import.meta.url).href;
const MIB = 1048576;
const bundle = new URL('../../dist/polarcloud.mjs', import.meta.url).pathname;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(cond: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await sleep(20);
  }
}

async function vmHwmMiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? NaN);
  return kb / 1024;
}

/** The Moonraker simulator in a child process, driven through its /_sim/ control endpoints. */
async function startSimulatorProcess(): Promise<{ url: string; printState(): Promise<string>; stop(): Promise<void> }> {
  const script = `import { startMoonrakerSimulator } from ${JSON.stringify(simModule)};
const sim = await startMoonrakerSimulator({ port: 0, temperatureNoise: false });
process.stdout.write(JSON.stringify({ url: sim.url }) + '\\n');
process.stdin.on('end', async () => { await sim.stop(); process.exit(0); });
process.stdin.resume();`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['pipe', 'pipe', 'inherit'] });
  const first = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`simulator exited (${code})`)));
  });
  const { url } = JSON.parse(first) as { url: string };
  const control = async <T>(name: string): Promise<T> => ((await (await fetch(`${url}/_sim/${name}`)).json()) as { result: T }).result;
  return {
    url,
    printState: async () => ((await control<Record<string, { state?: string }>>('printerobjects'))['print_stats']?.state ?? ''),
    stop: async () => {
      child.stdin!.end();
      await new Promise((r) => child.once('exit', r));
    },
  };
}

/** User + system CPU time of a process so far (s). */
async function cpuSeconds(pid: number): Promise<number> {
  const fields = (await readFile(`/proc/${pid}/stat`, 'utf8')).replace(/^.*\) /, '').split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100 on Linux)
}

interface RelayRun {
  bridge: number;
  curl: number;
  /** curl's upload leg alone: the simulator's ingest, the floor for any relay into it. */
  curlUpload: number;
  /** The bridge's CPU time (user + system) from `print` to printing. */
  cpu: number;
  peak: number;
  idle: number;
}

const range = (xs: number[], digits: number): string => `${Math.min(...xs).toFixed(digits)}–${Math.max(...xs).toFixed(digits)}`;

async function main(): Promise<void> {
  const emu = await startPolarEmulator();
  const sim = await startSimulatorProcess();
  const work = await mkdtemp(join(tmpdir(), 'pc-relay-'));
  const dataDir = join(work, 'data');
  const yaml = `data_dir: ${dataDir}\nlog:\n  level: ${TRACE ? 'debug' : 'info'}\npolar:\n  server_url: ${emu.url}\nmoonraker:\n  url: ${sim.url}\ncloud_print:\n  max_file_size: 100000\n  keep_files: 1\n`;
  const configFile = join(work, 'polarcloud.yaml');
  await writeFile(configFile, yaml);
  const reg = new Controller({ config: parseConfig(yaml, undefined).config, log: Logger.create('warn'), clock: systemClock, transportFactory: socketIoTransportFactory, withMoonraker: false });
  const { serialNumber } = await reg.register('bench@example.com', '1234');
  await reg.stop();
  console.log(`cloud-print-relay: sizes ${SIZES.join(', ')} MiB, ${RUNS} run(s) each, node ${process.version}; bridge = dist/polarcloud.mjs and the simulator each in its own process`);
  try {
    // Warm-up, untimed: the first transfer through the emulator's G-code generator and the simulator's
    // upload parser runs cold code (JIT). Timed runs go bridge first, then curl, so without this only
    // the bridge's first run would pay for it.
    const warm = emu.control.addJob(serialNumber, { jobName: 'relay-warm-up', size: 50 * MIB });
    await curlDownloadThenUpload(warm.gcodeUrl, 'warm-up');
    for (const mib of SIZES) {
      const runs: RelayRun[] = [];
      for (let run = 0; run < RUNS; run++) runs.push(await relayOnce(mib, run));
      const ratios = runs.map((r) => r.bridge / r.curl);
      const median = summarize(ratios).median;
      const peak = Math.max(...runs.map((r) => r.peak));
      printRow(`${mib} MiB relay`, {
        runs: String(RUNS),
        bridge_s: range(runs.map((r) => r.bridge), 2),
        curl_s: range(runs.map((r) => r.curl), 2),
        curl_upload_s: range(runs.map((r) => r.curlUpload), 2),
        bridge_cpu_s: range(runs.map((r) => r.cpu), 2),
        time_vs_curl: `${median.toFixed(2)} (${range(ratios, 2)})`,
        time_target: `≤${TARGET_TIME_VS_CURL} ${median <= TARGET_TIME_VS_CURL ? 'pass' : 'FAIL'}`,
        peak_rss_MiB: `${peak.toFixed(1)} (${range(runs.map((r) => r.peak), 1)})`,
        rss_target: `≤${TARGET_RSS_MIB} ${peak <= TARGET_RSS_MIB ? 'pass' : 'FAIL'}`,
        rss_at_idle_MiB: range(runs.map((r) => r.idle), 1),
        relay_growth_MiB: range(runs.map((r) => r.peak - r.idle), 1),
      });
    }

    /** The baseline: curl downloads the file to disk, then uploads it (s, in all and for the download). */
    async function curlDownloadThenUpload(url: string, name: string): Promise<{ total: number; download: number }> {
      const tmp = join(work, `${name}.gcode`);
      const c0 = performance.now();
      await exec('curl', ['-sSf', '-o', tmp, url]);
      const c1 = performance.now();
      await exec('curl', ['-sSf', '-o', '/dev/null', '-F', 'root=gcodes', '-F', `file=@${tmp};filename=${name}.gcode`, `${sim.url}/server/files/upload`], { maxBuffer: 1 << 20 });
      const total = (performance.now() - c0) / 1000;
      await rm(tmp, { force: true });
      return { total, download: (c1 - c0) / 1000 };
    }

    async function relayOnce(mib: number, run: number): Promise<RelayRun> {
      const job = emu.control.addJob(serialNumber, { jobName: `relay-${mib}-${run}`, size: mib * MIB });
      // The bridge, fresh per run so VmHWM is this relay's peak.
      const statusesBefore = emu.control.printer(serialNumber)?.statusCount ?? 0;
      const child = spawn(process.execPath, [...NODE_ARGS, bundle, 'run', '--config', configFile], { stdio: ['ignore', process.env.BENCH_RELAY_NODE_ARGS ? 'inherit' : 'ignore', 'pipe'] });
      // The bridge's own log says when the print was started (Moonraker's reply to printer.print.start
      // arrived): free to watch, where polling the simulator would take CPU from it mid-upload.
      let started = false;
      let t0 = 0;
      let tStarted = 0;
      createInterface({ input: child.stderr! }).on('line', (l) => {
        if (TRACE && t0) process.stderr.write(`  +${(performance.now() - t0).toFixed(0)} ms ${l}\n`);
        if (l.includes(`cloud job ${job.jobId} started`)) {
          tStarted = performance.now(); // when the line arrives, not when the poll below sees it
          started = true;
        }
        else if (/ (WARN|ERROR) /.test(l) && !l.includes('[camera]')) process.stderr.write(`${l}\n`);
      });
      try {
        // Online and reporting Ready (Klippy ready), or the print would go to the job queue instead.
        await until(() => (emu.control.printer(serialNumber)?.statusCount ?? 0) > statusesBefore && (emu.control.printer(serialNumber)?.lastStatus as { status?: number } | undefined)?.status === 0, 20_000, 'bridge online and Ready');
        const idle = await vmHwmMiB(child.pid!);
        const cpu0 = await cpuSeconds(child.pid!);
        t0 = performance.now();
        emu.control.send(serialNumber, 'print', { serialNumber, jobId: job.jobId, jobName: job.jobName, gcodeFile: job.gcodeUrl });
        await until(() => started, 600_000, 'print started');
        const seconds = (tStarted - t0) / 1000;
        const peak = await vmHwmMiB(child.pid!);
        const cpu = (await cpuSeconds(child.pid!)) - cpu0;
        emu.control.send(serialNumber, 'cancel', { serialNumber });
        // The generated file does not home, so Klipper usually errors out before the cancel lands: any end state will do.
        await until(async () => ['cancelled', 'error', 'complete'].includes(await sim.printState()), 60_000, 'the print ended').catch(() => undefined);

        // Baseline: curl downloads the same file, then uploads it.
        const { total: curlSeconds, download: curlDown } = await curlDownloadThenUpload(job.gcodeUrl, `curl-${mib}`);
        console.log(`  run ${run + 1}: bridge ${seconds.toFixed(2)} s (CPU ${cpu.toFixed(2)} s), curl ${curlSeconds.toFixed(2)} s (download ${curlDown.toFixed(2)} + upload ${(curlSeconds - curlDown).toFixed(2)}), peak RSS ${peak.toFixed(1)} MiB`);
        return { bridge: seconds, curl: curlSeconds, curlUpload: curlSeconds - curlDown, cpu, peak, idle };
      } finally {
        child.kill('SIGTERM');
        await new Promise((r) => child.once('exit', r));
      }
    }
  } finally {
    await sim.stop();
    await emu.stop();
    await rm(work, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
