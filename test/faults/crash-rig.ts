// The rig of the crash tests: the Polar Cloud emulator and the Moonraker
// simulator in this process, the shipped bundle (dist/polarcloud.mjs) as a
// child process in its own process group that can be SIGKILLed and started
// again on the same data_dir, and the invariants checked after a crash.
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { startPolarEmulator, type PolarEmulator } from '../../src/emulator/index.js';
import type { EmulatorEvent, QueuedJobInfo } from '../../src/emulator/types.js';
import { startMoonrakerSimulator, type MoonrakerSimulator } from '../../src/simulator/index.js';
import { HealthRecorder, checkStatusStream, streamFromEmulator } from '../helpers/status-stream.js';
import { demoGcode } from '../../src/cli/demo.js';
import { cloudFileName } from '../../src/cloudprint/job-file-name.js';
import { BundleProcess, writeConfigAndRegister } from '../helpers/bundle-process.js';

export const MIB = 1048576;
/** Klipper runs this many times faster than real time: the test print takes ~5 s. */
export const SPEED_FACTOR = 100;
export const LAYERS = 30;
export const MOVES_PER_LAYER = 20;
/** A restarted bridge must be authenticated and reporting within this (the first connect is immediate; a generous bound for loaded CI machines). */
export const ONLINE_BOUND_MS = 30_000;

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function until(cond: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(25);
  }
}

/** Every file under `dir`, relative to it ([] when it does not exist). */
export async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string): Promise<void> => {
    const entries = await readdir(d, { withFileTypes: true }).catch(() => []);
    for (const e of entries) {
      const full = join(d, e.name);
      if (e.isDirectory()) {
        out.push(relative(dir, full) + '/');
        await walk(full);
      } else out.push(relative(dir, full));
    }
  };
  await walk(dir);
  return out.sort();
}

export interface StatusSeen {
  seq: number;
  status: number;
  jobId?: string;
  progressDetail?: string;
}

export interface JobReportSeen {
  jobId?: string;
  state?: string;
}

export class Rig {
  private readonly runs: BundleProcess[] = [];
  bridge: BundleProcess | null = null;

  private constructor(
    readonly emu: PolarEmulator,
    readonly sim: MoonrakerSimulator,
    readonly work: string,
    readonly dataDir: string,
    readonly gcodesDir: string,
    readonly configFile: string,
    readonly serial: string,
  ) {
    this.health = new HealthRecorder(emu, sim);
    this.health.start();
  }

  /** The simulator's real state over time, for the status-stream checker run by stop(). */
  readonly health: HealthRecorder;

  static async start(): Promise<Rig> {
    const work = await mkdtemp(join(tmpdir(), 'pc-sigkill-'));
    const gcodesDir = join(work, 'gcodes');
    const emu = await startPolarEmulator();
    const sim = await startMoonrakerSimulator({ speedFactor: SPEED_FACTOR, temperatureNoise: false, gcodesDir });
    const dataDir = join(work, 'data');
    const yaml = [
      `data_dir: ${dataDir}`,
      'log:',
      '  level: info',
      'polar:',
      `  server_url: ${emu.url}`,
      '  reply_timeout: 5',
      'moonraker:',
      `  url: ${sim.url}`,
      'status:',
      '  idle_interval: 5',
      '  active_interval: 2',
      'camera:',
      `  web_base_url: ${sim.url}`,
      '  idle_interval: 10',
      '  printing_interval: 5',
      'cloud_print:',
      '  free_space_margin: 10',
      '',
    ].join('\n');
    const { configFile, serial } = await writeConfigAndRegister(work, yaml, 'sigkill@example.com');
    return new Rig(emu, sim, work, dataDir, gcodesDir, configFile, serial);
  }

  /** Also checks the whole status stream the cloud received (test/helpers/status-stream.ts). */
  async stop(): Promise<void> {
    this.health.stop();
    for (const b of this.runs) await b.kill();
    const violations = checkStatusStream(streamFromEmulator(this.emu, this.serial, this.health.samples));
    await this.sim.stop();
    await this.emu.stop();
    await rm(this.work, { recursive: true, force: true });
    if (violations.length) throw new Error(`status stream is not an exact mirror:\n${violations.join('\n')}`);
  }

