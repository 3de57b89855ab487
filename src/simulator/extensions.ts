// Moonraker's extensions component: the agents list, agent_event
// notifications, and server.extensions.request, which relays a front end's
// call to a connected agent as a JSON-RPC request and returns its answer
// (moonraker/components/extensions.py, common.py JsonRPC.process_response).
import type { TimerHandle } from '../util/clock.js';
import type { SimContext } from './context.js';
import { AgentError, MoonrakerError } from './errors.js';
import type { Params } from './params.js';

/** Moonraker waits for an agent forever; the simulator gives up so a silent agent cannot hang a test. */
export const AGENT_REQUEST_TIMEOUT_MS = 30_000;

export interface AgentInfo {
  name: string;
  version: string;
  type: string;
  url: string;
}

interface PendingAgentCall {
  connectionId: number;
  resolve(value: unknown): void;
  reject(err: Error): void;
  timer: TimerHandle;
}

export class Extensions {
  private readonly pending = new Map<number, PendingAgentCall>();
  // Moonraker uses id(future): a large integer unrelated to the caller's id.
  private nextId = 140_000_000 + Math.floor(Math.random() * 1_000_000);

  constructor(private readonly ctx: SimContext) {}

  register(): void {
    const r = this.ctx.router;
    r.register('server.extensions.list', () => ({ agents: this.ctx.connections.agents().map((a) => ({ ...a.client })) }), {
      http: ['GET', '/server/extensions/list'],
    });
    r.register('server.extensions.request', (p) => this.request(p), { http: ['POST', '/server/extensions/request'] });
  }

  /** An agent identified: every other client hears `notify_agent_event` "connected". */
  agentConnected(connectionId: number, client: AgentInfo): void {
    this.ctx.connections.notify('notify_agent_event', [{ agent: client.name, event: 'connected', data: { ...client } }], connectionId);
  }

  /** A socket closed: its pending calls fail like Moonraker's ("Client Socket Disconnected", 500). */
  connectionClosed(connectionId: number, client: AgentInfo | undefined): void {
    for (const [id, call] of [...this.pending]) {
      if (call.connectionId === connectionId) this.settle(id)?.reject(new MoonrakerError('Client Socket Disconnected', 500));
    }
    if (client?.type === 'agent') {
      this.ctx.connections.notify('notify_agent_event', [{ agent: client.name, event: 'disconnected' }], connectionId);
    }
  }

  /** Moonraker shuts down: every pending call fails and its timer is released. */
  closeAll(): void {
    for (const id of [...this.pending.keys()]) this.settle(id)?.reject(new MoonrakerError('Client Socket Disconnected', 500));
  }

  /**
   * A frame without `method` from a websocket: the answer to a relayed call.
   * Like Moonraker, a missing or null `result` counts as an error.
   */
  handleResponse(connectionId: number, agentName: string, frame: Record<string, unknown>): void {
    const id = frame['id'];
    if (typeof id !== 'number') {
      this.ctx.log.debug(`agent response with id ${JSON.stringify(id)} ignored`);
      return;
    }
    const call = this.pending.get(id);
    if (!call || call.connectionId !== connectionId) {
      this.ctx.log.debug(`agent response for unknown request ${id} ignored`);
      return;
    }
    this.settle(id);
    const result = frame['result'];
    if (result === undefined || result === null) call.reject(new AgentError(`Agent ${agentName} RPC error`, frame['error'] ?? null));
    else call.resolve(result);
  }

  /** server.extensions.request {agent, method, arguments} */
  private request(p: Params): Promise<unknown> {
    const agent = p.str('agent');
    const method = p.str('method');
    const raw = p.has('arguments') ? p.args['arguments'] : null;
    if (raw !== null && typeof raw !== 'object') throw new MoonrakerError("The 'arguments' field must contain an object or a list");
    const args = raw as object | null;
    const target = this.ctx.connections.agents().find((a) => a.client.name === agent);
    if (!target) throw new MoonrakerError(`Agent ${agent} not connected`);
    const id = this.nextId++;
    const msg: Record<string, unknown> = { jsonrpc: '2.0', method, id };
    // Moonraker's `if params:` leaves out null and empty arguments.
    if (args !== null && Object.keys(args).length > 0) msg['params'] = args;
    return new Promise<unknown>((resolve, reject) => {
      const timer = this.ctx.clock.setTimeout(() => {
        this.settle(id)?.reject(new MoonrakerError(`Agent ${agent} did not answer '${method}' within ${AGENT_REQUEST_TIMEOUT_MS / 1000} s`, 504));
      }, AGENT_REQUEST_TIMEOUT_MS);
      this.pending.set(id, { connectionId: target.connectionId, resolve, reject, timer });
      if (!this.ctx.connections.sendTo(target.connectionId, JSON.stringify(msg))) {
        this.settle(id)?.reject(new MoonrakerError('Client Socket Disconnected', 500));
      }
    });
  }

  private settle(id: number): PendingAgentCall | undefined {
    const call = this.pending.get(id);
    if (!call) return undefined;
    this.pending.delete(id);
    this.ctx.clock.clearTimeout(call.timer);
    return call;
  }
}
