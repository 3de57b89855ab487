// A failed connection to Polar Cloud says which URL and why, through the real
// socket.io transport against real sockets on 127.0.0.1.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createNetServer, type Server } from 'node:net';
import { SocketIoTransport } from '../../src/polar/socketio-transport.js';

function listen(server: Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)));
}

/** One connection attempt; resolves with the close reason. */
function attempt(url: string, connectTimeoutMs = 5000): Promise<string> {
  return new Promise((resolve) => {
    const t = new SocketIoTransport(url, { connectTimeoutMs });
    t.open({ onOpen: () => resolve('unexpectedly connected'), onClose: (reason) => resolve(reason), onError: () => undefined, onMessage: () => undefined });
  });
}

test('refused, HTTP status, TLS and timeout each name the URL and the cause', async () => {
  const closed = createNetServer();
  const closedPort = await listen(closed);
  await new Promise<void>((resolve) => closed.close(() => resolve()));
  assert.equal(await attempt(`http://127.0.0.1:${closedPort}`), `cannot reach http://127.0.0.1:${closedPort}: connection refused by 127.0.0.1:${closedPort} — nothing listens there (check polar.server_url)`);

  const http = createHttpServer((_req, res) => {
    res.writeHead(503);
    res.end();
  });
  const httpPort = await listen(http);
  try {
    assert.equal(await attempt(`http://127.0.0.1:${httpPort}`), `cannot reach http://127.0.0.1:${httpPort}: HTTP status 503 from 127.0.0.1:${httpPort} (the server is up but refused the websocket; an outage or a wrong polar.server_url)`);
    // https:// to a plain HTTP server: the TLS handshake fails.
    assert.match(await attempt(`https://127.0.0.1:${httpPort}`), new RegExp(`^cannot reach https://127\\.0\\.0\\.1:${httpPort}: TLS error \\(EPROTO: .+\\) — check the Pi's clock \\(timedatectl\\)`));
  } finally {
    http.close();
  }

  // Accepts the TCP connection and never answers.
  const silent = createNetServer(() => undefined);
  const silentPort = await listen(silent);
  try {
    assert.equal(await attempt(`http://127.0.0.1:${silentPort}`, 300), `cannot reach http://127.0.0.1:${silentPort}: timeout: no answer within 0 s (network down, or a firewall dropping the traffic)`);
  } finally {
    silent.close();
  }
});

test('a name that does not resolve is a DNS failure', async () => {
  // .invalid never resolves (RFC 2606); without any DNS the lookup fails too (EAI_AGAIN).
  assert.match(await attempt('https://printer.polar3d.invalid'), /^cannot reach https:\/\/printer\.polar3d\.invalid: DNS lookup of printer\.polar3d\.invalid failed \((ENOTFOUND|EAI_AGAIN)\) — check the Pi's network and DNS/);
});
