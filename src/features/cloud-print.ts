// The cloud's `print` command: picks the file, refuses what cannot be printed
// (with words in the Polar UI and both consoles, leaving the job queued in the
// cloud), runs one PrintPipeline at a time, lets `cancel` abort one that is
// still preparing, and keeps the cloud folder to the last N files.
import { join } from 'node:path';
import type { CloudToPrinter } from '../polar/messages.js';
import { busyReason, PrintJobError, PrintPipeline, type PrintSpec, type StartGate } from '../cloudprint/print-pipeline.js';
import { errText } from '../util/log.js';
import { removeInside } from '../util/safe-path.js';
import { announce, type Feature, type FeatureContext } from './feature-context.js';
import type { CloudPrintAborter } from './print-control.js';

type PrintMessage = CloudToPrinter['print'];

/** Which file of a print command to use (fileToPrint, else gcodeFile, else the model + configFile). */
export function choosePrintFile(m: PrintMessage): PrintSpec | { error: string } {
  const model = (url: string | undefined): PrintSpec | null => (url ? { jobId: m.jobId, jobName: m.jobName, url, kind: 'model', configUrl: m.configFile } : null);
  if (m.fileToPrint) {
    const url = m[m.fileToPrint];
    if (!url) return { error: `the job names ${m.fileToPrint} as the file to print but does not carry it` };
    return m.fileToPrint === 'gcodeFile' ? { jobId: m.jobId, jobName: m.jobName, url, kind: 'gcode', configUrl: m.configFile } : model(url)!;
  }
  if (m.gcodeFile) return { jobId: m.jobId, jobName: m.jobName, url: m.gcodeFile, kind: 'gcode', configUrl: m.configFile };
  return model(m.stlFile) ?? model(m.threemfFile) ?? { error: 'the job carries no file to print' };
}

export class CloudPrint implements Feature, CloudPrintAborter {
  private offs: (() => void)[] = [];
  private chain: Promise<void> = Promise.resolve();
  private current: { jobId: string; abort: AbortController; pipeline: PrintPipeline } | null = null;
  private waiting = new Set<string>();
  /** The last job whose start Klipper accepted (a cancel before Moonraker shows that print cancels the print). */
  private started: string | null = null;

  constructor(
    private readonly ctx: FeatureContext,
    private readonly gate?: StartGate,
    private readonly queue?: { readonly waiting: { jobId: string } | null },
  ) {}

  start(): void {
    // Downloads interrupted by a crash or power cut: only one pipeline runs per process, so
    // anything in the folder now is a leftover (up to max_file_size each). Jobs wait for this.
    const dir = join(this.ctx.config.data_dir, 'downloads');
    this.chain = removeInside(this.ctx.config.data_dir, dir, { recursive: true }).catch((err) => this.ctx.log.warn(`could not clear ${dir}: ${errText(err)}`));
    this.offs.push(this.ctx.polar.onCommand('print', (m) => this.onPrint(m)));
  }

  stop(): void {
    for (const off of this.offs.splice(0)) off();
    this.current?.abort.abort();
  }

  /** Resolves when every accepted print command has been handled (tests, shutdown). */
  idle(): Promise<void> {
    return this.chain;
  }

  /**
   * Cancels the cloud job being prepared. Returns false when there is none, or
   * when it already reached the printer as a running print (the caller then
   * cancels the print itself). One already in Moonraker's queue is taken out.
   */
  async abortPreparing(reason: string): Promise<boolean> {
    const cur = this.current;
    if (!cur) return false;
    this.ctx.log.info(`cloud job ${cur.jobId}: ${reason}`);
    cur.abort.abort();
    await this.chain;
    if (cur.pipeline.result === 'started') return false;
    if (cur.pipeline.result === 'queued') await this.unqueue(cur.jobId);
    return true;
  }

  startedJobId(): string | null {
    return this.started;
  }

  /** A cloud cancel while the printer is idle and a cloud job waits in Moonraker's queue: that job. */
  async cancelQueued(): Promise<boolean> {
    const waiting = this.queue?.waiting;
    if (!waiting) return false;
    announce(this.ctx, `cloud job ${waiting.jobId} canceled while waiting in the printer's job queue`, 'info');
    await this.unqueue(waiting.jobId);
    return true;
  }

