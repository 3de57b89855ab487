// POST /server/files/upload: multipart form streamed to a temp file (constant
// memory, via busboy) while hashing; then Moonraker's checks: checksum (422),
// destination inside the root, the file loaded by a print in progress (403),
// optional print start / queueing. Replies 201 with a Location header.
// As in Moonraker, fields may come in any order (a checksum after the file is
// checked once the body is complete), a chunked body is accepted, and a body
// cut short (the client dropped the connection) is discarded: nothing is moved
// into a root. (Moonraker leaves its temp file under the system temp dir
// until the next upload overwrites it; the simulator deletes its own.)
import type { IncomingMessage, ServerResponse } from 'node:http';
import { STATUS_CODES } from 'node:http';
import { createWriteStream, promises as fs } from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import { dirname, extname, join, resolve, sep } from 'node:path';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import busboy from 'busboy';
import type { SimContext } from './context.js';
import { MoonrakerError } from './errors.js';
import { VALID_GCODE_EXTS } from './file-manager.js';

class Sha256 extends Transform {
  private readonly hash = createHash('sha256');
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.hash.update(chunk);
    cb(null, chunk);
  }
  digest(): string {
    return this.hash.digest('hex');
  }
}

interface Received {
  fields: Record<string, string>;
  filename: string | null;
  tmpPath: string;
  sha256: string;
}

async function receive(ctx: SimContext, req: IncomingMessage): Promise<Received> {
  const tmpPath = join(ctx.dataDir, 'tmp', `upload-${randomBytes(6).toString('hex')}.mru`);
  await fs.mkdir(dirname(tmpPath), { recursive: true });
  const fields: Record<string, string> = {};
  let filename: string | null = null;
  let hasher: Sha256 | null = null;
  let writing: Promise<void> = Promise.resolve();
  let bb: busboy.Busboy;
  try {
    bb = busboy({ headers: req.headers, defParamCharset: 'utf8' });
  } catch {
    req.resume();
    throw new MoonrakerError('Bad Request', 400);
  }
  let fileStream: NodeJS.ReadableStream & { destroy(err?: Error): void } | null = null;
  const done = new Promise<void>((resolveDone, reject) => {
    bb.on('field', (name, value) => {
      fields[name] = value;
    });
    bb.on('file', (name, stream, info) => {
      if (name !== 'file' || hasher) {
        stream.resume();
        return;
      }
      filename = info.filename ?? null;
      hasher = new Sha256();
      fileStream = stream;
      writing = pipeline(stream, hasher, createWriteStream(tmpPath));
      writing.catch(reject);
    });
    bb.on('close', () => resolveDone());
    bb.on('error', reject);
    // The client went away before the end of the body: drop what arrived.
    req.on('close', () => {
      if (req.complete) return;
      const err = new Error('connection closed before the end of the upload');
      fileStream?.destroy(err);
      reject(err);
    });
  });
  req.pipe(bb);
  try {
    await done;
    await writing;
  } catch (err) {
    await fs.rm(tmpPath, { force: true });
    throw new MoonrakerError(`File Upload Parsing Failed: ${err instanceof Error ? err.message : String(err)}`, 500);
  }
  const h = hasher as Sha256 | null;
  return { fields, filename, tmpPath, sha256: h ? h.digest() : createHash('sha256').digest('hex') };
}

async function moveInto(tmp: string, dest: string): Promise<void> {
  await fs.mkdir(dirname(dest), { recursive: true });
  try {
    await fs.rename(tmp, dest);
  } catch {
    await fs.copyFile(tmp, dest);
    await fs.rm(tmp, { force: true });
  }
}

function userFor(ctx: SimContext): string {
  return ctx.settings.apiKey === null ? '_TRUSTED_USER_' : '_API_KEY_USER_';
}

