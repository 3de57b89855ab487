// Moonraker's API method table. Every method has a JSON-RPC name and usually
// an HTTP route (Moonraker derives one from the other); the websocket and the
// HTTP adapter both dispatch through here. Error codes follow Moonraker's
// JsonRPC.execute_method: 404 -> -32601, 401 -> -32602, others unchanged.
import { AgentError, MoonrakerError, errorMessage } from './errors.js';
import { Params, isRecord, type Args } from './params.js';

export type Transport = 'websocket' | 'http';

/** What a handler knows about the caller. */
export interface CallContext {
  transport: Transport;
  /** The websocket connection, when called over one. */
  connectionId?: number;
}

export type MethodHandler = (params: Params, ctx: CallContext) => unknown;

export type HttpVerb = 'GET' | 'POST' | 'DELETE';

export interface MethodOptions {
  http?: [HttpVerb, string];
  /** Only over websocket (identify, subscribe, register_remote_method). */
  websocketOnly?: boolean;
  /** Moonraker's auth_required=False endpoints. */
  noAuth?: boolean;
}

interface MethodDef {
  handler: MethodHandler;
  opts: MethodOptions;
}

export interface RpcRequestInfo {
  method: string;
  params: Args;
  id: unknown;
}

export class RpcRouter {
  private readonly methods = new Map<string, MethodDef>();
  private readonly routes = new Map<string, string>();

  register(name: string, handler: MethodHandler, opts: MethodOptions = {}): void {
    this.methods.set(name, { handler, opts });
    if (opts.http) this.routes.set(`${opts.http[0]} ${opts.http[1]}`, name);
  }

  /** An extra HTTP route for an existing method (e.g. GET and POST /printer/objects/query). */
  addRoute(verb: HttpVerb, path: string, method: string): void {
    this.routes.set(`${verb} ${path}`, method);
  }

  /** JSON-RPC method name for an HTTP route, if registered. */
  methodForRoute(verb: string, path: string): string | undefined {
    return this.routes.get(`${verb} ${path}`);
  }

  authRequired(name: string): boolean {
    return !this.methods.get(name)?.opts.noAuth;
  }

  has(name: string): boolean {
    return this.methods.has(name);
  }

  /** Calls a method; throws MoonrakerError. */
  async call(name: string, args: Args, ctx: CallContext): Promise<unknown> {
    const def = this.methods.get(name);
    if (!def) throw new MoonrakerError('Method not found', 404);
    if (def.opts.websocketOnly && ctx.transport !== 'websocket') {
      throw new MoonrakerError(`Method not found for transport ${ctx.transport.toUpperCase()}`, 404);
    }
    return await def.handler(new Params(args), ctx);
  }

  /** Validates one JSON-RPC object; returns an error response or the request. */
  static parseRequest(obj: unknown): { error: object } | { request: RpcRequestInfo } | { response: true } {
    const id = isRecord(obj) ? (obj['id'] ?? null) : null;
    if (!isRecord(obj) || obj['jsonrpc'] !== '2.0') return { error: RpcRouter.errorObject(-32600, 'Invalid Request', id) };
    if (!('method' in obj)) return { response: true };
    const method = obj['method'];
    if (typeof method !== 'string') return { error: RpcRouter.errorObject(-32600, 'Invalid Request', id) };
    let params: Args = {};
    if ('params' in obj) {
      if (!isRecord(obj['params'])) return { error: RpcRouter.errorObject(-32602, 'Invalid params:', id) };
      params = obj['params'];
    }
    return { request: { method, params, id } };
  }

  /** Executes a parsed request; null for notifications (no id). */
  async execute(req: RpcRequestInfo, ctx: CallContext, guard?: (method: string) => void): Promise<object | null> {
    if (!this.methods.has(req.method)) return RpcRouter.errorObject(-32601, 'Method not found', req.id);
    const def = this.methods.get(req.method) as MethodDef;
    if (def.opts.websocketOnly && ctx.transport !== 'websocket') {
      return RpcRouter.errorObject(-32601, `Method not found for transport ${ctx.transport.toUpperCase()}`, req.id);
    }
    let result: unknown;
    try {
      guard?.(req.method);
      result = await this.call(req.method, req.params, ctx);
    } catch (err) {
      if (err instanceof MoonrakerError) {
        const code = err.status === 404 ? -32601 : err.status === 401 ? -32602 : err.status;
        // Like Moonraker's build_error: an agent's own error object rides along as `data`.
        return RpcRouter.errorObject(code, err.message, req.id, err instanceof AgentError ? (err.errorData ?? null) : undefined);
      }
      return RpcRouter.errorObject(500, errorMessage(err), req.id);
    }
    if (req.id === null || req.id === undefined) return null;
    return { jsonrpc: '2.0', result: result === undefined ? null : result, id: req.id };
  }

  static errorObject(code: number, message: string, id: unknown, data?: unknown): object {
    const error: Record<string, unknown> = { code, message };
    if (data !== undefined) error['data'] = data;
    return { jsonrpc: '2.0', error, id: id === undefined ? null : id };
  }
}
