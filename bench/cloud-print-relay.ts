// Benchmark: relay a generated G-code file from the Polar Cloud emulator into
// the Moonraker simulator through the bridge (the shipped bundle, run as its
// own process so its memory is measured alone): `print` command → download →
// upload → printer.print.start. Reports the bridge's peak RSS (VmHWM) per file
// size — it must not grow with the file — and throughput against `curl`
// downloading and then uploading the same file on the same machine.
//   node <build>/bench/cloud-print-relay.js [--sizes=100,1024]   (MiB; or BENCH_RELAY_SIZES; BENCH_QUICK=1: 50)
import { spawn, execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startPolarEmulator } from '../src/emulator/index.js';
import { startMoonrakerSimulator } from '../src/simulator/index.js';
import { parseConfig } from '../src/config.js';
import { Controller } from '../src/controller.js';
import { systemClock } from '../src/util/clock.js';
import { Logger } from '../src/util/log.js';
import { socketIoTransportFactory } from '../src/polar/socketio-transport.js';
import { knobText, printRow } from './stats.js';

const exec = promisify(execFile);
const args = new Map(process.argv.slice(2).map((a) => a.replace(/^--/, '').split('=') as [string, string | undefined]));
const SIZES = (args.get('sizes') ?? knobText('BENCH_RELAY_SIZES', '100,1024', '50')).split(',').map(Number);
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

async function main(): Promise<void> {
  const emu = await startPolarEmulator();
  const sim = await startMoonrakerSimulator({ temperatureNoise: false });
  const work = await mkdtemp(join(tmpdir(), 'pc-relay-'));
  const dataDir = join(work, 'data');
  const yaml = `data_dir: ${dataDir}\nlog:\n  level: warn\npolar:\n  server_url: ${emu.url}\nmoonraker:\n  url: ${sim.url}\ncloud_print:\n  max_file_size: 100000\n  keep_files: 1\n`;
  const configFile = join(work, 'polarcloud.yaml');
  await writeFile(configFile, yaml);
  const reg = new Controller({ config: parseConfig(yaml, undefined).config, log: Logger.create('warn'), clock: systemClock, transportFactory: socketIoTransportFactory, withMoonraker: false });
  const { serialNumber } = await reg.register('bench@example.com', '1234');
  await reg.stop();
  console.log(`cloud-print-relay: sizes ${SIZES.join(', ')} MiB, node ${process.version}; bridge = dist/polarcloud.mjs in its own process`);
  try {
    for (const mib of SIZES) {
      const job = emu.control.addJob(serialNumber, { jobName: `relay-${mib}`, size: mib * MIB });
      // The bridge, fresh per size so VmHWM is this relay's peak.
      const statusesBefore = emu.control.printer(serialNumber)?.statusCount ?? 0;
      const child = spawn(process.execPath, [bundle, 'run', '--config', configFile], { stdio: ['ignore', 'ignore', 'inherit'] });
      try {
        // Online and reporting Ready (Klippy ready), or the print would go to the job queue instead.
        await until(() => (emu.control.printer(serialNumber)?.statusCount ?? 0) > statusesBefore && (emu.control.printer(serialNumber)?.lastStatus as { status?: number } | undefined)?.status === 0, 20_000, 'bridge online and Ready');
        const baseline = await vmHwmMiB(child.pid!);
        const before = sim.control.rpcLog().length;
        const t0 = performance.now();
        emu.control.send(serialNumber, 'print', { serialNumber, jobId: job.jobId, jobName: job.jobName, gcodeFile: job.gcodeUrl });
        await until(() => sim.control.rpcLog().slice(before).some((r) => r.method === 'printer.print.start'), 600_000, 'print started');
        const seconds = (performance.now() - t0) / 1000;
        const peak = await vmHwmMiB(child.pid!);
        emu.control.send(serialNumber, 'cancel', { serialNumber });
        // The generated file does not home, so Klipper usually errors out before the cancel lands: any end state will do.
        const printState = () => (sim.control.printerObjects()['print_stats'] as { state?: string } | undefined)?.state ?? '';
        await until(() => ['cancelled', 'error', 'complete'].includes(printState()), 60_000, 'the print ended').catch(() => undefined);

        // Baseline: curl downloads the same file, then uploads it.
        const tmp = join(work, `curl-${mib}.gcode`);
        const c0 = performance.now();
        await exec('curl', ['-sSf', '-o', tmp, job.gcodeUrl]);
        await exec('curl', ['-sSf', '-o', '/dev/null', '-F', 'root=gcodes', '-F', `file=@${tmp};filename=curl-${mib}.gcode`, `${sim.url}/server/files/upload`], { maxBuffer: 1 << 20 });
        const curlSeconds = (performance.now() - c0) / 1000;
        await rm(tmp, { force: true });

        printRow(`${mib} MiB relay`, {
          bridge_s: seconds.toFixed(2),
          bridge_MiBps: (mib / seconds).toFixed(0),
          curl_s: curlSeconds.toFixed(2),
          ratio_vs_curl: (curlSeconds / seconds).toFixed(2),
          peak_rss_MiB: peak.toFixed(1),
          rss_at_idle_MiB: baseline.toFixed(1),
        });
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