async function finalize(ctx: SimContext, got: Received): Promise<Record<string, unknown>> {
  if (!got.filename || !got.filename.trim()) throw new MoonrakerError('Multipart filename omitted', 400);
  const root = (got.fields['root'] ?? 'gcodes').toLowerCase();
  const roots = ctx.files.roots();
  const rootPath = roots[root as 'gcodes'];
  if (rootPath === undefined) throw new MoonrakerError(`Root ${root} not available`);
  if (root !== 'gcodes' && root !== 'config') throw new MoonrakerError(`Invalid root request: ${root}`);
  const dirPath = (got.fields['path'] ?? '').replace(/^\/+/, '');
  let rel = got.filename.trim().replace(/^\/+/, '');
  if (dirPath) rel = `${dirPath.replace(/\/+$/, '')}/${rel}`;
  const dest = resolve(rootPath, rel);
  if (!dest.startsWith(resolve(rootPath) + sep)) throw new MoonrakerError(`Cannot write to path: ${dest}`);
  const item = async (): Promise<Record<string, unknown>> => {
    const info = await ctx.files.itemInfo(root, dest);
    ctx.files.notifyChanged('create_file', info);
    return { ...info };
  };
  if (root !== 'gcodes' || !VALID_GCODE_EXTS.includes(extname(dest).toLowerCase())) {
    await moveInto(got.tmpPath, dest);
    return { item: await item(), action: 'create_file' };
  }
  let canStart = false;
  try {
    canStart = ctx.files.checkNotInUse(dest);
  } catch (err) {
    if (err instanceof MoonrakerError && err.status === 403) throw new MoonrakerError('File is loaded, upload not permitted', 403);
    throw err;
  }
  await moveInto(got.tmpPath, dest);
  const relPath = ctx.files.resolvePath(`gcodes/${rel}`).rel;
  await ctx.files.scanMetadata(relPath).catch(() => undefined);
  let started = false;
  let queued = false;
  if (got.fields['print'] === 'true') {
    if (canStart) {
      try {
        ctx.history.noteJobRequested(userFor(ctx));
        await ctx.klippy.request(() => ctx.runner.runScript(`SDCARD_PRINT_FILE FILENAME="${relPath.replace(/"/g, '\\"')}"`, () => ctx.klippy.generation));
        started = true;
      } catch {
        // Moonraker ignores a failed start here (and may queue the file instead).
      }
    }
    if (ctx.settings.queueGcodeUploads && !started) {
      await ctx.queue.add([relPath], false, userFor(ctx));
      queued = true;
    }
  }
  return { item: await item(), print_started: started, print_queued: queued, action: 'create_file' };
}

export function sendError(res: ServerResponse, status: number, message: string): void {
  const body = JSON.stringify({ error: { code: status, message } });
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(status, { 'Content-Type': 'application/json; charset=UTF-8', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

export async function handleUpload(ctx: SimContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const refuse = ctx.settings.refuseUploads;
  if (refuse !== null) {
    // Answer at once and discard the body, as a proxy or Moonraker rejecting early would.
    req.resume();
    sendError(res, refuse, refuse === 403 ? 'File is loaded, upload not permitted' : STATUS_CODES[refuse] ?? 'Error');
    return;
  }
  let got: Received | null = null;
  try {
    got = await receive(ctx, req);
    const checksum = got.fields['checksum'];
    if (checksum && checksum.toLowerCase() !== got.sha256) {
      throw new MoonrakerError(`File checksum mismatch: expected ${checksum.toLowerCase()}, calculated ${got.sha256}`, 422);
    }
    const result = await finalize(ctx, got);
    const item = result['item'] as { root: string; path: string };
    const location = `http://${req.headers.host ?? new URL(ctx.baseUrl()).host}/server/files/${item.root}/${item.path.split('/').map(encodeURIComponent).join('/')}`;
    // Unlike other endpoints, the upload reply is not wrapped in {result: ...}.
    const body = JSON.stringify(result);
    res.writeHead(201, { 'Content-Type': 'application/json; charset=UTF-8', 'Content-Length': Buffer.byteLength(body), Location: location });
    res.end(body);
  } catch (err) {
    if (got) await fs.rm(got.tmpPath, { force: true }).catch(() => undefined);
    if (err instanceof MoonrakerError) sendError(res, err.status, err.message);
    else sendError(res, 500, err instanceof Error ? err.message : String(err));
  }
}
