// POST /server/files/upload fed while the bytes arrive (the cloud print relay):
// the caller writes the file's bytes as they come and only knows the sha256 at
// the end, so the multipart body carries root and path first, then the file,
// then the `checksum` field. Moonraker's upload handler parses every field as
// the body streams in and checks the checksum only once the body is complete
// (application.py FileUploadHandler.post), so a checksum after the file is
// honoured: a mismatch is a 422 and nothing is written into the root.
// Size known: one Content-Length for the whole body. Size unknown (a chunked
// download): Transfer-Encoding: chunked, which Tornado reads too.
// Nothing is moved into Moonraker's roots until the body is complete, so
// abort() (a destroyed connection) leaves nothing in the gcodes folder.
import { randomBytes } from 'node:crypto';
import * as http from 'node:http';
import * as https from 'node:https';
import { buildMultipart, parseUploadReply, UploadAbortedError, UploadError, type UploadResult } from './file-upload.js';

export interface StreamUploadOptions {
  /** Moonraker base URL, e.g. http://127.0.0.1:7125. */
  url: string;
  apiKey?: string | undefined;
  /** Name on the printer (no '/'); `path` is the folder. */
  filename: string;
  path?: string | undefined;
  root?: 'gcodes' | 'config';
  /** The file's size in bytes; null sends the body chunked. */
  size: number | null;
  /** Give up when Moonraker takes no bytes for this long while we have some to send (ms). */
  idleTimeoutMs?: number;
  /** After the last byte: how long Moonraker may take to answer (it moves the file and scans metadata), ms. */
  replyTimeoutMs?: number;
  /** How long to wait for "100 Continue" before sending the body anyway (ms). */
  continueTimeoutMs?: number;
}

const CHECKSUM_FIELD_BYTES = 64;

/** One upload in progress. write() the file's bytes, then finish(sha256); abort() drops it. */
export class StreamUpload {
  private readonly req: http.ClientRequest;
  private readonly tail: (checksum: string) => Buffer;
  private readonly head: Buffer;
  private readonly size: number | null;
  private written = 0;
  private error: Error | null = null;
  private readonly errorListeners = new Set<(err: Error) => void>();
  private readonly reply: Promise<UploadResult>;
  private rejectReply: (err: Error) => void = () => undefined;
  private readyPromise: Promise<void>;
  private idleTimer: NodeJS.Timeout | undefined;
  private ended = false;

