// Capped exponential backoff with jitter, and a failure logger that reports
// the first failure loudly and then rate-limits, so a flapping link never
// floods the log (or the SD card).
import type { Logger } from './log.js';

export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
  factor?: number;
  /** Fraction of the delay that is randomized (0..1). */
  jitter?: number;
  random?: () => number;
}

export class Backoff {
  private attempt = 0;
  constructor(private readonly opts: BackoffOptions) {}

  /** Delay before the next attempt; grows until reset(). */
  next(): number {
    const { initialMs, maxMs, factor = 2, jitter = 0.3, random = Math.random } = this.opts;
    const base = Math.min(maxMs, initialMs * Math.pow(factor, this.attempt));
    this.attempt = Math.min(this.attempt + 1, 64);
    // Jitter pulls the delay down by up to `jitter`, never above the cap.
    return Math.max(0, Math.round(base * (1 - jitter * random())));
  }

  get attempts(): number {
    return this.attempt;
  }

  reset(): void {
    this.attempt = 0;
  }
}

/** The part of a logger a FailureLog writes to (any leveled logger fits). */
export type FailureLogger = Pick<Logger, 'warn' | 'info' | 'debug'>;

export class FailureLog {
  private failures = 0;
  private suppressed = 0;
  private lastLoggedAt = -Infinity;
  /** This failure streak was announced at warn level (so its end is announced too). */
  private streakLogged = false;

  constructor(
    private readonly log: FailureLogger,
    private readonly what: string,
    private readonly everyMs = 5 * 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * At most one warning per `everyMs`, across streaks too: a link that flaps
   * (fails, recovers, fails again) is one warning, not one per flap.
   */
  failure(reason: string): void {
    this.failures++;
    const t = this.now();
    if (t - this.lastLoggedAt >= this.everyMs) {
      const still = this.failures > 1 ? ` (still failing: ${this.failures} attempts, ${this.suppressed} similar messages suppressed)` : '';
      this.log.warn(`${this.what}: ${reason}${still}`);
      this.lastLoggedAt = t;
      this.suppressed = 0;
      this.streakLogged = true;
    } else {
      this.suppressed++;
      this.log.debug(`${this.what}: ${reason}`);
    }
  }

  success(message: string): void {
    if (this.failures > 0) {
      const text = `${message} (after ${this.failures} failed attempts)`;
      if (this.streakLogged) this.log.info(text);
      else this.log.debug(text);
    }
    this.failures = 0;
    this.suppressed = 0;
    this.streakLogged = false;
  }

  get failureCount(): number {
    return this.failures;
  }
}
