// downloadToFile against real HTTP servers on 127.0.0.1: successful downloads,
// resume after a dropped connection, retries, redirects and constant memory.
// Failures and refusals are in http-download-failures.test.ts.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { downloadToFile } from '../../src/cloudprint/http-download.js';
import { options, progressGate, sendAll, sendRange, sendTruncated, serve, tempDir } from './download-server.js';

const BODY = randomBytes(300_000);
const SHA = createHash('sha256').update(BODY).digest('hex');

let tmp: Awaited<ReturnType<typeof tempDir>>;
let fileNo = 0;
const dest = (): string => join(tmp.dir, `f${++fileNo}.part`);

before(async () => {
  tmp = await tempDir('cp-download-');
});
after(async () => {
  await tmp.dispose();
});

test('download: a plain 200 lands on disk with its size and SHA-256', async () => {
  const srv = await serve((_req, res) => sendAll(res, BODY));
  try {
    const file = dest();
    const got = await downloadToFile(`${srv.base}/job.gcode`, file, options(srv));
    assert.deepEqual(got, { bytes: BODY.length, sha256: SHA });
    assert.ok((await readFile(file)).equals(BODY));
    assert.equal(srv.requests.length, 1);
    assert.equal(srv.requests[0]!.headers.range, undefined);
  } finally {
    await srv.close();
  }
});

test('download: an existing file at the destination is replaced, not appended to', async () => {
  const srv = await serve((_req, res) => sendAll(res, BODY));
  try {
    const file = dest();
    await downloadToFile(`${srv.base}/a`, file, options(srv));
    const got = await downloadToFile(`${srv.base}/a`, file, options(srv));
    assert.equal(got.bytes, BODY.length);
    assert.ok((await readFile(file)).equals(BODY));
  } finally {
    await srv.close();
  }
});

test('download: progress only grows and ends at the total', async () => {
  const srv = await serve((_req, res) => sendAll(res, BODY));
  try {
    const seen: [number, number | null][] = [];
    await downloadToFile(`${srv.base}/p`, dest(), options(srv, { onProgress: (r, t) => seen.push([r, t]) }));
    assert.ok(seen.length > 1, `only ${seen.length} progress calls`);
    for (let i = 1; i < seen.length; i++) assert.ok(seen[i]![0] >= seen[i - 1]![0], `progress went back at ${i}`);
    assert.ok(seen.every(([, t]) => t === BODY.length), 'total is known from Content-Length');
    assert.deepEqual(seen.at(-1), [BODY.length, BODY.length]);
  } finally {
    await srv.close();
  }
});

test('download: checkSize is asked once with the total before the body is written', async () => {
  const srv = await serve((_req, res) => sendAll(res, BODY));
  try {
    const asked: (number | null)[] = [];
    let progressBeforeCheck = false;
    await downloadToFile(`${srv.base}/c`, dest(), options(srv, {
      checkSize: async (total) => {
        asked.push(total);
        await new Promise((r) => setTimeout(r, 50));
      },
      onProgress: () => {
        if (asked.length === 0) progressBeforeCheck = true;
      },
    }));
    assert.deepEqual(asked, [BODY.length]);
    assert.equal(progressBeforeCheck, false);
  } finally {
    await srv.close();
  }
});

test('download: a dropped connection resumes with Range and gives the whole file', async () => {
  const cut = 100_000;
  const gate = progressGate(cut);
  const srv = await serve((req, res, n) => (n === 1 ? sendTruncated(res, BODY, cut, gate.reached) : sendRange(req, res, BODY)));
  try {
    const file = dest();
    const seen: number[] = [];
    const got = await downloadToFile(`${srv.base}/r`, file, options(srv, { onProgress: (r) => (seen.push(r), gate.onProgress(r)) }));
    assert.equal(srv.requests.length, 2);
    assert.equal(srv.requests[1]!.headers.range, `bytes=${cut}-`);
    assert.deepEqual(got, { bytes: BODY.length, sha256: SHA });
    assert.ok((await readFile(file)).equals(BODY));
    for (let i = 1; i < seen.length; i++) assert.ok(seen[i]! >= seen[i - 1]!, 'progress went back while resuming');
  } finally {
    await srv.close();
  }
});

test('download: a chunked (no Content-Length) response cut short also resumes', async () => {
  const cut = 50_000;
  const gate = progressGate(cut);
  const srv = await serve((req, res, n) => {
    if (n > 1) return sendRange(req, res, BODY);
    res.writeHead(200); // chunked
    res.write(BODY.subarray(0, cut), () => void gate.reached.then(() => res.socket?.destroy()));
  });
  try {
    const file = dest();
    const got = await downloadToFile(`${srv.base}/chunked`, file, options(srv, { onProgress: gate.onProgress }));
    assert.equal(srv.requests[1]?.headers.range, `bytes=${cut}-`);
    assert.deepEqual(got, { bytes: BODY.length, sha256: SHA });
    assert.ok((await readFile(file)).equals(BODY));
  } finally {
    await srv.close();
  }
});

