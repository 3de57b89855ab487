// POST /server/files/upload, streamed from disk: multipart body with a
// precomputed Content-Length (no chunked encoding; memory stays constant in the
// file size). Fields root, path, checksum (sha256 hex), print, then the file.
// Moonraker's error bodies ({"error": {code, message}}) become UploadError.
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import * as http from 'node:http';
import * as https from 'node:https';
import { basename } from 'node:path';
import { z } from 'zod';
import { errorText } from './deps.js';

export interface UploadProgress {
  sent: number;
  total: number;
}

export interface UploadOptions {
  /** Moonraker base URL, e.g. http://127.0.0.1:7125. */
  url: string;
  apiKey?: string;
  /** Local file to upload. */
  file: string;
  /** Name on the printer (default: the local file's base name). May not contain '/'; use `path` for folders. */
  filename?: string;
  root?: 'gcodes' | 'config';
  /** Sub-folder of root (created by Moonraker if missing). */
  path?: string;
  /** sha256 hex of the file; computed by a first streaming pass when omitted. */
  checksum?: string;
  /** Start printing after upload (gcodes root only). */
  print?: boolean;
  signal?: AbortSignal;
  onProgress?: (p: UploadProgress) => void;
  /** Give up when the connection is idle this long (ms). */
  idleTimeoutMs?: number;
  /** How long to wait for "100 Continue" before sending the body anyway (ms). */
  continueTimeoutMs?: number;
  /** Read chunk size (bytes). */
  chunkSize?: number;
}

const uploadResultSchema = z.looseObject({
  item: z.looseObject({ path: z.string(), root: z.string(), size: z.number().optional(), modified: z.number().optional() }),
  print_started: z.boolean().optional(),
  print_queued: z.boolean().optional(),
  action: z.string().optional(),
});
export type UploadResult = z.infer<typeof uploadResultSchema>;

const errorBodySchema = z.looseObject({ error: z.looseObject({ code: z.number().optional(), message: z.string() }) });

/**
 * Moonraker refused the upload (status from the HTTP answer): 401 unauthorized,
 * 403 file is loaded/printing, 413 too large, 422 checksum mismatch. status 0:
 * transport failure (connection lost, timeout, file changed while reading).
 */
export class UploadError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'UploadError';
  }
}

export class UploadAbortedError extends Error {
  constructor() {
    super('upload aborted');
    this.name = 'UploadAbortedError';
  }
}

