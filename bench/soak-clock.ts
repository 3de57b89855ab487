// The soak's accelerated wall clock: `scale` simulated ms pass per real ms,
// counted from `originMs` (a real Date.now()). The bridge, the Polar Cloud
// emulator and the Moonraker simulator all run on it, in two processes: both
// derive now() from Date.now() and the same origin, so they agree on the time
// (the job tracker compares Moonraker's history timestamps with its own clock).
import type { Clock, TimerHandle } from '../src/util/clock.js';

export class ScaledClock implements Clock {
  /** Handle given out → the real timer currently armed for it (re-armed when a timer fires early). */
  private readonly live = new Map<TimerHandle, ReturnType<typeof setTimeout>>();

  constructor(
    readonly scale: number,
    readonly originMs: number = Date.now(),
  ) {
    if (!(scale > 0)) throw new Error(`scale must be > 0, got ${scale}`);
  }

  now(): number {
    return this.originMs + (Date.now() - this.originMs) * this.scale;
  }

  /** Real ms that `simMs` of this clock take. */
  real(simMs: number): number {
    return simMs / this.scale;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const due = this.now() + Math.max(0, ms);
    // Node's timers may fire a little early against Date.now() (cached loop time); ×scale that
    // would be seconds of simulated time, so a timer only runs once its simulated due time passed.
    const arm = (leftMs: number): ReturnType<typeof setTimeout> => setTimeout(fire, Math.ceil(leftMs / this.scale));
    const fire = (): void => {
      const left = due - this.now();
      if (left > 0) {
        this.live.set(first, arm(left));
        return;
      }
      this.live.delete(first);
      fn();
    };
    const first = arm(Math.max(0, ms));
    this.live.set(first, first);
    return first;
  }

  clearTimeout(handle: TimerHandle | undefined): void {
    if (handle === undefined) return;
    const current = this.live.get(handle);
    this.live.delete(handle);
    if (current !== undefined) clearTimeout(current);
  }

  /** Timers armed and not yet fired or cleared (a growing count would be a timer leak). */
  get pending(): number {
    return this.live.size;
  }
}
