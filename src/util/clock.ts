// Time source injected into everything that waits, so tests can use a fake
// clock instead of sleeping.

export type TimerHandle = { readonly __timer: unique symbol } | ReturnType<typeof setTimeout>;

export interface Clock {
  /** Wall time (ms since epoch): for timestamps only, never for ages or deadlines (it jumps). */
  now(): number;
  /** Monotonic ms (arbitrary origin) for ages and deadlines; fakes without it use now(). */
  monotonic?(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle | undefined): void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  monotonic: () => performance.now(),
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms);
    return t;
  },
  clearTimeout: (h) => {
    if (h !== undefined) clearTimeout(h as ReturnType<typeof setTimeout>);
  },
};

/** Resolves after `ms` on the given clock. */
export function sleep(clock: Clock, ms: number): Promise<void> {
  return new Promise((resolve) => clock.setTimeout(resolve, ms));
}

/** Monotonic ms for ages and deadlines: an NTP step or a wrong RTC at boot moves the wall clock by days. */
export function monoNow(clock: Clock): number {
  return clock.monotonic ? clock.monotonic() : clock.now();
}
