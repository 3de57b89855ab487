// In-memory stand-in for a Moonraker socket, for client state-machine tests
// with a fake clock (the simulator integration tests cover the real wire).
import { TransportError, type RpcSocket, type SocketConnector, type SocketHandlers } from '../../moonraker-bridge/index.js';

export interface RpcFrame {
  jsonrpc: string;
  id?: number;
  method: string;
  params?: Record<string, unknown>;
}

export type Reply = { result: unknown } | { error: { code: number; message: string } } | 'none';
export type Handler = (method: string, params: Record<string, unknown> | undefined, sock: FakeSocket) => Reply;

export class FakeSocket implements RpcSocket {
  readonly calls: RpcFrame[] = [];
  open = true;
  /** Runs synchronously right after a reply is delivered (same tick). */
  afterReply: ((method: string) => void) | undefined;
  constructor(
    private readonly handlers: SocketHandlers,
    private readonly handler: () => Handler,
  ) {}

  send(text: string): void {
    if (!this.open) throw new Error('closed');
    const frame = JSON.parse(text) as RpcFrame;
    this.calls.push(frame);
    if (frame.id === undefined) return;
    const reply = this.handler()(frame.method, frame.params, this);
    if (reply === 'none') return;
    this.handlers.onMessage(JSON.stringify({ jsonrpc: '2.0', id: frame.id, ...reply }));
    this.afterReply?.(frame.method);
  }

  close(): void {
    this.drop(1000, 'client closing');
  }

  /** Server side: the socket goes away. */
  drop(code = 1006, reason = ''): void {
    if (!this.open) return;
    this.open = false;
    this.handlers.onClose(code, reason);
  }

  notify(method: string, params?: unknown): void {
    const frame: Record<string, unknown> = { jsonrpc: '2.0', method };
    if (params !== undefined) frame.params = params;
    this.handlers.onMessage(JSON.stringify(frame));
  }

  methods(): string[] {
    return this.calls.map((c) => c.method);
  }
}

export class FakeMoonraker {
  readonly sockets: FakeSocket[] = [];
  /** Next connect attempts fail with this (undefined: succeed). */
  refuse: TransportError | undefined;
  klippyState = 'ready';
  stateMessage = 'Printer is ready';
  heaters = ['extruder', 'heater_bed'];
  sensors = ['temperature_sensor mcu'];
  objects = ['webhooks', 'configfile', 'heaters', 'print_stats', 'virtual_sdcard', 'toolhead', 'idle_timeout', 'pause_resume', 'extruder', 'heater_bed', 'temperature_sensor mcu', 'gcode_macro PAUSE'];
  connectAttempts = 0;
  override: ((method: string, params: Record<string, unknown> | undefined, sock: FakeSocket) => Reply | undefined) | undefined;

  readonly connector: SocketConnector = async (handlers) => {
    this.connectAttempts++;
    if (this.refuse) throw this.refuse;
    const sock = new FakeSocket(handlers, () => (m, p, s) => this.override?.(m, p, s) ?? this.handle(m, p));
    this.sockets.push(sock);
    return sock;
  };

  get last(): FakeSocket {
    const s = this.sockets[this.sockets.length - 1];
    if (!s) throw new Error('no socket yet');
    return s;
  }

  unauthorized(): TransportError {
    return new TransportError('unauthorized', 'websocket upgrade refused: HTTP 401', 401);
  }

  private handle(method: string, params: Record<string, unknown> | undefined): Reply {
    switch (method) {
      case 'server.connection.identify':
        return { result: { connection_id: 1234 } };
      case 'connection.register_remote_method':
        return { result: 'ok' };
      case 'server.info':
        return { result: { klippy_connected: this.klippyState !== 'disconnected', klippy_state: this.klippyState } };
      case 'printer.info':
        return { result: { state: this.klippyState, state_message: this.stateMessage } };
      case 'printer.objects.list':
        return { result: { objects: this.objects } };
      case 'printer.objects.query':
        return {
          result: {
            eventtime: 10,
            status: {
              heaters: { available_heaters: this.heaters, available_sensors: this.sensors },
              configfile: { settings: { extruder: { max_temp: 250 }, heater_bed: { max_temp: 110 }, stepper_x: { big: 'x'.repeat(100) } } },
            },
          },
        };
      case 'printer.objects.subscribe': {
        const objects = (params?.objects ?? {}) as Record<string, unknown>;
        const status: Record<string, Record<string, unknown>> = {};
        for (const name of Object.keys(objects)) status[name] = {};
        status.webhooks = { state: this.klippyState, state_message: this.stateMessage };
        status.print_stats = { state: 'standby', filename: '' };
        status.extruder = { temperature: 22, target: 0, power: 0 };
        return { result: { eventtime: 11, status } };
      }
      default:
        return { error: { code: -32601, message: `Method not found: ${method}` } };
    }
  }
}
