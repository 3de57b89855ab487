// Errors raised while handling Moonraker/Klipper requests. `status` is the
// HTTP-style code Moonraker attaches (ServerError.status_code); the JSON-RPC
// layer maps it the way Moonraker does (404 -> -32601, 401 -> -32602).

export class MoonrakerError extends Error {
  constructor(message: string, readonly status: number = 400) {
    super(message);
    this.name = 'MoonrakerError';
  }
}

/**
 * An agent answered a relayed server.extensions.request with an error
 * (Moonraker's AgentError: status 424, the agent's error object as `data`).
 */
export class AgentError extends MoonrakerError {
  constructor(message: string, readonly errorData: unknown) {
    super(message, 424);
    this.name = 'AgentError';
  }
}

/** A G-code command error (Klipper's `gcmd.error`); surfaces as a 400 with Klipper's text. */
export class CommandError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CommandError';
  }
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
