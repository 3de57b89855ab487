// Connection manager for Moonraker: open the websocket, identify as an agent,
// register remote methods, then hand over to KlippySync (server.info until
// ready, list, query, one subscribe, resubscribe after notify_klippy_ready).
// Answers the extension methods registered with registerExtensionMethod()
// (server.extensions.request relayed by Moonraker).
// Reconnects after any loss with the injected backoff (first failure logged,
// then rate-limited); an unauthorized socket is reported once and retried slowly.
import { z } from 'zod';
import type { BridgeBackoff, BridgeClock, BridgeFailureLog, BridgeLogger } from './deps.js';
import { errorText } from './deps.js';
import { Emitter } from './emitter.js';
import { ExtensionMethods, type ExtensionMethodHandler } from './extension-methods.js';
import {
  DEFAULT_GCODE_TIMEOUT_MS,
  DEFAULT_RPC_TIMEOUT_MS,
  JsonRpcPeer,
  MoonrakerRpcError,
  RpcClosedError,
  RpcTimeoutError,
  parseReply,
  type CallOptions,
  type RpcParams,
} from './json-rpc.js';
import { KlippySync } from './klippy-sync.js';
import type { PrinterModel } from './printer-model.js';
import { TransportError, createWsConnector, type RpcSocket, type SocketConnector } from './ws-transport.js';

export interface MoonrakerClientEvents {
  /** Every notification Moonraker sends (after frame validation). */
  notification: { method: string; params: unknown };
  /** A registered remote method called from a Klipper macro (action_call_remote_method). */
  remoteMethod: { method: string; params: Record<string, unknown> };
  /** One notify_gcode_response line. */
  gcodeResponse: { line: string };
  /** Klippy is ready and the subscription is in place (after every (re)subscribe). */
  ready: { objects: string[]; heaters: string[] };
}

export interface MoonrakerClientOptions {
  /** Moonraker base URL, e.g. http://127.0.0.1:7125. */
  url: string;
  apiKey?: string;
  /** Version reported in server.connection.identify. */
  version: string;
  clientName?: string;
  /** Project URL reported in identify. */
  clientUrl?: string;
  /** Remote methods to register (callable from macros via action_call_remote_method). */
  remoteMethods?: readonly string[];
  model: PrinterModel;
  log: BridgeLogger;
  clock: BridgeClock;
  /** Delay before each reconnect after a loss (composition root: 1 s → 60 s with jitter). */
  backoff: BridgeBackoff;
  /** Rate-limited reporting of connection failures ("cannot reach Moonraker at …"). */
  failureLog: BridgeFailureLog;
  /** Opens the socket; default: websocket to `<url>/websocket`. */
  connect?: SocketConnector;
  unauthorizedRetryMs?: number;
  identifyRetryMs?: number;
  klippyPollMs?: number;
  /** Quiet stream at idle (idle-stream.ts): temperature poll period (default 5 s); 0 = always the full stream. */
  idleTemperaturePollMs?: number;
  /** Idle time before the stream goes quiet (default 10 s). */
  quietAfterMs?: number;
  rpcTimeoutMs?: number;
  gcodeTimeoutMs?: number;
  pingIntervalMs?: number;
  /** Log every frame at debug. */
  wire?: boolean;
}

const CLIENT_NAME = 'moonraker-polarcloud';
const CLIENT_URL = 'https://www.polar3d.com/';
/** After this many "already identified" answers in a row, stop retrying every few seconds. */
const MAX_QUICK_IDENTIFY_RETRIES = 10;

const gcodeResponseParams = z.tuple([z.string()]).rest(z.unknown());
const remoteParams = z.union([z.record(z.string(), z.unknown()), z.array(z.unknown())]).optional();

interface Session {
  seq: number;
  socket: RpcSocket;
  rpc: JsonRpcPeer;
  sync: KlippySync;
  closed: Promise<void>;
}

class IdentifyConflictError extends Error {}

export class MoonrakerClient {
  private readonly emitter: Emitter<MoonrakerClientEvents>;
  private stopped = true;
  private session: Session | undefined;
  private sessionSeq = 0;
  private retryTimer: unknown;
  private connectTask: Promise<void> | undefined;
  private unauthorizedReported = false;
  private identifyConflicts = 0;
  private readonly failures: BridgeFailureLog;
  private readonly extensionMethods = new ExtensionMethods();
  private readonly fullStreamHolds = new Set<string>();

