// The Polar Cloud emulator: a strict, scriptable stand-in for Polar's Status
// Server. One HTTP server carries socket.io (printers), the S3-style upload
// endpoint (/s3/<bucket>), print file downloads (/files/<name>) and the
// control API (/control/...).
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket as NetSocket } from 'node:net';
import { Logger, errText } from '../util/log.js';
import { createContext } from './context.js';
import { createControl } from './control.js';
import { createControlHandler } from './control-http.js';
import { serveFile } from './file-server.js';
import { sendJson } from './http-util.js';
import { handleS3Post } from './s3-endpoint.js';
import { SocketHub } from './socket-hub.js';
import type { EmulatorControl } from './types.js';

export type * from './types.js';
export { REGISTER_FAILURE_REASONS } from './types.js';
export { generatedGcodeBytes, generatedGcodeChunks, generatedGcodeStream, GCODE_HEADER } from './gcode-generator.js';

export interface PolarEmulatorOptions {
  /** Default '127.0.0.1'. The control API has no authentication: keep it on loopback. */
  host?: string;
  /** Default 0 (random). */
  port?: number;
  /** Accounts allowed to register; when omitted any email/PIN is accepted. */
  accounts?: { email: string; pin: string }[];
  /** Serial numbers are <prefix><6 digits>; default 'KL'. */
  serialPrefix?: string;
  /** Default Logger.silent(). */
  log?: Logger;
  /** Wall clock (ms) for URL expiry and SigV4 dates; default Date.now. */
  now?: () => number;
  /** Manufacturer codes accepted by register besides 'kl', 'test', 'op'. */
  manufacturers?: string[];
  /** socket.io path; default '/socket.io'. */
  path?: string;
  /** Base URL printers use to reach the emulator (print files, uploads); default http://host:port. */
  publicUrl?: string;
  /** S3 bucket name in upload URLs; default 'polar-emulator'. */
  bucket?: string;
  /** engine.io heartbeat, for tests of dead-connection detection. */
  pingInterval?: number;
  pingTimeout?: number;
}

export interface PolarEmulator {
  /** http://host:port (what a printer's server_url should be). */
  readonly url: string;
  readonly port: number;
  readonly control: EmulatorControl;
  stop(): Promise<void>;
}

export async function startPolarEmulator(opts: PolarEmulatorOptions = {}): Promise<PolarEmulator> {
  const log = (opts.log ?? Logger.silent()).child('emulator');
  const ctx = createContext({
    log,
    now: opts.now ?? Date.now,
    serialPrefix: opts.serialPrefix ?? 'KL',
    accounts: opts.accounts?.map((a) => ({ ...a })),
    manufacturers: opts.manufacturers,
    bucket: opts.bucket,
  });
  const hub = new SocketHub(ctx);
  const control = createControl(ctx, hub);
  const controlHandler = createControlHandler(control);

  const route = (req: IncomingMessage, res: ServerResponse): void => {
    const url = new URL(req.url ?? '/', 'http://emulator');
    const path = url.pathname;
    const s3 = /^\/s3\/([^/]+)\/?$/.exec(path);
    if (s3) return handleS3Post(ctx, req, res, decodeURIComponent(s3[1]));
    const file = /^\/files\/([^/]+)$/.exec(path);
    if (file) return serveFile(ctx, req, res, decodeURIComponent(file[1]));
    if (path.startsWith('/control/')) return controlHandler(req, res, url);
    if (path === '/' && req.method === 'GET') return sendJson(res, 200, { service: 'polar-cloud-emulator', socketPath: opts.path ?? '/socket.io' });
    sendJson(res, 404, { error: 'not found' });
  };
  const server = createServer((req, res) => {
    try {
      route(req, res);
    } catch (err) {
      log.error(`${req.method ?? ''} ${req.url ?? ''}: ${errText(err)}`);
      if (!res.headersSent) sendJson(res, 500, { error: errText(err) });
      else res.destroy();
    }
  });
  const sockets = new Set<NetSocket>();
  server.on('connection', (s: NetSocket) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  hub.attach(server, { path: opts.path ?? '/socket.io', pingInterval: opts.pingInterval, pingTimeout: opts.pingTimeout });

  const host = opts.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : (opts.port ?? 0);
  const shownHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  const url = `http://${shownHost}:${port}`;
  ctx.baseUrl = (opts.publicUrl ?? url).replace(/\/+$/, '');
  log.info(`Polar Cloud emulator listening on ${url}`);

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      ctx.events.close();
      // Disconnects the sockets, then closes the server; resolves once every connection is gone.
      const closing = hub.close();
      // Stalled downloads and keep-alive connections would hold that up: end them now,
      // and anything left (upgraded sockets) after a short grace.
      server.closeAllConnections();
      const grace = setTimeout(() => {
        server.closeAllConnections();
        for (const s of sockets) s.destroy();
      }, 200);
      await closing;
      clearTimeout(grace);
      log.info('Polar Cloud emulator stopped');
    })());
  return { url, port, control, stop };
}
