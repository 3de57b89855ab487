// The network adapter: one HTTP server on 127.0.0.1 carrying Moonraker's HTTP
// routes and the /websocket endpoint. This is the only simulator file that
// imports `ws`; everything above it sees WsConnection.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer, WebSocket, type RawData } from 'ws';
import type { Logger } from '../util/log.js';

export interface WsConnection {
  readonly id: number;
  readonly isOpen: boolean;
  send(text: string): void;
  close(code: number, reason: string): void;
  terminate(): void;
}

export interface SocketHandlers {
  /** Return an HTTP status to refuse the upgrade, or null to accept. */
  checkUpgrade(req: IncomingMessage): number | null;
  onOpen(conn: WsConnection, req: IncomingMessage): void;
  onMessage(conn: WsConnection, text: string): void;
  onClose(conn: WsConnection): void;
}

export type HttpHandler = (req: IncomingMessage, res: ServerResponse) => void;

class Connection implements WsConnection {
  constructor(
    readonly id: number,
    private readonly ws: WebSocket,
  ) {}

  get isOpen(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  send(text: string): void {
    if (this.isOpen) this.ws.send(text);
  }

  close(code: number, reason: string): void {
    this.ws.close(code, reason);
  }

  terminate(): void {
    this.ws.terminate();
  }
}

export class MoonrakerServer {
  private http: Server | null = null;
  private wss: WebSocketServer | null = null;
  private readonly sockets = new Set<Socket>();
  private readonly conns = new Set<Connection>();
  private nextId = 1_000_000 + Math.floor(Math.random() * 1_000_000);

  constructor(
    private readonly host: string,
    private readonly log: Logger,
    private readonly onHttp: HttpHandler,
    private readonly handlers: SocketHandlers,
  ) {}

  /** Starts listening; returns the bound port. */
  async start(port: number): Promise<number> {
    const http = createServer((req, res) => this.onHttp(req, res));
    const wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 * 1024 });
    http.on('connection', (sock: Socket) => {
      this.sockets.add(sock);
      sock.on('close', () => this.sockets.delete(sock));
    });
    http.on('upgrade', (req: IncomingMessage, sock: Duplex, head: Buffer) => this.upgrade(wss, req, sock, head));
    await new Promise<void>((resolve, reject) => {
      http.once('error', reject);
      http.listen(port, this.host, () => {
        http.off('error', reject);
        resolve();
      });
    });
    this.http = http;
    this.wss = wss;
    const addr = http.address();
    return typeof addr === 'object' && addr ? addr.port : port;
  }

  private upgrade(wss: WebSocketServer, req: IncomingMessage, sock: Duplex, head: Buffer): void {
    const refuse = this.handlers.checkUpgrade(req);
    if (refuse !== null) {
      sock.end(`HTTP/1.1 ${refuse} Refused\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      return;
    }
    wss.handleUpgrade(req, sock, head, (ws) => {
      const conn = new Connection(this.nextId++, ws);
      this.conns.add(conn);
      ws.on('message', (data: RawData) => {
        const text = Array.isArray(data)
          ? Buffer.concat(data).toString('utf8')
          : Buffer.isBuffer(data)
            ? data.toString('utf8')
            : Buffer.from(data).toString('utf8');
        this.handlers.onMessage(conn, text);
      });
      ws.on('close', () => {
        if (this.conns.delete(conn)) this.handlers.onClose(conn);
      });
      ws.on('error', (err) => this.log.debug(`websocket ${conn.id}: ${err.message}`));
      this.handlers.onOpen(conn, req);
    });
  }

  get websocketCount(): number {
    return this.conns.size;
  }

  /** Closes every websocket with a close frame (graceful server shutdown). */
  closeWebsockets(code: number, reason: string): void {
    for (const c of [...this.conns]) c.close(code, reason);
  }

  /** Kills every websocket without a close frame (network drop). */
  dropWebsockets(): void {
    for (const c of [...this.conns]) c.terminate();
  }

  /** Stops listening and destroys every connection. */
  async stop(): Promise<void> {
    const http = this.http;
    const wss = this.wss;
    this.http = null;
    this.wss = null;
    for (const c of [...this.conns]) c.terminate();
    for (const s of [...this.sockets]) s.destroy();
    if (wss) await new Promise<void>((resolve) => wss.close(() => resolve()));
    if (http) await new Promise<void>((resolve) => http.close(() => resolve()));
  }
}