  constructor(private readonly opts: MoonrakerClientOptions) {
    this.emitter = new Emitter<MoonrakerClientEvents>((event, err) => opts.log.error(`'${event}' listener failed: ${errorText(err)}`));
    this.failures = opts.failureLog;
  }

  on<K extends keyof MoonrakerClientEvents & string>(event: K, listener: (p: MoonrakerClientEvents[K]) => void): () => void {
    return this.emitter.on(event, listener);
  }

  get model(): PrinterModel {
    return this.opts.model;
  }

  /**
   * Keeps every status field pushed (no quiet stream at idle) while at least one
   * reason holds it, e.g. a cloud job on its way to the printer.
   */
  holdFullStream(reason: string, on: boolean): void {
    const had = this.fullStreamHolds.size > 0;
    if (on) this.fullStreamHolds.add(reason);
    else this.fullStreamHolds.delete(reason);
    if (had !== this.fullStreamHolds.size > 0) this.session?.sync.reevaluateStream();
  }

  /** 'quiet' while the status stream leaves temperatures out and polls them (idle-stream.ts). */
  get streamMode(): 'full' | 'quiet' {
    return this.session?.sync.streamMode ?? 'full';
  }

  /** True while a socket is open (Klippy may still be in any state). */
  get connected(): boolean {
    return this.session !== undefined;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.connectTask = this.connect();
  }

  /** Closes the socket, rejects pending calls and releases every timer. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.opts.clock.clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    const s = this.session;
    this.detach('client stopped');
    this.opts.model.setConnection('disconnected', 'stopped');
    if (s) await s.closed;
    await this.connectTask;
  }

  /** Skips the backoff wait: reconnects now if a retry is pending (Polar's connectPrinter). Returns true if it did. */
  reconnectNow(): boolean {
    if (this.stopped || this.session || this.retryTimer === undefined) return false;
    this.opts.backoff.reset();
    this.scheduleReconnect(0);
    return true;
  }

  /**
   * Offers `name` to Moonraker clients via server.extensions.request
   * {agent: <clientName>, method: name, arguments}. Works across reconnects;
   * returns a function that removes the method. Throws if the name is taken.
   */
  registerExtensionMethod(name: string, handler: ExtensionMethodHandler): () => void {
    return this.extensionMethods.register(name, handler);
  }

  /** A JSON-RPC call on the current connection (rejects with RpcClosedError when there is none). */
  call(method: string, params?: RpcParams, options?: CallOptions): Promise<unknown> {
    const s = this.session;
    if (!s) return Promise.reject(new RpcClosedError(method, 'not connected to Moonraker'));
    return s.rpc.call(method, params, options);
  }

  /** call() with the reply validated against `schema` (MoonrakerReplyError if it does not match). */
  async callParsed<T>(schema: z.ZodType<T>, method: string, params?: RpcParams, options?: CallOptions): Promise<T> {
    return parseReply(schema, method, await this.call(method, params, options));
  }

  // ---- connection lifecycle ----

