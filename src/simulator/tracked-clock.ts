// A Clock that remembers its pending timers so stop() can cancel them all.
import type { Clock, TimerHandle } from '../util/clock.js';

export class TrackedClock implements Clock {
  private readonly pending = new Set<TimerHandle>();

  constructor(private readonly base: Clock) {}

  now(): number {
    return this.base.now();
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const handle: TimerHandle = this.base.setTimeout(() => {
      this.pending.delete(handle);
      fn();
    }, ms);
    this.pending.add(handle);
    return handle;
  }

  clearTimeout(handle: TimerHandle | undefined): void {
    if (handle === undefined) return;
    this.pending.delete(handle);
    this.base.clearTimeout(handle);
  }

  clearAll(): void {
    for (const h of this.pending) this.base.clearTimeout(h);
    this.pending.clear();
  }
}
