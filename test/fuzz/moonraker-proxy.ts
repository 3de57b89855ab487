// A websocket man-in-the-middle between the bridge and the Moonraker simulator
// for the fuzz suite: forwards both ways, injects frames towards the bridge,
// and can replace, duplicate or precede the simulator's reply to any call the
// bridge makes. One bridge connection at a time (the bridge opens one).
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer, type RawData } from 'ws';

/** What to do with the reply to one call: replace it, send junk before it, or send it twice (second one junk). */
export type ReplyPlan = { replace: string } | { before: string } | { after: string };

export class MoonrakerFuzzProxy {
  url = '';
  /** Bridge connections accepted so far. */
  connections = 0;
  /** Decides, per call the bridge makes, whether its reply is tampered with. */
  onRequest: ((method: string, id: number | string) => ReplyPlan | undefined) | undefined;
  private server: Server | undefined;
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: 256 * 1024 * 1024, perMessageDeflate: false });
  private client: WebSocket | undefined;
  private readonly sockets = new Set<WebSocket>();
  private readonly plans = new Map<string, ReplyPlan>();

  constructor(private readonly upstreamUrl: string) {}

  async start(): Promise<void> {
    const server = createServer((_req, res) => res.writeHead(404).end());
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => this.onUpgrade(req, socket, head));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    this.server = server;
    this.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  /** True while the bridge's socket is open. */
  get connected(): boolean {
    return this.client?.readyState === WebSocket.OPEN;
  }

  /** Sends a frame to the bridge; false when it is not connected. */
  inject(data: string | Buffer, binary = false): boolean {
    const c = this.client;
    if (!c || c.readyState !== WebSocket.OPEN) return false;
    c.send(data, { binary });
    return true;
  }

  /** Cuts the bridge's connection (no close frame). */
  drop(): void {
    this.client?.terminate();
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.terminate();
    this.wss.close();
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  }

  private onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    this.wss.handleUpgrade(req, socket, head, (client) => {
      this.connections++;
      this.client = client;
      this.plans.clear();
      const headers: Record<string, string> = {};
      const key = req.headers['x-api-key'];
      if (typeof key === 'string') headers['X-Api-Key'] = key;
      const upstream = new WebSocket(`${this.upstreamUrl.replace(/^http/, 'ws')}/websocket`, { headers, perMessageDeflate: false, maxPayload: 256 * 1024 * 1024 });
      this.sockets.add(client);
      this.sockets.add(upstream);
      const queued: string[] = [];
      upstream.on('open', () => {
        for (const t of queued.splice(0)) upstream.send(t);
      });
      client.on('message', (data: RawData) => {
        const text = rawText(data);
        this.planFor(text);
        if (upstream.readyState === WebSocket.OPEN) upstream.send(text);
        else queued.push(text);
      });
      upstream.on('message', (data: RawData) => this.fromUpstream(client, rawText(data)));
      const closeBoth = (): void => {
        this.sockets.delete(client);
        this.sockets.delete(upstream);
        if (client.readyState === WebSocket.OPEN || client.readyState === WebSocket.CONNECTING) client.terminate();
        if (upstream.readyState === WebSocket.OPEN) upstream.close();
        else if (upstream.readyState === WebSocket.CONNECTING) upstream.terminate();
      };
      client.on('close', closeBoth);
      client.on('error', closeBoth);
      upstream.on('close', closeBoth);
      upstream.on('error', closeBoth);
    });
  }

  private planFor(text: string): void {
    if (!this.onRequest) return;
    const frame = parse(text);
    if (!frame || typeof frame.method !== 'string' || (typeof frame.id !== 'number' && typeof frame.id !== 'string')) return;
    const plan = this.onRequest(frame.method, frame.id);
    if (plan) this.plans.set(String(frame.id), plan);
  }

  private fromUpstream(client: WebSocket, text: string): void {
    if (client.readyState !== WebSocket.OPEN) return;
    const frame = this.plans.size ? parse(text) : undefined;
    const key = frame && !('method' in frame) && (typeof frame.id === 'number' || typeof frame.id === 'string') ? String(frame.id) : undefined;
    const plan = key !== undefined ? this.plans.get(key) : undefined;
    if (!plan) {
      client.send(text);
      return;
    }
    this.plans.delete(key!);
    if ('replace' in plan) client.send(plan.replace);
    else if ('before' in plan) {
      client.send(plan.before);
      client.send(text);
    } else {
      client.send(text);
      client.send(plan.after);
    }
  }
}

function rawText(data: RawData): string {
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data).toString('utf8');
}

function parse(text: string): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(text);
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
