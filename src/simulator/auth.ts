// API-key mode. Without an API key every client is trusted (Moonraker with the
// client in trusted_clients). With one, HTTP requests need `X-Api-Key` (or a
// oneshot `?token=`), else 401. Websockets are accepted either way, as in
// Moonraker; an unauthenticated socket may only identify (with `api_key`) and
// receives no notifications until it has.
import type { IncomingMessage } from 'node:http';
import { randomBytes } from 'node:crypto';
import type { SimContext } from './context.js';

const ONESHOT_TTL_MS = 5000;
const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

export class OneshotTokens {
  private readonly tokens = new Map<string, number>();

  constructor(private readonly now: () => number) {}

  issue(): string {
    const bytes = randomBytes(20);
    let token = '';
    for (let i = 0; i < 32; i++) token += BASE32[(bytes[Math.floor((i * 5) / 8)] ?? 0) % 32];
    this.tokens.set(token, this.now() + ONESHOT_TTL_MS);
    return token;
  }

  /** Valid once, within 5 s of issue. */
  consume(token: string): boolean {
    const exp = this.tokens.get(token);
    this.tokens.delete(token);
    return exp !== undefined && exp >= this.now();
  }

  clear(): void {
    this.tokens.clear();
  }
}

/** Whether an HTTP request or websocket upgrade carries valid credentials (or needs none). */
export function isAuthorizedRequest(ctx: SimContext, req: IncomingMessage): boolean {
  const key = ctx.settings.apiKey;
  if (key === null) return true;
  const header = req.headers['x-api-key'];
  if (typeof header === 'string' && header === key) return true;
  const url = new URL(req.url ?? '/', 'http://localhost');
  const token = url.searchParams.get('token');
  return token !== null && ctx.oneshot.consume(token);
}
