// Websocket clients: JSON-RPC dispatch, identification and authentication,
// notifications, remote methods, and printer object subscriptions (changed
// fields only, batched every 250 ms like Klipper's status updates).
import type { IncomingMessage } from 'node:http';
import type { TimerHandle } from '../util/clock.js';
import { delay, type SimContext } from './context.js';
import { MoonrakerError } from './errors.js';
import type { AgentInfo } from './extensions.js';
import { RpcRouter } from './jsonrpc-router.js';
import type { SocketHandlers, WsConnection } from './moonraker-server.js';
import type { Params } from './params.js';
import { objectStatus } from './printer-status.js';
import { isAuthorizedRequest } from './auth.js';

export type Subscription = Record<string, string[] | null>;

const CLIENT_TYPES = ['web', 'mobile', 'desktop', 'display', 'bot', 'agent', 'other'];
const FLUSH_MS = 250;

interface ClientState {
  conn: WsConnection;
  needAuth: boolean;
  identified: boolean;
  client: AgentInfo;
  subscription: Subscription | null;
  /** Last value sent per object/field, JSON-encoded. */
  lastSent: Map<string, Map<string, string>>;
  remoteMethods: Set<string>;
}

/** Current values of the requested objects/fields (absent objects/fields are omitted). */
export function queryObjects(ctx: SimContext, objects: Subscription): Record<string, Record<string, unknown>> {
  const status: Record<string, Record<string, unknown>> = {};
  for (const [name, fields] of Object.entries(objects)) {
    const full = objectStatus(ctx.printer, name);
    if (!full) continue;
    if (fields === null) {
      status[name] = full;
      continue;
    }
    const picked: Record<string, unknown> = {};
    for (const f of fields) if (f in full) picked[f] = full[f];
    status[name] = picked;
  }
  return status;
}

export class Connections implements SocketHandlers {
  private readonly clients = new Map<number, ClientState>();
  private flushTimer: TimerHandle | undefined;
  private running = false;
  /** Replies held by control.holdReplies, sent in order on release; which method's replies wait ('*': all). */
  private heldReplies: Array<() => void> | null = null;
  private heldMethod = '*';
  /** Notifications held by control.holdNotifications (status batches wait too), sent in order on release. */
  private heldNotifications: Array<() => void> | null = null;

  constructor(private readonly ctx: SimContext) {}

  start(): void {
    this.running = true;
    this.scheduleFlush();
  }

  stop(): void {
    this.heldReplies = this.heldNotifications = null;
    this.running = false;
    this.ctx.clock.clearTimeout(this.flushTimer);
    this.clients.clear();
    this.ctx.extensions.closeAll();
  }

  get count(): number {
    return this.clients.size;
  }

  checkUpgrade(req: IncomingMessage): number | null {
    const path = (req.url ?? '').split('?')[0];
    return path === '/websocket' ? null : 404;
  }

  onOpen(conn: WsConnection, req: IncomingMessage): void {
    this.clients.set(conn.id, {
      conn,
      needAuth: !isAuthorizedRequest(this.ctx, req),
      identified: false,
      client: { name: 'unknown', version: '', type: '', url: '' },
      subscription: null,
      lastSent: new Map(),
      remoteMethods: new Set(),
    });
  }

  onClose(conn: WsConnection): void {
    const c = this.clients.get(conn.id);
    this.clients.delete(conn.id);
    this.ctx.extensions.connectionClosed(conn.id, c?.identified ? c.client : undefined);
  }

  onMessage(conn: WsConnection, text: string): void {
    void this.handleMessage(conn, text).catch((err: unknown) => this.ctx.log.warn(`websocket message: ${String(err)}`));
  }