/** sha256 hex of a file, streamed. */
export async function sha256File(file: string, signal?: AbortSignal): Promise<string> {
  const hash = createHash('sha256');
  const stream = createReadStream(file, { highWaterMark: 1024 * 1024 });
  const onAbort = (): void => {
    stream.destroy(new UploadAbortedError());
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    for await (const chunk of stream) hash.update(chunk as Buffer);
  } catch (err) {
    if (signal?.aborted) throw new UploadAbortedError();
    throw err;
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
  if (signal?.aborted) throw new UploadAbortedError();
  return hash.digest('hex');
}

/** Value safe inside a quoted multipart header parameter (browsers percent-encode the same three). */
function quoteParam(value: string): string {
  return value.replace(/"/g, '%22').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}

interface Multipart {
  boundary: string;
  head: Buffer;
  tail: Buffer;
}

export function buildMultipart(fields: ReadonlyArray<[string, string]>, filename: string, boundary = `----polarcloud${randomBytes(12).toString('hex')}`): Multipart {
  let head = '';
  for (const [name, value] of fields) {
    head += `--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`;
  }
  head += `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${quoteParam(filename)}"\r\nContent-Type: application/octet-stream\r\n\r\n`;
  return { boundary, head: Buffer.from(head, 'utf8'), tail: Buffer.from(`\r\n--${boundary}--\r\n`, 'utf8') };
}

export async function uploadFile(opts: UploadOptions): Promise<UploadResult> {
  const { signal } = opts;
  if (signal?.aborted) throw new UploadAbortedError();
  const filename = opts.filename ?? basename(opts.file);
  if (!filename || filename.includes('/')) throw new UploadError(0, `invalid upload filename '${filename}'`);
  const size = (await stat(opts.file)).size;
  const checksum = opts.checksum ?? (await sha256File(opts.file, signal));
  if (signal?.aborted) throw new UploadAbortedError();
  const fields: Array<[string, string]> = [['root', opts.root ?? 'gcodes']];
  if (opts.path) fields.push(['path', opts.path]);
  fields.push(['checksum', checksum.toLowerCase()]);
  if (opts.print !== undefined) fields.push(['print', opts.print ? 'true' : 'false']);
  const mp = buildMultipart(fields, filename);
  const total = mp.head.length + size + mp.tail.length;
  const target = new URL(`${opts.url.replace(/\/+$/, '')}/server/files/upload`);
  const headers: Record<string, string | number> = {
    'Content-Type': `multipart/form-data; boundary=${mp.boundary}`,
    'Content-Length': total,
    Accept: 'application/json',
    Expect: '100-continue',
  };
  if (opts.apiKey) headers['X-Api-Key'] = opts.apiKey;
  const transport = target.protocol === 'https:' ? https : http;

  return new Promise<UploadResult>((resolve, reject) => {
    let done = false;
    let continueTimer: NodeJS.Timeout | undefined;
    const stream = createReadStream(opts.file, { start: 0, end: Math.max(0, size - 1), highWaterMark: opts.chunkSize ?? 256 * 1024 });
    const req = transport.request(target, { method: 'POST', headers });
    const finish = (err: Error | undefined, result?: UploadResult): void => {
      if (done) return;
      done = true;
      signal?.removeEventListener('abort', onAbort);
      clearTimeout(continueTimer);
      stream.destroy();
      if (err) {
        req.destroy();
        reject(err);
      } else {
        resolve(result as UploadResult);
      }
    };
    const onAbort = (): void => finish(new UploadAbortedError());
    signal?.addEventListener('abort', onAbort, { once: true });
    req.setTimeout(opts.idleTimeoutMs ?? 120_000, () => finish(new UploadError(0, `upload stalled (no progress for ${opts.idleTimeoutMs ?? 120_000} ms)`)));
    let answered = false;
    req.on('error', (err) => {
      const code = (err as NodeJS.ErrnoException).code;
      const hungUp = code === 'EPIPE' || code === 'ECONNRESET';
      // A hang-up mid-body usually means Moonraker refused the upload early (e.g. too large).
      finish(new UploadError(0, hungUp ? `Moonraker closed the connection during the upload (${code})` : `upload failed: ${err.message}`));
    });
    req.on('response', (res) => {
      answered = true;
      // Moonraker may answer early (401, 413) while we are still sending: stop sending, read the answer.
      stream.destroy();
      const chunks: Buffer[] = [];
      let length = 0;
      res.on('data', (c: Buffer) => {
        if (length < 1024 * 1024) chunks.push(c);
        length += c.length;
      });
      res.on('error', (err) => finish(new UploadError(0, `upload response failed: ${err.message}`)));
      res.on('end', () => {
        const r = parseUploadReply(res.statusCode ?? 0, Buffer.concat(chunks).toString('utf8'));
        if (r instanceof UploadError) finish(r);
        else finish(undefined, r);
      });
    });

    let sent = 0;
    const progress = (n: number): void => {
      sent += n;
      try {
        opts.onProgress?.({ sent, total });
      } catch {
        // A progress listener must not break the upload.
      }
    };
    const write = (buf: Buffer): boolean => {
      const ok = req.write(buf);
      progress(buf.length);
      return ok;
    };
    let fileBytes = 0;
    let bodyStarted = false;
    const sendBody = (): void => {
      if (bodyStarted || done || answered) return;
      bodyStarted = true;
      clearTimeout(continueTimer);
      write(mp.head);
      stream.on('data', (chunk) => {
        const buf = chunk as Buffer;
        fileBytes += buf.length;
        if (fileBytes > size) {
          finish(new UploadError(0, `${opts.file} grew while uploading`));
          return;
        }
        if (!write(buf)) {
          stream.pause();
          req.once('drain', () => stream.resume());
        }
      });
      stream.on('end', () => {
        if (done) return;
        if (fileBytes !== size) {
          finish(new UploadError(0, `${opts.file} changed size while uploading (${fileBytes} of ${size} bytes)`));
          return;
        }
        req.end(mp.tail);
        progress(mp.tail.length);
      });
    };
    stream.on('error', (err) => finish(new UploadError(0, `cannot read ${opts.file}: ${errorText(err)}`)));
    // Expect: 100-continue lets Moonraker refuse (401, 403) before we stream the file;
    // servers that ignore it get the body after a short wait (RFC 9110 §10.1.1).
    req.on('continue', sendBody);
    continueTimer = setTimeout(sendBody, opts.continueTimeoutMs ?? 1000);
    continueTimer.unref();
    req.flushHeaders();
  });
}

/** Moonraker's answer to an upload: the result (2xx) or an UploadError carrying its message. */
export function parseUploadReply(status: number, text: string): UploadResult | UploadError {
  if (status < 200 || status >= 300) return new UploadError(status, errorMessage(status, text));
  const r = uploadResultSchema.safeParse(parseJson(text));
  return r.success ? r.data : new UploadError(status, `unexpected upload reply: ${text.slice(0, 200)}`);
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function errorMessage(status: number, text: string): string {
  const r = errorBodySchema.safeParse(parseJson(text));
  if (r.success) return r.data.error.message;
  const plain = text.trim().slice(0, 200);
  // Tornado answers a body over Moonraker's max_upload_size with a bare 400.
  if (!plain && status === 400) return 'Moonraker refused the upload (HTTP 400 without details; the file may exceed its max_upload_size)';
  return plain || `HTTP ${status}`;
}
