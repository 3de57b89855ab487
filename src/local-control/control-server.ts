// The running service's door for the `polarcloud` CLI on the same host: a
// unix socket in the data folder (mode 0700, so only the printer's user gets
// in). One JSON line in, one JSON line out. With it, `polarcloud queue`,
// `next`, `unregister`, `register` and `status` use the service's one cloud
// connection instead of opening a second one for the same printer.
import { createServer, type Server, type Socket } from 'node:net';
import { chmod, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { errText, type Logger } from '../util/log.js';

export const CONTROL_SOCKET = 'control.sock';
/** Longer requests are refused: every method takes a few short strings. */
const MAX_REQUEST = 4096;
/** sun_path is 108 bytes on Linux. */
export const MAX_SOCKET_PATH = 107;

export type ControlHandler = (params: Record<string, unknown>) => Promise<unknown>;

export function controlSocketPath(dataDir: string): string {
  return join(dataDir, CONTROL_SOCKET);
}

export class ControlServer {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();

  constructor(
    private readonly dataDir: string,
    private readonly handlers: Record<string, ControlHandler>,
    private readonly log: Logger,
  ) {}

  get path(): string {
    return controlSocketPath(this.dataDir);
  }

  /** Listens; the caller holds the data folder's lock, so a socket file left there is stale. */
  async start(): Promise<boolean> {
    if (Buffer.byteLength(this.path) > MAX_SOCKET_PATH) {
      this.log.warn(`${this.path}: path too long for a unix socket; the polarcloud CLI will open its own cloud connection`);
      return false;
    }
    await rm(this.path, { force: true });
    const server = createServer((s) => this.onConnection(s));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.path, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', (err) => this.log.warn(`control socket: ${errText(err)}`));
    this.server = server;
    // The data folder is 0700 already; the socket itself is the user's only as well.
    await chmod(this.path, 0o600);
    return true;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await rm(this.path, { force: true });
  }

  private onConnection(socket: Socket): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    socket.setEncoding('utf8');
    let buf = '';
    let answered = false;
    socket.on('data', (chunk: string) => {
      if (answered) return;
      buf += chunk;
      const nl = buf.indexOf('\n');
      if (nl < 0) {
        if (buf.length > MAX_REQUEST) {
          answered = true;
          this.reply(socket, { error: 'request too long' });
        }
        return;
      }
      answered = true;
      void this.answer(buf.slice(0, nl)).then((r) => this.reply(socket, r));
    });
  }

  private async answer(line: string): Promise<{ result: unknown } | { error: string }> {
    let req: unknown;
    try {
      req = JSON.parse(line);
    } catch {
      return { error: 'not JSON' };
    }
    const method = (req as { method?: unknown }).method;
    const params = (req as { params?: unknown }).params ?? {};
    if (typeof method !== 'string' || typeof params !== 'object' || params === null || Array.isArray(params)) return { error: 'expected {"method": "...", "params": {...}}' };
    const handler = Object.hasOwn(this.handlers, method) ? this.handlers[method] : undefined;
    if (!handler) return { error: `unknown method '${method}'` };
    try {
      this.log.debug(`CLI asked: ${method}`);
      return { result: (await handler(params as Record<string, unknown>)) ?? null };
    } catch (err) {
      return { error: errText(err) };
    }
  }

  private reply(socket: Socket, r: unknown): void {
    if (!socket.destroyed) socket.end(JSON.stringify(r) + '\n');
  }
}
