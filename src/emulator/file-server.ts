// GET/HEAD /files/<name>: print files with Content-Length, byte ranges (206)
// and injected faults (404, truncated body, stall, wrong Content-Length).
// Generated files are streamed chunk by chunk with backpressure.
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { EmulatorContext } from './context.js';
import { generatedGcodeChunks } from './gcode-generator.js';
import { sendS3Error } from './http-util.js';
import type { FileEntry } from './print-files.js';
import type { FileFault } from './types.js';

export type ByteRange = { start: number; end: number };

/**
 * One `bytes=` range (RFC 9110). undefined = serve the whole file (no header,
 * a malformed one, or several ranges); 'unsatisfiable' = 416.
 */
export function parseRange(header: string | undefined, size: number): ByteRange | 'unsatisfiable' | undefined {
  if (!header) return undefined;
  const m = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header);
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0 || size === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(m[1]);
  if (m[2] !== '' && Number(m[2]) < start) return undefined;
  if (start >= size) return 'unsatisfiable';
  return { start, end: m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1) };
}

function* chunksOf(entry: FileEntry, start: number, end: number): Generator<Buffer> {
  if (entry.content) {
    for (let pos = start; pos <= end; pos += 64 * 1024) yield entry.content.subarray(pos, Math.min(end + 1, pos + 64 * 1024));
  } else {
    yield* generatedGcodeChunks(entry.size, start, end);
  }
}

function etag(entry: FileEntry): string {
  if (!entry.content) return `"generated-${entry.size}"`;
  return `"${createHash('md5').update(entry.content).digest('hex')}"`;
}

/** Resolves when the response can take more data, or has closed. */
function writable(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

export function serveFile(ctx: EmulatorContext, req: IncomingMessage, res: ServerResponse, name: string): void {
  const path = `/files/${name}`;
  const record = (reason: string, payload?: unknown): void => void ctx.events.record({ kind: 'download', name: path, reason, payload });
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    return sendS3Error(res, 405, 'MethodNotAllowed', 'The specified method is not allowed against this resource.', {}, { Allow: 'GET, HEAD' });
  }
  const entry = ctx.files.get(name);
  const fault = entry ? ctx.files.takeFault(entry) : undefined;
  const range = entry ? parseRange(req.headers.range, entry.size) : undefined;
  record('start', { method: req.method, range: req.headers.range, fault });
  if (!entry || fault?.kind === 'notFound') {
    record('done', { status: 404 });
    return sendS3Error(res, 404, 'NoSuchKey', 'The specified key does not exist.', { Key: name });
  }
  if (fault?.kind === 'status') {
    record('done', { status: fault.status });
    return sendS3Error(res, fault.status, 'InternalError', 'We encountered an internal error. Please try again.');
  }
  if (range === 'unsatisfiable') {
    record('done', { status: 416 });
    return sendS3Error(res, 416, 'InvalidRange', 'The requested range is not satisfiable', {}, { 'Content-Range': `bytes */${entry.size}` });
  }
  const start = range?.start ?? 0;
  const end = range?.end ?? entry.size - 1;
  const length = end - start + 1;
  const status = range ? 206 : 200;
  res.strictContentLength = false; // the wrongLength fault lies on purpose
  res.statusCode = status;
  res.setHeader('Content-Type', 'application/octet-stream');
  res.setHeader('Accept-Ranges', 'bytes');
  res.setHeader('ETag', etag(entry));
  res.setHeader('Last-Modified', 'Thu, 01 Jan 2026 00:00:00 GMT');
  res.setHeader('Content-Length', String(fault?.kind === 'wrongLength' ? fault.contentLength : length));
  if (range) res.setHeader('Content-Range', `bytes ${start}-${end}/${entry.size}`);
  if (fault) res.setHeader('Connection', 'close');
  if (req.method === 'HEAD') {
    res.end();
    record('done', { status, bytes: 0 });
    return;
  }
  void sendBody(res, chunksOf(entry, start, end), fault).then(
    (sent) => record(sent.complete ? 'done' : 'aborted', { status, bytes: sent.bytes, fault: fault?.kind }),
    (err: unknown) => record('aborted', { status, error: String(err) }),
  );
}

async function sendBody(res: ServerResponse, chunks: Iterable<Buffer>, fault: FileFault | undefined): Promise<{ bytes: number; complete: boolean }> {
  const limit = fault?.kind === 'truncate' || fault?.kind === 'stall' ? fault.afterBytes : Infinity;
  let bytes = 0;
  const started = Date.now();
  // The headers go now; a slow body follows at its pace.
  if (fault?.kind === 'slow') res.flushHeaders();
  for (const c of chunks) {
    if (res.destroyed) return { bytes, complete: false };
    const chunk = bytes + c.length > limit ? c.subarray(0, limit - bytes) : c;
    if (fault?.kind === 'slow') {
      // Pace before each write, by the total once it is sent: the client never gets more
      // than bytesPerSecond on average. (Pacing after the write would sleep after the last
      // chunk too, and a client that already has the whole Content-Length may close before
      // res.end(): the download would be logged as aborted.)
      const due = started + ((bytes + chunk.length) / fault.bytesPerSecond) * 1000;
      if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
      if (res.destroyed) return { bytes, complete: false };
    }
    bytes += chunk.length;
    if (chunk.length > 0 && !res.write(chunk)) await writable(res);
    if (bytes >= limit) break;
  }
  if (res.destroyed) return { bytes, complete: false };
  if (fault?.kind === 'stall') {
    // Nothing more: the client has to notice the stall and give up (or stop() ends it).
    await new Promise<void>((resolve) => res.once('close', resolve));
    return { bytes, complete: false };
  }
  if (fault?.kind === 'truncate') {
    // Half-close after the data is flushed: the client sees the body end early.
    res.socket?.end();
    return { bytes, complete: false };
  }
  res.end();
  return { bytes, complete: fault === undefined || fault.kind === 'slow' };
}
