// socket.io-client v4 adapter. Reconnection is switched off here on purpose:
// the Polar client owns retries (one backoff policy, fake-clock testable, and
// it must reconnect after 'io server disconnect', which socket.io never does).
import { io, type Socket } from 'socket.io-client';
import type { PolarTransport, TransportFactory, TransportHandlers } from './transport.js';
import { describeConnectError } from './connect-error.js';

export interface SocketIoTransportOptions {
  /** Connection attempt timeout in ms. */
  connectTimeoutMs?: number;
  /** Largest inbound frame (bytes); a bigger one closes the connection (default MAX_INBOUND_BYTES). */
  maxMessageBytes?: number;
}

/**
 * Largest message accepted from the cloud. The biggest legitimate ones (a print
 * command with signed URLs, a queue listing) are a few kB; one 95 MiB message
 * once took the bridge from 72 to 466 MB RSS. Enforced by the websocket (ws
 * `maxPayload`): the frame is refused while it arrives, never buffered whole,
 * and the link is closed and reconnected.
 */
export const MAX_INBOUND_BYTES = 1024 * 1024;

export class SocketIoTransport implements PolarTransport {
  private socket: Socket | undefined;
  private closed = false;

  constructor(
    private readonly url: string,
    private readonly opts: SocketIoTransportOptions = {},
  ) {}

  open(h: TransportHandlers): void {
    if (this.socket) throw new Error('transport already opened');
    let closeReported = false;
    const reportClose = (reason: string, serverInitiated: boolean): void => {
      if (closeReported) return;
      closeReported = true;
      h.onClose(reason, serverInitiated);
    };
    const timeout = this.opts.connectTimeoutMs ?? 20_000;
    const options = {
      reconnection: false,
      autoConnect: false,
      forceNew: true,
      timeout,
      // Websocket only: its frames are bounded by maxPayload. (Polling was listed second, which
      // engine.io never falls back to without tryAllTransports; its bodies could not be bounded.)
      transports: ['websocket'],
      // Passed through engine.io-client to ws (not in socket.io-client's option types).
      maxPayload: this.opts.maxMessageBytes ?? MAX_INBOUND_BYTES,
    };
    const socket = io(this.url, options as Parameters<typeof io>[1]);
    this.socket = socket;
    socket.on('connect', () => h.onOpen());
    socket.on('disconnect', (reason, details) => {
      const tooBig = /max payload/i.test(errorTexts(details).join(' '));
      reportClose(tooBig ? `a message from Polar Cloud was larger than ${Math.round((this.opts.maxMessageBytes ?? MAX_INBOUND_BYTES) / 1024)} KiB (dropped)` : reason, reason === 'io server disconnect');
    });
    socket.on('connect_error', (err: Error) => {
      const why = describeConnectError(this.url, err, timeout);
      h.onError(why);
      socket.close();
      reportClose(why, false);
    });
    socket.onAny((event: unknown, ...args: unknown[]) => {
      if (typeof event === 'string') h.onMessage(event, args[0]);
    });
    if (!this.closed) socket.connect();
    else reportClose('closed before open', false);
  }

  send(event: string, payload: unknown): void {
    if (this.socket?.connected) this.socket.emit(event, payload);
  }

  close(): void {
    this.closed = true;
    // disconnect() emits 'disconnect' with reason 'io client disconnect'.
    this.socket?.disconnect();
  }
}

/** Messages inside socket.io's disconnect details (TransportError → ws ErrorEvent → Error), a few levels deep. */
function errorTexts(v: unknown, depth = 0): string[] {
  if (depth > 3 || typeof v !== 'object' || v === null) return [];
  const o = v as { message?: unknown; description?: unknown; error?: unknown };
  return [...(typeof o.message === 'string' ? [o.message] : []), ...errorTexts(o.description, depth + 1), ...errorTexts(o.error, depth + 1)];
}

export const socketIoTransportFactory: TransportFactory = (url) => new SocketIoTransport(url);
