// Runs the pure job tracker against the live printer: feeds it printer
// snapshots, Moonraker history notifications and a history replay after every
// (re)connect (to catch transitions missed while either side was down), keeps
// its state and the job-report outbox on disk, and fetches the running file's
// metadata for the status mapper.
import type { MoonrakerApi, MoonrakerClient, PrinterModel, PrinterSnapshot, HistoryJob } from '../../moonraker-bridge/index.js';
import { monoNow, type Clock, type TimerHandle } from '../util/clock.js';
import { errText, type Logger } from '../util/log.js';
import { TypedEmitter } from '../util/typed-emitter.js';
import { ensurePrivateDir } from '../util/atomic-file.js';
import { HISTORY_GRACE_MS, reduceJob } from './job-tracker.js';
import { JobStore } from './job-store.js';
import { reconcileWithHistory } from './history-reconcile.js';
import type { HistoryRecord, JobReport, PendingCloudJob, TrackedJob, TrackerEvent } from './job-types.js';
import type { JobMeta } from '../status/status-types.js';

export interface JobServiceEvents {
  /** The tracked job, its metadata or the pending cloud job changed. */
  changed: Record<string, never>;
  /** Reports were added to the outbox (durable, unless saving failed: then they are sent from memory). */
  reportsQueued: { reports: JobReport[] };
  /** Jobs just finished, emitted synchronously with the tracker's decision (before the outbox write). */
  finished: { reports: JobReport[] };
}

export interface JobServiceDeps {
  dataDir: string;
  printer: PrinterModel;
  api: MoonrakerApi;
  moonraker: MoonrakerClient;
  clock: Clock;
  log: Logger;
}

/** How many recent history records to replay after a (re)connect. */
const HISTORY_REPLAY = 10;

export class JobService {
  readonly events = new TypedEmitter<JobServiceEvents>();
  readonly store: JobStore;
  private meta: JobMeta | null = null;
  private metaFor: string | null = null;
  private wakeTimer: TimerHandle | undefined;
  private offs: (() => void)[] = [];
  /** Events are reduced strictly in order, each after the previous one's write started. */
  private lastPrintKey = '';
  private running = false;
  /** A cloud job that was being prepared when the service stopped (checked once Klippy is ready). */
  private stalePending: string | null = null;
  /** savedAt of the file loaded at start: history jobs after it are reconciled once. */
  private reconcileAfter: number | null = null;

  constructor(private readonly d: JobServiceDeps) {
    this.store = new JobStore(d.dataDir, d.log, { clock: d.clock });
  }

  get job(): TrackedJob | null {
    return this.store.tracker.active;
  }

  get pendingCloud(): PendingCloudJob | null {
    return this.store.tracker.pendingCloud;
  }

  /** A file history already finished while print_stats may still show it printing. */
  get staleFile(): string | null {
    return this.store.tracker.staleFile ?? null;
  }

  get jobMeta(): JobMeta | null {
    const job = this.job;
    return job && this.meta && this.meta.filename === job.filename ? this.meta : null;
  }

  async start(): Promise<void> {
    await ensurePrivateDir(this.d.dataDir);
    await this.store.load();
    this.reconcileAfter = this.store.loadedSavedAt ?? null;
    await this.rebaseAges();
    this.stalePending = this.store.tracker.pendingCloud?.jobId ?? null;
    this.running = true;
    const { printer, api, moonraker } = this.d;
    this.offs.push(
      printer.on('objectsChanged', ({ changed }) => {
        if (changed.print_stats) this.feedSnapshot(printer.snapshot());
      }),
      printer.on('connectionChanged', () => this.feedSnapshot(printer.snapshot())),
      api.on('historyChanged', ({ action, job }) => {
        if (action === 'added') this.feed({ type: 'historyAdded', at: this.d.clock.now(), record: toRecord(job) });
        else if (action === 'finished') this.feed({ type: 'historyFinished', at: this.d.clock.now(), record: toRecord(job) });
      }),
      moonraker.on('ready', () => void this.replayHistory()),
    );
    if (this.store.tracker.active) {
      const a = this.store.tracker.active;
      this.d.log.info(`resuming tracking of ${a.cloud ? `cloud job ${a.jobId}` : 'local job'} (${a.filename})`);
    }
    if (this.store.outbox.length) this.d.log.info(`${this.store.outbox.length} job report(s) waiting to be sent to Polar Cloud`);
    this.scheduleWake(this.store.tracker.ended ? this.store.tracker.ended.at + HISTORY_GRACE_MS : null, this.store.tracker.ended?.mono);
  }

  async stop(): Promise<void> {
    this.running = false;
    for (const off of this.offs.splice(0)) off();
    this.d.clock.clearTimeout(this.wakeTimer);
    this.wakeTimer = undefined;
    await this.store.close();
  }

