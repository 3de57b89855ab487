// The control API over HTTP/JSON under /control/..., for the CLI emulator and
// for tests in other processes. Every body is checked with a schema; errors
// come back as 400 {error}. No authentication: bind the emulator to loopback.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { describeIssues } from '../polar/messages.js';
import { errText } from '../util/log.js';
import { readBody, sendJson } from './http-util.js';
import { REGISTER_FAILURE_REASONS, type EmulatorControl, type EmulatorEvent } from './types.js';

const serial = z.string().min(1).max(128);
const faultSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('notFound') }),
  z.object({ kind: z.literal('truncate'), afterBytes: z.number().int().nonnegative() }),
  z.object({ kind: z.literal('stall'), afterBytes: z.number().int().nonnegative() }),
  z.object({ kind: z.literal('wrongLength'), contentLength: z.number().int().nonnegative() }),
  z.object({ kind: z.literal('status'), status: z.number().int().min(400).max(599) }),
  z.object({ kind: z.literal('slow'), bytesPerSecond: z.number().int().positive() }),
]);
const jobSchema = z
  .object({
    jobId: z.string().min(1).optional(),
    jobName: z.string().optional(),
    owner: z.string().optional(),
    ownerPhotoFile: z.string().optional(),
    imageFile: z.string().optional(),
    imageThumbnailFile: z.string().optional(),
    ready: z.boolean().optional(),
    content: z.string().optional(),
    contentBase64: z.string().optional(),
    size: z.number().int().nonnegative().optional(),
    url: z.string().min(1).optional(),
    fileName: z.string().optional(),
    printFields: z.record(z.string(), z.unknown()).optional(),
  })
  .strict();
const waitSchema = z.object({
  kind: z.string().optional(),
  name: z.string().optional(),
  serialNumber: z.string().optional(),
  since: z.number().int().nonnegative().optional(),
  timeoutMs: z.number().int().positive().max(600_000).optional(),
});

const bodies = {
  send: z.object({ serialNumber: serial, command: z.string().min(1), payload: z.unknown().optional(), args: z.array(z.unknown()).optional() }),
  target: z.object({ serialNumber: serial.optional() }),
  refuse: z.object({ ms: z.number().nonnegative().optional(), mode: z.enum(['http', 'middleware']).optional() }),
  failHellos: z.object({ n: z.number().int().nonnegative() }),
  failRegister: z.object({ reason: z.enum(REGISTER_FAILURE_REASONS) }),
  keyPair: z.object({ behavior: z.enum(['normal', 'fail', 'mismatch']) }),
  deletePrinter: z.object({ serialNumber: serial }),
  addPrinter: z.object({ publicKey: z.string().min(1), mac: z.string().optional(), email: z.string().optional(), mfg: z.string().optional() }),
  addJob: z.object({ serialNumber: serial, job: jobSchema.optional() }),
  removeJob: z.object({ serialNumber: serial, jobId: z.string().min(1) }),
  addFile: z.object({ name: z.string().min(1), content: z.string().optional(), contentBase64: z.string().optional(), size: z.number().int().nonnegative().optional() }),
  faultFile: z.object({ name: z.string().min(1), fault: faultSchema.nullable(), times: z.number().int().positive().optional() }),
  uploadFault: z.object({
    fault: z.object({ status: z.number().int().min(400).max(599), code: z.string().optional(), message: z.string().optional() }).nullable(),
    times: z.number().int().positive().optional(),
  }),
  urlOptions: z.object({ expires: z.number().int().positive().optional(), maxSize: z.number().int().positive().optional(), fail: z.union([z.boolean(), z.string()]).optional(), url: z.string().max(4096).optional() }),
  wait: waitSchema,
  empty: z.object({}).loose(),
};

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

async function body<S extends z.ZodType>(req: IncomingMessage, schema: S): Promise<z.output<S>> {
  const raw = await readBody(req, 64 * 1024 * 1024);
  let json: unknown = {};
  if (raw.length > 0) {
    try {
      json = JSON.parse(raw.toString('utf8'));
    } catch {
      throw new HttpError(400, 'body is not valid JSON');
    }
  }
  const res = schema.safeParse(json);
  if (!res.success) throw new HttpError(400, describeIssues(res.error));
  return res.data;
}

function content(b: { content?: string; contentBase64?: string }): string | Buffer | undefined {
  return b.contentBase64 !== undefined ? Buffer.from(b.contentBase64, 'base64') : b.content;
}

function eventMatcher(f: z.output<typeof waitSchema>): (e: EmulatorEvent) => boolean {
  return (e) =>
    (f.kind === undefined || e.kind === f.kind) && (f.name === undefined || e.name === f.name) && (f.serialNumber === undefined || e.serialNumber === f.serialNumber);
}

type Route = (req: IncomingMessage, url: URL) => Promise<unknown>;