  constructor(private readonly opts: StreamUploadOptions) {
    if (!opts.filename || opts.filename.includes('/')) throw new UploadError(0, `invalid upload filename '${opts.filename}'`);
    const fields: Array<[string, string]> = [['root', opts.root ?? 'gcodes']];
    if (opts.path) fields.push(['path', opts.path]);
    const boundary = `----polarcloud${randomBytes(12).toString('hex')}`;
    const mp = buildMultipart(fields, opts.filename, boundary);
    this.head = mp.head;
    const checksumPart = (sum: string): string => `\r\n--${boundary}\r\nContent-Disposition: form-data; name="checksum"\r\n\r\n${sum}`;
    this.tail = (sum) => Buffer.concat([Buffer.from(checksumPart(sum), 'utf8'), mp.tail]);
    this.size = opts.size;
    const target = new URL(`${opts.url.replace(/\/+$/, '')}/server/files/upload`);
    const headers: Record<string, string | number> = {
      'Content-Type': `multipart/form-data; boundary=${boundary}`,
      Accept: 'application/json',
      Expect: '100-continue',
    };
    if (opts.size !== null) headers['Content-Length'] = this.head.length + opts.size + this.tail('0'.repeat(CHECKSUM_FIELD_BYTES)).length;
    else headers['Transfer-Encoding'] = 'chunked';
    if (opts.apiKey) headers['X-Api-Key'] = opts.apiKey;
    this.req = (target.protocol === 'https:' ? https : http).request(target, { method: 'POST', headers });
    this.reply = new Promise<UploadResult>((resolve, reject) => {
      this.rejectReply = reject;
      this.req.on('response', (res) => {
        const chunks: Buffer[] = [];
        let length = 0;
        res.on('data', (c: Buffer) => {
          if (length < 1024 * 1024) chunks.push(c);
          length += c.length;
        });
        res.on('error', (err) => reject(this.fail(new UploadError(0, `upload response failed: ${err.message}`))));
        res.on('end', () => {
          const r = parseUploadReply(res.statusCode ?? 0, Buffer.concat(chunks).toString('utf8'));
          // An answer before the last byte is a refusal (401, 403, 413) even when it says 2xx.
          if (r instanceof Error) reject(this.fail(r));
          else if (!this.ended) reject(this.fail(new UploadError(res.statusCode ?? 0, 'Moonraker answered before the upload was complete')));
          else resolve(r);
        });
      });
      this.req.on('error', (err) => {
        const code = (err as NodeJS.ErrnoException).code;
        const hungUp = code === 'EPIPE' || code === 'ECONNRESET';
        reject(this.fail(this.error ?? new UploadError(0, hungUp ? `Moonraker closed the connection during the upload (${code})` : `upload failed: ${err.message}`)));
      });
    });
    this.reply.catch(() => undefined);
    this.readyPromise = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(resolve, opts.continueTimeoutMs ?? 1000);
      timer.unref();
      // Expect: 100-continue lets Moonraker refuse (401, 403) before any file byte; servers that ignore it get the body after a short wait.
      this.req.once('continue', () => {
        clearTimeout(timer);
        resolve();
      });
      this.reply.catch((err: Error) => {
        clearTimeout(timer);
        reject(err);
      });
    }).then(() => {
      if (this.error) throw this.error;
      this.req.write(this.head);
    });
    this.readyPromise.catch(() => undefined);
    this.req.flushHeaders();
  }

  /** Resolves once the file's bytes may be written; rejects if Moonraker refused already. */
  ready(): Promise<void> {
    return this.readyPromise;
  }

  /** The error that ended this upload, if any. */
  get failure(): Error | null {
    return this.error;
  }

  /** File bytes written so far. */
  get bytes(): number {
    return this.written;
  }

  onError(listener: (err: Error) => void): () => void {
    if (this.error) listener(this.error);
    else this.errorListeners.add(listener);
    return () => this.errorListeners.delete(listener);
  }

  /** Writes file bytes; `done` runs once Moonraker's connection takes more (backpressure), or with the error. */
  write(chunk: Buffer, done: (err?: Error | null) => void): void {
    if (this.error) return done(this.error);
    if (this.size !== null && this.written + chunk.length > this.size) return done(this.fail(new UploadError(0, `more bytes than the announced ${this.size}`)));
    this.written += chunk.length;
    if (this.req.write(chunk)) return done();
    const off = this.onError((err) => {
      clearTimeout(this.idleTimer);
      done(err);
    });
    const idleMs = this.opts.idleTimeoutMs ?? 120_000;
    this.idleTimer = setTimeout(() => this.fail(new UploadError(0, `upload stalled (Moonraker took nothing for ${Math.round(idleMs / 1000)} s)`)), idleMs);
    this.req.once('drain', () => {
      clearTimeout(this.idleTimer);
      off();
      done(this.error);
    });
  }

  /** Sends the checksum field and the closing boundary; resolves with Moonraker's answer. */
  async finish(sha256: string): Promise<UploadResult> {
    if (this.error) throw this.error;
    if (this.size !== null && this.written !== this.size) throw this.fail(new UploadError(0, `upload incomplete: ${this.written} of ${this.size} bytes`));
    if (!/^[0-9a-f]{64}$/i.test(sha256)) throw this.fail(new UploadError(0, 'invalid sha256'));
    this.ended = true;
    const replyMs = this.opts.replyTimeoutMs ?? 600_000;
    this.req.setTimeout(replyMs, () => this.fail(new UploadError(0, `Moonraker did not answer the upload within ${Math.round(replyMs / 1000)} s`)));
    this.req.end(this.tail(sha256.toLowerCase()));
    return this.reply;
  }

  /** Drops the connection: Moonraker never finalizes a body it did not receive in full. */
  abort(err: Error = new UploadAbortedError()): void {
    this.fail(err);
  }

  private fail(err: Error): Error {
    if (this.error) return this.error;
    this.error = err;
    clearTimeout(this.idleTimer);
    this.req.destroy();
    this.rejectReply(err);
    for (const l of this.errorListeners) l(err);
    this.errorListeners.clear();
    return err;
  }
}
