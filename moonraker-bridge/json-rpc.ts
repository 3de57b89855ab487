// JSON-RPC 2.0 peer for one Moonraker connection. It knows nothing about the
// socket: frames go out through the injected `send`, come in via handleFrame().
// Every inbound frame is validated; a malformed one is logged and dropped,
// never thrown. close() rejects every pending call with RpcClosedError.
// Inbound requests (Moonraker relaying server.extensions.request to this
// agent) go to the optional onRequest handler; without one they get -32601.
import { plainNotification } from './fast-checks.js';
import { z } from 'zod';
import type { BridgeClock, BridgeLogger } from './deps.js';

/** Moonraker (or Klippy through it) answered the call with a JSON-RPC error. */
export class MoonrakerRpcError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly method: string,
    readonly data?: unknown,
  ) {
    super(message);
    this.name = 'MoonrakerRpcError';
  }
}

/** No reply arrived within the call's timeout. */
export class RpcTimeoutError extends Error {
  constructor(
    readonly method: string,
    readonly timeoutMs: number,
  ) {
    super(`${method}: no reply within ${timeoutMs} ms`);
    this.name = 'RpcTimeoutError';
  }
}

/** The connection closed (or was never open) before the reply arrived. */
export class RpcClosedError extends Error {
  constructor(
    readonly method: string,
    readonly reason: string,
  ) {
    super(`${method}: connection closed (${reason})`);
    this.name = 'RpcClosedError';
  }
}

/** The call was aborted by its AbortSignal. */
export class RpcAbortedError extends Error {
  constructor(readonly method: string) {
    super(`${method}: aborted`);
    this.name = 'RpcAbortedError';
  }
}

/**
 * Thrown by an onRequest handler to answer an inbound request with this exact
 * JSON-RPC error; RpcMethodError.notFound() is the standard -32601.
 */
export class RpcMethodError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly data?: unknown,
  ) {
    super(message);
    this.name = 'RpcMethodError';
  }

  static notFound(method: string): RpcMethodError {
    return new RpcMethodError(METHOD_NOT_FOUND, `Method not found: ${method}`);
  }
}

export const METHOD_NOT_FOUND = -32601;
/** JSON-RPC "server error" used when a handler throws something without a numeric code. */
export const HANDLER_ERROR = -32000;

/** Answers an inbound request: resolve with the result, throw to answer with an error. */
export type InboundRequestHandler = (method: string, params: unknown) => Promise<unknown>;

/** A reply arrived but does not have the documented shape. */
export class MoonrakerReplyError extends Error {
  constructor(
    readonly method: string,
    readonly issue: string,
  ) {
    super(`${method}: unexpected reply (${issue})`);
    this.name = 'MoonrakerReplyError';
  }
}

/** Validates a call's result; throws MoonrakerReplyError. */
export function parseReply<T>(schema: z.ZodType<T>, method: string, value: unknown): T {
  const r = schema.safeParse(value);
  if (!r.success) throw new MoonrakerReplyError(method, issueText(r.error));
  return r.data;
}

export type RpcParams = Record<string, unknown> | unknown[];

export interface CallOptions {
  /** Overrides the default / per-method timeout; 0 waits forever. */
  timeoutMs?: number;
  signal?: AbortSignal;
  /**
   * Called synchronously when the reply frame is handled, before the promise
   * settles: lets a caller order the reply against notifications that follow
   * it in the same tick (the promise continuation runs after them).
   */
  onReplyFrame?: () => void;
}

export interface JsonRpcPeerOptions {
  send(text: string): void;
  clock: BridgeClock;
  log: BridgeLogger;
  /** Default per-call timeout (ms). */
  defaultTimeoutMs?: number;
  /** Per-method timeouts (ms), e.g. printer.gcode.script, which answers only when the G-code finishes. */
  methodTimeoutsMs?: Readonly<Record<string, number>>;
  /** Server-to-client notifications (no id). Called synchronously per frame. */
  onNotification?(method: string, params: unknown): void;
  /**
   * Server-to-client requests (with an id). The reply is {result} (undefined
   * becomes null) or, if it throws, {error: {code, message}}: an RpcMethodError's
   * own code/data, else `err.code` when numeric, else -32000. Absent: -32601.
   */
  onRequest?: InboundRequestHandler;
  /** Log every frame at debug level. */
  wire?: boolean;
}

export const DEFAULT_RPC_TIMEOUT_MS = 30_000;
export const DEFAULT_GCODE_TIMEOUT_MS = 60 * 60_000;

interface Pending {
  method: string;
  onReplyFrame?: () => void;
  resolve(value: unknown): void;
  reject(err: Error): void;
  timer: unknown;
  cleanupAbort?: () => void;
}

