// When to send the Polar `status` message. Event-driven: every printer, job or
// feature change recomputes the status (pure mapper); a meaningful change goes
// out at once, coalesced so at most one message leaves per `minSpacingMs`.
// Otherwise a heartbeat: every `activeIntervalMs` while printing or heating,
// every `idleIntervalMs` when idle. Nothing is sent before hello SUCCESS; the
// current status goes out right after it.
import type { PrinterModel, PrinterSnapshot } from '../../moonraker-bridge/index.js';
import type { JobService } from '../jobs/job-service.js';
import type { FinishState, JobReport, PendingCloudJob } from '../jobs/job-types.js';
import type { PolarClient } from '../polar/polar-client.js';
import { monoNow, type Clock, type TimerHandle } from '../util/clock.js';
import type { Logger } from '../util/log.js';
import { TypedEmitter } from '../util/typed-emitter.js';
import { defaultChamberObject, mapStatus, statusChangeIsMeaningful, statusChangeIsUrgent } from './status-mapper.js';
import type { PauseKind, PolarStatusMessage, PrepareView, StatusInput } from './status-types.js';

export interface StatusReporterOptions {
  polar: PolarClient;
  printer: PrinterModel;
  jobs: JobService;
  clock: Clock;
  log: Logger;
  idleIntervalMs: number;
  activeIntervalMs: number;
  /** Configured chamber object, or undefined to pick one named "chamber". */
  chamber?: string | undefined;
  minSpacingMs?: number;
  /** Short wait that merges a burst of updates (Klipper sends several per 250 ms tick). */
  debounceMs?: number;
}

export interface StatusReporterEvents {
  sent: { status: PolarStatusMessage; at: number };
}

/** Least time between a message and an urgent change (state, job, target) after it. */
export const URGENT_SPACING_MS = 200;

/** How many consecutive status messages announce a finished cloud job (6/7). */
export const BANNER_REPEATS = 3;

export class StatusReporter {
  readonly events = new TypedEmitter<StatusReporterEvents>();
  private lastSent: PolarStatusMessage | null = null;
  private lastSentAt = -Infinity;
  private sendTimer: TimerHandle | undefined;
  private sendAt = 0;
  private heartbeatTimer: TimerHandle | undefined;
  private offs: (() => void)[] = [];
  private pauseKind: PauseKind | null = null;
  private prepare: PrepareView | null = null;
  private plateBlocking = false;
  private queuedWaiting: PendingCloudJob | null = null;
  private postProcessing: { jobId: string } | null = null;
  private timelapseJobId: string | null = null;
  private updating = false;
  private failures: { jobId: string; message: string; remaining: number }[] = [];
  private announced: string[] = [];
  private banners: { state: FinishState; jobId: string; remaining: number; outranked: number }[] = [];

  constructor(private readonly o: StatusReporterOptions) {}

  start(): void {
    const poke = (): void => this.poke();
    this.offs.push(
      this.o.printer.on('objectsChanged', poke),
      this.o.printer.on('connectionChanged', poke),
      this.o.jobs.events.on('changed', poke),
      // Announced from the tracker's decision, not the outbox write: otherwise print_stats
      // (still printing for a moment) and the finished job disagree in between.
      this.o.jobs.events.on('finished', ({ reports }) => this.announce(reports)),
      this.o.jobs.events.on('reportsQueued', ({ reports }) => this.announce(reports)),
      this.o.polar.events.on('online', () => {
        this.lastSent = null;
        this.sendNow();
      }),
      this.o.polar.events.on('offline', () => this.clearTimers()),
    );
  }

  stop(): void {
    for (const off of this.offs.splice(0)) off();
    this.clearTimers();
  }

  /** 6/7 for each finished cloud job, once per report (both events may carry the same report). */
  private announce(reports: readonly JobReport[]): void {
    for (const r of reports) {
      if (!r.cloud || this.announced.includes(r.key)) continue;
      this.announced = [...this.announced, r.key].slice(-20);
      this.banners.push({ state: r.state, jobId: r.jobId, remaining: BANNER_REPEATS, outranked: 0 });
    }
    this.poke();
  }

  // ---- inputs set by features ----
  setPauseKind(kind: PauseKind | null): void {
    this.pauseKind = kind;
    this.poke();
  }
  get currentPauseKind(): PauseKind | null {
    return this.pauseKind;
  }
  /** The build plate holds the last print and the gate is on (15 while idle). */
  setPlateBlocking(on: boolean): void {
    if (this.plateBlocking === on) return;
    this.plateBlocking = on;
    this.poke();
  }
  /** A cloud job waiting in Moonraker's job queue while the printer is idle (issue 18.4). */
  setQueuedWaiting(job: PendingCloudJob | null): void {
    this.queuedWaiting = job;
    this.poke();
  }
  setPrepare(p: PrepareView | null): void {
    this.prepare = p;
    this.poke();
  }
  /** A timelapse is being recorded for this cloud job: when it completes, post-processing (5) comes first. */
  setTimelapseJob(jobId: string | null): void {
    this.timelapseJobId = jobId;
    this.poke();
  }
  setPostProcessing(p: { jobId: string } | null): void {
    this.postProcessing = p;
    this.poke();
  }
  /** A cloud print failed before printing: 12 with the reason on the next few messages. */
  reportFailure(jobId: string, message: string): void {
    this.failures.push({ jobId, message, remaining: BANNER_REPEATS });
    this.poke();
  }
  setUpdating(on: boolean): void {
    this.updating = on;
    this.poke();
  }

