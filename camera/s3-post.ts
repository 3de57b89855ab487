// Browser-style S3 POST upload (pre-signed form from Polar's getUrl): the form
// fields exactly as received and in that order, then the file part last. The
// body has a computed Content-Length (S3 refuses chunked POSTs); a file on disk
// (a time-lapse MP4) is streamed, never held in memory. 5xx answers and network
// failures are retried with backoff; S3's XML errors become S3UploadError.
import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import * as http from 'node:http';
import * as https from 'node:https';
import { basename } from 'node:path';
import { describeUrl } from './snapshot-fetch.js';

export type S3PostFile = Buffer | { path: string; size: number };

export interface S3PostOptions {
  url: string;
  /** Form fields as Polar sent them; sent in this (insertion) order. */
  fields: Record<string, string>;
  file: S3PostFile;
  /** Content-Type of the file part (must match a Content-Type the policy pins). */
  contentType: string;
  /**
   * Largest file the URL allows (getUrl's maxSize). A bigger file is refused
   * here, unsent: S3 answers it mid-body and resets the connection, which the
   * sender may only see as a network error (and retry).
   */
  maxSize?: number;
  /** filename of the file part; default the file's base name, else the key's. */
  fileName?: string;
  /** Deadline per attempt, from connecting to the end of the answer (ms). */
  timeoutMs: number;
  /** Attempts in all (1 = no retry). */
  attempts: number;
  /** Delay before the first retry (ms); doubles each retry, with ±20% jitter. */
  retryDelayMs: number;
  signal?: AbortSignal;
  /** DNS lookup for the connection (the bridge passes its address guard: no loopback/private targets). */
  lookup?: http.RequestOptions['lookup'];
  /** Waits between attempts; default a timer. */
  sleep?: (ms: number) => Promise<void>;
}

export interface S3PostResult {
  status: number;
  etag?: string;
  location?: string;
}

/** Codes S3 returns when the signed form itself is out of date: ask Polar for a new URL. */
const EXPIRY_CODES = new Set(['ExpiredToken', 'RequestExpired', 'RequestTimeTooSkewed', 'TokenRefreshRequired']);

/**
 * The upload failed. `status` is the HTTP status (0: no answer), `code` S3's
 * error code or one of NetworkError, Timeout, Aborted, FileError, InvalidInput,
 * HttpError (an answer without an S3 error body), EntityTooLarge (over maxSize, not sent),
 * AddressRefused (the `lookup` refused the address; not retried). `s3Message` is S3's message
 * with every signed field value removed; `message` adds status and code.
 */
export class S3UploadError extends Error {
  readonly policyExpired: boolean;
  constructor(
    readonly status: number,
    readonly code: string,
    readonly s3Message: string,
    readonly attempts: number,
    readonly retryable: boolean,
  ) {
    super(`${status > 0 ? `HTTP ${status} ` : ''}${code}: ${s3Message}${attempts > 1 ? ` (after ${attempts} attempts)` : ''}`);
    this.name = 'S3UploadError';
    this.policyExpired = EXPIRY_CODES.has(code) || (code === 'AccessDenied' && /expired/i.test(s3Message));
  }
}

type Outcome =
  | { kind: 'answer'; status: number; headers: http.IncomingHttpHeaders; body: string }
  | { kind: 'NetworkError' | 'Timeout' | 'Aborted' | 'FileError' | 'AddressRefused'; detail: string };

const MAX_ANSWER = 64 * 1024;
const MAX_DELAY = 60_000;

