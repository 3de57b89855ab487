// The soak's simulated day: prints one after the other (cloud prints sent
// with Polar's PRINT button or asked for by the bridge, some canceled from
// the cloud; local prints started as Mainsail would) with idle gaps between
// them, hourly cloud link drops and Moonraker websocket drops, two Moonraker
// restarts and one 10-minute cloud outage timed to cover the end of a cloud
// print (its report waits in the outbox); samples on a fixed simulated cadence.
// The last half hour stays idle so every report is in before the verdict.
import type { Controller } from '../src/controller.js';
import { errText } from '../src/util/log.js';
import { prusaGcode } from '../test/simulator/gcode-samples.js';
import { Rng } from '../test/fuzz/gen.js';
import type { ScaledClock } from './soak-clock.js';
import type { CloudControl, PrinterControl } from './soak-control.js';

export type PrintKind = 'cloud' | 'cloud-next' | 'cloud-cancel' | 'local';

/** 8 cloud (one canceled) : 5 local; a 24 h day with the default seed runs 18 cloud (2 canceled) and 11 local prints. */
const PATTERN: PrintKind[] = ['cloud', 'local', 'cloud-next', 'local', 'cloud', 'cloud-cancel', 'local', 'cloud', 'cloud', 'local', 'cloud-next', 'cloud', 'local'];
const MIN = 60_000;
const HOUR = 60 * MIN;
const POLL_MS = 10_000;
const SAMPLE_EVERY_MS = 20 * MIN;
const START_DEADLINE_MS = 20 * MIN;
const OUTAGE_MS = 10 * MIN;
/** Moves of 40 mm at F3000: 0.8 s each, 40 per layer. */
const MOVES_PER_LAYER = 40;
const LAYER_SECONDS = MOVES_PER_LAYER * 0.8;

export interface PrintRecord {
  n: number;
  kind: PrintKind;
  name: string;
  plannedMin: number;
  jobId?: string;
  /** The job report the cloud must get exactly once. */
  expected: 'completed' | 'canceled';
  startedH?: number;
  endedH?: number;
  /** print_stats.state it ended in, or why it did not run. */
  end?: string;
}

export interface DayCounts {
  cloudDrops: number;
  wsDrops: number;
  moonrakerRestarts: number;
  cloudOutages: number;
  controlErrors: number;
}

interface Active {
  rec: PrintRecord;
  phase: 'sending' | 'starting' | 'printing';
  since: number;
  gcodeUrl?: string;
  filename?: string;
  cancelAt?: number;
  cancelSent?: boolean;
}

export interface DayOptions {
  clock: ScaledClock;
  cloud: CloudControl;
  printer: PrinterControl;
  controller: Controller;
  serial: string;
  hours: number;
  seed: number;
  sample: (h: number, printerState: string, prints: number) => void;
  /** Why the day cannot go on (e.g. the emulator/simulator process died), or undefined. */
  broken: () => string | undefined;
  note: (h: number, msg: string) => void;
}

export class Day {
  readonly prints: PrintRecord[] = [];
  readonly counts: DayCounts = { cloudDrops: 0, wsDrops: 0, moonrakerRestarts: 0, cloudOutages: 0, controlErrors: 0 };
  private readonly t0: number;
  private readonly endMs: number;
  private readonly rand: Rng;
  private active: Active | null = null;
  private nextStart = 10 * MIN;
  private nextSample = 0;
  private nextCloudDrop = 20 * MIN;
  private nextWsDrop = 50 * MIN;
  private readonly restarts: number[];
  private outageAt: number;
  private state = '?';

  constructor(private readonly o: DayOptions) {
    this.t0 = o.clock.now();
    this.endMs = o.hours * HOUR;
    this.rand = new Rng(o.seed);
    this.restarts = [0.23, 0.69].map((f) => f * this.endMs);
    this.outageAt = 0.46 * this.endMs;
  }

  private now(): number {
    return this.o.clock.now() - this.t0;
  }

  private h(t = this.now()): number {
    return t / HOUR;
  }

  /** Runs the day; resolves when it is over and the printer is idle. */
  async run(): Promise<void> {
    for (;;) {
      const t = this.now();
      if (t >= this.endMs && !this.active) break;
      const broken = this.o.broken();
      if (broken) {
        this.o.note(this.h(t), `day aborted: ${broken}`);
        break;
      }
      if (t >= this.endMs + 2 * HOUR) {
        this.o.note(this.h(t), `print ${this.active?.rec.n ?? '?'} still running 2 h after the end of the day; giving up on it`);
        if (this.active) this.active.rec.end ??= `still ${this.active.phase} at the end`;
        break;
      }
      await this.guard('link events', () => this.linkEvents(t));
      await this.guard('print', () => this.stepPrint(t));
      if (t >= this.nextSample) {
        this.nextSample += SAMPLE_EVERY_MS;
        this.o.sample(this.h(t), this.state, this.prints.filter((p) => p.endedH !== undefined).length);
      }
      await new Promise((r) => setTimeout(r, this.o.clock.real(POLL_MS)));
    }
  }

  /** Control calls fail while Moonraker restarts (the simulator's control API is on its server): retried next poll. */
  private async guard(what: string, fn: () => Promise<void>): Promise<void> {
    try {
      await fn();
    } catch (err) {
      this.counts.controlErrors++;
      if (this.counts.controlErrors <= 20) this.o.note(this.h(), `${what}: ${errText(err)} (retried)`);
    }
  }

