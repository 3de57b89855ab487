// socket.io-client v4 adapter. Reconnection is switched off here on purpose:
// the Polar client owns retries (one backoff policy, fake-clock testable, and
// it must reconnect after 'io server disconnect', which socket.io never does).
import { io, type Socket } from 'socket.io-client';
import type { PolarTransport, TransportFactory, TransportHandlers } from './transport.js';
import { describeConnectError } from './connect-error.js';

export interface SocketIoTransportOptions {
  /** Connection attempt timeout in ms. */
  connectTimeoutMs?: number;
}

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
    const socket = io(this.url, {
      reconnection: false,
      autoConnect: false,
      forceNew: true,
      timeout,
      transports: ['websocket', 'polling'],
    });
    this.socket = socket;
    socket.on('connect', () => h.onOpen());
    socket.on('disconnect', (reason) => reportClose(reason, reason === 'io server disconnect'));
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

export const socketIoTransportFactory: TransportFactory = (url) => new SocketIoTransport(url);