  private async connect(): Promise<void> {
    const seq = ++this.sessionSeq;
    let socket: RpcSocket | undefined;
    const rpc = new JsonRpcPeer({
      send: (text) => {
        if (!socket) throw new Error('socket not open');
        socket.send(text);
      },
      clock: this.opts.clock,
      log: this.opts.log,
      defaultTimeoutMs: this.opts.rpcTimeoutMs ?? DEFAULT_RPC_TIMEOUT_MS,
      methodTimeoutsMs: { 'printer.gcode.script': this.opts.gcodeTimeoutMs ?? DEFAULT_GCODE_TIMEOUT_MS },
      onNotification: (method, params) => this.onNotification(seq, method, params),
      onRequest: (method, params) => this.extensionMethods.dispatch(method, params),
      wire: this.opts.wire ?? false,
    });
    let markClosed: () => void = () => undefined;
    const closed = new Promise<void>((resolve) => (markClosed = resolve));
    const connector =
      this.opts.connect ??
      createWsConnector({ url: this.opts.url, apiKey: this.opts.apiKey, clock: this.opts.clock, log: this.opts.log, pingIntervalMs: this.opts.pingIntervalMs });
    try {
      socket = await connector({
        onMessage: (text) => rpc.handleFrame(text),
        onClose: (code, reason) => {
          markClosed();
          rpc.close(reason || `code ${code}`);
          this.onSocketClosed(seq, code, reason);
        },
      });
    } catch (err) {
      if (seq !== this.sessionSeq || this.stopped) return;
      if (err instanceof TransportError && err.kind === 'unauthorized') this.enterUnauthorized(err.message);
      else this.lost(errorText(err));
      return;
    }
    if (seq !== this.sessionSeq || this.stopped) {
      socket.close();
      await closed;
      return;
    }
    // `connecting` = socket open, handshake running. Failed attempts keep
    // `disconnected`/`unauthorized`, so a down Moonraker does not flap the state.
    if (this.opts.model.connectionState !== 'connecting') this.opts.model.setConnection('connecting', '');
    const sync = new KlippySync({
      call: (method, params, options) => rpc.call(method, params, options),
      model: this.opts.model,
      log: this.opts.log,
      clock: this.opts.clock,
      pollMs: this.opts.klippyPollMs ?? 2_000,
      onServerAnswered: () => this.onServerAnswered(),
      onReady: (e) => this.emitter.emit('ready', e),
      onConnectionError: (err) => this.onConnectionError(seq, err),
      idlePollMs: this.opts.idleTemperaturePollMs,
      quietAfterMs: this.opts.quietAfterMs,
      holdFullStream: () => this.fullStreamHolds.size > 0,
    });
    this.session = { seq, socket, rpc, sync, closed };
    this.opts.log.debug(`websocket open to ${this.opts.url}`);
    try {
      await this.identify();
      await this.registerRemoteMethods(seq);
    } catch (err) {
      this.onHandshakeError(seq, err);
      return;
    }
    if (seq === this.sessionSeq && !this.stopped) sync.start();
  }

  private onServerAnswered(): void {
    this.opts.backoff.reset();
    this.identifyConflicts = 0;
    if (this.unauthorizedReported) {
      this.unauthorizedReported = false;
      this.opts.log.info('Moonraker accepted the connection');
    }
    this.failures.success(`connected to Moonraker at ${this.opts.url}`);
  }

  /** Errors of the Klippy sequence that concern the connection itself. */
  private onConnectionError(seq: number, err: unknown): boolean {
    if (seq !== this.sessionSeq || this.stopped) return true;
    if (isUnauthorized(err)) {
      this.detach('unauthorized');
      this.enterUnauthorized(errorText(err));
      return true;
    }
    if (err instanceof RpcTimeoutError) {
      // Moonraker stopped answering: treat like a lost connection.
      this.detach(err.message);
      this.lost(err.message);
      return true;
    }
    return false;
  }

  private async identify(): Promise<void> {
    const params: Record<string, unknown> = {
      client_name: this.opts.clientName ?? CLIENT_NAME,
      version: this.opts.version,
      type: 'agent',
      url: this.opts.clientUrl ?? CLIENT_URL,
    };
    if (this.opts.apiKey) params.api_key = this.opts.apiKey;
    try {
      await this.call('server.connection.identify', params);
      this.identifyConflicts = 0;
    } catch (err) {
      // Moonraker may still hold our previous socket: "Agent ... already registered"
      // (and that failed identify marks the socket identified, so retry on a new one).
      if (err instanceof MoonrakerRpcError && /already (registered|identified)/i.test(err.message)) {
        throw new IdentifyConflictError(err.message);
      }
      if (err instanceof MoonrakerRpcError && !isUnauthorized(err)) {
        this.opts.log.warn(`server.connection.identify failed (${err.code} ${err.message}); continuing unidentified`);
        return;
      }
      throw err;
    }
  }

  private async registerRemoteMethods(seq: number): Promise<void> {
    for (const name of this.opts.remoteMethods ?? []) {
      try {
        await this.call('connection.register_remote_method', { method_name: name });
      } catch (err) {
        if (!(err instanceof MoonrakerRpcError) || seq !== this.sessionSeq) throw err;
        this.opts.log.warn(`cannot register remote method '${name}': ${err.message}`);
      }
    }
  }

