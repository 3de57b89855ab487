// Streams a print file from the cloud to disk with constant memory: SHA-256
// on the fly, Content-Length checked, a stall timeout, retries with backoff
// that resume with Range when the server supports it, redirects re-checked
// against the URL policy, and an AbortSignal that stops everything.
// Node's http/https are used directly (see README: why not got).
import { createHash, type Hash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { truncate } from 'node:fs/promises';
import * as http from 'node:http';
import * as https from 'node:https';
import type { Clock } from '../util/clock.js';
import { Backoff } from '../util/backoff.js';
import { errText, redactUrl } from '../util/log.js';
import type { AddressGuard } from '../net/address-guard.js';
import { checkDownloadUrl, type UrlPolicy } from './url-policy.js';

export interface DownloadOptions {
  policy: UrlPolicy;
  /** Address rules (src/net/address-guard.ts): checked on the URL and every redirect, and on every DNS answer. */
  guard?: AddressGuard | undefined;
  maxBytes: number;
  stallMs: number;
  attempts: number;
  clock: Clock;
  signal?: AbortSignal | undefined;
  onProgress?: ((received: number, total: number | null) => void) | undefined;
  /** Called once the size is known (before the body is written); throw to refuse (e.g. disk space). */
  checkSize?: ((total: number | null) => Promise<void>) | undefined;
  /** First retry delay (ms); doubles up to 30 s, with jitter. */
  retryDelayMs?: number | undefined;
  log?: { warn(msg: string): void; debug(msg: string): void } | undefined;
}

export interface DownloadResult {
  bytes: number;
  sha256: string;
}

/** A download that must not be retried (policy, 4xx, too large, refused by checkSize, aborted). */
export class DownloadError extends Error {
  constructor(
    message: string,
    readonly permanent: boolean,
  ) {
    super(message);
    this.name = 'DownloadError';
  }
}

const MAX_REDIRECTS = 5;

interface Attempt {
  /** Bytes already on disk (resume offset). */
  offset: number;
  hash: Hash;
  total: number | null;
  sizeChecked: boolean;
}

export async function downloadToFile(rawUrl: string, dest: string, o: DownloadOptions): Promise<DownloadResult> {
  const first = checkDownloadUrl(rawUrl, o.policy);
  if (!first.ok) throw new DownloadError(first.reason, true);
  const refused = o.guard?.checkUrl(first.url, 'the download URL');
  if (refused) throw new DownloadError(refused, true);
  const backoff = new Backoff({ initialMs: o.retryDelayMs ?? 1000, maxMs: 30_000 });
  const state: Attempt = { offset: 0, hash: createHash('sha256'), total: null, sizeChecked: false };
  await truncate(dest, 0).catch(() => undefined);
  let lastError: unknown;
  for (let attempt = 1; attempt <= o.attempts; attempt++) {
    if (o.signal?.aborted) throw new DownloadError('download canceled', true);
    try {
      await fetchOnce(first.url, dest, state, o);
      return { bytes: state.offset, sha256: state.hash.digest('hex') };
    } catch (err) {
      lastError = err;
      if (err instanceof DownloadError && err.permanent) throw err;
      if (attempt === o.attempts) break;
      const delay = backoff.next();
      o.log?.warn(`download attempt ${attempt} failed (${errText(err)}); retrying in ${Math.round(delay / 100) / 10} s${state.offset ? ` from byte ${state.offset}` : ''}`);
      await abortableSleep(o.clock, delay, o.signal);
    }
  }
  throw new DownloadError(`download failed after ${o.attempts} attempts: ${errText(lastError)}`, false);
}

function fetchOnce(start: URL, dest: string, st: Attempt, o: DownloadOptions): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let settled = false;
    let req: http.ClientRequest | undefined;
    let stallTimer: ReturnType<Clock['setTimeout']> | undefined;
    const onAbort = (): void => fail(new DownloadError('download canceled', true));
    const cleanup = (): void => {
      o.clock.clearTimeout(stallTimer);
      o.signal?.removeEventListener('abort', onAbort);
    };
    let out: ReturnType<typeof createWriteStream> | undefined;
    let currentUrl = start;
    const fail = (err: Error): void => {
      if (settled) return;
      settled = true;
      cleanup();
      req?.destroy();
      // Every byte hashed must be on disk before a retry appends after it.
      if (out && !out.destroyed && !out.writableFinished) out.end(() => reject(err));
      else reject(err);
    };
    const armStall = (): void => {
      o.clock.clearTimeout(stallTimer);
      stallTimer = o.clock.setTimeout(() => fail(new Error(`no data for ${seconds(o.stallMs)} s`)), o.stallMs);
    };
    o.signal?.addEventListener('abort', onAbort, { once: true });

    const get = (url: URL, redirects: number): void => {
      currentUrl = url;
      const lib = url.protocol === 'https:' ? https : http;
      const headers: Record<string, string> = { 'user-agent': 'moonraker-polarcloud', accept: '*/*' };
      if (st.offset > 0) headers.range = `bytes=${st.offset}-`;
      armStall();
      req = lib.get(url, { headers, ...(o.guard ? { lookup: o.guard.lookupFor(url, 'the download URL') } : {}) }, (res) => {
        const status = res.statusCode ?? 0;
        if (status >= 300 && status < 400 && res.headers.location) {
          res.resume();
          if (redirects >= MAX_REDIRECTS) return fail(new DownloadError('too many redirects', true));
          const next = checkDownloadUrl(res.headers.location, o.policy, url);
          if (!next.ok) return fail(new DownloadError(`redirect refused: ${next.reason}`, true));
          const refusedHop = o.guard?.checkUrl(next.url, 'the redirect');
          if (refusedHop) return fail(new DownloadError(`redirect refused: ${refusedHop}`, true));
          o.log?.debug(`redirected to ${redactUrl(next.url.href)}`);
          return get(next.url, redirects + 1);
        }
        void onResponse(res, status).catch((err: Error) => fail(err));
      });
      req.on('error', (err: NodeJS.ErrnoException) => {
        if (err.name === 'AddressRefusedError') return fail(new DownloadError(err.message, true));
        // llhttp rejects a body longer than Content-Length (and other garbage) as a parse error.
        fail(err.code?.startsWith('HPE_') ? new Error(`malformed HTTP response from the server (${err.message})`) : err);
      });
    };

    const onResponse = async (res: http.IncomingMessage, status: number): Promise<void> => {
      if (status === 200 && st.offset > 0) {
        // The server ignored Range: start over.
        st.offset = 0;
        st.hash = createHash('sha256');
        await truncate(dest, 0);
      } else if (status === 206) {
        // Trust a resume only if it starts exactly where the file on disk ends.
        const range = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(String(res.headers['content-range'] ?? ''));
        if (!range || Number(range[1]) !== st.offset) {
          res.resume();
          st.offset = 0;
          st.hash = createHash('sha256');
          st.total = null;
          await truncate(dest, 0);
          throw new Error(`server resumed at the wrong offset (${res.headers['content-range'] ?? 'no Content-Range'}); starting over`);
        }
      } else if (status !== 200) {
        res.resume();
        const permanent = status >= 400 && status < 500 && status !== 408 && status !== 429;
        throw new DownloadError(`HTTP ${status} from ${redactUrl(currentUrl.href)}`, permanent);
      }
      const length = Number(res.headers['content-length']);
      const bodyLength = Number.isFinite(length) && res.headers['content-length'] !== undefined ? length : null;
      if (st.total === null && bodyLength !== null) st.total = st.offset + bodyLength;
      if (st.total !== null && st.total > o.maxBytes) {
        throw new DownloadError(`file is ${mib(st.total)} MiB, over the ${mib(o.maxBytes)} MiB limit (cloud_print.max_file_size)`, true);
      }
      if (!st.sizeChecked) {
        res.pause();
        o.clock.clearTimeout(stallTimer);
        try {
          await o.checkSize?.(st.total);
        } catch (err) {
          throw new DownloadError(errText(err), true);
        }
        st.sizeChecked = true;
        armStall();
      }
      const expectedEnd = bodyLength !== null ? st.offset + bodyLength : null;
      out = createWriteStream(dest, { flags: 'a' });
      const file = out;
      file.on('error', (err) => fail(new DownloadError(`cannot write ${dest}: ${err.message}`, true)));
      res.on('data', (chunk: Buffer) => {
        armStall();
        if (st.offset + chunk.length > o.maxBytes) return fail(new DownloadError(`file exceeds the ${mib(o.maxBytes)} MiB limit`, true));
        st.hash.update(chunk);
        st.offset += chunk.length;
        if (!file.write(chunk)) {
          res.pause();
          file.once('drain', () => res.resume());
        }
        o.onProgress?.(st.offset, st.total);
      });
      res.on('aborted', () => fail(new Error(`connection closed after ${st.offset} bytes`)));
      res.on('error', (err) => fail(err));
      res.on('end', () => {
        file.end(() => {
          if (settled) return;
          if (expectedEnd !== null && st.offset < expectedEnd) return fail(new Error(`truncated: ${st.offset} of ${expectedEnd} bytes`));
          if (st.total !== null && st.offset !== st.total) return fail(new Error(`size mismatch: ${st.offset} bytes received, ${st.total} expected`));
          settled = true;
          cleanup();
          resolve();
        });
      });
      res.resume();
    };

    get(start, 0);
  });
}

/** Waits `ms`, or rejects at once with a canceled DownloadError when `signal` aborts. */
function abortableSleep(clock: Clock, ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new DownloadError('download canceled', true));
    const onAbort = (): void => {
      clock.clearTimeout(timer);
      reject(new DownloadError('download canceled', true));
    };
    const timer = clock.setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function seconds(ms: number): string {
  return ms >= 10_000 ? String(Math.round(ms / 1000)) : String(Math.round(ms / 100) / 10);
}

function mib(n: number): string {
  return (n / 1048576).toFixed(1);
}
