// The CLI's side of the control socket (control-server.ts): asks the running
// service of this data folder. "not-running" means nobody listens there; the
// command may then open its own cloud connection (the data folder's lock keeps
// that from racing a service that is just starting).
import { connect } from 'node:net';
import { existsSync } from 'node:fs';
import { controlSocketPath } from './control-server.js';

export type ServiceAnswer = { kind: 'result'; result: unknown } | { kind: 'error'; message: string } | { kind: 'not-running' };

export function askService(dataDir: string, method: string, params: Record<string, unknown>, timeoutMs: number): Promise<ServiceAnswer> {
  const path = controlSocketPath(dataDir);
  if (!existsSync(path)) return Promise.resolve({ kind: 'not-running' });
  return new Promise((resolve) => {
    const socket = connect(path);
    let buf = '';
    let done = false;
    const finish = (a: ServiceAnswer): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(a);
    };
    const timer = setTimeout(() => finish({ kind: 'error', message: `the service did not answer within ${Math.round(timeoutMs / 1000)} s (${path})` }), timeoutMs);
    socket.setEncoding('utf8');
    socket.on('connect', () => socket.write(JSON.stringify({ method, params }) + '\n'));
    socket.on('data', (c: string) => {
      buf += c;
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      let msg: unknown;
      try {
        msg = JSON.parse(buf.slice(0, nl));
      } catch {
        finish({ kind: 'error', message: `the service sent an unreadable answer (${path})` });
        return;
      }
      const m = msg as { result?: unknown; error?: unknown };
      if (typeof m.error === 'string') finish({ kind: 'error', message: m.error });
      else finish({ kind: 'result', result: m.result });
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      // A socket file without a listener: the service stopped (or crashed) and left it.
      if (err.code === 'ECONNREFUSED' || err.code === 'ENOENT') finish({ kind: 'not-running' });
      else finish({ kind: 'error', message: `${path}: ${err.message}` });
    });
    socket.on('end', () => finish({ kind: 'error', message: `the service closed the connection without an answer (${path})` }));
  });
}
