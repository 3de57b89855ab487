// Moonraker's [history]: a job entry is added when a print starts and
// finished with completed / cancelled / error / klippy_shutdown /
// klippy_disconnect / server_exit; each change is sent as notify_history_changed.
import type { SimContext } from './context.js';
import { MoonrakerError } from './errors.js';
import type { JobEvent } from './job-state.js';
import type { PrintStatsStatus } from './print-stats.js';

export interface HistoryJob {
  end_time: number | null;
  filament_used: number;
  filename: string;
  metadata: Record<string, unknown>;
  print_duration: number;
  status: string;
  start_time: number;
  total_duration: number;
  auxiliary_data: unknown[];
  user: string;
  job_id: string;
}

const BASE_TOTALS = { total_jobs: 0, total_time: 0, total_print_time: 0, total_filament_used: 0, longest_job: 0, longest_print: 0 };

export class History {
  private readonly jobs: HistoryJob[] = [];
  private nextId = 1;
  private current: HistoryJob | null = null;
  private jobUser = 'No User';
  totals = { ...BASE_TOTALS };

  constructor(private readonly ctx: SimContext) {}

  /** Who asked for the next job (Moonraker's klippy_apis:job_start_complete). */
  noteJobRequested(user: string): void {
    this.jobUser = user;
    if (this.current) this.current.user = user;
  }

  private metadataFor(filename: string): Record<string, unknown> {
    const md = this.ctx.files.getMetadata(filename) ?? {};
    delete md['print_start_time'];
    delete md['job_id'];
    return md;
  }

  onJobEvent(event: JobEvent, prev: PrintStatsStatus, next: PrintStatsStatus): void {
    if (event === 'started') {
      if (this.current) this.finish('cancelled', prev);
      this.add(next);
    } else if (event === 'complete') this.finish('completed', next);
    else if (event === 'error') this.finish('error', next);
    else if (event === 'cancelled' || event === 'standby') this.finish('cancelled', prev);
  }

  private add(ps: PrintStatsStatus): void {
    const job: HistoryJob = {
      end_time: null,
      filament_used: ps.filament_used,
      filename: ps.filename,
      metadata: this.metadataFor(ps.filename),
      print_duration: ps.print_duration,
      status: 'in_progress',
      start_time: this.ctx.clock.now() / 1000,
      total_duration: ps.total_duration,
      auxiliary_data: [],
      user: this.jobUser,
      job_id: (this.nextId++).toString(16).toUpperCase().padStart(6, '0'),
    };
    this.jobs.push(job);
    this.current = job;
    this.ctx.files.setJobInfo(job.filename, job.job_id, job.start_time);
    this.send('added', job);
  }

  /** Finishes the job in progress (if any) with `status`, taking durations from the latest print_stats. */
  finishCurrent(status: string): void {
    this.finish(status, this.ctx.printer.printStats.snapshot());
  }

  private finish(status: string, ps: PrintStatsStatus): void {
    const job = this.current;
    if (!job) {
      this.jobUser = 'No User';
      return;
    }
    job.end_time = this.ctx.clock.now() / 1000;
    job.status = status;
    // Moonraker ignores stats that were reset or belong to another file.
    if (ps.filename === job.filename && ps.total_duration >= job.total_duration) {
      job.filament_used = ps.filament_used;
      job.print_duration = ps.print_duration;
      job.total_duration = ps.total_duration;
    }
    const md = this.metadataFor(job.filename);
    if (Object.keys(md).length) job.metadata = md;
    const t = this.totals;
    t.total_jobs += 1;
    t.total_time += job.total_duration;
    t.total_print_time += job.print_duration;
    t.total_filament_used += job.filament_used;
    t.longest_job = Math.max(t.longest_job, job.total_duration);
    t.longest_print = Math.max(t.longest_print, job.print_duration);
    this.send('finished', job);
    this.current = null;
    this.jobUser = 'No User';
  }

  /** Notifications go out in order, each with the job as it was when the event happened. */
  private send(action: string, job: HistoryJob): void {
    const entry = this.prep(job);
    this.sendChain = this.sendChain
      .then(() => entry)
      .then((e) => this.ctx.connections.notify('notify_history_changed', [{ action, job: e }]))
      .catch(() => undefined);
  }

  private sendChain: Promise<void> = Promise.resolve();

  /** The API shape: stored fields plus `exists` and `job_id` last, as Moonraker's _prep_requested_job. */
  private async prep(job: HistoryJob): Promise<Record<string, unknown>> {
    const { job_id, ...rest } = structuredClone(job);
    const mtime = typeof rest.metadata['modified'] === 'number' ? rest.metadata['modified'] : undefined;
    const exists = await this.ctx.files.fileExists(rest.filename, mtime).catch(() => false);
    return { ...rest, exists, job_id };
  }

  /** control.reset: forget every job and the totals. */
  clear(): void {
    this.jobs.length = 0;
    this.current = null;
    this.nextId = 1;
    this.totals = { ...BASE_TOTALS };
    this.jobUser = 'No User';
  }

  get currentJob(): HistoryJob | null {
    return this.current;
  }

  allJobs(): HistoryJob[] {
    return this.jobs;
  }

  register(): void {
    const r = this.ctx.router;
    r.register('server.history.list', async (p) => {
      const limit = p.int('limit', 50);
      const start = p.int('start', 0);
      const before = p.float('before', -1);
      const since = p.float('since', -1);
      const order = p.str('order', 'desc').toUpperCase();
      if (order !== 'ASC' && order !== 'DESC') throw new MoonrakerError(`Invalid \`order\` value: ${order}`, 400);
      let jobs = this.jobs.filter((j) => (before === -1 || (j.end_time !== null && j.end_time < before)) && (since === -1 || j.start_time > since));
      if (order === 'DESC') jobs = [...jobs].reverse();
      if (limit > 0) jobs = jobs.slice(start, start + limit);
      const out = await Promise.all(jobs.map((j) => this.prep(j)));
      return { count: out.length, jobs: out };
    }, { http: ['GET', '/server/history/list'] });
    r.register('server.history.get_job', async (p) => {
      const uid = p.str('uid');
      const job = this.jobs.find((j) => parseInt(j.job_id, 16) === parseInt(uid, 16));
      if (!job) throw new MoonrakerError(`Invalid job uid: ${uid}`, 404);
      return { job: await this.prep(job) };
    }, { http: ['GET', '/server/history/job'] });
    r.register('server.history.delete_job', (p) => {
      if (p.bool('all', false)) {
        const ids = this.jobs.map((j) => j.job_id);
        this.jobs.length = 0;
        return { deleted_jobs: ids };
      }
      const uid = p.str('uid');
      const idx = this.jobs.findIndex((j) => parseInt(j.job_id, 16) === parseInt(uid, 16));
      if (idx < 0) throw new MoonrakerError(`Invalid job uid: ${uid}`, 404);
      this.jobs.splice(idx, 1);
      return { deleted_jobs: [uid] };
    }, { http: ['DELETE', '/server/history/job'] });
    r.register('server.history.totals', () => ({ job_totals: { ...this.totals }, auxiliary_totals: [] }), {
      http: ['GET', '/server/history/totals'],
    });
    r.register('server.history.reset_totals', () => {
      if (this.current) throw new MoonrakerError('Job in progress, cannot reset totals');
      const last = this.totals;
      this.totals = { ...BASE_TOTALS };
      return { last_totals: last, last_auxiliary_totals: [] };
    }, { http: ['POST', '/server/history/reset_totals'] });
  }
}
