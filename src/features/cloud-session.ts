// Per-connection housekeeping with the cloud: `capabilities` and `setVersion`
// after every hello (and the version daily), the print queue for the CLI
// (`getQueue`) and `sendNextPrint`, on request or automatically after a
// completed cloud job when control.auto_next_print is on.
import type { CloudToPrinter } from '../polar/messages.js';
import type { TimerHandle } from '../util/clock.js';
import { errText } from '../util/log.js';
import { announce } from './feature-context.js';
import { VERSION } from '../version.js';
import type { Feature, FeatureContext } from './feature-context.js';

/** Remote method a Klipper macro (POLAR_NEXT) calls through action_call_remote_method. */
export const NEXT_PRINT_METHOD = 'polarcloud_next_print';

/** Extension method (server.extensions.request) behind `polarcloud next`. */
export const NEXT_PRINT_EXTENSION = 'next_print';

export interface NextPrintOutcome {
  outcome: 'printing' | 'none' | 'failed';
  jobId?: string;
  message: string;
}

/** sendNextPrintResponse in words. */
export function nextPrintWords(status: 'NONE' | 'FAILED', message: string | undefined, jobId?: string): string {
  if (status === 'NONE') return jobId ? `job ${jobId} is not ready in the Polar Cloud queue` : 'the Polar Cloud queue has no job ready to print';
  switch (message) {
    case 'INVALID_JOBID':
      return `Polar Cloud does not know job ${jobId ?? '(none given)'}`;
    case undefined:
    case '':
      return 'Polar Cloud could not send a job (no reason given)';
    default:
      return `Polar Cloud could not send a job: ${message}`;
  }
}

