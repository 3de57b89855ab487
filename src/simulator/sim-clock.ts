// Simulated printer time. Klipper's monotonic clock ("eventtime") runs at
// `speedFactor` times real time, so a 30 minute print can finish in seconds.
// Every physical quantity (heating, moves, dwell, print durations) advances on
// this clock; network timing (replies, batching, restarts) stays real.
import type { Clock, TimerHandle } from '../util/clock.js';

interface Sleeper {
  resolve: () => void;
  timer: TimerHandle | undefined;
}

/** Klipper's eventtime starts near the host uptime; any positive base works. */
const EVENTTIME_BASE = 1000;

export class SimClock {
  private realBase: number;
  private simBase = EVENTTIME_BASE;
  private factor: number;
  private readonly sleepers = new Set<Sleeper>();
  private closed = false;

  constructor(readonly real: Clock, speedFactor: number) {
    this.realBase = real.now();
    this.factor = speedFactor > 0 ? speedFactor : 1;
  }

  /** Simulated monotonic seconds (Klipper eventtime). */
  now(): number {
    return this.simBase + ((this.real.now() - this.realBase) / 1000) * this.factor;
  }

  get speedFactor(): number {
    return this.factor;
  }

  setSpeedFactor(factor: number): void {
    if (!(factor > 0)) throw new Error('speedFactor must be > 0');
    this.simBase = this.now();
    this.realBase = this.real.now();
    this.factor = factor;
    // Sleepers computed their real delay with the old factor: let them re-plan.
    this.wakeAll();
  }

  /** Sleeps `simSeconds` of simulated time (or less, if woken); callers re-check their condition. */
  sleep(simSeconds: number): Promise<void> {
    return this.sleepReal((Math.max(0, simSeconds) * 1000) / this.factor);
  }

  /** Sleeps until simulated time `t`, returning early when `stop()` becomes true after a wake-up. */
  async sleepUntil(t: number, stop: () => boolean = () => false): Promise<void> {
    while (!this.closed && !stop()) {
      const left = t - this.now();
      if (left <= 0) return;
      await this.sleep(left);
    }
  }

  sleepReal(ms: number): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const s: Sleeper = { resolve, timer: undefined };
      const done = (): void => {
        if (!this.sleepers.delete(s)) return;
        this.real.clearTimeout(s.timer);
        resolve();
      };
      s.resolve = done;
      this.sleepers.add(s);
      s.timer = this.real.setTimeout(done, Math.max(0, ms));
    });
  }

  /** Resolves every pending sleep now (pause, cancel, shutdown, speed change). */
  wakeAll(): void {
    for (const s of [...this.sleepers]) s.resolve();
  }

  close(): void {
    this.closed = true;
    this.wakeAll();
  }

  get isClosed(): boolean {
    return this.closed;
  }
}

/** Resolves on the next macrotask, letting sockets and timers run. */
export function yieldToLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
