// The emulator's event log: every connection, message, violation, upload and
// download, in order, with waiters that resolve on past or future events.
// Payloads are stored masked: a PIN or private key never sits in the log.
import type { EmulatorEvent, EventPredicate } from './types.js';

const MAX_EVENTS = 50_000;
const SECRET_KEYS = new Set(['pin', 'private']);
export const MASK = '***';

const MAX_LOGGED_STRING = 64 * 1024;

/** Deep copy with secret fields (`pin`, `private`) replaced by ***; bounded depth and string length. */
export function maskSecrets(value: unknown, depth = 0): unknown {
  if (typeof value === 'string' && value.length > MAX_LOGGED_STRING) return `${value.slice(0, MAX_LOGGED_STRING)}…(${value.length} chars)`;
  if (depth > 20 || value === null || typeof value !== 'object') return value;
  if (Buffer.isBuffer(value)) return `<${value.length} bytes>`;
  if (Array.isArray(value)) return value.map((v) => maskSecrets(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    out[k] = SECRET_KEYS.has(k.toLowerCase()) && v !== undefined ? MASK : maskSecrets(v, depth + 1);
  }
  return out;
}

interface Waiter {
  predicate: EventPredicate;
  since: number;
  resolve: (e: EmulatorEvent) => void;
  reject: (err: Error) => void;
  timer: ReturnType<typeof setTimeout>;
}

export class EventLog {
  private list: EmulatorEvent[] = [];
  private seq = 0;
  private readonly waiters = new Set<Waiter>();

  constructor(private readonly now: () => number) {}

  record(e: Omit<EmulatorEvent, 'seq' | 'time'>): EmulatorEvent {
    const event: EmulatorEvent = { seq: ++this.seq, time: this.now(), ...e };
    if (e.payload !== undefined) event.payload = maskSecrets(e.payload);
    this.list.push(event);
    if (this.list.length > MAX_EVENTS) this.list.splice(0, this.list.length - MAX_EVENTS);
    for (const w of [...this.waiters]) {
      if (event.seq > w.since && safeMatch(w.predicate, event)) this.settle(w, event);
    }
    return event;
  }

  events(since = 0): EmulatorEvent[] {
    return this.list.filter((e) => e.seq > since);
  }

  violations(since = 0): EmulatorEvent[] {
    return this.list.filter((e) => e.kind === 'violation' && e.seq > since);
  }

  lastSeq(): number {
    return this.seq;
  }

  waitFor(predicate: EventPredicate, timeoutMs = 5000, since = 0): Promise<EmulatorEvent> {
    const past = this.list.find((e) => e.seq > since && safeMatch(predicate, e));
    if (past) return Promise.resolve(past);
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        predicate,
        since,
        resolve,
        reject,
        timer: setTimeout(() => {
          this.waiters.delete(waiter);
          reject(new Error(`emulator: no matching event within ${timeoutMs} ms`));
        }, timeoutMs),
      };
      this.waiters.add(waiter);
    });
  }

  /** Forgets the events (seq keeps counting, so `since` values stay meaningful). */
  clear(): void {
    this.list = [];
  }

  /** Rejects every pending waiter (emulator stopping). */
  close(): void {
    for (const w of [...this.waiters]) {
      this.waiters.delete(w);
      clearTimeout(w.timer);
      w.reject(new Error('emulator stopped'));
    }
  }

  private settle(w: Waiter, e: EmulatorEvent): void {
    this.waiters.delete(w);
    clearTimeout(w.timer);
    w.resolve(e);
  }
}

function safeMatch(predicate: EventPredicate, e: EmulatorEvent): boolean {
  try {
    return predicate(e);
  } catch {
    return false;
  }
}
