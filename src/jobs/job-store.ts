// The job tracker's state and the outbox of job reports not yet sent, in ONE
// file under data_dir, so a report and the state change that produced it are
// written together (temp file + rename): a crash leaves either both or neither.
// The file is 0600: it holds signed file URLs. The contents live in memory;
// when a save fails (a full SD card), nothing is dropped: the save is retried
// with backoff, and `savedAt` in the file tells the next start from when on
// Moonraker's history may hold jobs the file never heard of.
import { rename } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { readFileIfExists, writeJsonAtomic } from '../util/atomic-file.js';
import { errText, type Logger } from '../util/log.js';
import { systemClock, type Clock, type TimerHandle } from '../util/clock.js';
import { INITIAL_TRACKER_STATE, type JobReport, type TrackerState } from './job-types.js';

export const JOBS_FILE = 'jobs.json';

const str = z.string().max(4096);
const opt = str.optional();
const trackedJob = z.object({
  jobId: str,
  cloud: z.boolean(),
  filename: str,
  moonrakerJobId: str.nullable(),
  startedAt: z.number(),
  jobName: opt,
  fileUrl: opt,
  configUrl: opt,
  printSeconds: z.number(),
  filamentUsed: z.number(),
  running: z.literal(true).optional(),
  printed: z.literal(true).optional(),
});
const pendingCloud = z.object({ jobId: str, filename: str, since: z.number(), jobName: opt, fileUrl: opt, configUrl: opt });
const report = z.object({
  jobId: str,
  state: z.enum(['completed', 'canceled']),
  printSeconds: z.number(),
  filamentUsed: z.number(),
  key: str,
  filename: str,
  cloud: z.boolean(),
  finishedAt: z.number(),
});
const fileSchema = z.object({
  version: z.literal(1),
  tracker: z.object({
    active: trackedJob.nullable(),
    ended: z.object({ at: z.number(), printState: str }).nullable(),
    pendingCloud: pendingCloud.nullable(),
    reported: z.array(str).max(1000),
    staleFile: str.nullable().optional(),
    queuedCloud: z.array(pendingCloud).max(1000).optional(),
  }),
  // No cap: the writer never trims, so the reader must never refuse what it wrote.
  outbox: z.array(report),
  /** Wall-clock ms when the saved contents were current (older files lack it). */
  savedAt: z.number().optional(),
});

export interface JobStoreContents {
  tracker: TrackerState;
  outbox: JobReport[];
}

export interface JobStoreOptions {
  /** Timers for the save retries (default: the system clock). */
  clock?: Clock;
  /** First retry after a failed save, doubling up to maxRetryMs. */
  retryMs?: number;
  maxRetryMs?: number;
}

export class JobStore {
  private contents: JobStoreContents = { tracker: INITIAL_TRACKER_STATE, outbox: [] };
  /** Writes run one after another; each writes the contents current when it starts. */
  private chain: Promise<void> = Promise.resolve();
  /** `savedAt` of the file found at load (undefined: no file, or one from an older version). */
  loadedSavedAt: number | undefined;
  /** Consecutive failed saves; the in-memory contents are newer than the file while > 0. */
  private failures = 0;
  /** Failed retries in a row: the backoff grows with these, not with every change that fails to save. */
  private retries = 0;
  private retryTimer: TimerHandle | undefined;
  private closed = false;
  private readonly clock: Clock;

  constructor(
    private readonly dataDir: string,
    private readonly log: Logger,
    private readonly opts: JobStoreOptions = {},
  ) {
    this.clock = opts.clock ?? systemClock;
  }

  /** True while the file is behind the in-memory contents (saves failing). */
  get unsaved(): boolean {
    return this.failures > 0;
  }

  get path(): string {
    return join(this.dataDir, JOBS_FILE);
  }

  get tracker(): TrackerState {
    return this.contents.tracker;
  }

  get outbox(): readonly JobReport[] {
    return this.contents.outbox;
  }

  /** Reads the file; a missing file is a fresh start, a corrupt one is set aside (never silently deleted). */
  async load(): Promise<void> {
    this.closed = false;
    const text = await readFileIfExists(this.path);
    if (text === undefined) return;
    let problem: string;
    try {
      const parsed = fileSchema.safeParse(JSON.parse(text));
      if (parsed.success) {
        this.contents = { tracker: parsed.data.tracker, outbox: parsed.data.outbox };
        this.loadedSavedAt = parsed.data.savedAt;
        return;
      }
      problem = parsed.error.issues[0]?.message ?? 'invalid';
    } catch (err) {
      problem = errText(err);
    }
    const aside = `${this.path}.corrupt-${Date.now()}`;
    try {
      await rename(this.path, aside);
      this.log.error(`${this.path} is unreadable (${problem}); moved it to ${aside} and starting with no job state`);
    } catch (err) {
      this.log.error(`${this.path} is unreadable (${problem}) and could not be moved aside (${errText(err)}); starting with no job state`);
    }
  }

  /** Replaces the tracker state and appends reports, then persists both in one write. */
  update(tracker: TrackerState, newReports: readonly JobReport[]): Promise<void> {
    this.contents = { tracker, outbox: [...this.contents.outbox, ...newReports] };
    return this.persist();
  }

  /** Drops sent reports from the outbox and persists. */
  remove(keys: ReadonlySet<string>): Promise<void> {
    this.contents = { ...this.contents, outbox: this.contents.outbox.filter((r) => !keys.has(r.key)) };
    return this.persist();
  }

  /** Resolves when every write requested so far was attempted (it may have failed: see `unsaved`). */
  flushed(): Promise<void> {
    return this.chain;
  }

  /** Stops retrying; one last save is attempted when the file is behind. */
  async close(): Promise<void> {
    this.clock.clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.closed = true;
    if (this.failures > 0) await this.persist().catch(() => undefined);
    await this.chain;
  }

  private persist(): Promise<void> {
    const next = this.chain.then(async () => {
      const c = this.contents;
      // Wall clock on purpose: compared with Moonraker's history start times at the next start.
      const savedAt = Date.now();
      try {
        await writeJsonAtomic(this.path, { version: 1, tracker: c.tracker, outbox: c.outbox, savedAt }, { mode: 0o600 });
      } catch (err) {
        this.failed(err);
        throw err;
      }
      if (this.failures > 0) this.log.info(`job state saved to ${this.path} again (after ${this.failures} failed attempt(s))`);
      this.failures = 0;
      this.retries = 0;
      this.clock.clearTimeout(this.retryTimer);
      this.retryTimer = undefined;
    });
    this.chain = next.catch(() => undefined);
    return next;
  }

  /** Logs the first failure (then quietly), keeps the contents in memory and retries with backoff. */
  private failed(err: unknown): void {
    this.failures++;
    if (this.failures === 1) {
      this.log.error(`could not save job state to ${this.path}: ${errText(err)}; job reports are kept in memory and sent, and the save is retried`);
    } else {
      this.log.debug(`job state still not saved (attempt ${this.failures}): ${errText(err)}`);
    }
    if (this.closed || this.retryTimer !== undefined) return;
    const initial = this.opts.retryMs ?? 1000;
    const delay = Math.min(this.opts.maxRetryMs ?? 60_000, initial * 2 ** Math.min(this.retries, 16));
    this.retryTimer = this.clock.setTimeout(() => {
      this.retryTimer = undefined;
      this.retries++;
      if (this.failures > 0 && !this.closed) this.persist().catch(() => undefined);
    }, delay);
  }
}
