// Methods this agent offers to Moonraker clients through
// server.extensions.request: Moonraker relays the call to us as a JSON-RPC
// request and returns our answer (or error) to the caller.
import { METHOD_NOT_FOUND, RpcMethodError } from './json-rpc.js';

/**
 * One extension method. `params` is the caller's `arguments` (an object or an
 * array; undefined when it sent none or empty ones): validate it. Throw
 * RpcMethodError for a specific JSON-RPC error code.
 */
export type ExtensionMethodHandler = (params: unknown) => Promise<unknown>;

export class ExtensionMethods {
  private readonly handlers = new Map<string, ExtensionMethodHandler>();

  /** Adds a method; returns a function that removes it. Throws if the name is taken. */
  register(name: string, handler: ExtensionMethodHandler): () => void {
    if (!name) throw new Error('extension method name must not be empty');
    if (this.handlers.has(name)) throw new Error(`extension method '${name}' is already registered`);
    this.handlers.set(name, handler);
    return () => {
      if (this.handlers.get(name) === handler) this.handlers.delete(name);
    };
  }

  names(): string[] {
    return [...this.handlers.keys()];
  }

  /** Runs `method`; unknown names throw RpcMethodError -32601 "Method not found". */
  async dispatch(method: string, params: unknown): Promise<unknown> {
    const handler = this.handlers.get(method);
    if (!handler) throw new RpcMethodError(METHOD_NOT_FOUND, 'Method not found');
    const result = await handler(params);
    // Moonraker treats a null (or missing) result as an agent error
    // (JsonRPC.process_response), so a method with nothing to return answers "ok".
    return result ?? 'ok';
  }
}
