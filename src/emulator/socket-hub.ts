// The socket.io side of the emulator: accepts printer connections, sends the
// welcome challenge, records every message in and out, gates commands on a
// valid hello, and turns connections away or drops them on request.
import { randomBytes } from 'node:crypto';
import type { Server as HttpServer } from 'node:http';
import { Server, type Socket } from 'socket.io';
import { printerToCloudSchemas } from '../polar/messages.js';
import { errText } from '../util/log.js';
import type { EmulatorContext } from './context.js';
import { handlePrinterCommand, isPrinterCommand } from './printer-commands.js';
import { handleHello, handleMakeKeyPair, handleRegister } from './session-commands.js';
import type { RefuseMode } from './types.js';

export interface Session {
  readonly socket: Socket;
  readonly challenge: string;
  /** Serial this socket registered as or said hello with (authenticated or not). */
  serialNumber?: string;
  authenticated: boolean;
}

export interface HubOptions {
  path: string;
  pingInterval?: number;
  pingTimeout?: number;
}

/** After FAILED/DELETED the real server closes the socket shortly after answering. */
export const CLOSE_AFTER_REJECT_MS = 100;

export class SocketHub {
  private io?: Server;
  private readonly sessions = new Map<string, Session>();
  private refusing?: RefuseMode;
  private refuseTimer?: ReturnType<typeof setTimeout>;
  private readonly timers = new Set<ReturnType<typeof setTimeout>>();

  constructor(private readonly ctx: EmulatorContext) {}

  attach(server: HttpServer, opts: HubOptions): void {
    const io = new Server(server, {
      path: opts.path,
      serveClient: false,
      // The real service dates from socket.io 1.x; let EIO3 clients in too.
      allowEIO3: true,
      // Only when given: an explicit undefined would override engine.io's defaults.
      ...(opts.pingInterval !== undefined ? { pingInterval: opts.pingInterval } : {}),
      ...(opts.pingTimeout !== undefined ? { pingTimeout: opts.pingTimeout } : {}),
      allowRequest: (req, cb) => {
        if (this.refusing !== 'http') return cb(null, true);
        this.ctx.events.record({ kind: 'refused', reason: 'http', payload: { address: req.socket.remoteAddress } });
        cb('connection refused by emulator', false);
      },
    });
    io.use((socket, next) => {
      if (this.refusing !== 'middleware') return next();
      this.ctx.events.record({ kind: 'refused', socketId: socket.id, reason: 'middleware' });
      next(new Error('connection refused by emulator'));
    });
    io.on('connection', (socket) => this.onConnection(socket));
    this.io = io;
  }

  private onConnection(socket: Socket): void {
    const session: Session = { socket, challenge: randomBytes(16).toString('hex'), authenticated: false };
    this.sessions.set(socket.id, session);
    this.ctx.events.record({
      kind: 'connect',
      socketId: socket.id,
      payload: { address: socket.handshake.address, transport: socket.conn.transport.name },
    });
    this.ctx.log.info(`connection ${socket.id} from ${socket.handshake.address}`);
    socket.onAny((event: string, ...args: unknown[]) => {
      try {
        this.onMessage(session, event, args);
      } catch (err) {
        this.ctx.log.error(`handling '${event}' from ${socket.id}: ${errText(err)}`);
      }
    });
    socket.on('disconnect', (reason: string) => {
      this.sessions.delete(socket.id);
      this.ctx.events.record({ kind: 'disconnect', socketId: socket.id, serialNumber: session.serialNumber, reason });
      this.ctx.log.info(`disconnect ${socket.id}${session.serialNumber ? ` (${session.serialNumber})` : ''}: ${reason}`);
    });
    this.emitTo(session, 'welcome', { challenge: session.challenge });
  }

  private onMessage(session: Session, event: string, rawArgs: unknown[]): void {
    // An acknowledgement callback arrives as a trailing function; the protocol never uses one.
    const args = rawArgs.filter((a) => typeof a !== 'function');
    const payload = args[0];
    const claimed = isRecord(payload) && typeof payload.serialNumber === 'string' ? payload.serialNumber : undefined;
    this.ctx.events.record({
      kind: 'in',
      socketId: session.socket.id,
      serialNumber: session.authenticated ? session.serialNumber : claimed,
      name: event,
      payload: args.length > 1 ? args : payload,
    });
    if (this.ctx.log.enabled('debug')) this.ctx.log.debug(`<- ${event} from ${session.serialNumber ?? session.socket.id}`);

    if (!Object.hasOwn(printerToCloudSchemas, event)) return this.violation(session, event, `unknown event '${event}'`, payload);
    if (args.length !== 1) return this.violation(session, event, `expected exactly one argument, got ${args.length}`, payload);
    if (event === 'register') return handleRegister(this.ctx, this, session, payload);
    if (event === 'makeKeyPair') return void handleMakeKeyPair(this.ctx, this, session, payload);
    if (event === 'hello') return handleHello(this.ctx, this, session, payload);
    if (!session.authenticated) return this.violation(session, event, 'command before valid hello', payload);
    if (isPrinterCommand(event)) handlePrinterCommand(this.ctx, this, session, event, payload);
  }