  private async handleMessage(conn: WsConnection, text: string): Promise<void> {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      await this.reply(conn, RpcRouter.errorObject(-32700, 'Parse error', null));
      return;
    }
    if (Array.isArray(parsed)) {
      const out: object[] = [];
      for (const item of parsed) {
        const r = await this.handleOne(conn, item);
        if (r) out.push(r);
      }
      if (out.length) await this.reply(conn, out);
      return;
    }
    const r = await this.handleOne(conn, parsed);
    const method = (parsed as { method?: unknown } | null)?.method;
    if (r) await this.reply(conn, r, typeof method === 'string' ? method : undefined);
  }

  private async handleOne(conn: WsConnection, obj: unknown): Promise<object | null> {
    const p = RpcRouter.parseRequest(obj);
    if ('error' in p) return p.error;
    if ('response' in p) {
      // The answer to a call relayed to this (agent) connection by server.extensions.request.
      this.ctx.extensions.handleResponse(conn.id, this.clients.get(conn.id)?.client.name ?? 'unknown', obj as Record<string, unknown>);
      return null;
    }
    const req = p.request;
    this.ctx.rpcLog.push({ time: this.ctx.clock.now(), method: req.method, transport: 'websocket' });
    const guard = (method: string): void => {
      const state = this.clients.get(conn.id);
      if (state?.needAuth && this.ctx.router.authRequired(method)) throw new MoonrakerError('Unauthorized', 401);
    };
    return this.ctx.router.execute(req, { transport: 'websocket', connectionId: conn.id }, guard);
  }

  private async reply(conn: WsConnection, msg: object, method?: string): Promise<void> {
    if (this.ctx.settings.replyDelayMs > 0) await delay(this.ctx, this.ctx.settings.replyDelayMs);
    const text = JSON.stringify(msg);
    if (this.heldReplies && (this.heldMethod === '*' || this.heldMethod === method)) this.heldReplies.push(() => conn.send(text));
    else conn.send(text);
  }

  /**
   * Websocket replies to `method` ('*': every method) wait until holdReplies(null), then go out in
   * order: a Moonraker that answers late, for exactly as long as a test needs. Notifications and
   * other replies are not held.
   */
  holdReplies(method: string | null): void {
    if (method !== null) {
      this.heldReplies ??= [];
      this.heldMethod = method;
      return;
    }
    const held = this.heldReplies ?? [];
    this.heldReplies = null;
    for (const send of held) send();
  }

  /**
   * Notifications (status batches included) wait (true) until released (false), then go out in
   * order, the status changes since the last batch last: Moonraker showing what happened late
   * (replies are not held).
   */
  holdNotifications(on: boolean): void {
    if (on) {
      this.heldNotifications ??= [];
      return;
    }
    const held = this.heldNotifications ?? [];
    this.heldNotifications = null;
    for (const send of held) send();
    this.flush();
  }

  /** Broadcasts a notification to every authenticated client (but `exceptId`). */
  notify(method: string, params?: unknown[], exceptId?: number): void {
    if (this.heldNotifications) {
      this.heldNotifications.push(() => this.notify(method, params, exceptId));
      return;
    }
    const msg: Record<string, unknown> = { jsonrpc: '2.0', method };
    if (params && params.length) msg['params'] = params;
    const text = JSON.stringify(msg);
    for (const c of this.clients.values()) if (!c.needAuth && c.conn.id !== exceptId) c.conn.send(text);
  }

  /** Sends a frame to one connection; false if it is gone. */
  sendTo(connectionId: number, text: string): boolean {
    const c = this.clients.get(connectionId);
    if (!c?.conn.isOpen) return false;
    c.conn.send(text);
    return true;
  }

  /** Identified connections of the 'agent' type (names are unique). */
  agents(): Array<{ connectionId: number; client: AgentInfo }> {
    return [...this.clients.values()].filter((c) => c.identified && c.client.type === 'agent').map((c) => ({ connectionId: c.conn.id, client: c.client }));
  }

  private state(id: number | undefined): ClientState {
    const c = id === undefined ? undefined : this.clients.get(id);
    if (!c) throw new MoonrakerError('No connection associated with request');
    return c;
  }

  /** server.connection.identify */
  identify(id: number | undefined, p: Params): { connection_id: number } {
    const c = this.state(id);
    if (c.identified) throw new MoonrakerError(`Connection already identified: ${JSON.stringify(c.client)}`);
    const name = p.str('client_name');
    const version = p.str('version');
    const type = p.str('type').toLowerCase();
    const url = p.str('url');
    const apiKey = p.optStr('api_key');
    // Moonraker only checks credentials on a socket that is not yet authenticated.
    if (c.needAuth && this.ctx.settings.apiKey !== null) {
      if (apiKey === undefined) throw new MoonrakerError('Unauthorized', 401);
      if (apiKey !== this.ctx.settings.apiKey) throw new MoonrakerError('Invalid API Key', 401);
      c.needAuth = false;
    }
    if (!CLIENT_TYPES.includes(type)) throw new MoonrakerError(`Invalid Client Type: ${type}`);
    if (type === 'agent') {
      for (const other of this.clients.values()) {
        if (other !== c && other.identified && other.client.type === 'agent' && other.client.name === name) {
          throw new MoonrakerError(`Agent '${name}' already registered and connected'`);
        }
      }
    }
    c.client = { name, version, type, url };
    c.identified = true;
    if (type === 'agent') this.ctx.extensions.agentConnected(c.conn.id, c.client);
    return { connection_id: c.conn.id };
  }

  /** connection.register_remote_method (agents only). */
  registerRemoteMethod(id: number | undefined, name: string): void {
    const c = this.state(id);
    if (c.client.type !== 'agent') throw new MoonrakerError("Only connections of the 'agent' type can register methods");
    for (const other of this.clients.values()) {
      if (other.remoteMethods.has(name)) throw new MoonrakerError(`Remote method (${name}) already registered`);
    }
    c.remoteMethods.add(name);
  }

  /** Klipper calls a remote method (action_call_remote_method): the agent gets a notification. */
  callRemoteMethod(name: string, params?: Record<string, unknown>): boolean {
    for (const c of this.clients.values()) {
      if (!c.remoteMethods.has(name)) continue;
      const msg: Record<string, unknown> = { jsonrpc: '2.0', method: name };
      if (params && Object.keys(params).length) msg['params'] = params;
      c.conn.send(JSON.stringify(msg));
      return true;
    }
    return false;
  }

  remoteMethods(): string[] {
    return [...this.clients.values()].flatMap((c) => [...c.remoteMethods]);
  }

  /** printer.objects.subscribe: replaces the connection's subscription. */
  subscribe(id: number | undefined, objects: Subscription): { eventtime: number; status: Record<string, Record<string, unknown>> } {
    const c = this.state(id);
    const status = queryObjects(this.ctx, objects);
    c.subscription = Object.keys(objects).length ? objects : null;
    c.lastSent = new Map();
    for (const [name, fields] of Object.entries(status)) {
      c.lastSent.set(name, new Map(Object.entries(fields).map(([k, v]) => [k, JSON.stringify(v)])));
    }
    return { eventtime: this.ctx.sim.now(), status };
  }

  /** Moonraker drops every subscription when Klippy disconnects. */
  onKlippyDisconnect(): void {
    for (const c of this.clients.values()) {
      c.subscription = null;
      c.lastSent = new Map();
    }
  }

  private scheduleFlush(): void {
    if (!this.running) return;
    this.flushTimer = this.ctx.clock.setTimeout(() => {
      try {
        this.flush();
      } finally {
        this.scheduleFlush();
      }
    }, FLUSH_MS);
  }

  /** Sends each subscriber the fields that changed since its last update. */
  flush(): void {
    if (!this.ctx.klippy.connected || this.heldNotifications) return;
    const eventtime = this.ctx.sim.now();
    for (const c of this.clients.values()) {
      if (!c.subscription || c.needAuth) continue;
      const status = queryObjects(this.ctx, c.subscription);
      const changes: Record<string, Record<string, unknown>> = {};
      for (const [name, fields] of Object.entries(status)) {
        let sent = c.lastSent.get(name);
        if (!sent) c.lastSent.set(name, (sent = new Map()));
        for (const [k, v] of Object.entries(fields)) {
          const enc = JSON.stringify(v);
          if (sent.get(k) === enc) continue;
          sent.set(k, enc);
          (changes[name] ??= {})[k] = v;
        }
      }
      if (Object.keys(changes).length) {
        c.conn.send(JSON.stringify({ jsonrpc: '2.0', method: 'notify_status_update', params: [changes, eventtime] }));
      }
    }
  }
}
