// The job tracker's state and the outbox of job reports not yet sent, in ONE
// file under data_dir, so a report and the state change that produced it are
// written together (temp file + rename): a crash leaves either both or neither.
import { rename } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { readFileIfExists, writeJsonAtomic } from '../util/atomic-file.js';
import { errText, type Logger } from '../util/log.js';
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
});

export interface JobStoreContents {
  tracker: TrackerState;
  outbox: JobReport[];
}

export class JobStore {
  private contents: JobStoreContents = { tracker: INITIAL_TRACKER_STATE, outbox: [] };
  /** Writes run one after another; each writes the contents current when it starts. */
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly dataDir: string,
    private readonly log: Logger,
  ) {}

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
    const text = await readFileIfExists(this.path);
    if (text === undefined) return;
    let problem: string;
    try {
      const parsed = fileSchema.safeParse(JSON.parse(text));
      if (parsed.success) {
        this.contents = { tracker: parsed.data.tracker, outbox: parsed.data.outbox };
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

  /** Resolves when every write requested so far is on disk. */
  flushed(): Promise<void> {
    return this.chain;
  }

  private persist(): Promise<void> {
    const next = this.chain.then(async () => {
      const c = this.contents;
      try {
        await writeJsonAtomic(this.path, { version: 1, tracker: c.tracker, outbox: c.outbox });
      } catch (err) {
        this.log.error(`could not save job state to ${this.path}: ${errText(err)}`);
        throw err;
      }
    });
    this.chain = next.catch(() => undefined);
    return next;
  }
}
