// Streams a print file from the cloud to disk with constant memory: SHA-256
// on the fly, Content-Length checked, a stall timeout, retries with backoff
// that resume with Range when the server supports it, redirects re-checked
// against the URL policy, an AbortSignal that stops everything, an overall
// deadline and a minimum throughput (a server dribbling a line every few
// seconds never trips the stall timeout), and a byte budget for free space
// that also holds when there is no Content-Length.
// The bytes go to a file, or to any sink (the cloud print relay's upload).
// Node's http/https are used directly (see README: why not got).
import { createHash, type Hash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { truncate } from 'node:fs/promises';
import * as http from 'node:http';
import * as https from 'node:https';
import type { Writable } from 'node:stream';
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
  /**
   * Called once the size is known (before the body is written); throw to refuse (e.g. disk space).
   * A number returned is the most bytes there is room for: checked as the bytes arrive, which is
   * what bounds a download without Content-Length.
   */
  checkSize?: ((total: number | null) => Promise<number | void>) | undefined;
  /** Where the bytes go instead of the file `dest` (dest then only names it in messages). */
  sink?: DownloadSink | undefined;
  /** The whole download, retries included, must end within this (ms); a permanent failure. */
  deadlineMs?: number | undefined;
  /** Fewer bytes than this per second over a throughput window fails the attempt (retried). 0: off. */
  minBytesPerSecond?: number | undefined;
  /** The window the minimum throughput is measured over (ms, default 60 s). */
  throughputWindowMs?: number | undefined;
  /** First retry delay (ms); doubles up to 30 s, with jitter. */
  retryDelayMs?: number | undefined;
  log?: { warn(msg: string): void; debug(msg: string): void } | undefined;
}

/**
 * Receives the body. open() is called per attempt with the offset the bytes start at (0: from the
 * start — whatever was received before is void) and the file's size when known; the Writable it
 * gives is ended when the attempt ends (all bytes of this attempt accepted), not destroyed.
 */
export interface DownloadSink {
  open(offset: number, total: number | null): Promise<Writable>;
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
  /** Most bytes there is room for (from checkSize), or null. */
  room: number | null;
}

export async function downloadToFile(rawUrl: string, dest: string, o: DownloadOptions): Promise<DownloadResult> {
  const first = checkDownloadUrl(rawUrl, o.policy);
  if (!first.ok) throw new DownloadError(first.reason, true);
  const refused = o.guard?.checkUrl(first.url, 'the download URL');
  if (refused) throw new DownloadError(refused, true);
  const backoff = new Backoff({ initialMs: o.retryDelayMs ?? 1000, maxMs: 30_000 });
  const state: Attempt = { offset: 0, hash: createHash('sha256'), total: null, sizeChecked: false, room: null };
  const sink = o.sink ?? fileSink(dest);
  // The deadline aborts like a cancel does, through the signal every wait listens to.
  const deadline = new AbortController();
  let deadlineHit = false;
  const onOuterAbort = (): void => deadline.abort();
  o.signal?.addEventListener('abort', onOuterAbort, { once: true });
  if (o.signal?.aborted) deadline.abort();
  const deadlineTimer =
    o.deadlineMs !== undefined && o.deadlineMs > 0
      ? o.clock.setTimeout(() => {
          deadlineHit = true;
          deadline.abort();
        }, o.deadlineMs)
      : undefined;
  const opts: DownloadOptions = { ...o, signal: deadline.signal };
  let lastError: unknown;
  try {
    for (let attempt = 1; attempt <= o.attempts; attempt++) {
      if (deadline.signal.aborted) throw new DownloadError('download canceled', true);
      try {
        await fetchOnce(first.url, dest, state, sink, opts);
        return { bytes: state.offset, sha256: state.hash.digest('hex') };
      } catch (err) {
        lastError = err;
        if (err instanceof DownloadError && err.permanent) throw err;
        if (attempt === o.attempts) break;
        const delay = backoff.next();
        o.log?.warn(`download attempt ${attempt} failed (${errText(err)}); retrying in ${Math.round(delay / 100) / 10} s${state.offset ? ` from byte ${state.offset}` : ''}`);
        await abortableSleep(o.clock, delay, deadline.signal);
      }
    }
  } catch (err) {
    if (deadlineHit && !o.signal?.aborted) {
      throw new DownloadError(`did not finish within ${seconds(o.deadlineMs ?? 0)} s (${mib(state.offset)} MiB received; cloud_print.download_deadline)`, true);
    }
    throw err;
  } finally {
    o.clock.clearTimeout(deadlineTimer);
    o.signal?.removeEventListener('abort', onOuterAbort);
  }
  throw new DownloadError(`download failed after ${o.attempts} attempts: ${errText(lastError)}`, false);
}