  /** Starts the bridge and waits until it is authenticated, reporting, and sees Klipper ready (status 0). Returns ms to online. */
  async startBridge(label: string, opts: { launcher?: string[] } = {}): Promise<number> {
    assert.ok(!this.bridge?.running, 'previous bridge still running');
    const since = this.emu.control.lastSeq();
    const b = new BundleProcess(this.configFile, label, opts);
    this.runs.push(b);
    this.bridge = b;
    await until(
      () => !!this.emu.control.printer(this.serial)?.authenticated && this.statuses(since).length > 0,
      ONLINE_BOUND_MS,
      `bridge ${label} authenticated with a fresh status`,
    );
    const onlineMs = Date.now() - b.startedAt;
    // Moonraker side up too (status 0 Ready, or the print it finds running), and the killed process's socket gone.
    await until(() => this.statuses(since).some((s) => s.status !== 13) && this.emu.control.printer(this.serial)?.connections === 1, ONLINE_BOUND_MS, `bridge ${label} sees Klipper and holds the only connection`);
    return onlineMs;
  }

  /** SIGKILL (idempotent: a scenario may have killed it the moment something happened). */
  async killBridge(): Promise<void> {
    assert.ok(this.bridge, 'no bridge started');
    await this.bridge.kill();
  }

  statuses(since = 0): StatusSeen[] {
    return this.emu.control
      .events(since)
      .filter((e) => e.kind === 'in' && e.name === 'status' && typeof e.payload === 'object' && e.payload !== null)
      .map((e) => ({ seq: e.seq, ...(e.payload as Omit<StatusSeen, 'seq'>) }));
  }

  lastStatus(): StatusSeen | undefined {
    return this.statuses().at(-1);
  }

  reports(): JobReportSeen[] {
    return (this.emu.control.printer(this.serial)?.jobReports ?? []) as JobReportSeen[];
  }

  /** Queues a cloud job in the emulator and sends `print` as Polar's PRINT button does. */
  print(job: QueuedJobInfo): void {
    const n = this.emu.control.send(this.serial, 'print', { serialNumber: this.serial, jobId: job.jobId, jobName: job.jobName, gcodeFile: job.gcodeUrl });
    assert.equal(n, 1, 'print reached the bridge');
  }

  /** A ~5 s print with layer info (a timelapse frame per layer), heaters preheated. */
  smallJob(name: string): QueuedJobInfo {
    this.sim.control.setHeaterTemperature('heater_bed', 60);
    this.sim.control.setHeaterTemperature('extruder', 210);
    return this.emu.control.addJob(this.serial, { jobName: name, content: demoGcode(LAYERS, MOVES_PER_LAYER) });
  }

  printStats(): { state?: string; filename?: string } {
    return this.sim.control.printerObjects()['print_stats'] as { state?: string; filename?: string };
  }

  progress(): number {
    return Number(this.sim.control.printerObjects()['virtual_sdcard']?.['progress'] ?? 0);
  }

  async jobsFile(): Promise<{ tracker?: { pendingCloud?: { jobId: string } | null }; outbox?: JobReportSeen[] } | null> {
    const text = await readFile(join(this.dataDir, 'jobs.json'), 'utf8').catch(() => null);
    return text === null ? null : (JSON.parse(text) as { outbox?: JobReportSeen[] });
  }

  /** Idle again: the cloud's last status is 0 Ready and no report waits in the outbox. */
  async waitIdle(timeoutMs: number): Promise<void> {
    await until(async () => this.lastStatus()?.status === 0 && ((await this.jobsFile())?.outbox?.length ?? 0) === 0, timeoutMs, 'the bridge idle (status 0, empty outbox)');
  }

