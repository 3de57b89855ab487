// Moonraker's [job_queue], configured with load_on_startup and
// automatic_transition enabled: after a job completes the next queued job
// starts; when Klippy becomes ready a non-empty queue starts loading. The
// queue lives in memory, so a Moonraker restart empties it (as in Moonraker).
import type { TimerHandle } from '../util/clock.js';
import type { SimContext } from './context.js';
import { MoonrakerError } from './errors.js';
import { isAborted, type JobEvent } from './job-state.js';

interface QueuedJob {
  filename: string;
  job_id: string;
  time_added: number;
  user: string;
}

export type QueueState = 'ready' | 'loading' | 'starting' | 'paused';

const TRANSITION_DELAY_MS = 10;
const READY_LOAD_DELAY_MS = 1000;

export class JobQueue {
  private jobs: QueuedJob[] = [];
  state: QueueState = 'paused';
  private pauseRequested = false;
  private popTimer: TimerHandle | undefined;
  private idSeq = Math.floor(Math.random() * 0x7fffffff) * 16;

  constructor(private readonly ctx: SimContext) {}

  private now(): number {
    return this.ctx.clock.now() / 1000;
  }

  private list(): Array<Record<string, unknown>> {
    const now = this.now();
    return this.jobs.map((j) => ({ filename: j.filename, job_id: j.job_id, time_added: j.time_added, time_in_queue: now - j.time_added }));
  }

  status(): { queued_jobs: Array<Record<string, unknown>>; queue_state: QueueState } {
    return { queued_jobs: this.list(), queue_state: this.state };
  }

  private setState(state: QueueState): void {
    if (state === this.state) return;
    this.state = state;
    this.sendEvent('state_changed');
  }

  private sendEvent(action: string): void {
    const info = { action, updated_queue: action === 'state_changed' ? null : this.list(), queue_state: this.state };
    this.ctx.clock.setTimeout(() => this.ctx.connections.notify('notify_job_queue_changed', [info]), 50);
  }

  private schedulePop(ms: number): void {
    this.ctx.clock.clearTimeout(this.popTimer);
    this.popTimer = this.ctx.clock.setTimeout(() => void this.popJob(), ms);
  }

  private canPrint(): boolean {
    if (!this.ctx.klippy.connected || !this.ctx.printer.isReady) return false;
    const state = this.ctx.printer.printStats.state;
    return state !== 'printing' && state !== 'paused';
  }

  private async popJob(): Promise<void> {
    this.popTimer = undefined;
    if (this.state === 'paused') return;
    const job = this.jobs[0];
    if (!job) {
      this.setState('paused');
      return;
    }
    if (!this.canPrint() || this.state !== 'loading') {
      this.setState('paused');
      return;
    }
    this.setState('starting');
    try {
      this.ctx.history.noteJobRequested(job.user);
      await this.ctx.klippy.request(() => this.ctx.runner.runScript(`SDCARD_PRINT_FILE FILENAME="${job.filename.replace(/"/g, '\\"')}"`, () => this.ctx.klippy.generation));
    } catch (err) {
      this.ctx.log.info(`job queue: error loading ${job.filename}: ${String(err)}`);
      this.setState('paused');
      return;
    }
    this.jobs = this.jobs.filter((j) => j !== job);
    // The state may have changed while the start request was pending.
    if ((this.state as QueueState) === 'starting') this.state = this.jobs.length > 0 ? 'ready' : 'paused';
    this.sendEvent('job_loaded');
  }

  onKlippyReady(): void {
    if (!this.jobs.length) return;
    if (this.state === 'ready' || this.state === 'paused') {
      this.setState('loading');
      this.schedulePop(READY_LOAD_DELAY_MS);
    }
  }

  onKlippyShutdown(): void {
    const had = this.pauseRequested;
    this.pause();
    this.pauseRequested = had;
  }

  onJobEvent(event: JobEvent): void {
    if (event === 'complete') {
      if (this.state === 'ready' && this.jobs.length) {
        this.setState('loading');
        this.schedulePop(TRANSITION_DELAY_MS);
      }
    } else if (isAborted(event) && this.jobs.length) {
      this.setState('paused');
    }
  }

  pause(): void {
    this.setState('paused');
    this.ctx.clock.clearTimeout(this.popTimer);
    this.popTimer = undefined;
    this.pauseRequested = true;
  }

  start(): void {
    this.pauseRequested = false;
    if (this.state !== 'ready' && this.state !== 'paused') return;
    if (!this.jobs.length) this.setState('paused');
    else if (this.canPrint()) {
      this.setState('loading');
      this.schedulePop(TRANSITION_DELAY_MS + this.ctx.settings.jobQueueLoadDelayMs);
    } else this.setState('ready');
  }

  async add(filenames: string[], reset: boolean, user: string): Promise<void> {
    for (const f of filenames) {
      if (!(await this.ctx.files.fileExists(f))) throw new MoonrakerError(`G-Code File ${f} does not exist`);
    }
    if (reset) this.jobs = [];
    for (const filename of filenames) {
      this.jobs.push({ filename, job_id: (this.idSeq++).toString(16).toUpperCase().padStart(16, '0'), time_added: this.now(), user });
    }
    this.sendEvent('jobs_added');
    const last = this.ctx.jobState.lastEvent;
    if (!this.pauseRequested && (last === 'started' || last === 'resumed' || last === 'paused')) this.setState('ready');
  }

  /** Moonraker restart: the queue is in memory only. */
  clear(): void {
    this.ctx.clock.clearTimeout(this.popTimer);
    this.popTimer = undefined;
    this.jobs = [];
    this.state = 'paused';
    this.pauseRequested = false;
  }

  register(): void {
    const r = this.ctx.router;
    r.register('server.job_queue.status', () => this.status(), { http: ['GET', '/server/job_queue/status'] });
    r.register('server.job_queue.post_job', async (p) => {
      await this.add(p.list('filenames'), p.bool('reset', false), '_TRUSTED_USER_');
      return this.status();
    }, { http: ['POST', '/server/job_queue/job'] });
    r.register('server.job_queue.delete_job', (p) => {
      if (this.jobs.length) {
        if (p.bool('all', false)) this.jobs = [];
        else {
          const ids = new Set(p.list('job_ids'));
          this.jobs = this.jobs.filter((j) => !ids.has(j.job_id));
        }
        this.sendEvent('jobs_removed');
      }
      return this.status();
    }, { http: ['DELETE', '/server/job_queue/job'] });
    r.register('server.job_queue.pause', () => {
      this.pause();
      return this.status();
    }, { http: ['POST', '/server/job_queue/pause'] });
    r.register('server.job_queue.start', () => {
      this.start();
      return this.status();
    }, { http: ['POST', '/server/job_queue/start'] });
    r.register('server.job_queue.jump', (p) => {
      const id = p.str('job_id');
      const job = this.jobs.find((j) => j.job_id === id);
      if (!job) throw new MoonrakerError(`Invalid job id: ${id}`);
      this.jobs = [job, ...this.jobs.filter((j) => j !== job)];
      return this.status();
    }, { http: ['POST', '/server/job_queue/jump'] });
  }
}
