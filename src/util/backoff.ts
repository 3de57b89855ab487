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

  constructor(
    private readonly log: FailureLogger,
    private readonly what: string,
    private readonly everyMs = 5 * 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  failure(reason: string): void {
    this.failures++;
    const t = this.now();
    if (this.failures === 1) {
      this.log.warn(`${this.what}: ${reason}`);
      this.lastLoggedAt = t;
    } else if (t - this.lastLoggedAt >= this.everyMs) {
      this.log.warn(`${this.what}: ${reason} (still failing: ${this.failures} attempts, ${this.suppressed} similar messages suppressed)`);
      this.lastLoggedAt = t;
      this.suppressed = 0;
    } else {
      this.suppressed++;
      this.log.debug(`${this.what}: ${reason}`);
    }
  }

  success(message: string): void {
    if (this.failures > 0) this.log.info(`${message} (after ${this.failures} failed attempts)`);
    this.failures = 0;
    this.suppressed = 0;
    this.lastLoggedAt = -Infinity;
  }

  get failureCount(): number {
    return this.failures;
  }
}
