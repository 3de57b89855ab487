// Cloud jobs waiting in Moonraker's job queue (cloud_print.when_busy: queue) belong to
// the bridge (issue 18.4). Moonraker pauses its queue when a print is canceled or fails,
// which left the waiting cloud job stuck while Polar showed Ready. This keeper:
//  - shows the waiting job while the printer is idle (2 "waiting in the printer's job
//    queue", or 15 while the build plate gate holds it), never 0;
//  - starts Moonraker's queue once the printer is free and the plate is clear;
//  - lets a cloud `cancel` take it out of the queue (CloudPrint.cancelQueued) — reported
//    canceled once; per protocol §2.1 the cloud keeps it in its own queue.
// Only jobs really in Moonraker's queue count: a job the pipeline holds for the plate
// (print-pipeline.ts waitTurn) has its own status and never enters that queue.
// After a bridge restart (docs/room-of-printers.md): a cloud job still in Moonraker's queue is
// resumed (shown, started when allowed); one the previous process held for the plate (its
// pipeline is gone) is reported canceled once and its uploaded file deleted, so the cloud can
// send it again (§2.1 keeps it in the cloud's queue).
import type { PendingCloudJob } from '../jobs/job-types.js';
import { sameFile } from '../jobs/job-tracker.js';
import { errText } from '../util/log.js';
import { busyReason } from '../cloudprint/print-pipeline.js';
import { announce, type Feature, type FeatureContext } from './feature-context.js';
import type { BuildPlate } from './build-plate.js';

/** Debounce of the checks (notifications come in bursts at the end of a print). */
const CHECK_DELAY_MS = 200;

export class QueuedCloudJobs implements Feature {
  private offs: (() => void)[] = [];
  private timer: ReturnType<FeatureContext['clock']['setTimeout']> | undefined;
  private checking = false;
  private again = false;
  /** The cloud job seen waiting in Moonraker's queue while the printer is idle. */
  private waitingJob: PendingCloudJob | null = null;
  private queuedKey = '';
  /** Wall-clock start of this process: queued entries accepted before it are a previous process's. */
  private startedAt = 0;
  /** Until the first check against Moonraker's queue: a previous process's entries are still to be sorted. */
  private orphansChecked = false;

  constructor(
    private readonly ctx: FeatureContext,
    private readonly plate: BuildPlate,
  ) {}

  start(): void {
    const { printer, jobs, api } = this.ctx;
    const poke = (): void => this.schedule();
    this.startedAt = this.ctx.clock.now();
    this.offs.push(
      printer.on('printStateChanged', poke),
      printer.on('connectionChanged', poke),
      // The tracker changes with every print_stats tick: only a change of the queued jobs matters.
      jobs.events.on('changed', () => {
        const key = jobs.queuedCloud.map((j) => j.jobId).join(',');
        if (key !== this.queuedKey) {
          this.queuedKey = key;
          this.schedule();
        }
      }),
      api.on('jobQueueChanged', poke),
      this.plate.events.on('changed', poke),
    );
    // A previous process's waiting job stays shown (2/15 with its id, never a jobless 15 or 0 inside
    // its run) until the first check resumes it or reports it canceled.
    const before = jobs.queuedCloud.find((j) => j.since < this.startedAt);
    if (before) this.show(before);
    this.schedule();
  }

  stop(): void {
    for (const off of this.offs.splice(0)) off();
    this.ctx.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** The cloud job waiting in Moonraker's queue while the printer is idle (null when none). */
  get waiting(): PendingCloudJob | null {
    return busyReason(this.ctx) === null ? this.waitingJob : null;
  }

  private schedule(): void {
    if (this.timer !== undefined) return;
    this.timer = this.ctx.clock.setTimeout(() => {
      this.timer = undefined;
      void this.check();
    }, CHECK_DELAY_MS);
  }

  private async check(): Promise<void> {
    if (this.checking) {
      this.again = true;
      return;
    }
    this.checking = true;
    try {
      await this.checkOnce();
    } catch (err) {
      this.ctx.log.debug(`queued cloud jobs: ${errText(err)}`);
    } finally {
      this.checking = false;
      if (this.again) {
        this.again = false;
        this.schedule();
      }
    }
  }

  private async checkOnce(): Promise<void> {
    const { ctx } = this;
    const queued = ctx.jobs.queuedCloud;
    if (!queued.length) return this.show(null);
    if (!ctx.moonraker.connected) return;
    const q = await ctx.api.jobQueueStatus();
    if (!this.orphansChecked) {
      this.orphansChecked = true;
      if (await this.dropOrphans(q.queued_jobs.map((m) => m.filename))) return this.schedule();
    }
    const job = queued.find((j) => q.queued_jobs.some((m) => sameFile(m.filename, j.filename))) ?? null;
    // Moonraker took it out of the queue to start it: still this job (never a 0 in between).
    const loading = q.queue_state === 'loading' || q.queue_state === 'starting';
    if (!job && loading && this.waitingJob && queued.some((j) => j.jobId === this.waitingJob?.jobId)) return;
    // Known even while another print runs: the status shows it (after that print's own end) at once.
    this.show(job);
    if (!job || busyReason(ctx) !== null || this.plate.blocking) return; // 15 while the plate gate holds it
    if (q.queue_state === 'paused') {
      announce(ctx, `starting cloud job ${job.jobId} from the printer's job queue (Moonraker had paused the queue)`, 'info');
      await ctx.api.jobQueueStart();
    }
  }

  /** A previous process's job that is not in Moonraker's queue and not running: reported canceled once. */
  private async dropOrphans(inQueue: string[]): Promise<boolean> {
    const { ctx } = this;
    const ps = ctx.printer.snapshot().print_stats;
    const running = ps.state === 'printing' || ps.state === 'paused' ? (ps.filename ?? '') : '';
    const orphans = ctx.jobs.queuedCloud.filter(
      (j) => j.since < this.startedAt && !inQueue.some((f) => sameFile(f, j.filename)) && !(running && sameFile(running, j.filename)),
    );
    for (const j of orphans) {
      announce(ctx, `cloud job ${j.jobId} was waiting when the bridge restarted: reported canceled (Polar keeps it in its queue to send again)`, 'info');
      await ctx.api.deleteFile(j.filename).catch((err) => ctx.log.warn(`could not delete ${j.filename}: ${errText(err)}`));
      ctx.jobs.cloudAbort(j.jobId);
      if (this.waitingJob?.jobId === j.jobId) this.show(null);
    }
    return orphans.length > 0;
  }

  private show(job: PendingCloudJob | null): void {
    if (this.waitingJob?.jobId === job?.jobId) return;
    this.waitingJob = job;
    this.ctx.status.setQueuedWaiting(job);
  }
}
