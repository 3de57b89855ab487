// The websocket to Moonraker (the only file that imports `ws`). Connects to
// `<moonraker.url>/websocket`, sends X-Api-Key on the upgrade when configured,
// reports a 401/403 upgrade answer as `unauthorized`, and pings the server so
// a half-open TCP connection (Wi-Fi drop) is noticed instead of hanging.
import WebSocket from 'ws';
import type { BridgeClock, BridgeLogger } from './deps.js';

export type TransportErrorKind = 'unauthorized' | 'http' | 'network';

/** Connecting failed. `unauthorized`: the upgrade was answered 401/403 (API key missing or wrong). */
export class TransportError extends Error {
  constructor(
    readonly kind: TransportErrorKind,
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'TransportError';
  }
}

/** An open text-frame connection. */
export interface RpcSocket {
  send(text: string): void;
  /** Closes gracefully; onClose follows. */
  close(): void;
}

export interface SocketHandlers {
  onMessage(text: string): void;
  /** Called exactly once when an opened socket closes (for any reason). */
  onClose(code: number, reason: string): void;
}

/** Opens a socket; rejects with TransportError. The client takes this as an injectable dependency. */
export type SocketConnector = (handlers: SocketHandlers) => Promise<RpcSocket>;

export interface WsTransportOptions {
  /** Moonraker base URL, http(s)://host:port[/prefix]. */
  url: string;
  apiKey?: string;
  clock: BridgeClock;
  log: BridgeLogger;
  handshakeTimeoutMs?: number;
  /** Ping period; the socket is dropped when a ping is not answered within one period. 0 disables. */
  pingIntervalMs?: number;
}

/** http://h:p/x -> ws://h:p/x/websocket (https -> wss). */
export function websocketUrl(base: string): string {
  const u = new URL(base);
  if (u.protocol === 'http:') u.protocol = 'ws:';
  else if (u.protocol === 'https:') u.protocol = 'wss:';
  else if (u.protocol !== 'ws:' && u.protocol !== 'wss:') throw new Error(`unsupported Moonraker URL scheme: ${u.protocol}`);
  u.pathname = `${u.pathname.replace(/\/+$/, '')}/websocket`;
  u.search = '';
  u.hash = '';
  return u.toString();
}

export function createWsConnector(opts: WsTransportOptions): SocketConnector {
  return (handlers) => connectWebSocket(opts, handlers);
}

export function connectWebSocket(opts: WsTransportOptions, handlers: SocketHandlers): Promise<RpcSocket> {
  const target = websocketUrl(opts.url);
  const headers: Record<string, string> = {};
  if (opts.apiKey) headers['X-Api-Key'] = opts.apiKey;
  return new Promise<RpcSocket>((resolve, reject) => {
    let settled = false;
    const ws = new WebSocket(target, {
      headers,
      handshakeTimeout: opts.handshakeTimeoutMs ?? 10_000,
      perMessageDeflate: false,
      // Moonraker's status frames are small, but the configfile query can be large.
      maxPayload: 64 * 1024 * 1024,
    });
    const fail = (err: TransportError): void => {
      if (settled) return;
      settled = true;
      reject(err);
    };
    ws.on('unexpected-response', (req, res) => {
      const status = res.statusCode ?? 0;
      res.resume();
      req.destroy();
      if (status === 401 || status === 403) {
        fail(new TransportError('unauthorized', `websocket upgrade refused: HTTP ${status} (API key missing or invalid)`, status));
      } else {
        fail(new TransportError('http', `websocket upgrade refused: HTTP ${status}`, status));
      }
    });
    ws.on('error', (err) => {
      if (!settled) fail(new TransportError('network', err.message));
      else opts.log.debug(`websocket error: ${err.message}`);
    });
    ws.on('open', () => {
      if (settled) {
        ws.terminate();
        return;
      }
      settled = true;
      resolve(new WsRpcSocket(ws, opts, handlers));
    });
  });
}

class WsRpcSocket implements RpcSocket {
  private pingTimer: unknown;
  private awaitingPong = false;
  private closed = false;

  constructor(
    private readonly ws: WebSocket,
    private readonly opts: WsTransportOptions,
    private readonly handlers: SocketHandlers,
  ) {
    ws.on('message', (data, isBinary) => {
      const text = typeof data === 'string' ? data : Buffer.isBuffer(data) ? data.toString('utf8') : Buffer.concat(Array.isArray(data) ? data : [Buffer.from(data)]).toString('utf8');
      if (isBinary) opts.log.debug('binary websocket frame treated as text');
      handlers.onMessage(text);
    });
    ws.on('pong', () => {
      this.awaitingPong = false;
    });
    ws.on('close', (code, reason) => this.finish(code, reason.toString('utf8')));
    this.schedulePing();
  }

  send(text: string): void {
    if (this.ws.readyState !== WebSocket.OPEN) throw new Error('websocket is not open');
    this.ws.send(text);
  }

  close(): void {
    if (this.ws.readyState === WebSocket.CLOSED) return;
    this.ws.close(1000, 'client closing');
    // A peer that never answers the close handshake must not keep us waiting.
    const t = this.opts.clock.setTimeout(() => this.ws.terminate(), 2_000);
    this.ws.once('close', () => this.opts.clock.clearTimeout(t));
  }

  private schedulePing(): void {
    const every = this.opts.pingIntervalMs ?? 30_000;
    if (every <= 0 || this.closed) return;
    this.pingTimer = this.opts.clock.setTimeout(() => {
      if (this.closed) return;
      if (this.awaitingPong) {
        this.opts.log.warn(`Moonraker did not answer a websocket ping within ${every} ms; dropping the connection`);
        this.ws.terminate();
        return;
      }
      this.awaitingPong = true;
      try {
        this.ws.ping();
      } catch {
        // Closing: the close event follows.
      }
      this.schedulePing();
    }, every);
  }

  private finish(code: number, reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.opts.clock.clearTimeout(this.pingTimer);
    this.handlers.onClose(code, reason);
  }
}
