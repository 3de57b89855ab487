// The whole bridge (Controller) against the Polar Cloud emulator and the
// Moonraker simulator, registered and online, plus helpers to read what the
// cloud received.
import { startPolarEmulator, type EmulatorEvent, type PolarEmulator } from '../../src/emulator/index.js';
import { startMoonrakerSimulator, type MoonrakerSimulator } from '../../src/simulator/index.js';
import type { Controller } from '../../src/controller.js';
import { prusaGcode } from '../simulator/gcode-samples.js';
import { LogCapture, eventually, makeController, makeDataDir, moonrakerYaml } from '../helpers/bridge-setup.js';
import { HealthRecorder, checkStatusStream, streamFromEmulator } from '../helpers/status-stream.js';

export interface StatusSeen {
  seq: number;
  status: number;
  jobId?: string;
  progressDetail?: string;
  [k: string]: unknown;
}

export class Bridge {
  serial = '';
  c!: Controller;
  /** The simulator's real state over time, for the status-stream checker. */
  readonly health: HealthRecorder;
  /** Set false by a test that makes the stream lie on purpose (e.g. it injects statuses). */
  checkStatusStream = true;

  constructor(
    readonly emu: PolarEmulator,
    readonly sim: MoonrakerSimulator,
    readonly dataDir: string,
    readonly log: LogCapture,
    private readonly extraYaml: string,
  ) {
    this.health = new HealthRecorder(emu, sim);
    this.health.start();
  }

  /**
   * `camera`: lines added under `camera:` (the simulator's webcam is used); without it the
   * camera is off, so tests about other things do not upload images.
   */
  static async start(o: { speedFactor?: number; extraYaml?: string; camera?: string; emulatorNow?: () => number; pin?: string } = {}): Promise<Bridge> {
    const emu = await startPolarEmulator(o.emulatorNow ? { now: o.emulatorNow } : {});
    const sim = await startMoonrakerSimulator({ speedFactor: o.speedFactor ?? 50, temperatureNoise: false });
    const camera =
      o.camera === undefined
        ? 'camera:\n  enabled: false\n'
        : `camera:\n  web_base_url: ${sim.url}\n${o.camera.split('\n').filter(Boolean).map((l) => `  ${l}\n`).join('')}`;
    const b = new Bridge(emu, sim, await makeDataDir(), new LogCapture(), camera + (o.extraYaml ?? ''));
    b.c = b.makeController();
    b.serial = (await b.c.register('a@b.example', o.pin ?? '1234')).serialNumber;
    await b.c.start();
    await b.ready();
    return b;
  }

  makeController(): Controller {
    const yaml = `${moonrakerYaml(this.sim.url)}status:\n  idle_interval: 5\n  active_interval: 2\n${this.extraYaml}`;
    return makeController(this.emu.url, this.dataDir, this.log, { extraYaml: yaml, withMoonraker: true, statusSpacingMs: 100 });
  }

  /** Stops the bridge (as a crash/restart would, minus the crash) and starts a new one on the same data dir. */
  async restart(): Promise<void> {
    await this.c.stop();
    this.c = this.makeController();
    await this.c.start();
    await this.ready();
  }

  async ready(): Promise<void> {
    await eventually(() => this.c.polar.online && this.c.printer.snapshot().connection === 'klippy_ready', 10_000, 'bridge online and printer ready');
  }

  /** Every stop checks the whole status stream the cloud received (test/helpers/status-stream.ts). */
  async stop(): Promise<void> {
    this.health.stop();
    await this.c.stop();
    const violations = this.checkStatusStream ? this.statusViolations() : [];
    await this.sim.stop();
    await this.emu.stop();
    if (violations.length) throw new Error(`status stream is not an exact mirror:\n${violations.join('\n')}\nstream: ${this.statusCodes()}`);
  }

  /** Grammar violations in what the cloud received so far. */
  statusViolations(): string[] {
    return checkStatusStream(streamFromEmulator(this.emu, this.serial, this.health.samples));
  }

  /** The received stream as `code/jobId` tokens (for notes and failure messages). */
  statusCodes(since = 0): string {
    return this.statuses(since)
      .map((s) => `${s.status}${s.jobId ? `/${s.jobId}` : ''}`)
      .join(' ');
  }

  /** Status messages the cloud received after `since` (emulator seq). */
  statuses(since = 0): StatusSeen[] {
    return this.emu.control
      .events(since)
      .filter((e) => e.kind === 'in' && e.name === 'status')
      
      .map(toStatus);
  }

  async waitStatus(pred: (s: StatusSeen) => boolean, since = 0, timeoutMs = 10_000, what = 'status'): Promise<StatusSeen> {
    const e = await this.emu.control.waitFor(
      (ev) => ev.kind === 'in' && ev.name === 'status' && pred(toStatus(ev)),
      timeoutMs,
      since,
    ).catch((err: Error) => {
      throw new Error(`${what}: ${err.message}; seen: ${this.statuses(since).map((s) => s.status).join(',')}`);
    });
    return toStatus(e);
  }

  jobReports(): Array<{ jobId: string; state: string; printSeconds?: number; filamentUsed?: number }> {
    return (this.emu.control.printer(this.serial)?.jobReports ?? []) as Array<{ jobId: string; state: string }>;
  }

  commandResponses(): string[] {
    return this.emu.control.printer(this.serial)?.commandResponses ?? [];
  }

  /** Sends a cloud command to the bridge. */
  send(event: string, payload: Record<string, unknown> = {}): void {
    this.emu.control.send(this.serial, event, { serialNumber: this.serial, ...payload });
  }

  async addGcode(name: string, layers = 4, movesPerLayer = 12): Promise<void> {
    await this.sim.control.addFile(name, prusaGcode({ layers, movesPerLayer }));
  }

  /** What the cloud-print feature does once the file is on the printer: tell the tracker, then start it. */
  /** Heaters already at the sample G-code's temperatures, so M190/M109 do not wait. */
  preheat(): void {
    this.sim.control.setHeaterTemperature('heater_bed', 60);
    this.sim.control.setHeaterTemperature('extruder', 210);
  }

  async startCloudJob(jobId: string, filename: string): Promise<void> {
    this.preheat();
    this.c.jobs.cloudStart({ jobId, filename, since: Date.now(), jobName: `Job ${jobId}` });
    await this.c.moonrakerApi.printStart(filename);
  }

  gcodeSince(n: number): string[] {
    return this.sim.control.gcodeLog().slice(n);
  }

  rpcMethodsSince(t: number): string[] {
    return this.sim.control.rpcLog().filter((r) => r.time >= t).map((r) => r.method);
  }
}

function toStatus(e: EmulatorEvent): StatusSeen {
  return { ...(e.payload as Record<string, unknown>), seq: e.seq } as StatusSeen;
}

export { eventually };