  /** A cloud job is about to be started under `filename` (cloud-print feature). */
  cloudStart(job: PendingCloudJob): void {
    this.feed({ type: 'cloudStart', at: this.d.clock.now(), job });
  }

  /** The cloud job never started printing: it is reported canceled. */
  cloudAbort(jobId: string): void {
    this.feed({ type: 'cloudAbort', at: this.d.clock.now(), jobId });
  }

  /** A cloud job's file waits in Moonraker's job queue; it is the cloud job when it starts. */
  cloudQueue(job: PendingCloudJob): void {
    this.feed({ type: 'cloudQueue', at: this.d.clock.now(), job });
  }

  /** Forgets a cloud job that failed before printing (no report: it stays queued in the cloud). */
  cloudDrop(jobId: string): void {
    this.feed({ type: 'cloudDrop', at: this.d.clock.now(), jobId });
  }

  /** Cloud jobs waiting in Moonraker's job queue. */
  get queuedCloud(): readonly PendingCloudJob[] {
    return this.store.tracker.queuedCloud ?? [];
  }

  /** Reports sent on an authenticated connection: drop them from the outbox. */
  async acknowledge(keys: ReadonlySet<string>): Promise<void> {
    await this.store.remove(keys);
  }

  private feedSnapshot(s: PrinterSnapshot): void {
    const ps = s.print_stats;
    const ready = s.connection === 'klippy_ready';
    const ev: TrackerEvent = {
      type: 'snapshot',
      at: this.d.clock.now(),
      ready,
      printState: ps.state ?? 'standby',
      filename: ps.filename ?? '',
      printDuration: ps.print_duration ?? 0,
      totalDuration: ps.total_duration ?? 0,
      filamentUsed: ps.filament_used ?? 0,
    };
    this.feed(ev);
  }

  /**
   * Jobs loaded from disk carry wall-clock times only: their ages continue on this process's
   * monotonic clock from the age the wall clock gives now (the best there is across a restart).
   */
  private async rebaseAges(): Promise<void> {
    const t = this.store.tracker;
    if (!t.pendingCloud && !t.queuedCloud?.length && !t.ended) return;
    const wall = this.d.clock.now();
    const mono = monoNow(this.d.clock);
    const rebase = (j: PendingCloudJob): PendingCloudJob => ({ ...j, sinceMono: mono - Math.max(0, wall - j.since) });
    // The rebased stamps live in memory (the store takes the new state before writing it); a failed
    // write changes nothing that matters, the stamps are never read back from disk.
    await this.store.update(
      {
        ...t,
        pendingCloud: t.pendingCloud ? rebase(t.pendingCloud) : null,
        ...(t.queuedCloud ? { queuedCloud: t.queuedCloud.map(rebase) } : {}),
        ended: t.ended ? { ...t.ended, mono: mono - Math.max(0, wall - t.ended.at) } : null,
      },
      [],
    ).catch((err) => this.d.log.debug(`job state not rewritten after load (kept in memory): ${errText(err)}`));
  }

  private feed(event: TrackerEvent): void {
    if (!this.running) return;
    // Ages and waits run on the monotonic clock (a wall-clock jump must not expire a queued job).
    const ev: TrackerEvent = event.mono === undefined ? { ...event, mono: monoNow(this.d.clock) } : event;
    const before = this.store.tracker;
    const res = reduceJob(before, ev);
    this.scheduleWake(res.wakeAt, res.state.ended?.mono);
    if (!res.changed && res.reports.length === 0) return;
    for (const r of res.reports) {
      this.d.log.info(`job finished: ${r.cloud ? `cloud job ${r.jobId}` : 'local job'} ${r.filename} ${r.state} (${r.printSeconds} s, ${r.filamentUsed} mm)`);
    }
    const write = this.store.update(res.state, res.reports);
    if (res.reports.length) this.events.emit('finished', { reports: res.reports });
    if (res.reports.length) {
      const reports = res.reports;
      // A failed save (full disk) must not hold the report back: it is in the outbox in memory,
      // the store retries the save, and the sender sends it now.
      write.then(
        () => this.events.emit('reportsQueued', { reports }),
        () => this.events.emit('reportsQueued', { reports }),
      );
    }
    const job = res.state.active;
    const key = job ? `${job.jobId}|${job.filename}` : '';
    if (key !== this.lastPrintKey) {
      this.lastPrintKey = key;
      if (job) this.d.log.info(`tracking ${job.cloud ? `cloud job ${job.jobId}` : 'local job'}: ${job.filename}`);
      if (job && this.metaFor !== job.filename) void this.loadMeta(job.filename);
    }
    this.events.emit('changed', {});
  }