  private onHandshakeError(seq: number, err: unknown): void {
    if (seq !== this.sessionSeq || this.stopped || err instanceof RpcClosedError) return;
    if (err instanceof IdentifyConflictError) {
      this.identifyConflicts++;
      this.detach('identify conflict');
      const quick = this.identifyConflicts <= MAX_QUICK_IDENTIFY_RETRIES;
      const delay = quick ? (this.opts.identifyRetryMs ?? 2_000) : this.opts.backoff.next();
      if (this.identifyConflicts === MAX_QUICK_IDENTIFY_RETRIES + 1) {
        this.opts.log.error(`Moonraker keeps refusing identify (${err.message}); is another ${CLIENT_NAME} running? Retrying less often`);
      } else {
        this.failures.failure(`identify refused (${err.message}); retrying in ${delay} ms`);
      }
      this.opts.model.setConnection('connecting', err.message);
      this.scheduleReconnect(delay);
      return;
    }
    if (isUnauthorized(err)) {
      this.detach('unauthorized');
      this.enterUnauthorized(errorText(err));
      return;
    }
    this.detach(errorText(err));
    this.lost(errorText(err));
  }

  private onSocketClosed(seq: number, code: number, reason: string): void {
    if (seq !== this.sessionSeq || this.stopped) return;
    this.session?.sync.stop();
    this.session = undefined;
    this.lost(`connection closed (code ${code}${reason ? `: ${reason}` : ''})`);
  }

  /** Moonraker unreachable or the socket dropped: state `disconnected`, reconnect with backoff. */
  private lost(reason: string): void {
    this.opts.model.setConnection('disconnected', reason);
    const delay = this.opts.backoff.next();
    this.failures.failure(`${reason}; retrying in ${delay} ms`);
    this.scheduleReconnect(delay);
  }

  private enterUnauthorized(reason: string): void {
    const delay = this.opts.unauthorizedRetryMs ?? 60_000;
    if (!this.unauthorizedReported) {
      this.unauthorizedReported = true;
      this.opts.log.error(`Moonraker refused the connection as unauthorized (${reason}); set moonraker.api_key to Moonraker's API key. Retrying every ${Math.round(delay / 1000)} s`);
    } else {
      this.opts.log.debug(`still unauthorized: ${reason}`);
    }
    this.opts.model.setConnection('unauthorized', reason);
    this.scheduleReconnect(delay);
  }

  private scheduleReconnect(delay: number): void {
    if (this.stopped) return;
    this.opts.clock.clearTimeout(this.retryTimer);
    this.retryTimer = this.opts.clock.setTimeout(() => {
      this.retryTimer = undefined;
      if (!this.stopped) this.connectTask = this.connect();
    }, delay);
  }

  /** Forgets the current session (its close event is ignored) and closes it. */
  private detach(reason: string): void {
    const s = this.session;
    this.session = undefined;
    this.sessionSeq++;
    if (!s) return;
    s.sync.stop();
    s.rpc.close(reason);
    s.socket.close();
  }

  // ---- notifications ----

  private onNotification(seq: number, method: string, params: unknown): void {
    const s = this.session;
    if (seq !== this.sessionSeq || this.stopped || !s) return;
    if (!s.sync.handleNotification(method, params)) {
      if (method === 'notify_gcode_response') {
        const p = gcodeResponseParams.safeParse(params);
        if (p.success) this.emitter.emit('gcodeResponse', { line: p.data[0] });
        else this.opts.log.warn('dropped invalid notify_gcode_response');
      } else if (this.opts.remoteMethods?.includes(method)) {
        const p = remoteParams.safeParse(params);
        const kwargs = p.success && p.data && !Array.isArray(p.data) ? p.data : {};
        this.emitter.emit('remoteMethod', { method, params: kwargs });
      }
    }
    this.emitter.emit('notification', { method, params });
  }
}

/**
 * Moonraker answers an unauthenticated call with its 401 ServerError mapped to
 * JSON-RPC code -32602 (common.py execute_method), message "Unauthorized" or
 * "Invalid API Key"; a proxy or older server may use 401/403 directly.
 */
export function isUnauthorized(err: unknown): boolean {
  if (!(err instanceof MoonrakerRpcError)) return false;
  if (err.code === 401 || err.code === 403) return true;
  return err.code === -32602 && /unauthori[sz]ed|api key|jwt|token/i.test(err.message);
}