  private async linkEvents(t: number): Promise<void> {
    if (t >= this.nextCloudDrop && t < this.endMs) {
      this.nextCloudDrop += HOUR;
      await this.o.cloud.drop(this.o.serial);
      this.counts.cloudDrops++;
    }
    if (t >= this.nextWsDrop && t < this.endMs) {
      this.nextWsDrop += HOUR;
      await this.o.printer.dropWebsockets();
      this.counts.wsDrops++;
    }
    if (this.restarts.length && t >= this.restarts[0]!) {
      this.restarts.shift();
      await this.o.printer.restartMoonraker(20_000);
      this.counts.moonrakerRestarts++;
      this.o.note(this.h(t), `Moonraker restart (down 20 s)${this.active ? ` during print ${this.active.rec.n}` : ''}`);
    }
    if (t >= this.outageAt && (this.nearCloudEnd(t) || t >= this.outageAt + 0.25 * this.endMs)) {
      this.outageAt = Infinity;
      await this.o.cloud.refuse(this.o.clock.real(OUTAGE_MS));
      this.counts.cloudOutages++;
      this.o.note(this.h(t), `cloud outage (${OUTAGE_MS / MIN} min)${this.active ? ` during print ${this.active.rec.n} (${this.active.rec.kind})` : ''}`);
    }
  }

  /** A cloud print that should complete within minutes (planned length + heating). */
  private nearCloudEnd(t: number): boolean {
    const a = this.active;
    return !!a && a.phase === 'printing' && a.rec.expected === 'completed' && a.rec.kind !== 'local' && t - a.since >= (a.rec.plannedMin + 2) * MIN;
  }

  private async stepPrint(t: number): Promise<void> {
    const ps = await this.o.printer.printStats();
    this.state = ps.state;
    const a = this.active;
    if (!a) {
      if (t >= this.nextStart) await this.startNext(t);
      return;
    }
    const running = ps.state === 'printing' || ps.state === 'paused';
    if (a.phase === 'sending') return this.send(a, t);
    if (a.phase === 'starting') {
      const mine = a.rec.kind === 'local' ? ps.filename === a.filename : ps.filename.startsWith('polarcloud/') && ps.filename.includes(a.rec.jobId ?? '\0');
      if (running && mine) {
        a.phase = 'printing';
        a.since = t;
        a.rec.startedH = this.h(t);
        if (a.rec.kind === 'cloud-cancel') a.cancelAt = t + 0.4 * a.rec.plannedMin * MIN;
      } else if (t - a.since > START_DEADLINE_MS) {
        this.finish(a, t, `did not start within 20 min (print_stats ${ps.state} ${ps.filename})`);
      }
      return;
    }
    if (running) {
      if (a.cancelAt !== undefined && !a.cancelSent && t >= a.cancelAt) {
        a.cancelSent = (await this.o.cloud.send(this.o.serial, 'cancel')) > 0;
      }
      if (t - a.since > 2 * a.rec.plannedMin * MIN + 30 * MIN) this.finish(a, t, `still ${ps.state} long after its planned ${a.rec.plannedMin} min`);
      return;
    }
    this.finish(a, t, ps.state);
  }

  private finish(a: Active, t: number, end: string): void {
    a.rec.end = end;
    a.rec.endedH = this.h(t);
    this.active = null;
    this.nextStart = t + (8 + 22 * this.rand.next()) * MIN;
    const want = a.rec.expected === 'completed' ? 'complete' : 'cancelled';
    if (end !== want) this.o.note(this.h(t), `print ${a.rec.n} (${a.rec.kind}${a.rec.jobId ? ` ${a.rec.jobId}` : ''}) ended '${end}', expected '${want}'`);
  }

  private async startNext(t: number): Promise<void> {
    const n = this.prints.length + 1;
    const kind = PATTERN[(n - 1) % PATTERN.length]!;
    const plannedMin = Math.round(10 + 30 * this.rand.next());
    // The last half hour stays idle: every print and its report are done before the verdict.
    if (t + (plannedMin + 30) * MIN > this.endMs) {
      this.nextStart = Infinity;
      return;
    }
    const layers = Math.max(3, Math.round((plannedMin * 60) / LAYER_SECONDS));
    const content = prusaGcode({ layers, movesPerLayer: MOVES_PER_LAYER });
    const name = `Soak ${n} ${kind}`;
    const rec: PrintRecord = { n, kind, name, plannedMin, expected: kind === 'cloud-cancel' ? 'canceled' : 'completed' };
    if (kind === 'local') {
      const filename = `soak/local-${n}.gcode`;
      await this.o.printer.addFile(filename, content);
      this.prints.push(rec);
      await this.o.printer.startLocalPrint(filename);
      this.active = { rec, phase: 'starting', since: t, filename };
      return;
    }
    const job = await this.o.cloud.addJob(this.o.serial, name, content);
    rec.jobId = job.jobId;
    this.prints.push(rec);
    this.active = { rec, phase: 'sending', since: t, gcodeUrl: job.gcodeUrl };
    await this.send(this.active, t);
  }

  /** The cloud job reaches the bridge (retried while the link is down). */
  private async send(a: Active, t: number): Promise<void> {
    const { rec } = a;
    let sent = false;
    if (rec.kind === 'cloud-next') {
      const c = this.o.controller;
      if (c.polar.online) {
        try {
          await c.session.sendNextPrint(rec.jobId);
          sent = true;
        } catch (err) {
          this.o.note(this.h(t), `sendNextPrint for ${rec.jobId ?? '?'}: ${errText(err)} (retried)`);
        }
      }
    } else {
      sent = (await this.o.cloud.send(this.o.serial, 'print', { jobId: rec.jobId, jobName: rec.name, gcodeFile: a.gcodeUrl })) > 0;
    }
    if (sent) {
      a.phase = 'starting';
      a.since = t;
    } else if (t - a.since > START_DEADLINE_MS) {
      this.finish(a, t, 'never reached the bridge');
    }
  }
}