/** Moonraker update_manager entry of this service (install kit). */
export const UPDATE_MANAGER_NAME = 'moonraker-polarcloud';
const DAY_MS = 24 * 3600_000;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export class CloudSession implements Feature {
  private offs: (() => void)[] = [];
  private versionTimer: TimerHandle | undefined;
  private versionGeneration = 0;
  private lastCapabilities: string[] | null = null;

  constructor(private readonly ctx: FeatureContext) {}

  start(): void {
    const { polar, jobs } = this.ctx;
    this.offs.push(
      polar.events.on('online', () => void this.onOnline()),
      polar.events.on('offline', () => this.clearTimer()),
      this.ctx.moonraker.registerExtensionMethod(NEXT_PRINT_EXTENSION, async (params) => {
        const job = isRecord(params) ? params.job : undefined;
        // A result, never an RPC error: Moonraker turns errors into "Agent moonraker-polarcloud RPC error".
        if (job !== undefined && (typeof job !== 'string' || !/^[\w.-]{1,256}$/.test(job))) return { outcome: 'failed', message: 'job must be a Polar job id' };
        return this.requestNextPrint(job).catch((err: unknown): NextPrintOutcome => ({ outcome: 'failed', message: `could not ask Polar Cloud for the next print: ${errText(err)}` }));
      }),
      this.ctx.moonraker.on('remoteMethod', ({ method, params }) => {
        if (method !== NEXT_PRINT_METHOD) return;
        const job = params.job ?? params.JOB;
        if (job !== undefined && (typeof job !== 'string' || !/^[\w.-]{1,256}$/.test(job))) {
          announce(this.ctx, `POLAR_NEXT: JOB must be a Polar job id`);
          return;
        }
        this.requestNextPrint(job).then(
          (r) => announce(this.ctx, r.message, r.outcome === 'failed' ? 'warn' : 'info'),
          (err) => announce(this.ctx, `POLAR_NEXT refused: ${errText(err)}`),
        );
      }),
      jobs.events.on('reportsQueued', ({ reports }) => {
        if (this.ctx.config.control.auto_next_print && reports.some((r) => r.cloud && r.state === 'completed')) {
          void this.sendNextPrint().catch((err) => this.ctx.log.warn(`automatic next print: ${errText(err)}`));
        }
      }),
    );
  }

  stop(): void {
    for (const off of this.offs.splice(0)) off();
    this.clearTimer();
  }

  get capabilities(): readonly string[] | null {
    return this.lastCapabilities;
  }

  /** The cloud queue of this printer (CLI `polarcloud queue`). */
  async getQueue(skip = 0, limit = 50): Promise<CloudToPrinter['getQueueResponse']> {
    const serialNumber = this.requireOnline();
    return this.ctx.polar.request('getQueue', { serialNumber, skip, limit }, 'getQueueResponse', this.replyTimeout());
  }

  /**
   * Asks the cloud for the next queued job (optionally a given one). The cloud
   * answers with a `print` command, or sendNextPrintResponse NONE/FAILED.
   */
  async sendNextPrint(jobId?: string): Promise<'requested'> {
    const serialNumber = this.requireOnline();
    const state = this.ctx.printer.snapshot().print_stats.state;
    if (state === 'printing' || state === 'paused' || this.ctx.jobs.pendingCloud) throw new Error('a print is running');
    this.ctx.log.info(`asking Polar Cloud for the next print${jobId ? ` (job ${jobId})` : ''}`);
    this.ctx.polar.send('sendNextPrint', { serialNumber, ...(jobId ? { jobId } : {}) });
    return 'requested';
  }

  /** sendNextPrint, then waits for the cloud's answer: a `print` (the job is on its way) or NONE/FAILED in words. */
  async requestNextPrint(jobId?: string): Promise<NextPrintOutcome> {
    const timeout = this.replyTimeout();
    let offPrint: (() => void) | undefined;
    const printed = new Promise<NextPrintOutcome>((resolve) => {
      offPrint = this.ctx.polar.onCommand('print', (m) => {
        if (!jobId || m.jobId === jobId) resolve({ outcome: 'printing', jobId: m.jobId, message: `Polar Cloud sent job ${m.jobId}${m.jobName ? ` (${m.jobName})` : ''}` });
      });
    });
    try {
      const serialNumber = this.requireOnline();
      const state = this.ctx.printer.snapshot().print_stats.state;
      if (state === 'printing' || state === 'paused' || this.ctx.jobs.pendingCloud) throw new Error('a print is running');
      this.ctx.log.info(`asking Polar Cloud for the next print${jobId ? ` (job ${jobId})` : ''}`);
      const answered = this.ctx.polar
        .request('sendNextPrint', { serialNumber, ...(jobId ? { jobId } : {}) }, 'sendNextPrintResponse', timeout)
        .then((r): NextPrintOutcome => ({ outcome: r.status === 'NONE' ? 'none' : 'failed', message: nextPrintWords(r.status, r.message, jobId) }));
      // A `print` wins over a late/absent sendNextPrintResponse.
      return await Promise.race([printed, answered]);
    } finally {
      offPrint?.();
    }
  }

  private requireOnline(): string {
    const serialNumber = this.ctx.polar.serialNumber;
    if (!serialNumber || !this.ctx.polar.online) {
      const why = this.ctx.polar.lastProblem ?? this.ctx.polar.state;
      throw new Error(`not connected to Polar Cloud (${why})`);
    }
    return serialNumber;
  }

  private replyTimeout(): number {
    return this.ctx.config.polar.reply_timeout * 1000;
  }

  private async onOnline(): Promise<void> {
    const serialNumber = this.ctx.polar.serialNumber;
    if (!serialNumber) return;
    const replies = this.ctx.polar.request('capabilities', { serialNumber }, 'capabilitiesResponse', this.replyTimeout());
    replies.then(
      (r) => {
        this.lastCapabilities = r.capabilities;
        this.ctx.log.debug(`cloud capabilities: ${r.capabilities.join(', ') || '(none)'}`);
      },
      (err) => this.ctx.log.debug(`no capabilitiesResponse: ${errText(err)}`),
    );
    await this.sendVersion();
  }

  /**
   * setVersion. Both versions come from one source in one scheme, so they are equal when up to
   * date: Moonraker's update_manager `version`/`remote_version` for this repository when it
   * manages it (what the user updates with), else our own version and no latest (unknown).
   */
  async sendVersion(): Promise<void> {
    this.clearTimer();
    // Reconnects can overlap a slow update_manager query: only the newest call sends and re-arms.
    const generation = ++this.versionGeneration;
    let versions: { runningVersion: string; latestVersion?: string } = { runningVersion: VERSION };
    try {
      const info = (await this.ctx.api.updateStatus()).version_info[UPDATE_MANAGER_NAME];
      versions = versionsFromUpdater(info?.version, info?.remote_version) ?? versions;
    } catch (err) {
      this.ctx.log.debug(`update_manager status unavailable: ${errText(err)}`);
    }
    const serialNumber = this.ctx.polar.serialNumber;
    if (generation !== this.versionGeneration || !serialNumber || !this.ctx.polar.online) return;
    this.ctx.polar.send('setVersion', { serialNumber, ...versions });
    this.clearTimer();
    this.versionTimer = this.ctx.clock.setTimeout(() => void this.sendVersion(), DAY_MS);
  }

  private clearTimer(): void {
    this.ctx.clock.clearTimeout(this.versionTimer);
    this.versionTimer = undefined;
  }
}

/** Moonraker's "?" (and empty) mean unknown. Null when the updater does not know our version. */
export function versionsFromUpdater(version: string | undefined, remote: string | undefined): { runningVersion: string; latestVersion?: string } | null {
  const known = (v: string | undefined): v is string => typeof v === 'string' && v.trim() !== '' && v.trim() !== '?';
  if (!known(version)) return null;
  return { runningVersion: version.trim(), ...(known(remote) ? { latestVersion: remote.trim() } : {}) };
}
