// Structural interfaces for what the Moonraker adapter needs from the host
// application. moonraker-bridge/ never imports src/ (layout rule); the
// composition root passes src/util/log.ts Logger, src/util/clock.ts Clock and
// src/util/backoff.ts Backoff, which satisfy these shapes.

export interface BridgeLogger {
  error(msg: string): void;
  warn(msg: string): void;
  info(msg: string): void;
  debug(msg: string): void;
}

/**
 * Timer source. Handles are opaque; method syntax keeps parameters bivariant so
 * a Clock with a branded handle type is accepted.
 */
export interface BridgeClock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** Capped exponential backoff: delay before the next attempt, reset on success. */
export interface BridgeBackoff {
  next(): number;
  reset(): void;
}

/**
 * Reports connection failures: the first loudly, repeats rate-limited, and the
 * recovery once (src/util/backoff.ts FailureLog, passed in by the composition root).
 */
export interface BridgeFailureLog {
  failure(reason: string): void;
  success(message: string): void;
}

/** Error message without stack, for log lines. */
export function errorText(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}

/** A logger that drops everything (tests, library use). */
export const silentLogger: BridgeLogger = {
  error: () => undefined,
  warn: () => undefined,
  info: () => undefined,
  debug: () => undefined,
};