  /** Takes a cloud job out of Moonraker's job queue, deletes its file and reports it canceled. */
  private async unqueue(jobId: string): Promise<void> {
    const entry = this.ctx.jobs.queuedCloud.find((j) => j.jobId === jobId);
    if (!entry) return;
    try {
      const q = await this.ctx.api.jobQueueStatus();
      const ids = q.queued_jobs.filter((j) => j.filename === entry.filename).map((j) => j.job_id);
      if (ids.length) await this.ctx.api.jobQueueDelete(ids);
      await this.ctx.api.deleteFile(entry.filename);
    } catch (err) {
      this.ctx.log.warn(`could not take job ${jobId} out of the printer's queue: ${errText(err)}`);
    }
    this.ctx.jobs.cloudAbort(jobId);
  }

  private onPrint(m: PrintMessage): void {
    const spec = choosePrintFile(m);
    if ('error' in spec) return this.refuse(m.jobId, `Cannot print job ${m.jobId}: ${spec.error}`);
    if (spec.kind === 'model' && !this.ctx.config.slicer.command) {
      return this.refuse(m.jobId, `Cannot print job ${m.jobId}: it is a 3D model (STL/3MF) and Klipper prints G-code; configure slicer.command to slice on the printer`);
    }
    if (this.current?.jobId === m.jobId || this.waiting.has(m.jobId) || this.ctx.jobs.job?.jobId === m.jobId) {
      this.ctx.log.warn(`cloud job ${m.jobId} is already being handled; duplicate print command ignored`);
      return;
    }
    const busy = busyReason(this.ctx);
    if ((busy || this.current) && this.ctx.config.cloud_print.when_busy === 'reject') {
      return this.refuse(m.jobId, `Job ${m.jobId} not started: ${busy ?? 'another cloud job is being prepared'} (cloud_print.when_busy: reject)`);
    }
    this.waiting.add(m.jobId);
    // Every status field pushed while the job is on its way (no quiet stream at idle).
    this.ctx.moonraker.holdFullStream(`cloud job ${m.jobId}`, true);
    this.chain = this.chain.then(() => this.runJob(spec)).catch((err) => this.ctx.log.error(`cloud print failed unexpectedly: ${errText(err)}`));
  }

  private async runJob(spec: PrintSpec): Promise<void> {
    this.waiting.delete(spec.jobId);
    const abort = new AbortController();
    const pipeline = new PrintPipeline(this.ctx, spec, abort.signal, this.gate);
    this.current = { jobId: spec.jobId, abort, pipeline };
    try {
      const how = await pipeline.run();
      if (how === 'started') this.started = spec.jobId;
      if (how === 'queued') announce(this.ctx, `job ${spec.jobId} is in the printer's job queue; it starts when the printer is free`, 'info');
      else this.ctx.log.info(`cloud job ${spec.jobId} started`);
      void this.housekeeping();
    } catch (err) {
      const e = err instanceof PrintJobError ? err : new PrintJobError(errText(err));
      if (e.canceled) {
        this.ctx.jobs.cloudAbort(spec.jobId);
        this.ctx.log.info(e.message);
      } else {
        this.refuse(spec.jobId, e.message);
      }
    } finally {
      this.current = null;
      this.ctx.moonraker.holdFullStream(`cloud job ${spec.jobId}`, false);
      this.ctx.status.sendNow();
    }
  }

  /** A job that will not print now: 12 with the reason for a few messages, both consoles, no job report. */
  private refuse(jobId: string, message: string): void {
    this.ctx.jobs.cloudDrop(jobId);
    announce(this.ctx, message);
    this.ctx.status.reportFailure(jobId, message);
  }

  /** Keeps the newest cloud_print.keep_files files of the cloud folder; never one that is loaded or queued. */
  private async housekeeping(): Promise<void> {
    const { api, config, printer, jobs } = this.ctx;
    const folder = `${config.cloud_print.folder}/`;
    try {
      const files = (await api.listFiles('gcodes')).filter((f) => f.path.startsWith(folder));
      if (files.length <= config.cloud_print.keep_files) return;
      const queue = await api.jobQueueStatus().catch(() => null);
      const keep = new Set<string>([
        printer.snapshot().print_stats.filename ?? '',
        ...(queue?.queued_jobs.map((j) => j.filename) ?? []),
        ...jobs.queuedCloud.map((j) => j.filename),
        jobs.pendingCloud?.filename ?? '',
        jobs.job?.filename ?? '',
      ]);
      const old = files.sort((a, b) => b.modified - a.modified).slice(config.cloud_print.keep_files);
      for (const f of old) {
        if (keep.has(f.path)) continue;
        await api.deleteFile(f.path);
        this.ctx.log.info(`removed old cloud file ${f.path} (cloud_print.keep_files: ${config.cloud_print.keep_files})`);
      }
    } catch (err) {
      this.ctx.log.warn(`cloud folder housekeeping failed: ${errText(err)}`);
    }
  }
}
