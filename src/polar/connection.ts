// One connection to a Polar Status Server: typed sends, inbound validation
// (bad messages are logged and dropped), and waiting for replies. No retry
// logic here; PolarClient and the registration flow build on it.
import type { Logger } from '../util/log.js';
import type { Clock } from '../util/clock.js';
import { TypedEmitter } from '../util/typed-emitter.js';
import {
  cloudToPrinterSchemas,
  validateCloudCommand,
  type CloudCommandName,
  type CloudToPrinter,
  type PrinterToCloud,
  type PrinterCommandName,
} from './messages.js';
import type { PolarTransport } from './transport.js';
import { redactPayload } from './redact.js';

type MessageEvents = { [K in CloudCommandName]: CloudToPrinter[K] };

export interface ConnectionEvents {
  open: undefined;
  close: { reason: string; serverInitiated: boolean };
}

export class ReplyTimeoutError extends Error {
  constructor(readonly command: string, readonly timeoutMs: number) {
    super(`no ${command} from Polar Cloud within ${Math.round(timeoutMs / 1000)} s`);
    this.name = 'ReplyTimeoutError';
  }
}

export class ConnectionClosedError extends Error {
  constructor(readonly reason: string) {
    super(`connection to Polar Cloud closed (${reason})`);
    this.name = 'ConnectionClosedError';
  }
}

/**
 * Unknown cloud event names: each name is logged once, then only counted (a flood of one name,
 * or of many, costs a few log lines). Shared across the reconnects of one client.
 */
export class UnknownEvents {
  private readonly perName = new Map<string, number>();
  private total = 0;
  /** Distinct names logged by name; the rest are counted together. */
  static readonly MAX_NAMES = 20;

  constructor(private readonly log: Logger) {}

  get count(): number {
    return this.total;
  }

  seen(event: string): void {
    this.total++;
    const name = truncate(event, 64);
    const n = this.perName.get(name);
    if (n !== undefined) {
      this.perName.set(name, n + 1);
      if (isPowerOfTen(n + 1)) this.log.info(`unknown command '${escapeName(name)}' from Polar Cloud ignored ${n + 1} times`);
      return;
    }
    if (this.perName.size < UnknownEvents.MAX_NAMES) {
      this.perName.set(name, 1);
      this.log.warn(`ignored unknown command from Polar Cloud: '${escapeName(name)}' (logged once; repeats are counted)`);
    } else if (isPowerOfTen(this.total)) {
      this.log.info(`${this.total} unknown commands from Polar Cloud ignored (${UnknownEvents.MAX_NAMES} names logged, the rest only counted)`);
    }
  }
}

function isPowerOfTen(n: number): boolean {
  return n >= 10 && /^10*$/.test(String(n));
}

/** Control characters shown escaped: a name must not forge log lines. */
function escapeName(s: string): string {
  return s.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

export class PolarConnection {
  readonly messages = new TypedEmitter<MessageEvents>();
  readonly events = new TypedEmitter<ConnectionEvents>();
  private isOpen = false;
  private isClosed = false;
  private closeReason = '';

  constructor(
    private readonly transport: PolarTransport,
    private readonly log: Logger,
    private readonly clock: Clock,
    private readonly wire: boolean,
    private readonly unknown: UnknownEvents = new UnknownEvents(log),
  ) {}

  open(): void {
    this.transport.open({
      onOpen: () => {
        this.isOpen = true;
        this.events.emit('open', undefined);
      },
      onClose: (reason, serverInitiated) => {
        this.isOpen = false;
        this.isClosed = true;
        this.closeReason = reason;
        this.events.emit('close', { reason, serverInitiated });
      },
      onError: (message) => this.log.debug(`transport error: ${message}`),
      onMessage: (event, payload) => this.receive(event, payload),
    });
  }

  get connected(): boolean {
    return this.isOpen;
  }

  get closed(): boolean {
    return this.isClosed;
  }

  send<K extends PrinterCommandName>(name: K, payload: PrinterToCloud[K]): boolean {
    if (!this.isOpen) {
      this.log.debug(`not sent (not connected): ${name}`);
      return false;
    }
    if (this.wire) this.log.debug(`→ ${name} ${JSON.stringify(redactPayload(payload))}`);
    this.transport.send(name, payload);
    return true;
  }

  close(): void {
    this.transport.close();
  }

  /** Resolves with the next valid `name` message (matching `accept`), rejects on timeout or close. */
  next<K extends CloudCommandName>(name: K, timeoutMs: number, accept: (m: CloudToPrinter[K]) => boolean = () => true): Promise<CloudToPrinter[K]> {
    return new Promise((resolve, reject) => {
      if (this.isClosed) {
        reject(new ConnectionClosedError(this.closeReason));
        return;
      }
      const cleanup = (): void => {
        offMsg();
        offClose();
        this.clock.clearTimeout(timer);
      };
      const offMsg = this.messages.on(name, (m) => {
        if (!accept(m)) return;
        cleanup();
        resolve(m);
      });
      const offClose = this.events.on('close', ({ reason }) => {
        cleanup();
        reject(new ConnectionClosedError(reason));
      });
      const timer = this.clock.setTimeout(() => {
        cleanup();
        reject(new ReplyTimeoutError(name, timeoutMs));
      }, timeoutMs);
    });
  }

  private receive(event: string, payload: unknown): void {
    if (this.wire) this.log.debug(`← ${event} ${safeJson(redactPayload(payload))}`);
    if (!Object.hasOwn(cloudToPrinterSchemas, event)) {
      // 'connect' is the one alias the protocol text uses for connectPrinter.
      if (event === 'connect' && isObject(payload)) return this.receive('connectPrinter', payload);
      this.unknown.seen(event);
      return;
    }
    const name = event as CloudCommandName;
    const res = validateCloudCommand(name, payload);
    if (!res.ok) {
      this.log.warn(`dropped invalid '${name}' from Polar Cloud: ${res.reason}`);
      return;
    }
    try {
      this.messages.emit(name, res.value as MessageEvents[typeof name]);
    } catch (err) {
      // A failing handler must not take the connection down.
      this.log.error(`handler for '${name}' failed: ${(err as Error).stack ?? String(err)}`);
    }
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function truncate(s: string, n: number): string {
  return s.length > n ? s.slice(0, n) + '…' : s;
}

function safeJson(v: unknown): string {
  try {
    return truncate(JSON.stringify(v) ?? 'undefined', 2000);
  } catch {
    return '[unserializable]';
  }
}
