// Why a connection to Polar Cloud failed, in words a Klipper user can act on:
// the URL, then DNS / refused / TLS / timeout / HTTP status, then a hint.
// socket.io-client reports every websocket failure as "websocket error"; the
// cause is in the error's `description` (the ws ErrorEvent) — read it here.

const TLS_CODE = /^(ERR_TLS_|ERR_SSL_|CERT_|UNABLE_TO_|DEPTH_ZERO_|SELF_SIGNED_|EPROTO$|HOSTNAME_MISMATCH)/;

interface ErrorLike {
  message?: unknown;
  code?: unknown;
  description?: unknown;
  error?: unknown;
}

/** The innermost error-ish object: socket.io TransportError → ws ErrorEvent → Node error. */
function innermost(err: unknown): { message: string; code: string | undefined } {
  let cur = err as ErrorLike | undefined;
  let message = typeof cur?.message === 'string' ? cur.message : String(err);
  let code = typeof cur?.code === 'string' ? cur.code : undefined;
  for (let i = 0; i < 4 && cur && typeof cur === 'object'; i++) {
    const next = (cur.description ?? cur.error) as ErrorLike | undefined;
    if (!next || typeof next !== 'object') break;
    if (typeof next.message === 'string' && next.message) message = next.message;
    if (typeof next.code === 'string') code = next.code;
    cur = next;
  }
  return { message, code };
}

/** `cannot reach URL: cause — hint`, one line. */
export function describeConnectError(url: string, err: unknown, timeoutMs: number): string {
  const { message, code } = innermost(err);
  let host = url;
  try {
    host = new URL(url).host;
  } catch {
    // keep the URL as given
  }
  const hostname = host.replace(/:\d+$/, '');
  let cause: string;
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN' || /getaddrinfo/.test(message)) {
    cause = `DNS lookup of ${hostname} failed (${code ?? 'getaddrinfo'}) — check the Pi's network and DNS (ping ${hostname})`;
  } else if (code === 'ECONNREFUSED') {
    cause = `connection refused by ${host} — nothing listens there (check polar.server_url)`;
  } else if (code === 'ECONNRESET') {
    cause = `connection reset by ${host} (a proxy or firewall?)`;
  } else if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH' || code === 'ENETDOWN') {
    cause = `network unreachable (${code}) — is the Pi online?`;
  } else if (code === 'ETIMEDOUT' || message === 'timeout') {
    cause = `timeout: no answer within ${Math.round(timeoutMs / 1000)} s (network down, or a firewall dropping the traffic)`;
  } else if (code && TLS_CODE.test(code)) {
    cause = `TLS error (${code}: ${message.split('\n')[0]!.slice(0, 160)}) — check the Pi's clock (timedatectl) and any proxy that intercepts HTTPS`;
  } else {
    const status = /Unexpected server response: (\d{3})/.exec(message);
    if (status) cause = `HTTP status ${status[1]} from ${host} (the server is up but refused the websocket; an outage or a wrong polar.server_url)`;
    else cause = `${message.split('\n')[0]!.slice(0, 200)}${code && !message.includes(code) ? ` (${code})` : ''}`;
  }
  return `cannot reach ${url}: ${cause}`;
}
