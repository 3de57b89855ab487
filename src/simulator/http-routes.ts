// Moonraker's HTTP side: API routes (each mapped to its JSON-RPC method, with
// arguments from the query string — including `key:type` hints — and a JSON
// or form body), file download/delete, uploads, JSON-RPC over HTTP, the
// webcam, and the simulator's /_sim control routes. Replies are
// {"result": ...} or {"error": {"code", "message"}} with the HTTP status.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createReadStream, promises as fs } from 'node:fs';
import { basename } from 'node:path';
import { isAuthorizedRequest } from './auth.js';
import { delay, type SimContext } from './context.js';
import { MoonrakerError, errorMessage } from './errors.js';
import { RpcRouter } from './jsonrpc-router.js';
import type { Args } from './params.js';
import { handleUpload, sendError } from './upload.js';

const MAX_BODY = 4 * 1024 * 1024;

export type ControlHandler = (req: IncomingMessage, res: ServerResponse, url: URL, body: () => Promise<Args>) => Promise<void>;

function sendJson(res: ServerResponse, status: number, payload: unknown): void {
  const body = JSON.stringify(payload);
  res.writeHead(status, { 'Content-Type': 'application/json; charset=UTF-8', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const b = chunk as Buffer;
    size += b.length;
    if (size > MAX_BODY) throw new MoonrakerError('Request body too large', 413);
    chunks.push(b);
  }
  return Buffer.concat(chunks);
}

/** Query arguments with Moonraker's type hints (`?seconds:int=120&enabled:bool=true`). */
function queryArgs(url: URL): Args {
  const args: Args = {};
  for (const [rawKey, value] of url.searchParams) {
    const [key, hint] = rawKey.split(':', 2) as [string, string | undefined];
    if (key === 'token') continue;
    let v: unknown = value;
    if (hint === 'int' || hint === 'float') v = Number(value);
    else if (hint === 'bool') v = value.toLowerCase() === 'true';
    else if (hint === 'json') {
      try {
        v = JSON.parse(value);
      } catch {
        throw new MoonrakerError(`Invalid json value for argument '${key}'`);
      }
    }
    args[key] = v;
  }
  return args;
}

async function bodyArgs(req: IncomingMessage): Promise<Args> {
  const raw = await readBody(req);
  if (!raw.length) return {};
  const type = req.headers['content-type'] ?? '';
  if (type.startsWith('application/x-www-form-urlencoded')) return Object.fromEntries(new URLSearchParams(raw.toString('utf8')));
  try {
    const parsed: unknown = JSON.parse(raw.toString('utf8'));
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) return parsed as Args;
  } catch {
    // fall through
  }
  if (type.startsWith('application/json')) throw new MoonrakerError('Invalid JSON body');
  return {};
}

export class HttpRoutes {
  constructor(
    private readonly ctx: SimContext,
    private readonly control: ControlHandler,
  ) {}

  handle(req: IncomingMessage, res: ServerResponse): void {
    void this.route(req, res).catch((err: unknown) => {
      if (err instanceof MoonrakerError) sendError(res, err.status, err.message);
      else sendError(res, 500, errorMessage(err));
    });
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = decodeURIComponent(url.pathname);
    const verb = req.method === 'HEAD' ? 'GET' : (req.method ?? 'GET');
    if (path.startsWith('/_sim/')) return this.control(req, res, url, () => bodyArgs(req));
    if (this.ctx.webcams.serve(req, res, url)) return;
    if (verb === 'OPTIONS') {
      res.writeHead(204);
      res.end();
      return;
    }
    const method = this.ctx.router.methodForRoute(verb as 'GET', path);
    const open = method !== undefined && !this.ctx.router.authRequired(method);
    if (!open && !isAuthorizedRequest(this.ctx, req)) {
      req.resume();
      throw new MoonrakerError('Unauthorized', 401);
    }
    if (this.ctx.settings.replyDelayMs > 0) await delay(this.ctx, this.ctx.settings.replyDelayMs);
    if (verb === 'POST' && path === '/server/files/upload') {
      this.log('server.files.upload');
      return handleUpload(this.ctx, req, res);
    }
    if (verb === 'POST' && path === '/server/jsonrpc') return this.jsonRpc(req, res);
    if (method === undefined) {
      const file = /^\/server\/files\/([^/]+)\/(.+)$/.exec(path);
      if (file && this.ctx.files.roots()[file[1] as 'gcodes'] !== undefined) {
        if (verb === 'GET') return this.download(req, res, `${file[1]}/${file[2]}`);
        if (verb === 'DELETE') {
          this.log('server.files.delete_file');
          const result = await this.ctx.files.deleteFile(`${file[1]}/${file[2]}`);
          return sendJson(res, 200, { result });
        }
      }
      req.resume();
      throw new MoonrakerError('Not Found', 404);
    }
    this.log(method);
    let args: Args = queryArgs(url);
    if (method === 'printer.objects.query' && verb === 'GET') {
      const objects: Record<string, string[] | null> = {};
      for (const [k, v] of Object.entries(args)) objects[k] = typeof v === 'string' && v ? v.split(',') : null;
      args = { objects };
    }
    if (verb !== 'GET') args = { ...args, ...(await bodyArgs(req)) };
    else req.resume();
    const result = await this.ctx.router.call(method, args, { transport: 'http' });
    sendJson(res, 200, { result: result === undefined ? null : result });
  }