export async function postToS3(o: S3PostOptions): Promise<S3PostResult> {
  const fail = (code: string, detail: string, attempts = 0, status = 0): S3UploadError => new S3UploadError(status, code, detail, attempts, false);
  let target: URL;
  try {
    target = new URL(o.url);
  } catch {
    throw fail('InvalidInput', 'upload URL is not a URL');
  }
  if (target.protocol !== 'http:' && target.protocol !== 'https:') throw fail('InvalidInput', `upload URL ${describeUrl(o.url)} is not http(s)`);
  if (!/^[\w.+-]+\/[\w.+-]+(\s*;[^\r\n]*)?$/.test(o.contentType)) throw fail('InvalidInput', 'invalid file Content-Type');
  if (o.signal?.aborted) throw fail('Aborted', 'aborted');

  const fileSize = Buffer.isBuffer(o.file) ? o.file.length : o.file.size;
  if (o.maxSize !== undefined && fileSize > o.maxSize) {
    throw fail('EntityTooLarge', `the file has ${fileSize} bytes; the upload URL allows at most ${o.maxSize}`);
  }
  if (!Buffer.isBuffer(o.file)) {
    const name = basename(o.file.path);
    const st = await stat(o.file.path).catch((err: NodeJS.ErrnoException) => {
      throw fail('FileError', `cannot read ${name} (${err.code ?? err.message})`);
    });
    if (!st.isFile() || st.size < fileSize) throw fail('FileError', `${name} has ${st.size} bytes, expected ${fileSize}`);
  }
  const form = buildForm(Object.entries(o.fields), fileName(o), o.contentType);
  const headers = {
    'Content-Type': `multipart/form-data; boundary=${form.boundary}`,
    'Content-Length': String(form.head.length + fileSize + form.tail.length),
  };
  const attempts = Number.isFinite(o.attempts) ? Math.max(1, Math.floor(o.attempts)) : 1;

  for (let n = 1; ; n++) {
    const out = await attemptPost(target, headers, form, o);
    let error: S3UploadError;
    if (out.kind === 'answer') {
      if ((out.status >= 200 && out.status < 300) || (out.status === 303 && hasField(o.fields, 'success_action_redirect'))) {
        return success(out.status, out.headers, out.body);
      }
      const parsed = parseS3Error(out.body);
      const code = parsed.code ?? 'HttpError';
      const text = redact(parsed.message ?? `HTTP ${out.status} without an S3 error body`, o.fields);
      // RequestTimeout (400) is S3 giving up on a slow client, not a refusal.
      const retryable = out.status >= 500 || code === 'RequestTimeout';
      error = new S3UploadError(out.status, code, text, n, retryable);
    } else {
      error = new S3UploadError(0, out.kind, out.detail, n, out.kind === 'NetworkError' || out.kind === 'Timeout');
    }
    if (!error.retryable || n >= attempts) throw error;
    const base = Math.min(o.retryDelayMs * 2 ** (n - 1), Math.max(o.retryDelayMs, MAX_DELAY));
    if (!(await wait(Math.round(base * (0.8 + 0.4 * Math.random())), o))) throw fail('Aborted', 'aborted', n);
  }
}

interface Form {
  boundary: string;
  head: Buffer;
  tail: Buffer;
}