  /** The status as it would be sent now (also used by the CLI/console status). */
  current(): PolarStatusMessage | null {
    const serialNumber = this.o.polar.serialNumber;
    if (!serialNumber) return null;
    const printer = this.o.printer.snapshot();
    const banner = this.banners[0];
    const input: StatusInput = {
      serialNumber,
      printer,
      job: this.o.jobs.job,
      pending: this.o.jobs.pendingCloud,
      staleFile: this.o.jobs.staleFile,
      jobMeta: this.o.jobs.jobMeta,
      prepare: this.prepare,
      plateBlocking: this.plateBlocking,
      queuedWaiting: this.queuedWaiting,
      banner: banner ? { state: banner.state, jobId: banner.jobId } : null,
      pauseKind: this.pauseKind,
      postProcessing: this.postProcessing,
      timelapseJobId: this.timelapseJobId,
      updating: this.updating,
      failure: this.failures[0] ? { jobId: this.failures[0].jobId, message: this.failures[0].message } : null,
      chamberObject: this.o.chamber ?? defaultChamberObject(printer.heaters.map((h) => h.name)),
    };
    return mapStatus(input);
  }

  /** Sends the current status immediately (after a command was acted on). */
  sendNow(): void {
    this.o.clock.clearTimeout(this.sendTimer);
    this.sendTimer = undefined;
    const status = this.current();
    if (!status || !this.o.polar.online) return;
    if (!this.o.polar.send('status', status)) return;
    this.lastSent = status;
    // Spacing runs on the monotonic clock: a wall-clock step back must not hold statuses for hours.
    this.lastSentAt = monoNow(this.o.clock);
    this.events.emit('sent', { status, at: this.o.clock.now() });
    this.consumeBanner(status);
    this.scheduleHeartbeat();
  }

  /**
   * Something changed: send soon if it matters, otherwise leave it to the heartbeat.
   * Drift (temperatures, progress) waits for the 1 s spacing; an urgent change
   * (state, job, target) only for URGENT_SPACING_MS, so it is out within 250 ms.
   */
  private poke(): void {
    if (!this.o.polar.online) return;
    const next = this.current();
    if (!next || !statusChangeIsMeaningful(this.lastSent, next)) return;
    const now = monoNow(this.o.clock);
    const spacing = statusChangeIsUrgent(this.lastSent, next) ? Math.min(URGENT_SPACING_MS, this.o.minSpacingMs ?? 1000) : (this.o.minSpacingMs ?? 1000);
    const at = now + Math.max(this.o.debounceMs ?? 20, this.lastSentAt + spacing - now);
    if (this.sendTimer !== undefined && this.sendAt <= at) return;
    this.o.clock.clearTimeout(this.sendTimer);
    this.sendAt = at;
    this.sendTimer = this.o.clock.setTimeout(() => {
      this.sendTimer = undefined;
      this.sendNow();
    }, at - now);
  }

  private consumeBanner(sent: PolarStatusMessage): void {
    const f = this.failures[0];
    if (f && sent.status === 12 && sent.jobId === f.jobId && --f.remaining <= 0) {
      this.failures.shift();
      this.poke();
      return;
    }
    if (f) return;
    const b = this.banners[0];
    if (!b) return;
    if ((sent.status === 6 || sent.status === 7) && sent.jobId === b.jobId) b.remaining--;
    else if (sent.status === 5 && sent.jobId === b.jobId) {
      // Its timelapse is being made: the announcement waits, however long that takes.
    } else {
      // Outranked (an error, a new print): give up after a few messages rather than pin it.
      const newJob = this.o.jobs.job;
      if ((newJob && newJob.jobId !== b.jobId) || ++b.outranked >= BANNER_REPEATS * 2) b.remaining = 0;
    }
    if (b.remaining <= 0) this.banners.shift();
    // The next announcement (or the return to Ready) follows at the normal spacing.
    this.poke();
  }

  private scheduleHeartbeat(): void {
    this.o.clock.clearTimeout(this.heartbeatTimer);
    const interval = this.banners.length > 0 || this.failures.length > 0 ? (this.o.minSpacingMs ?? 1000) : isActive(this.o.printer.snapshot(), this.prepare !== null) ? this.o.activeIntervalMs : this.o.idleIntervalMs;
    this.heartbeatTimer = this.o.clock.setTimeout(() => {
      this.heartbeatTimer = undefined;
      this.sendNow();
    }, interval);
  }

  private clearTimers(): void {
    this.o.clock.clearTimeout(this.sendTimer);
    this.o.clock.clearTimeout(this.heartbeatTimer);
    this.sendTimer = undefined;
    this.heartbeatTimer = undefined;
  }
}

/** Printing, preparing or heating: the short heartbeat applies. */
export function isActive(s: PrinterSnapshot, preparing: boolean): boolean {
  if (preparing) return true;
  const state = s.print_stats.state;
  if (state === 'printing' || state === 'paused') return true;
  return s.heaters.some((h) => (h.target ?? 0) > 0 || (h.kind === 'heater' && (h.temperature ?? 0) > 50));
}