const idSchema = z.union([z.number(), z.string()]).nullable();
const errorSchema = z.object({ code: z.number(), message: z.string(), data: z.unknown().optional() });
const responseSchema = z.object({
  jsonrpc: z.literal('2.0'),
  id: idSchema,
  result: z.unknown().optional(),
  error: errorSchema.optional(),
});
const inboundCallSchema = z.object({
  jsonrpc: z.literal('2.0'),
  method: z.string().min(1),
  params: z.union([z.array(z.unknown()), z.record(z.string(), z.unknown())]).optional(),
  id: idSchema.optional(),
});

export class JsonRpcPeer {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private closedReason: string | undefined;

  constructor(private readonly opts: JsonRpcPeerOptions) {}

  get pendingCount(): number {
    return this.pending.size;
  }

  get isClosed(): boolean {
    return this.closedReason !== undefined;
  }

  /** Sends a request and resolves with its `result` (unvalidated: callers validate). */
  call(method: string, params?: RpcParams, options: CallOptions = {}): Promise<unknown> {
    if (this.closedReason !== undefined) return Promise.reject(new RpcClosedError(method, this.closedReason));
    if (options.signal?.aborted) return Promise.reject(new RpcAbortedError(method));
    const id = this.nextId++;
    const frame: Record<string, unknown> = { jsonrpc: '2.0', method, id };
    if (params !== undefined) frame.params = params;
    return new Promise<unknown>((resolve, reject) => {
      const timeoutMs = options.timeoutMs ?? this.opts.methodTimeoutsMs?.[method] ?? this.opts.defaultTimeoutMs ?? DEFAULT_RPC_TIMEOUT_MS;
      const entry: Pending = { method, resolve, reject, timer: undefined, onReplyFrame: options.onReplyFrame };
      if (timeoutMs > 0 && Number.isFinite(timeoutMs)) {
        entry.timer = this.opts.clock.setTimeout(() => {
          this.settle(id)?.reject(new RpcTimeoutError(method, timeoutMs));
        }, timeoutMs);
      }
      const signal = options.signal;
      if (signal) {
        const onAbort = (): void => {
          this.settle(id)?.reject(new RpcAbortedError(method));
        };
        signal.addEventListener('abort', onAbort, { once: true });
        entry.cleanupAbort = () => signal.removeEventListener('abort', onAbort);
      }
      this.pending.set(id, entry);
      let text: string;
      try {
        text = JSON.stringify(frame);
      } catch (err) {
        this.settle(id)?.reject(err instanceof Error ? err : new Error(String(err)));
        return;
      }
      if (this.opts.wire) this.opts.log.debug(`> ${truncate(text)}`);
      try {
        this.opts.send(text);
      } catch (err) {
        this.settle(id)?.reject(new RpcClosedError(method, err instanceof Error ? err.message : String(err)));
      }
    });
  }

  /** Sends a notification (no id, no reply). Returns false if it could not be sent. */
  notify(method: string, params?: RpcParams): boolean {
    if (this.closedReason !== undefined) return false;
    const frame: Record<string, unknown> = { jsonrpc: '2.0', method };
    if (params !== undefined) frame.params = params;
    try {
      const text = JSON.stringify(frame);
      if (this.opts.wire) this.opts.log.debug(`> ${truncate(text)}`);
      this.opts.send(text);
      return true;
    } catch (err) {
      this.opts.log.debug(`notify ${method} not sent: ${err instanceof Error ? err.message : String(err)}`);
      return false;
    }
  }

