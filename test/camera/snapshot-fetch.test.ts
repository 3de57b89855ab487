import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, it } from 'node:test';
import { fetchSnapshot, SnapshotError, type SnapshotFailure } from '../../camera/snapshot-fetch.js';

const JPEG = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(2000, 7), Buffer.from([0xff, 0xd9])]);

interface Local {
  url: string;
  server: Server;
}

const servers: Server[] = [];

/** A node:http server on 127.0.0.1, random port, closed after each test. */
async function serve(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<Local> {
  const server = createServer(handler);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

async function rejectsWith(p: Promise<unknown>, kind: SnapshotFailure): Promise<SnapshotError> {
  const err = await p.then(
    () => assert.fail(`expected a '${kind}' SnapshotError`),
    (e: unknown) => e,
  );
  assert.ok(err instanceof SnapshotError, `not a SnapshotError: ${String(err)}`);
  assert.equal(err.kind, kind, err.message);
  return err;
}

const opts = { timeoutMs: 3000, maxBytes: 100_000 };

describe('fetchSnapshot', () => {
  afterEach(async () => {
    for (const s of servers.splice(0)) {
      s.closeAllConnections();
      await new Promise((resolve) => s.close(resolve));
    }
  });

  it('returns the body of a 200 JPEG', async () => {
    const seen: string[] = [];
    const { url } = await serve((req, res) => {
      seen.push(req.url ?? '');
      res.writeHead(200, { 'Content-Type': 'image/jpeg', 'Content-Length': JPEG.length });
      res.end(JPEG);
    });
    const body = await fetchSnapshot(`${url}/webcam/?action=snapshot`, opts);
    assert.deepEqual(body, JPEG);
    assert.deepEqual(seen, ['/webcam/?action=snapshot']);
  });

  it('accepts a chunked body of exactly maxBytes', async () => {
    const { url } = await serve((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'image/jpeg' });
      res.write(JPEG.subarray(0, 1000));
      res.end(JPEG.subarray(1000));
    });
    assert.deepEqual(await fetchSnapshot(url, { ...opts, maxBytes: JPEG.length }), JPEG);
  });

  it('follows up to 3 redirects (relative and absolute)', async () => {
    const { url } = await serve((req, res) => {
      const next: Record<string, string> = { '/a': '/b?x=1', '/b?x=1': 'c', '/c': `http://127.0.0.1:${(req.socket.localPort ?? 0).toString()}/jpeg` };
      if (req.url === '/jpeg') return res.writeHead(200, { 'Content-Type': 'image/jpeg' }).end(JPEG);
      if (req.url === '/d') return res.writeHead(307, { Location: '/a' }).end();
      res.writeHead(req.url === '/a' ? 302 : 301, { Location: next[req.url ?? ''] ?? '/missing' }).end();
    });
    assert.deepEqual(await fetchSnapshot(`${url}/a`, opts), JPEG);
    const err = await rejectsWith(fetchSnapshot(`${url}/d`, opts), 'redirect');
    assert.match(err.reason, /more than 3 redirects/);
  });

  it('refuses redirects to other schemes and non-http URLs', async () => {
    const { url } = await serve((_req, res) => res.writeHead(302, { Location: 'file:///etc/passwd' }).end());
    await rejectsWith(fetchSnapshot(url, opts), 'redirect');
    await rejectsWith(fetchSnapshot('ftp://127.0.0.1/snap.jpg', opts), 'bad-url');
    await rejectsWith(fetchSnapshot('not a url', opts), 'bad-url');
  });

  it('reports an HTTP error status without the query string', async () => {
    const { url } = await serve((_req, res) => res.writeHead(404, { 'Content-Type': 'text/plain' }).end('no such cam'));
    const err = await rejectsWith(fetchSnapshot(`${url}/snap?token=s3cr3t`, opts), 'http-status');
    assert.equal(err.status, 404);
    assert.equal(err.reason, 'HTTP 404');
    assert.doesNotMatch(err.message, /s3cr3t|token/);
    assert.ok(err.message.includes(`${url}/snap?…`), err.message);
  });

  it('refuses an HTML page and an empty body served as 200', async () => {
    const { url } = await serve((req, res) => {
      if (req.url === '/empty') return res.writeHead(200, { 'Content-Type': 'image/jpeg' }).end();
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' }).end('<html><body>camera offline</body></html>');
    });
    const err = await rejectsWith(fetchSnapshot(url, opts), 'not-jpeg');
    assert.match(err.reason, /text\/html/);
    assert.match((await rejectsWith(fetchSnapshot(`${url}/empty`, opts), 'not-jpeg')).reason, /empty/);
  });

  it('refuses an MJPEG stream at once instead of reading it until the timeout', async () => {
    const { url } = await serve((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'multipart/x-mixed-replace;boundary=boundarydonotcross' });
      res.write(`--boundarydonotcross\r\nContent-Type: image/jpeg\r\nContent-Length: ${JPEG.length}\r\n\r\n`);
      res.write(JPEG); // and never ends
    });
    const err = await rejectsWith(fetchSnapshot(url, { ...opts, timeoutMs: 10_000 }), 'not-jpeg');
    assert.match(err.reason, /multipart\/x-mixed-replace.*stream/);
  });

  it('refuses a declared Content-Length over maxBytes before reading the body', async () => {
    const { url } = await serve((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'image/jpeg', 'Content-Length': 50_000 });
      res.write(JPEG); // the rest never comes: only the header can end this before the timeout
    });
    const err = await rejectsWith(fetchSnapshot(url, { timeoutMs: 10_000, maxBytes: 10_000 }), 'too-large');
    assert.match(err.reason, /Content-Length 50000/);
  });

  it('stops reading an undeclared body as soon as it passes maxBytes', async () => {
    let closed!: () => void;
    const serverSawClose = new Promise<void>((resolve) => (closed = resolve));
    let sent = 0;
    const { url } = await serve((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'image/jpeg' });
      const timer = setInterval(() => {
        sent += 1000;
        res.write(sent === 1000 ? Buffer.concat([JPEG.subarray(0, 2), Buffer.alloc(998)]) : Buffer.alloc(1000));
      }, 5);
      res.on('close', () => {
        clearInterval(timer);
        closed();
      });
    });
    const err = await rejectsWith(fetchSnapshot(url, { timeoutMs: 10_000, maxBytes: 5_500 }), 'too-large');
    assert.match(err.reason, /body exceeds 5500 bytes/);
    await serverSawClose;
    assert.ok(sent < 20_000, `server wrote ${sent} bytes before the client hung up`);
  });

  it('times out a slow server, the deadline covering all redirects', async () => {
    const { url } = await serve((req, res) => {
      if (req.url === '/silent') return; // never answers
      // Each hop answers well within the deadline; the chain as a whole does not.
      const hops: Record<string, string> = { '/1': '/2', '/2': '/3', '/3': '/jpeg' };
      setTimeout(() => {
        if (req.url === '/jpeg') res.writeHead(200, { 'Content-Type': 'image/jpeg' }).end(JPEG);
        else res.writeHead(302, { Location: hops[req.url ?? ''] ?? '/silent' }).end();
      }, 80);
    });
    const started = Date.now();
    const err = await rejectsWith(fetchSnapshot(`${url}/silent`, { ...opts, timeoutMs: 150 }), 'timeout');
    assert.match(err.reason, /150 ms/);
    assert.ok(Date.now() - started < 10_000); // the server never answers: only a hang exceeds this
    await rejectsWith(fetchSnapshot(`${url}/1`, { ...opts, timeoutMs: 200 }), 'timeout');
    assert.deepEqual(await fetchSnapshot(`${url}/1`, { ...opts, timeoutMs: 3000 }), JPEG);
  });

  it('stops when the signal aborts, or before starting if it already has', async () => {
    const { url } = await serve(() => undefined);
    const ac = new AbortController();
    const pending = fetchSnapshot(url, { ...opts, timeoutMs: 10_000, signal: ac.signal });
    setTimeout(() => ac.abort(), 30);
    await rejectsWith(pending, 'aborted');
    await rejectsWith(fetchSnapshot(url, { ...opts, signal: ac.signal }), 'aborted');
  });

  it('reports a body cut short as a network failure', async () => {
    const { url } = await serve((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'image/jpeg', 'Content-Length': JPEG.length });
      res.write(JPEG.subarray(0, 500), () => setTimeout(() => res.socket?.destroy(), 10));
    });
    const err = await rejectsWith(fetchSnapshot(url, opts), 'network');
    assert.match(err.reason, /closed after 500 bytes|connection lost/);
  });

  it('reports a refused connection as a network failure', async () => {
    const { url, server } = await serve(() => undefined);
    await new Promise((resolve) => server.close(resolve));
    await rejectsWith(fetchSnapshot(url, opts), 'network');
  });
});
