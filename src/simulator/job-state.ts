// Moonraker's job_state component: turns print_stats.state transitions into
// job events (started, paused, resumed, complete, error, cancelled, standby)
// for history and the job queue. Transitions that happen while Moonraker is
// not tracking Klippy are missed, as in Moonraker; resync() re-reads state.
import type { SimContext } from './context.js';
import type { PrintStatsStatus } from './print-stats.js';

export type JobEvent = 'standby' | 'started' | 'paused' | 'resumed' | 'complete' | 'error' | 'cancelled';

const IDLE = new Set(['standby', 'complete', 'cancelled', 'error']);

export function isAborted(e: JobEvent): boolean {
  return e === 'error' || e === 'cancelled';
}

export class JobState {
  private last: PrintStatsStatus | null = null;
  lastEvent: JobEvent = 'standby';

  constructor(private readonly ctx: SimContext) {}

  start(): void {
    this.ctx.printer.on('printState', ({ next }) => this.onStatus(next));
  }

  /** Moonraker (re)connected: take the current stats as the baseline, no events. */
  resync(): void {
    this.last = this.ctx.printer.printStats.snapshot();
  }

  onKlippyDisconnect(): void {
    if (this.last && (this.last.state === 'printing' || this.last.state === 'paused')) {
      this.last = { ...this.last, state: 'error' };
      this.lastEvent = 'error';
    }
  }

  private onStatus(next: PrintStatsStatus): void {
    if (!this.ctx.klippy.tracking) return;
    const prev = this.last ?? { ...next, state: 'standby' as const };
    this.last = next;
    const oldState = prev.state;
    const newState = next.state;
    if (oldState === newState) return;
    if (IDLE.has(oldState)) {
      if (newState === 'printing') {
        this.send('started', prev, next);
        return;
      }
      if (newState !== 'standby') this.send('started', prev, next);
      this.send(newState as JobEvent, prev, next);
      return;
    }
    if (newState === 'printing') {
      const resumed = oldState === 'paused' && prev.filename === next.filename;
      this.send(resumed ? 'resumed' : 'started', prev, next);
      return;
    }
    this.send(newState as JobEvent, prev, next);
  }

  private send(event: JobEvent, prev: PrintStatsStatus, next: PrintStatsStatus): void {
    this.lastEvent = event;
    this.ctx.history.onJobEvent(event, prev, next);
    this.ctx.queue.onJobEvent(event);
  }
}
