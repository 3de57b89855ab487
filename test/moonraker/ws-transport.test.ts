import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { FakeClock } from '../helpers/fake-clock.js';
import { TransportError, connectWebSocket, websocketUrl, type SocketHandlers } from '../../moonraker-bridge/index.js';
import { captureLog, waitFor } from './helpers.js';

interface TestServer {
  url: string;
  upgrades: IncomingMessage[];
  sockets: WebSocket[];
  close(): Promise<void>;
}

async function startServer(opts: { status?: number; autoPong?: boolean } = {}): Promise<TestServer> {
  const http: Server = createServer((_req, res) => res.writeHead(404).end());
  const wss = new WebSocketServer({ noServer: true, autoPong: opts.autoPong ?? true });
  const upgrades: IncomingMessage[] = [];
  const sockets: WebSocket[] = [];
  http.on('upgrade', (req, socket, head) => {
    upgrades.push(req);
    if (opts.status) {
      socket.end(`HTTP/1.1 ${opts.status} Nope\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}`);
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      sockets.push(ws);
      ws.on('message', (data) => ws.send(`echo:${String(data)}`));
    });
  });
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  const port = (http.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    upgrades,
    sockets,
    close: async () => {
      for (const s of sockets) s.terminate();
      wss.close();
      http.closeAllConnections();
      await new Promise<void>((r) => http.close(() => r()));
    },
  };
}

function recorder() {
  const messages: string[] = [];
  const closes: Array<[number, string]> = [];
  const handlers: SocketHandlers = { onMessage: (t) => messages.push(t), onClose: (c, r) => closes.push([c, r]) };
  return { messages, closes, handlers };
}

test('websocketUrl maps http(s) to ws(s) and appends /websocket', () => {
  assert.equal(websocketUrl('http://127.0.0.1:7125'), 'ws://127.0.0.1:7125/websocket');
  assert.equal(websocketUrl('https://printer.local/'), 'wss://printer.local/websocket');
  assert.equal(websocketUrl('http://host/moonraker/'), 'ws://host/moonraker/websocket');
  assert.throws(() => websocketUrl('ftp://x'));
});

test('connects to /websocket with X-Api-Key, exchanges text frames, reports close once', async () => {
  const srv = await startServer();
  try {
    const r = recorder();
    const sock = await connectWebSocket({ url: srv.url, apiKey: 'secret-key', clock: new FakeClock(), log: captureLog(), pingIntervalMs: 0 }, r.handlers);
    assert.equal(srv.upgrades[0]?.url, '/websocket');
    assert.equal(srv.upgrades[0]?.headers['x-api-key'], 'secret-key');
    sock.send('{"a":1}');
    await waitFor(() => r.messages.length === 1, 'echo');
    assert.deepEqual(r.messages, ['echo:{"a":1}']);
    srv.sockets[0]!.close(1001, 'going away');
    await waitFor(() => r.closes.length === 1, 'close');
    assert.deepEqual(r.closes, [[1001, 'going away']]);
    assert.throws(() => sock.send('x'));
    sock.close();
    await new Promise((res) => setTimeout(res, 20));
    assert.equal(r.closes.length, 1);
  } finally {
    await srv.close();
  }
});

test('no X-Api-Key header without an API key', async () => {
  const srv = await startServer();
  try {
    const r = recorder();
    const sock = await connectWebSocket({ url: srv.url, clock: new FakeClock(), log: captureLog(), pingIntervalMs: 0 }, r.handlers);
    assert.equal(srv.upgrades[0]?.headers['x-api-key'], undefined);
    sock.close();
    await waitFor(() => r.closes.length === 1, 'close');
  } finally {
    await srv.close();
  }
});

test('401 on upgrade is reported as unauthorized, other statuses as http', async () => {
  for (const [status, kind] of [[401, 'unauthorized'], [403, 'unauthorized'], [502, 'http']] as const) {
    const srv = await startServer({ status });
    try {
      await assert.rejects(
        connectWebSocket({ url: srv.url, apiKey: 'bad', clock: new FakeClock(), log: captureLog() }, recorder().handlers),
        (err: unknown) => err instanceof TransportError && err.kind === kind && err.status === status,
      );
    } finally {
      await srv.close();
    }
  }
});

test('connection refused is a network error', async () => {
  const srv = await startServer();
  const url = srv.url;
  await srv.close();
  await assert.rejects(
    connectWebSocket({ url, clock: new FakeClock(), log: captureLog() }, recorder().handlers),
    (err: unknown) => err instanceof TransportError && err.kind === 'network',
  );
});

test('an unanswered ping drops the connection', async () => {
  const srv = await startServer({ autoPong: false });
  try {
    const clock = new FakeClock();
    const log = captureLog();
    const r = recorder();
    await connectWebSocket({ url: srv.url, clock, log, pingIntervalMs: 1000 }, r.handlers);
    await clock.advance(1000);
    await new Promise((res) => setTimeout(res, 30));
    assert.equal(r.closes.length, 0, 'one missed period is tolerated');
    await clock.advance(1000);
    await waitFor(() => r.closes.length === 1, 'terminate');
    assert.equal(log.count('warn', /did not answer a websocket ping/), 1);
    assert.equal(clock.pending, 0);
  } finally {
    await srv.close();
  }
});

test('answered pings keep the connection', async () => {
  const srv = await startServer();
  try {
    const clock = new FakeClock();
    const r = recorder();
    const sock = await connectWebSocket({ url: srv.url, clock, log: captureLog(), pingIntervalMs: 1000 }, r.handlers);
    for (let i = 0; i < 4; i++) {
      await clock.advance(1000);
      await new Promise((res) => setTimeout(res, 20));
    }
    assert.equal(r.closes.length, 0);
    sock.close();
    await waitFor(() => r.closes.length === 1, 'close');
  } finally {
    await srv.close();
  }
});
