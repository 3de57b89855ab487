// A minimal JSON-RPC websocket client for the simulator tests (uses `ws` directly).
import WebSocket from 'ws';

export interface Notification {
  method: string;
  params?: unknown[] | Record<string, unknown>;
}

export class RpcError extends Error {
  constructor(
    readonly code: number,
    message: string,
    /** The error's `data` (e.g. an agent's own error relayed by server.extensions.request). */
    readonly data?: unknown,
  ) {
    super(message);
  }
}

export class SimClient {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  readonly notifications: Notification[] = [];
  private readonly waiters: Array<{ match: (n: Notification) => boolean; resolve: (n: Notification) => void }> = [];
  closed: { code: number; reason: string } | null = null;
  private readonly closedWaiters: Array<() => void> = [];

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => this.onMessage(String(data)));
    ws.on('close', (code, reason) => {
      this.closed = { code, reason: reason.toString() };
      for (const p of this.pending.values()) p.reject(new Error('socket closed'));
      this.pending.clear();
      for (const w of this.closedWaiters.splice(0)) w();
    });
    ws.on('error', () => undefined);
  }

  static connect(url: string, headers: Record<string, string> = {}): Promise<SimClient> {
    return SimClient.connectPath(url + '/websocket', headers);
  }

  /** Connects to a full URL (http(s) or ws(s)), e.g. with a ?token= query. */
  static async connectPath(url: string, headers: Record<string, string> = {}): Promise<SimClient> {
    const ws = new WebSocket(url.replace(/^http/, 'ws'), { headers });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    return new SimClient(ws);
  }

  private onMessage(text: string): void {
    const msg = JSON.parse(text) as { id?: number; result?: unknown; error?: { code: number; message: string; data?: unknown }; method?: string; params?: unknown[] };
    if (msg.id !== undefined && msg.id !== null && this.pending.has(msg.id)) {
      const p = this.pending.get(msg.id);
      this.pending.delete(msg.id);
      if (msg.error) p?.reject(new RpcError(msg.error.code, msg.error.message, msg.error.data));
      else p?.resolve(msg.result);
      return;
    }
    if (typeof msg.method === 'string') {
      const n: Notification = { method: msg.method, ...(msg.params !== undefined ? { params: msg.params } : {}) };
      this.notifications.push(n);
      for (const w of [...this.waiters]) {
        if (w.match(n)) {
          this.waiters.splice(this.waiters.indexOf(w), 1);
          w.resolve(n);
        }
      }
    }
  }

  call<T = unknown>(method: string, params?: Record<string, unknown>): Promise<T> {
    const id = this.nextId++;
    const msg: Record<string, unknown> = { jsonrpc: '2.0', method, id };
    if (params !== undefined) msg['params'] = params;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.ws.send(JSON.stringify(msg));
    });
  }

  sendRaw(text: string): void {
    this.ws.send(text);
  }

  /** Resolves with the first notification (already received or future) matching. */
  waitFor(match: (n: Notification) => boolean, timeoutMs = 5000, fromIndex = 0): Promise<Notification> {
    const seen = this.notifications.slice(fromIndex).find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const w = { match, resolve: (n: Notification) => { clearTimeout(t); resolve(n); } };
      const t = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for notification`));
      }, timeoutMs);
      this.waiters.push(w);
    });
  }

  waitMethod(method: string, timeoutMs = 5000, fromIndex = 0): Promise<Notification> {
    return this.waitFor((n) => n.method === method, timeoutMs, fromIndex);
  }

  waitClosed(timeoutMs = 5000): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('socket did not close')), timeoutMs);
      this.closedWaiters.push(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  async identify(extra: Record<string, unknown> = {}): Promise<{ connection_id: number }> {
    return this.call('server.connection.identify', { client_name: 'sim-test', version: '0.0.1', type: 'agent', url: 'https://example.invalid', ...extra });
  }

  close(): void {
    this.ws.close();
  }
}

/** Polls `fn` until it returns a truthy value. */
export async function until<T>(fn: () => T | Promise<T>, timeoutMs = 5000, stepMs = 20): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

export async function httpJson(url: string, init: RequestInit = {}): Promise<{ status: number; body: unknown; headers: Headers }> {
  const res = await fetch(url, init);
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON
  }
  return { status: res.status, body, headers: res.headers };
}