function routes(control: EmulatorControl): Record<string, Route> {
  const num = (url: URL, name: string): number | undefined => {
    const v = url.searchParams.get(name);
    if (v === null) return undefined;
    if (!/^\d+$/.test(v)) throw new HttpError(400, `${name} must be a non-negative integer`);
    return Number(v);
  };
  const required = (url: URL, name: string): string => {
    const v = url.searchParams.get(name);
    if (!v) throw new HttpError(400, `query parameter ${name} is required`);
    return v;
  };
  return {
    'GET /control/printers': async () => control.printers(),
    'GET /control/printer': async (_req, url) => control.printer(required(url, 'serialNumber')) ?? null,
    'POST /control/printers': async (req) => control.addPrinter(await body(req, bodies.addPrinter)),
    'POST /control/delete': async (req) => ({ deleted: control.deletePrinter((await body(req, bodies.deletePrinter)).serialNumber) }),
    'POST /control/send': async (req) => {
      const b = await body(req, bodies.send);
      const sent = b.args ? control.sendRaw(b.serialNumber, b.command, b.args) : control.send(b.serialNumber, b.command, b.payload);
      return { sent };
    },
    'POST /control/drop': async (req) => ({ dropped: control.dropConnections((await body(req, bodies.target)).serialNumber) }),
    'POST /control/disconnect': async (req) => ({ disconnected: control.disconnect((await body(req, bodies.target)).serialNumber) }),
    'POST /control/refuse': async (req) => {
      const b = await body(req, bodies.refuse);
      control.refuseConnections(b.ms, b.mode);
      return { ok: true };
    },
    'POST /control/accept': async () => (control.acceptConnections(), { ok: true }),
    'POST /control/fail-hellos': async (req) => (control.failNextHellos((await body(req, bodies.failHellos)).n), { ok: true }),
    'POST /control/ignore-hellos': async (req) => (control.ignoreNextHellos((await body(req, bodies.failHellos)).n), { ok: true }),
    'POST /control/fail-register': async (req) => (control.failNextRegister((await body(req, bodies.failRegister)).reason), { ok: true }),
    'POST /control/key-pair': async (req) => (control.setKeyPairBehavior((await body(req, bodies.keyPair)).behavior), { ok: true }),
    'GET /control/queue': async (_req, url) => control.queue(required(url, 'serialNumber')),
    'GET /control/history': async (_req, url) => control.history(required(url, 'serialNumber')),
    'POST /control/jobs': async (req) => {
      const b = await body(req, bodies.addJob);
      const { contentBase64: _b64, content: _c, ...job } = b.job ?? {};
      return control.addJob(b.serialNumber, { ...job, content: b.job ? content(b.job) : undefined });
    },
    'POST /control/remove-job': async (req) => {
      const b = await body(req, bodies.removeJob);
      return { removed: control.removeJob(b.serialNumber, b.jobId) };
    },
    'GET /control/files': async () => control.files(),
    'POST /control/files': async (req) => {
      const b = await body(req, bodies.addFile);
      const c = content(b);
      if ((c === undefined) === (b.size === undefined)) throw new HttpError(400, 'give exactly one of content, contentBase64, size');
      return control.addFile(b.name, c !== undefined ? { content: c } : { size: b.size as number });
    },
    'POST /control/file-fault': async (req) => {
      const b = await body(req, bodies.faultFile);
      control.faultFile(b.name, b.fault, b.times);
      return { ok: true };
    },
    'GET /control/uploads': async () => control.uploads().map(({ body: kept, ...meta }) => ({ ...meta, bodyKept: kept !== undefined })),
    'POST /control/url-options': async (req) => (control.setUrlOptions(await body(req, bodies.urlOptions)), { ok: true }),
    'POST /control/upload-fault': async (req) => {
      const b = await body(req, bodies.uploadFault);
      control.faultUploads(b.fault, b.times);
      return { ok: true };
    },
    'GET /control/events': async (_req, url) => control.events(num(url, 'since')),
    'GET /control/violations': async (_req, url) => control.violations(num(url, 'since')),
    'POST /control/wait': async (req) => {
      const b = await body(req, bodies.wait);
      try {
        return await control.waitFor(eventMatcher(b), b.timeoutMs ?? 5000, b.since ?? 0);
      } catch (err) {
        throw new HttpError(408, errText(err));
      }
    },
    'POST /control/reset': async () => (control.reset(), { ok: true }),
  };
}

export function createControlHandler(control: EmulatorControl): (req: IncomingMessage, res: ServerResponse, url: URL) => void {
  const table = routes(control);
  return (req, res, url) => {
    // Upload bodies are binary; everything else here is JSON.
    const upload = /^\/control\/uploads\/(\d+)\/body$/.exec(url.pathname);
    if (upload && req.method === 'GET') {
      const rec = control.uploads().find((u) => u.seq === Number(upload[1]));
      if (!rec?.body) return sendJson(res, 404, { error: rec ? 'body not kept (too large)' : 'no such upload' });
      res.writeHead(200, { 'Content-Type': rec.contentType, 'Content-Length': rec.body.length });
      return void res.end(rec.body);
    }
    const route = table[`${req.method ?? 'GET'} ${url.pathname}`];
    if (!route) return sendJson(res, 404, { error: `no control route ${req.method ?? ''} ${url.pathname}` });
    route(req, url).then(
      (result) => sendJson(res, 200, result ?? null),
      (err: unknown) => sendJson(res, err instanceof HttpError ? err.status : 400, { error: errText(err) }),
    );
  };
}