/** Value safe inside a quoted multipart header parameter (what browsers do). */
function quoteParam(value: string): string {
  return value.replace(/"/g, '%22').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}

function buildForm(fields: Array<[string, string]>, filename: string, contentType: string): Form {
  let boundary: string;
  do boundary = `----polarcloud${randomBytes(16).toString('hex')}`;
  while (fields.some(([k, v]) => k.includes(boundary) || v.includes(boundary)));
  let head = '';
  for (const [name, value] of fields) {
    head += `--${boundary}\r\nContent-Disposition: form-data; name="${quoteParam(name)}"\r\n\r\n${value}\r\n`;
  }
  head += `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${quoteParam(filename)}"\r\nContent-Type: ${contentType}\r\n\r\n`;
  return { boundary, head: Buffer.from(head, 'utf8'), tail: Buffer.from(`\r\n--${boundary}--\r\n`, 'utf8') };
}

function fileName(o: S3PostOptions): string {
  if (o.fileName) return o.fileName;
  if (!Buffer.isBuffer(o.file)) return basename(o.file.path);
  const key = Object.entries(o.fields).find(([k]) => k.toLowerCase() === 'key')?.[1];
  // A key with ${filename} takes its name from here, so it cannot also name it.
  return key && !key.includes('${filename}') ? basename(key) : 'upload';
}

function hasField(fields: Record<string, string>, name: string): boolean {
  return Object.keys(fields).some((k) => k.toLowerCase() === name);
}

/** One POST; resolves with what happened (never rejects). */
function attemptPost(target: URL, headers: Record<string, string>, form: Form, o: S3PostOptions): Promise<Outcome> {
  return new Promise<Outcome>((resolve) => {
    let done = false;
    let answered = false;
    const transport = target.protocol === 'https:' ? https : http;
    // agent: false: a connection per upload, closed after it, never reused after an early answer.
    const req = transport.request(target, { method: 'POST', headers, agent: false, ...(o.lookup ? { lookup: o.lookup } : {}) });
    const stream = Buffer.isBuffer(o.file) || o.file.size === 0 ? undefined : createReadStream(o.file.path, { start: 0, end: o.file.size - 1, highWaterMark: 256 * 1024 });
    const finish = (out: Outcome): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      o.signal?.removeEventListener('abort', onAbort);
      stream?.destroy();
      req.destroy();
      resolve(out);
    };
    const onAbort = (): void => finish({ kind: 'Aborted', detail: 'aborted' });
    o.signal?.addEventListener('abort', onAbort, { once: true });
    const timer = setTimeout(() => finish({ kind: 'Timeout', detail: `no answer within ${o.timeoutMs} ms` }), o.timeoutMs);

    req.on('error', (err) => {
      // The caller's lookup refused the address (the bridge's address guard): final, not a network blip.
      if (err.name === 'AddressRefusedError') return finish({ kind: 'AddressRefused', detail: err.message });
      // After an early answer (S3 refusing mid-body) a reset of the sending side is expected.
      if (!answered) finish({ kind: 'NetworkError', detail: `upload to ${describeUrl(target.href)} failed (${(err as NodeJS.ErrnoException).code ?? err.message})` });
    });
    req.on('response', (res) => {
      answered = true;
      if (stream) {
        stream.unpipe(req);
        stream.destroy();
      }
      const chunks: Buffer[] = [];
      let kept = 0;
      res.on('data', (c: Buffer) => {
        if (kept < MAX_ANSWER) chunks.push(c);
        kept += c.length;
      });
      res.on('end', () => finish({ kind: 'answer', status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('close', () => {
        if (!res.complete) finish({ kind: 'NetworkError', detail: 'connection lost while reading the answer' });
      });
    });

    req.write(form.head);
    if (!stream) {
      if (Buffer.isBuffer(o.file)) req.write(o.file);
      req.end(form.tail);
      return;
    }
    let read = 0;
    stream.on('data', (c) => {
      read += c.length;
    });
    stream.on('error', (err: NodeJS.ErrnoException) => finish({ kind: 'FileError', detail: `reading ${basename((o.file as { path: string }).path)} failed (${err.code ?? err.message})` }));
    stream.on('end', () => {
      if (done || answered) return;
      if (read !== (o.file as { size: number }).size) return finish({ kind: 'FileError', detail: `${basename((o.file as { path: string }).path)} shrank while uploading` });
      req.end(form.tail);
    });
    stream.pipe(req, { end: false });
  });
}

function success(status: number, headers: http.IncomingHttpHeaders, body: string): S3PostResult {
  const result: S3PostResult = { status };
  if (typeof headers.etag === 'string') result.etag = headers.etag;
  const location = typeof headers.location === 'string' ? headers.location : xmlText(body, 'Location');
  if (location !== undefined) result.location = location;
  return result;
}

function xmlText(body: string, tag: string): string | undefined {
  const m = new RegExp(`<${tag}>([^<]*)</${tag}>`).exec(body);
  return m ? decodeXml(m[1]) : undefined;
}

function decodeXml(s: string): string {
  return s.replace(/&(lt|gt|amp|quot|apos|#\d+|#x[0-9a-f]+);/gi, (all, e: string) => {
    const named: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };
    if (e.toLowerCase() in named) return named[e.toLowerCase()];
    const cp = e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
    return cp <= 0x10ffff ? String.fromCodePoint(cp) : all;
  });
}

/** <Error><Code/><Message/></Error>; either may be missing. */
export function parseS3Error(body: string): { code?: string; message?: string } {
  const error = /<Error>([\s\S]*)<\/Error>/.exec(body)?.[1];
  if (error === undefined) return {};
  const out: { code?: string; message?: string } = {};
  const code = xmlText(error, 'Code')?.trim();
  const message = xmlText(error, 'Message');
  if (code) out.code = code.slice(0, 100);
  if (message !== undefined) out.message = message.slice(0, 500);
  return out;
}

/** Field names whose values may appear in logs; every other value (signature, policy, credential, token) is cut out. */
const SHOWN_FIELDS = new Set(['key', 'bucket', 'acl', 'content-type', 'success_action_status', 'x-amz-algorithm', 'x-amz-date']);

function redact(text: string, fields: Record<string, string>): string {
  let out = text;
  for (const [name, value] of Object.entries(fields)) {
    if (SHOWN_FIELDS.has(name.toLowerCase()) || value.length < 8) continue;
    out = out.split(value).join('[redacted]');
  }
  return out;
}

/** Waits ms (or less if aborted); false when aborted. */
function wait(ms: number, o: S3PostOptions): Promise<boolean> {
  const signal = o.signal;
  if (signal?.aborted) return Promise.resolve(false);
  return new Promise<boolean>((resolve) => {
    let timer: NodeJS.Timeout | undefined;
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve(false);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    const slept = (): void => {
      signal?.removeEventListener('abort', onAbort);
      resolve(!signal?.aborted);
    };
    if (o.sleep) o.sleep(ms).then(slept, slept);
    else timer = setTimeout(slept, ms);
  });
}
