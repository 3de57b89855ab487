// What the Polar client needs from a socket: one connection attempt, events
// in and out. The socket.io adapter implements it; nothing else in src/polar
// knows which library carries the bytes.

export interface TransportHandlers {
  onOpen(): void;
  /** serverInitiated: the server ended the session on purpose (socket.io 'io server disconnect'). */
  onClose(reason: string, serverInitiated: boolean): void;
  onError(message: string): void;
  onMessage(event: string, payload: unknown): void;
}

export interface PolarTransport {
  /** Starts one connection attempt; exactly one onClose follows eventually (also after a failed attempt). */
  open(handlers: TransportHandlers): void;
  send(event: string, payload: unknown): void;
  close(): void;
}

export type TransportFactory = (url: string) => PolarTransport;
