// Fetches one JPEG snapshot from a webcam URL (crowsnest/ustreamer, mjpg-streamer
// `?action=snapshot`, a camera's own HTTP endpoint) into memory. The whole
// request, redirects included, has one deadline; bodies are capped while they
// arrive; anything that is not a 200 JPEG is refused with a short reason.
// Node's http/https are used directly (Node 18 floor: no global fetch).
import * as http from 'node:http';
import * as https from 'node:https';

export interface SnapshotOptions {
  /** Deadline for the whole fetch, redirects included (ms). */
  timeoutMs: number;
  /** Largest body accepted (bytes). */
  maxBytes: number;
  signal?: AbortSignal;
}

export type SnapshotFailure = 'bad-url' | 'redirect' | 'http-status' | 'too-large' | 'not-jpeg' | 'timeout' | 'aborted' | 'network';

/** A snapshot could not be fetched. `reason` is short, for log lines; the message names the URL without its query. */
export class SnapshotError extends Error {
  constructor(
    readonly kind: SnapshotFailure,
    readonly reason: string,
    url?: string,
    readonly status?: number,
  ) {
    super(url === undefined ? `snapshot: ${reason}` : `snapshot from ${describeUrl(url)}: ${reason}`);
    this.name = 'SnapshotError';
  }
}

const MAX_REDIRECTS = 3;
const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/**
 * URL for messages: scheme, host and path only. Query strings (tokens) and
 * user:password are dropped; a dropped query is shown as `?…`.
 */
export function describeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}${u.search || u.hash ? '?…' : ''}`;
  } catch {
    const cut = url.search(/[?#]/);
    const bare = (cut === -1 ? url : url.slice(0, cut)).replace(/\/\/[^/@]*@/, '//');
    return bare.slice(0, 200) + (cut === -1 ? '' : '?…');
  }
}

function parseHttpUrl(raw: string, base?: string): URL | undefined {
  try {
    const u = base === undefined ? new URL(raw) : new URL(raw, base);
    return u.protocol === 'http:' || u.protocol === 'https:' ? u : undefined;
  } catch {
    return undefined;
  }
}

export function fetchSnapshot(url: string, o: SnapshotOptions): Promise<Buffer> {
  const first = parseHttpUrl(url);
  if (!first) return Promise.reject(new SnapshotError('bad-url', 'not an http(s) URL', url));
  if (o.signal?.aborted) return Promise.reject(new SnapshotError('aborted', 'aborted', url));

  return new Promise<Buffer>((resolve, reject) => {
    let settled = false;
    let current: http.ClientRequest | undefined;
    let currentUrl = first.href;
    const finish = (err: SnapshotError | undefined, body?: Buffer): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      o.signal?.removeEventListener('abort', onAbort);
      if (err) {
        current?.destroy();
        reject(err);
      } else {
        resolve(body as Buffer);
      }
    };
    const fail = (kind: SnapshotFailure, reason: string, status?: number): void =>
      finish(new SnapshotError(kind, reason, currentUrl, status));
    const onAbort = (): void => fail('aborted', 'aborted');
    o.signal?.addEventListener('abort', onAbort, { once: true });
    const timer = setTimeout(() => fail('timeout', `no complete answer within ${o.timeoutMs} ms`), o.timeoutMs);

    const get = (target: URL, redirects: number): void => {
      currentUrl = target.href;
      const transport = target.protocol === 'https:' ? https : http;
      const req = transport.request(target, { method: 'GET', headers: { Accept: 'image/jpeg, image/*;q=0.8' } });
      current = req;
      // A redirected request is dropped; nothing it does afterwards counts.
      const failHere = (kind: SnapshotFailure, reason: string, status?: number): void => {
        if (current === req) fail(kind, reason, status);
      };
      req.on('error', (err) => failHere('network', `request failed (${(err as NodeJS.ErrnoException).code ?? err.message})`));
      req.on('response', (res) => {
        if (settled) return res.destroy();
        const status = res.statusCode ?? 0;
        if (REDIRECTS.has(status)) {
          res.resume();
          const location = res.headers.location;
          if (location === undefined) return fail('redirect', `HTTP ${status} without a Location`, status);
          if (redirects >= MAX_REDIRECTS) return fail('redirect', `more than ${MAX_REDIRECTS} redirects`, status);
          const next = parseHttpUrl(location, target.href);
          if (!next) return fail('redirect', 'redirected to a non-http(s) URL', status);
          req.destroy();
          return get(next, redirects + 1);
        }
        if (status !== 200) return fail('http-status', `HTTP ${status}`, status);
        const type = (res.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
        // mjpg-streamer's `?action=stream` (and ustreamer's /stream) never ends: refuse it at once.
        if (type.startsWith('multipart/')) return fail('not-jpeg', `${type} is a video stream, not a snapshot URL`);
        const declared = Number(res.headers['content-length']);
        if (Number.isFinite(declared) && declared > o.maxBytes) {
          return fail('too-large', `Content-Length ${declared} exceeds ${o.maxBytes} bytes`);
        }
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          if (settled) return;
          size += chunk.length;
          if (size > o.maxBytes) return fail('too-large', `body exceeds ${o.maxBytes} bytes`);
          chunks.push(chunk);
          // Refuse an HTML error page as soon as its first bytes are in.
          if (size >= 2 && !isJpegStart(chunks)) fail('not-jpeg', notJpegReason(type));
        });
        res.on('end', () => {
          if (settled) return;
          const body = Buffer.concat(chunks, size);
          if (body.length < 2 || body[0] !== 0xff || body[1] !== 0xd8) return fail('not-jpeg', body.length === 0 ? 'empty body' : notJpegReason(type));
          finish(undefined, body);
        });
        res.on('error', () => failHere('network', 'connection lost while reading the body'));
        res.on('close', () => {
          if (!res.complete) failHere('network', `connection closed after ${size} bytes`);
        });
      });
      req.end();
    };
    get(first, 0);
  });
}

function isJpegStart(chunks: Buffer[]): boolean {
  const head = chunks[0].length >= 2 ? chunks[0] : Buffer.concat(chunks);
  return head[0] === 0xff && head[1] === 0xd8;
}

function notJpegReason(contentType: string): string {
  return `not a JPEG (starts without FF D8${contentType ? `; Content-Type ${contentType.slice(0, 60)}` : ''})`;
}
