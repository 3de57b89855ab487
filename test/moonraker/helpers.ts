// Test helpers for the Moonraker adapter tests.
import type { BridgeLogger } from '../../moonraker-bridge/index.js';

export interface CapturedLog extends BridgeLogger {
  lines: Array<{ level: 'error' | 'warn' | 'info' | 'debug'; msg: string }>;
  count(level: 'error' | 'warn' | 'info' | 'debug', re?: RegExp): number;
}

export function captureLog(echo = process.env.MR_TEST_LOG === '1'): CapturedLog {
  const lines: CapturedLog['lines'] = [];
  const add = (level: 'error' | 'warn' | 'info' | 'debug') => (msg: string) => {
    lines.push({ level, msg });
    if (echo) process.stderr.write(`${level} ${msg}\n`);
  };
  return {
    lines,
    error: add('error'),
    warn: add('warn'),
    info: add('info'),
    debug: add('debug'),
    count: (level, re) => lines.filter((l) => l.level === level && (!re || re.test(l.msg))).length,
  };
}

/** Polls `pred` until true (real time); rejects with `what` after timeoutMs. */
export async function waitFor(pred: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Backoff with fixed small delays, counting resets. */
export class FixedBackoff {
  attempts = 0;
  resets = 0;
  constructor(private readonly ms: number) {}
  next(): number {
    this.attempts++;
    return this.ms;
  }
  reset(): void {
    this.resets++;
    this.attempts = 0;
  }
}