/** The default sink: the file `dest`, appended to on a resume, emptied on a restart. */
function fileSink(dest: string): DownloadSink {
  return {
    async open(offset) {
      if (offset === 0) await truncate(dest, 0).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') throw err;
      });
      return createWriteStream(dest, { flags: 'a' });
    },
  };
}

function fetchOnce(start: URL, dest: string, st: Attempt, sink: DownloadSink, o: DownloadOptions): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let settled = false;
    let req: http.ClientRequest | undefined;
    let stallTimer: ReturnType<Clock['setTimeout']> | undefined;
    let rateTimer: ReturnType<Clock['setTimeout']> | undefined;
    const onAbort = (): void => fail(new DownloadError('download canceled', true));
    const cleanup = (): void => {
      o.clock.clearTimeout(stallTimer);
      o.clock.clearTimeout(rateTimer);
      o.signal?.removeEventListener('abort', onAbort);
    };
    let out: Writable | undefined;
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
      // Listening from the start: the connection may drop while the size is checked or the sink opens.
      res.on('aborted', () => fail(new Error(`connection closed after ${st.offset} bytes`)));
      res.on('error', (err) => fail(err));
      if (status === 200 && st.offset > 0) {
        // The server ignored Range: start over (the sink is opened at offset 0 below).
        st.offset = 0;
        st.hash = createHash('sha256');
      } else if (status === 206) {
        // Trust a resume only if it starts exactly where the file on disk ends.
        const range = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(String(res.headers['content-range'] ?? ''));
        if (!range || Number(range[1]) !== st.offset) {
          res.resume();
          st.offset = 0;
          st.hash = createHash('sha256');
          st.total = null;
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
          const room = await o.checkSize?.(st.total);
          st.room = typeof room === 'number' ? room : null;
        } catch (err) {
          throw new DownloadError(errText(err), true);
        }
        st.sizeChecked = true;
      }
      const expectedEnd = bodyLength !== null ? st.offset + bodyLength : null;
      res.pause();
      o.clock.clearTimeout(stallTimer);
      try {
        out = await sink.open(st.offset, st.total);
      } catch (err) {
        res.resume();
        throw err instanceof DownloadError ? err : new DownloadError(`cannot write ${dest}: ${errText(err)}`, true);
      }
      if (settled) return void out.end();
      armStall();
      const file = out;
      file.on('error', (err) => fail(err instanceof DownloadError ? err : new DownloadError(`cannot write ${dest}: ${err.message}`, true)));
      // Minimum throughput, measured over windows in which the sink never held the body back.
      const minBps = o.minBytesPerSecond ?? 0;
      const windowMs = o.throughputWindowMs ?? 60_000;
      let windowBytes = 0;
      let heldBack = false;
      const armRate = (): void => {
        rateTimer = o.clock.setTimeout(() => {
          if (!heldBack && windowBytes < (minBps * windowMs) / 1000) {
            return fail(new Error(`too slow: ${windowBytes} bytes in ${seconds(windowMs)} s (minimum ${(minBps / 1024).toFixed(1)} KiB/s, cloud_print.min_download_speed)`));
          }
          windowBytes = 0;
          heldBack = false;
          armRate();
        }, windowMs);
      };
      if (minBps > 0) armRate();
      res.on('data', (chunk: Buffer) => {
        armStall();
        if (st.offset + chunk.length > o.maxBytes) return fail(new DownloadError(`file exceeds the ${mib(o.maxBytes)} MiB limit`, true));
        if (st.room !== null && st.offset + chunk.length > st.room) {
          return fail(new DownloadError(`not enough disk space: the file outgrew the ${mib(st.room)} MiB there is room for`, true));
        }
        windowBytes += chunk.length;
        st.hash.update(chunk);
        st.offset += chunk.length;
        if (!file.write(chunk)) {
          // Held back by the sink (a slow disk, Moonraker busy): not the server's stall.
          res.pause();
          heldBack = true;
          o.clock.clearTimeout(stallTimer);
          file.once('drain', () => {
            if (settled) return;
            armStall();
            res.resume();
          });
        }
        o.onProgress?.(st.offset, st.total);
      });
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