  /** `endedMono`: when the wait started on the monotonic clock (preferred over the wall-clock `at`). */
  private scheduleWake(at: number | null, endedMono?: number): void {
    this.d.clock.clearTimeout(this.wakeTimer);
    this.wakeTimer = undefined;
    if (at === null || !this.running) return;
    const delay = endedMono !== undefined ? endedMono + HISTORY_GRACE_MS - monoNow(this.d.clock) : at - this.d.clock.now();
    this.wakeTimer = this.d.clock.setTimeout(() => {
      this.wakeTimer = undefined;
      this.feed({ type: 'tick', at: this.d.clock.now() });
    }, Math.max(0, delay));
  }

  private async loadMeta(filename: string): Promise<void> {
    this.metaFor = filename;
    try {
      const m = await this.d.api.fileMetadata(filename);
      if (this.metaFor !== filename) return;
      this.meta = {
        filename,
        estimatedTime: m.estimated_time ?? null,
        filamentTotal: m.filament_total ?? null,
        gcodeStartByte: m.gcode_start_byte ?? null,
        gcodeEndByte: m.gcode_end_byte ?? null,
        size: m.size,
      };
      this.events.emit('changed', {});
    } catch (err) {
      this.metaFor = null;
      this.d.log.debug(`no metadata for ${filename}: ${errText(err)}`);
    }
  }

  /**
   * A cloud job that was still being prepared when the service stopped: no pipeline survives a
   * restart, so unless print_stats shows its file (the start got through), it is reported
   * canceled — it stays queued in Polar — instead of blocking the printer as "starting".
   */
  private async settleStalePending(): Promise<void> {
    const jobId = this.stalePending;
    if (!jobId || this.d.printer.connectionState !== 'klippy_ready') return;
    this.stalePending = null;
    const pending = this.store.tracker.pendingCloud;
    if (!pending || pending.jobId !== jobId) return;
    const ps = this.d.printer.snapshot().print_stats;
    const running = (ps.state === 'printing' || ps.state === 'paused') && (ps.filename ?? '').replace(/^\/+/, '') === pending.filename;
    if (running) return;
    this.d.log.warn(`cloud job ${jobId} was being prepared when the service stopped; reporting it canceled (it stays queued in Polar Cloud)`);
    this.cloudAbort(jobId);
  }

  /** After every (re)subscribe: the latest history records, oldest first, so missed ends are found. */
  private async replayHistory(): Promise<void> {
    this.feedSnapshot(this.d.printer.snapshot());
    await this.settleStalePending();
    const reconcileAfter = this.reconcileAfter;
    if (!this.store.tracker.active && reconcileAfter === null) return;
    let jobs: HistoryJob[];
    try {
      jobs = (await this.d.api.historyList({ limit: HISTORY_REPLAY, order: 'desc' })).jobs;
    } catch (err) {
      this.d.log.debug(`history not available (${errText(err)}); job ends are taken from print_stats`);
      return;
    }
    const records = jobs.reverse().map(toRecord);
    for (const record of records) {
      const at = this.d.clock.now();
      this.feed(record.status === 'in_progress' ? { type: 'historyAdded', at, record } : { type: 'historyFinished', at, record });
    }
    if (reconcileAfter !== null && this.running) {
      this.reconcileAfter = null;
      this.reconcile(records, reconcileAfter);
    }
  }

  /**
   * Jobs that started after the last successful save and ended before this start: the file never
   * heard of them (the disk was full, or the service stopped before it could save), so the tracker
   * cannot either. Reported once from Moonraker's history.
   */
  private reconcile(records: HistoryRecord[], savedAt: number): void {
    const res = reconcileWithHistory(this.store.tracker, records, savedAt, this.d.clock.now());
    this.d.log.debug(`checked Moonraker's history for jobs since the last save (${new Date(savedAt).toISOString()}): ${res.reports.length} unreported`);
    if (res.reports.length === 0) return;
    for (const r of res.reports) {
      this.d.log.warn(`job finished while its state could not be saved: ${r.cloud ? `cloud job ${r.jobId}` : 'local job'} ${r.filename} ${r.state} (from Moonraker's history)`);
    }
    const reports = res.reports;
    const emit = (): void => this.events.emit('reportsQueued', { reports });
    this.store.update(res.state, reports).then(emit, emit);
    this.events.emit('changed', {});
  }
}

function toRecord(job: HistoryJob): HistoryRecord {
  return {
    job_id: job.job_id,
    filename: job.filename,
    status: job.status,
    start_time: job.start_time,
    print_duration: job.print_duration,
    filament_used: job.filament_used,
  };
}