  private log(method: string): void {
    this.ctx.rpcLog.push({ time: this.ctx.clock.now(), method, transport: 'http' });
  }

  private async jsonRpc(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!(req.headers['content-type'] ?? '').startsWith('application/json')) {
      req.resume();
      throw new MoonrakerError('Invalid content type, application/json required', 400);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse((await readBody(req)).toString('utf8'));
    } catch {
      return sendJson(res, 200, RpcRouter.errorObject(-32700, 'Parse error', null));
    }
    const one = async (obj: unknown): Promise<object | null> => {
      const p = RpcRouter.parseRequest(obj);
      if ('error' in p) return p.error;
      if ('response' in p) return null;
      this.log(p.request.method);
      return this.ctx.router.execute(p.request, { transport: 'http' });
    };
    const out = Array.isArray(parsed) ? (await Promise.all(parsed.map(one))).filter((x): x is object => x !== null) : await one(parsed);
    if (out === null || (Array.isArray(out) && !out.length)) {
      res.writeHead(200);
      res.end();
      return;
    }
    sendJson(res, 200, out);
  }

  /** GET /server/files/{root}/{path}: streams the file (single byte ranges supported). */
  private async download(req: IncomingMessage, res: ServerResponse, requestPath: string): Promise<void> {
    const { full } = this.ctx.files.resolvePath(requestPath);
    const st = await fs.stat(full).catch(() => null);
    if (!st?.isFile()) throw new MoonrakerError('Not Found', 404);
    const name = basename(full);
    const headers: Record<string, string | number> = {
      'Content-Type': 'application/octet-stream',
      'Last-Modified': st.mtime.toUTCString(),
      'Accept-Ranges': 'bytes',
      'Content-Disposition': `attachment; filename="${name.replace(/[^\x20-\x7e]|"/g, '_')}"; filename*=UTF-8''${encodeURIComponent(name)}`,
    };
    let start = 0;
    let end = st.size - 1;
    let status = 200;
    const range = /^bytes=(\d*)-(\d*)$/.exec(req.headers.range ?? '');
    if (range && (range[1] || range[2])) {
      if (range[1]) start = Number(range[1]);
      if (range[2]) end = range[1] ? Math.min(Number(range[2]), st.size - 1) : st.size - 1;
      if (!range[1] && range[2]) start = Math.max(0, st.size - Number(range[2]));
      if (start > end || start >= st.size) {
        res.writeHead(416, { 'Content-Range': `bytes */${st.size}` });
        res.end();
        return;
      }
      status = 206;
      headers['Content-Range'] = `bytes ${start}-${end}/${st.size}`;
    }
    headers['Content-Length'] = st.size ? end - start + 1 : 0;
    res.writeHead(status, headers);
    if (req.method === 'HEAD' || st.size === 0) {
      res.end();
      return;
    }
    createReadStream(full, { start, end }).pipe(res);
  }
}
