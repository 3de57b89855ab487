// Sends the durable outbox of job reports to Polar Cloud: whenever reports are
// queued and after every successful hello. A report leaves the outbox only
// after it was emitted on an authenticated connection, so reports produced
// offline or before a crash go out after the next hello — once.
//
// The window between emitting and the outbox write is the only place a crash
// could repeat a report; losing one is never possible.
import type { JobService } from '../jobs/job-service.js';
import type { PolarClient } from '../polar/polar-client.js';
import { errText, type Logger } from '../util/log.js';

export class JobReportSender {
  private offs: (() => void)[] = [];
  private flushing = false;
  private again = false;

  constructor(
    private readonly polar: PolarClient,
    private readonly jobs: JobService,
    private readonly log: Logger,
  ) {}

  start(): void {
    this.offs.push(
      this.polar.events.on('online', () => void this.flush()),
      this.jobs.events.on('reportsQueued', () => void this.flush()),
    );
    void this.flush();
  }

  stop(): void {
    for (const off of this.offs.splice(0)) off();
  }

  /** Sends every queued report (serialized: a flush during a flush runs once more afterwards). */
  async flush(): Promise<void> {
    if (this.flushing) {
      this.again = true;
      return;
    }
    this.flushing = true;
    try {
      do {
        this.again = false;
        await this.sendQueued();
      } while (this.again);
    } finally {
      this.flushing = false;
    }
  }

  private async sendQueued(): Promise<void> {
    const serialNumber = this.polar.serialNumber;
    if (!this.polar.online || !serialNumber) return;
    const sent = new Set<string>();
    for (const r of this.jobs.store.outbox) {
      const ok = this.polar.send('job', {
        serialNumber,
        jobId: r.jobId,
        state: r.state,
        printSeconds: safeCount(r.printSeconds),
        filamentUsed: safeCount(r.filamentUsed),
      });
      if (!ok) break;
      sent.add(r.key);
      this.log.info(`reported ${r.cloud ? `cloud job ${r.jobId}` : 'local job'} ${r.filename} as ${r.state}`);
    }
    if (sent.size === 0) return;
    try {
      await this.jobs.acknowledge(sent);
    } catch (err) {
      this.log.error(`sent job reports could not be removed from the outbox (may be repeated after a restart): ${errText(err)}`);
    }
  }
}

/** A non-negative safe integer: absurd numbers from a corrupt print must not make the cloud drop the report. */
function safeCount(n: number): number {
  return Number.isFinite(n) ? Math.min(Number.MAX_SAFE_INTEGER, Math.max(0, Math.round(n))) : 0;
}