  /** What everything looked like, for failure messages. */
  async context(): Promise<string> {
    const runs = distinct(this.statuses().map((s) => `${s.status}${s.jobId ? `[${s.jobId}]` : ''}`));
    const lines = [
      `cloud saw statuses: ${runs.join(' → ') || 'none'}`,
      `job reports: ${JSON.stringify(this.reports())}`,
      `uploads: ${this.emu.control.uploads().map((u) => `${u.type ?? '?'}${u.jobId ? `[${u.jobId}]` : ''}`).join(', ') || 'none'}`,
      `violations: ${JSON.stringify(this.emu.control.violations().map((v) => v.reason))}`,
      `printer: ${JSON.stringify({ ...this.emu.control.printer(this.serial), publicKey: undefined, hello: undefined, lastStatus: undefined, customCommandList: undefined })}`,
      `print_stats: ${JSON.stringify(this.printStats())}`,
      `data_dir: ${collapseFrames(await filesUnder(this.dataDir)).join(' ')}`,
      `gcodes: ${(await filesUnder(this.gcodesDir)).join(' ')}`,
      `jobs.json: ${JSON.stringify(await this.jobsFile())}`,
      ...this.runs.map((b) => b.describe()),
    ];
    return lines.join('\n');
  }

  // ---- invariants ----

  /** No file of the cloud job outside gcodes/polarcloud/, and none half-written inside it. */
  async assertGcodesClean(job: QueuedJobInfo, expectedBytes: number): Promise<void> {
    const files = (await filesUnder(this.gcodesDir)).filter((f) => !f.endsWith('/'));
    const stray = files.filter((f) => !f.startsWith('polarcloud/'));
    assert.deepEqual(stray, [], 'files outside gcodes/polarcloud/');
    for (const f of files) {
      assert.equal(f, `polarcloud/${cloudFileName(job.jobName, job.jobId)}`, 'only the job file in the cloud folder');
      assert.equal((await stat(join(this.gcodesDir, f))).size, expectedBytes, `${f} is complete`);
    }
  }

  async assertNoStaleDownloads(): Promise<void> {
    const dir = join(this.dataDir, 'downloads');
    await until(async () => (await filesUnder(dir)).length === 0, 5000, 'data_dir/downloads empty').catch(() => undefined);
    assert.deepEqual(await filesUnder(dir), [], 'data_dir/downloads is empty once idle');
  }

  async assertNoFrameFolders(): Promise<void> {
    const dir = join(this.dataDir, 'timelapse');
    await until(async () => (await filesUnder(dir)).length === 0, 5000, 'data_dir/timelapse empty').catch(() => undefined);
    // Folder names with their file counts: a leftover folder holds dozens of frames.
    const left = await filesUnder(dir);
    const folders = left.filter((f) => f.endsWith('/')).map((d) => `${d} (${left.filter((f) => f.startsWith(d) && f !== d).length} files)`);
    assert.deepEqual(folders, [], 'data_dir/timelapse is empty once idle');
    assert.deepEqual(left, [], 'no loose file in data_dir/timelapse');
  }

  /** Every report is this job's, exactly one, with this state. */
  async assertReportedOnce(jobId: string, state: 'completed' | 'canceled'): Promise<void> {
    await until(() => this.reports().some((r) => r.jobId === jobId), 20_000, `the job report of ${jobId}`);
    await this.waitIdle(20_000);
    await sleep(500); // a repeat would go out right after hello or with the next outbox flush
    assert.deepEqual(
      this.reports().map((r) => ({ jobId: r.jobId, state: r.state })),
      [{ jobId, state }],
      'exactly one job report, for the cloud job',
    );
  }

  assertNoViolations(): void {
    assert.deepEqual(
      this.emu.control.violations().map((v: EmulatorEvent) => v.reason),
      [],
      'no protocol violations',
    );
  }
}

/** Listing with timelapse frames counted per folder rather than named. */
function collapseFrames(files: string[]): string[] {
  const frames = new Map<string, number>();
  const rest: string[] = [];
  for (const f of files) {
    const m = /^(.*\/)frame-\d+\.jpg$/.exec(f);
    if (m) frames.set(m[1]!, (frames.get(m[1]!) ?? 0) + 1);
    else rest.push(f);
  }
  return [...rest, ...[...frames].map(([d, n]) => `${d}frame-*.jpg ×${n}`)];
}

function distinct<T>(xs: T[]): T[] {
  return xs.filter((x, i) => i === 0 || xs[i - 1] !== x);
}