  /** Records a protocol violation by the printer (the message itself is ignored by the caller). */
  violation(session: Session, name: string, reason: string, payload?: unknown): void {
    this.ctx.events.record({
      kind: 'violation',
      socketId: session.socket.id,
      serialNumber: session.serialNumber,
      name,
      reason,
      payload,
    });
    this.ctx.log.warn(`violation by ${session.serialNumber ?? session.socket.id}: ${name}: ${reason}`);
  }

  /** Sends one command and records it; returns false if the socket is gone. */
  emitTo(session: Session, event: string, ...args: unknown[]): boolean {
    if (!session.socket.connected) return false;
    this.ctx.events.record({
      kind: 'out',
      socketId: session.socket.id,
      serialNumber: session.serialNumber,
      name: event,
      payload: args.length === 1 ? args[0] : args,
    });
    if (event === 'print' && session.serialNumber && isRecord(args[0]) && typeof args[0].jobId === 'string') {
      this.ctx.printers.get(session.serialNumber)?.printedJobIds.add(args[0].jobId);
    }
    if (this.ctx.log.enabled('debug')) this.ctx.log.debug(`-> ${event} to ${session.serialNumber ?? session.socket.id}`);
    session.socket.emit(event, ...args);
    return true;
  }

  /** Closes the socket like the real server does after a rejected hello. */
  closeSoon(session: Session): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      session.socket.disconnect(true);
    }, CLOSE_AFTER_REJECT_MS);
    this.timers.add(t);
  }

  /** Sockets authenticated as `serialNumber` (all sockets when undefined). */
  sessionsFor(serialNumber?: string, authenticatedOnly = true): Session[] {
    return [...this.sessions.values()].filter(
      (s) => serialNumber === undefined || (s.serialNumber === serialNumber && (!authenticatedOnly || s.authenticated)),
    );
  }

  counts(serialNumber: string): { bound: number; authenticated: number } {
    const bound = this.sessionsFor(serialNumber, false);
    return { bound: bound.length, authenticated: bound.filter((s) => s.authenticated).length };
  }

  /** Transport close without a socket.io disconnect packet: the client reconnects by itself. */
  drop(serialNumber?: string): number {
    const list = serialNumber === undefined ? this.sessionsFor() : this.sessionsFor(serialNumber, false);
    for (const s of list) s.socket.conn.close();
    return list.length;
  }

  /** socket.disconnect(true): the client sees 'io server disconnect'. */
  disconnect(serialNumber?: string): number {
    const list = serialNumber === undefined ? this.sessionsFor() : this.sessionsFor(serialNumber, false);
    for (const s of list) s.socket.disconnect(true);
    return list.length;
  }

  refuse(ms: number | undefined, mode: RefuseMode): void {
    this.refusing = mode;
    if (this.refuseTimer) clearTimeout(this.refuseTimer);
    this.refuseTimer = undefined;
    if (ms !== undefined) this.refuseTimer = setTimeout(() => this.accept(), ms);
    this.ctx.log.info(`refusing connections (${mode})${ms !== undefined ? ` for ${ms} ms` : ''}`);
    this.drop();
  }

  accept(): void {
    if (this.refuseTimer) clearTimeout(this.refuseTimer);
    this.refuseTimer = undefined;
    if (this.refusing) this.ctx.log.info('accepting connections again');
    this.refusing = undefined;
  }

  /** Forgets who is who: every session is unauthenticated (used with deletePrinter/reset). */
  deauthenticate(serialNumber: string): void {
    for (const s of this.sessionsFor(serialNumber, false)) s.authenticated = false;
  }

  async close(): Promise<void> {
    this.accept();
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    const io = this.io;
    this.io = undefined;
    if (!io) return;
    // Disconnects every socket, then closes the HTTP server and waits for its connections
    // to end (the server's owner ends leftover ones meanwhile).
    await io.close();
  }
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
