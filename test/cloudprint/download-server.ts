// Shared by the http-download tests: a real HTTP server on 127.0.0.1 (random
// port) whose handler each test writes, recording every request it gets, and
// download options that allow plain http from it.
import * as http from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DownloadOptions } from '../../src/cloudprint/http-download.js';
import { systemClock } from '../../src/util/clock.js';

export interface SeenRequest {
  path: string;
  headers: http.IncomingHttpHeaders;
}

export type Handler = (req: http.IncomingMessage, res: http.ServerResponse, n: number) => void;

export interface TestServer {
  base: string;
  requests: SeenRequest[];
  close(): Promise<void>;
}

export async function serve(handler: Handler): Promise<TestServer> {
  const requests: SeenRequest[] = [];
  const server = http.createServer((req, res) => {
    requests.push({ path: req.url ?? '', headers: req.headers });
    handler(req, res, requests.length);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    base: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export function options(srv: TestServer, extra: Partial<DownloadOptions> = {}): DownloadOptions {
  return {
    policy: { serverUrl: srv.base, allowHttpHosts: [] },
    maxBytes: 1 << 30,
    // Generous: a loaded machine may pause a transfer for a while; the stall tests set their own.
    stallMs: 5000,
    attempts: 3,
    clock: systemClock,
    retryDelayMs: 10,
    ...extra,
  };
}

/** A temp dir for one test file; `dispose` removes it. */
export async function tempDir(prefix: string): Promise<{ dir: string; dispose(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, dispose: () => rm(dir, { recursive: true, force: true }) };
}

/** Sends `body` as a 200 with Content-Length. */
export function sendAll(res: http.ServerResponse, body: Buffer): void {
  res.writeHead(200, { 'content-length': String(body.length), 'content-type': 'application/octet-stream' });
  res.end(body);
}

/**
 * Sends the headers for the whole body, then only its first `n` bytes, then drops the connection:
 * once `dropWhen` resolves (the client reported those bytes — a test that checks the resume
 * offset needs that, since a drop can discard bytes still in flight), else soon after the write.
 */
export function sendTruncated(res: http.ServerResponse, body: Buffer, n: number, dropWhen?: Promise<unknown>): void {
  res.writeHead(200, { 'content-length': String(body.length) });
  res.write(body.subarray(0, n), () => {
    if (dropWhen) void dropWhen.then(() => res.socket?.destroy());
    else setTimeout(() => res.socket?.destroy(), 20);
  });
}

/** Resolves `reached` once the download reports `n` bytes received (pass `onProgress` to it). */
export function progressGate(n: number): { onProgress(received: number): void; reached: Promise<void> } {
  let open!: () => void;
  const reached = new Promise<void>((resolve) => (open = resolve));
  return { reached, onProgress: (received) => received >= n && open() };
}

/** Answers a `Range: bytes=N-` request with a 206 of the rest. */
export function sendRange(req: http.IncomingMessage, res: http.ServerResponse, body: Buffer): void {
  const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
  if (!m) return sendAll(res, body);
  const from = Number(m[1]);
  res.writeHead(206, {
    'content-length': String(body.length - from),
    'content-range': `bytes ${from}-${body.length - 1}/${body.length}`,
  });
  res.end(body.subarray(from));
}