test('download: a server that ignores Range after a drop is downloaded again from the start', async () => {
  const gate = progressGate(120_000);
  const srv = await serve((_req, res, n) => (n === 1 ? sendTruncated(res, BODY, 120_000, gate.reached) : sendAll(res, BODY)));
  try {
    const file = dest();
    const got = await downloadToFile(`${srv.base}/norange`, file, options(srv, { onProgress: gate.onProgress }));
    assert.equal(srv.requests[1]!.headers.range, 'bytes=120000-');
    assert.deepEqual(got, { bytes: BODY.length, sha256: SHA });
    assert.ok((await readFile(file)).equals(BODY), 'no bytes of the first attempt are left in front');
  } finally {
    await srv.close();
  }
});

test('download: server errors are retried (500, 500, then 200)', async () => {
  const srv = await serve((_req, res, n) => {
    if (n <= 2) {
      res.statusCode = n === 1 ? 500 : 503;
      return res.end('busy');
    }
    sendAll(res, BODY);
  });
  try {
    const warnings: string[] = [];
    const got = await downloadToFile(`${srv.base}/flaky`, dest(), options(srv, { log: { warn: (m) => warnings.push(m), debug: () => undefined } }));
    assert.equal(got.sha256, SHA);
    assert.equal(srv.requests.length, 3);
    assert.equal(warnings.length, 2);
    assert.match(warnings[0]!, /HTTP 500/);
  } finally {
    await srv.close();
  }
});

test('download: a 302 to another path on the same host is followed (relative and absolute)', async () => {
  const srv = await serve((req, res) => {
    if (req.url === '/start') {
      res.writeHead(302, { location: '/middle?sig=1' });
      return res.end();
    }
    if (req.url === '/middle?sig=1') {
      res.writeHead(307, { location: `http://127.0.0.1:${req.socket.localPort}/file.gcode` });
      return res.end();
    }
    sendAll(res, BODY);
  });
  try {
    const got = await downloadToFile(`${srv.base}/start`, dest(), options(srv));
    assert.equal(got.sha256, SHA);
    assert.deepEqual(srv.requests.map((r) => r.path), ['/start', '/middle?sig=1', '/file.gcode']);
  } finally {
    await srv.close();
  }
});

test('download: exactly 5 redirects are still followed', async () => {
  const srv = await serve((req, res) => {
    const hop = Number(/^\/hop\/(\d+)$/.exec(req.url ?? '')?.[1] ?? 99);
    if (hop < 5) {
      res.writeHead(302, { location: `/hop/${hop + 1}` });
      return res.end();
    }
    sendAll(res, BODY);
  });
  try {
    const got = await downloadToFile(`${srv.base}/hop/0`, dest(), options(srv));
    assert.equal(got.sha256, SHA);
    assert.equal(srv.requests.length, 6);
  } finally {
    await srv.close();
  }
});

test('download: 64 MiB streams to disk in constant memory', async () => {
  const CHUNK = 64 * 1024;
  const COUNT = 1024;
  const chunk = randomBytes(CHUNK);
  const hash = createHash('sha256');
  for (let i = 0; i < COUNT; i++) hash.update(chunk);
  const sha = hash.digest('hex');
  const srv = await serve((_req, res) => {
    res.writeHead(200, { 'content-length': String(CHUNK * COUNT) });
    let sent = 0;
    const pump = (): void => {
      while (sent < COUNT) {
        sent++;
        if (!res.write(chunk)) {
          res.once('drain', pump);
          return;
        }
      }
      res.end();
    };
    pump();
  });
  const gc = (globalThis as { gc?: () => void }).gc;
  const file = dest();
  try {
    gc?.();
    const before = process.memoryUsage();
    const peak = { rss: before.rss, arrayBuffers: before.arrayBuffers };
    const sample = (): void => {
      const m = process.memoryUsage();
      peak.rss = Math.max(peak.rss, m.rss);
      peak.arrayBuffers = Math.max(peak.arrayBuffers, m.arrayBuffers);
    };
    let calls = 0;
    const got = await downloadToFile(`${srv.base}/big`, file, options(srv, {
      stallMs: 10_000,
      onProgress: () => {
        if (++calls % 64 === 0) sample();
      },
    }));
    sample();
    assert.deepEqual(got, { bytes: CHUNK * COUNT, sha256: sha });
    // Holding the body would add all 64 MiB on top of the streaming overhead measured here:
    // Buffer memory peaks at 5-30 MiB (socket chunks not yet collected) and RSS at about
    // +40 MiB (allocator and thread-pool arenas, the same for 64 MiB or 256 MiB).
    const buffers = (peak.arrayBuffers - before.arrayBuffers) / 1048576;
    assert.ok(buffers < 48, `Buffer memory grew by ${buffers.toFixed(1)} MiB while downloading 64 MiB`);
    const rss = (peak.rss - before.rss) / 1048576;
    assert.ok(rss < 64, `RSS grew by ${rss.toFixed(1)} MiB while downloading 64 MiB`);
  } finally {
    await srv.close();
    await rm(file, { force: true });
  }
});