  /** Feeds one inbound text frame. Never throws. */
  handleFrame(text: string): void {
    if (this.opts.wire) this.opts.log.debug(`< ${truncate(text)}`);
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch {
      this.opts.log.warn(`dropped malformed frame (not JSON): ${truncate(text, 120)}`);
      return;
    }
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
      this.opts.log.warn(`dropped malformed frame (not a JSON-RPC object): ${truncate(text, 120)}`);
      return;
    }
    if ('method' in raw) this.handleInboundCall(raw, text);
    else this.handleResponse(raw, text);
  }

  /** Rejects every pending call with RpcClosedError; later calls fail at once. */
  close(reason: string): void {
    if (this.closedReason !== undefined) return;
    this.closedReason = reason;
    for (const id of [...this.pending.keys()]) {
      const entry = this.settle(id);
      entry?.reject(new RpcClosedError(entry.method, reason));
    }
  }

  private handleInboundCall(raw: object, text: string): void {
    // The status stream (several frames a second): no schema pass for a plain notification.
    const plain = plainNotification(raw);
    if (plain) return this.deliverNotification(plain.method, plain.params);
    const parsed = inboundCallSchema.safeParse(raw);
    if (!parsed.success) {
      this.opts.log.warn(`dropped malformed notification: ${issueText(parsed.error)}: ${truncate(text, 120)}`);
      return;
    }
    const { method, params, id } = parsed.data;
    if (id !== undefined && id !== null) {
      // Moonraker relays server.extensions.request calls to agents with an id:
      // always answer, so the caller is never left hanging.
      if (this.opts.onRequest) void this.answerInboundRequest(this.opts.onRequest, id, method, params);
      else {
        this.opts.log.debug(`refused inbound request '${method}' (no request handler)`);
        this.sendInboundReply(method, { jsonrpc: '2.0', id, error: inboundErrorObject(RpcMethodError.notFound(method)) });
      }
      return;
    }
    this.deliverNotification(method, params);
  }

  private deliverNotification(method: string, params: unknown): void {
    try {
      this.opts.onNotification?.(method, params);
    } catch (err) {
      this.opts.log.error(`notification handler for '${method}' failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
    }
  }

  private async answerInboundRequest(handler: InboundRequestHandler, id: number | string, method: string, params: unknown): Promise<void> {
    let reply: Record<string, unknown>;
    try {
      const result = await handler(method, params);
      reply = { jsonrpc: '2.0', id, result: result === undefined ? null : result };
    } catch (err) {
      const error = inboundErrorObject(err);
      if (err instanceof RpcMethodError) this.opts.log.debug(`inbound request '${method}' refused: ${error.code} ${error.message}`);
      else this.opts.log.warn(`inbound request '${method}' failed: ${error.code} ${error.message}`);
      reply = { jsonrpc: '2.0', id, error };
    }
    this.sendInboundReply(method, reply);
  }

  private sendInboundReply(method: string, reply: Record<string, unknown>): void {
    if (this.closedReason !== undefined) {
      this.opts.log.debug(`reply to inbound request '${method}' dropped: connection closed (${this.closedReason})`);
      return;
    }
    let text: string;
    try {
      text = JSON.stringify(reply);
    } catch (err) {
      this.opts.log.warn(`inbound request '${method}': result not serializable (${err instanceof Error ? err.message : String(err)})`);
      text = JSON.stringify({ jsonrpc: '2.0', id: reply.id, error: { code: HANDLER_ERROR, message: 'Result not serializable' } });
    }
    if (this.opts.wire) this.opts.log.debug(`> ${truncate(text)}`);
    try {
      this.opts.send(text);
    } catch {
      // Socket closing: nothing to answer on.
    }
  }

  private handleResponse(raw: object, text: string): void {
    const parsed = responseSchema.safeParse(raw);
    if (!parsed.success) {
      this.opts.log.warn(`dropped malformed response: ${issueText(parsed.error)}: ${truncate(text, 120)}`);
      return;
    }
    const msg = parsed.data;
    const hasResult = 'result' in raw;
    if (hasResult === (msg.error !== undefined)) {
      this.opts.log.warn(`dropped malformed response (needs exactly one of result/error): ${truncate(text, 120)}`);
      return;
    }
    if (typeof msg.id !== 'number') {
      if (msg.error) this.opts.log.warn(`error response without a call id: ${msg.error.code} ${msg.error.message}`);
      else this.opts.log.warn(`dropped response with unknown id ${JSON.stringify(msg.id)}`);
      return;
    }
    const entry = this.settle(msg.id);
    if (!entry) {
      // Late reply after a timeout or abort: harmless.
      this.opts.log.debug(`reply for unknown or expired call id ${msg.id}`);
      return;
    }
    try {
      entry.onReplyFrame?.();
    } catch (err) {
      this.opts.log.error(`onReplyFrame for '${entry.method}' failed: ${err instanceof Error ? err.message : String(err)}`);
    }
    if (msg.error) entry.reject(new MoonrakerRpcError(msg.error.code, msg.error.message, entry.method, msg.error.data));
    else entry.resolve(msg.result);
  }

  /** Removes a pending call and releases its timer and abort listener. */
  private settle(id: number): Pending | undefined {
    const entry = this.pending.get(id);
    if (!entry) return undefined;
    this.pending.delete(id);
    if (entry.timer !== undefined) this.opts.clock.clearTimeout(entry.timer);
    entry.cleanupAbort?.();
    return entry;
  }
}

function inboundErrorObject(err: unknown): { code: number; message: string; data?: unknown } {
  if (err instanceof RpcMethodError) {
    return err.data === undefined ? { code: err.code, message: err.message } : { code: err.code, message: err.message, data: err.data };
  }
  const code = typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'number' && Number.isInteger(err.code) ? err.code : HANDLER_ERROR;
  return { code, message: err instanceof Error ? err.message : String(err) };
}

function truncate(text: string, max = 2000): string {
  return text.length <= max ? text : `${text.slice(0, max)}… (${text.length} chars)`;
}

function issueText(err: z.ZodError): string {
  const i = err.issues[0];
  if (!i) return 'invalid';
  return `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`;
}
