// uploadFile against a local multipart-parsing server (busboy).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import busboy from 'busboy';
import { UploadAbortedError, UploadError, sha256File, uploadFile, type UploadProgress } from '../../moonraker-bridge/index.js';

interface Received {
  headers: IncomingHttpHeaders;
  parts: Array<{ name: string; value?: string; filename?: string; sha256?: string; size?: number }>;
}

interface Responder {
  status: number;
  body: unknown;
  /** Answer as soon as headers arrive, without reading the body. */
  early?: boolean;
  /** Answer the Expect: 100-continue with this, without a 100 (a server refusing before the body). */
  refuseBeforeBody?: boolean;
  /** Never send "100 Continue" (a server or proxy that ignores Expect). */
  ignoreExpect?: boolean;
  /** Delay reading the body (to test aborts). */
  stall?: boolean;
}

async function startServer(respond: (r: Received) => Responder) {
  const received: Received[] = [];
  // Answers already chosen in checkContinue, handed to the request handler.
  const pending: Responder[] = [];
  const server: Server = createServer((req, res) => {
    const rec: Received = { headers: req.headers, parts: [] };
    received.push(rec);
    const answer = pending.shift() ?? respond(rec);
    const send = () => {
      res.writeHead(answer.status, { 'Content-Type': 'application/json' });
      res.end(answer.body === '' ? '' : JSON.stringify(answer.body));
    };
    if (answer.early) {
      send();
      req.resume();
      return;
    }
    if (answer.stall) return;
    const bb = busboy({ headers: req.headers });
    bb.on('field', (name, value) => rec.parts.push({ name, value }));
    bb.on('file', (name, stream, info) => {
      const hash = createHash('sha256');
      let size = 0;
      stream.on('data', (c: Buffer) => {
        hash.update(c);
        size += c.length;
      });
      stream.on('end', () => rec.parts.push({ name, filename: info.filename, sha256: hash.digest('hex'), size }));
    });
    bb.on('close', send);
    req.pipe(bb);
  });
  server.on('checkContinue', (req, res) => {
    const rec: Received = { headers: req.headers, parts: [] };
    const answer = respond(rec);
    if (answer.refuseBeforeBody) {
      received.push(rec);
      res.writeHead(answer.status, { 'Content-Type': 'application/json', Connection: 'close' });
      res.end(JSON.stringify(answer.body));
      res.on('finish', () => req.socket.destroy());
      return;
    }
    pending.push(answer);
    if (!answer.ignoreExpect) res.writeContinue();
    server.emit('request', req, res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    received,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

const OK_BODY = { item: { path: 'dir/cube.gcode', root: 'gcodes', modified: 1, size: 3, permissions: 'rw' }, print_started: false, print_queued: false, action: 'create_file' };

async function tempFile(bytes: Buffer, name = 'cube.gcode') {
  const dir = await mkdtemp(join(tmpdir(), 'mr-upload-'));
  const file = join(dir, name);
  await writeFile(file, bytes);
  return { file, dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

test('multipart fields root, path, checksum, print then the file; Content-Length, no chunking; progress', async () => {
  const srv = await startServer(() => ({ status: 201, body: OK_BODY }));
  const data = randomBytes(1_000_003);
  const tf = await tempFile(data);
  try {
    const progress: UploadProgress[] = [];
    const result = await uploadFile({ url: srv.url, apiKey: 'k', file: tf.file, path: 'dir', print: true, onProgress: (p) => progress.push(p), chunkSize: 64 * 1024 });
    assert.deepEqual(result, OK_BODY);
    const rec = srv.received[0]!;
    const sha = createHash('sha256').update(data).digest('hex');
    assert.deepEqual(rec.parts, [
      { name: 'root', value: 'gcodes' },
      { name: 'path', value: 'dir' },
      { name: 'checksum', value: sha },
      { name: 'print', value: 'true' },
      { name: 'file', filename: 'cube.gcode', sha256: sha, size: data.length },
    ]);
    assert.equal(rec.headers['transfer-encoding'], undefined);
    const total = Number(rec.headers['content-length']);
    assert.ok(total > data.length);
    assert.equal(rec.headers['x-api-key'], 'k');
    assert.equal(rec.headers.expect, '100-continue');
    assert.match(String(rec.headers['content-type']), /^multipart\/form-data; boundary=/);
    assert.ok(progress.length > 10);
    for (let i = 1; i < progress.length; i++) assert.ok(progress[i]!.sent > progress[i - 1]!.sent);
    assert.deepEqual(progress[progress.length - 1], { sent: total, total });
  } finally {
    await tf.cleanup();
    await srv.close();
  }
});

test('a given checksum is used as-is; filename override is quoted safely; empty file works', async () => {
  const srv = await startServer(() => ({ status: 201, body: OK_BODY }));
  const tf = await tempFile(Buffer.alloc(0), 'empty.gcode');
  try {
    await uploadFile({ url: `${srv.url}/`, file: tf.file, checksum: 'ABC123', filename: 'we"ird.gcode', root: 'config' });
    const rec = srv.received[0]!;
    assert.deepEqual(rec.parts, [
      { name: 'root', value: 'config' },
      { name: 'checksum', value: 'abc123' },
      { name: 'file', filename: 'we%22ird.gcode', sha256: createHash('sha256').digest('hex'), size: 0 },
    ]);
    assert.equal(rec.headers['x-api-key'], undefined);
    await assert.rejects(uploadFile({ url: srv.url, file: tf.file, filename: 'a/b.gcode' }), UploadError);
  } finally {
    await tf.cleanup();
    await srv.close();
  }
});

test("Moonraker's error bodies become UploadError {status, message}", async () => {
  const answers: Responder[] = [
    { status: 422, body: { error: { code: 422, message: 'File checksum mismatch: expected x, calculated y' } } },
    { status: 403, body: { error: { code: 403, message: 'File is loaded, upload not permitted' } } },
    { status: 413, body: { error: { code: 413, message: 'Payload too large' } }, early: true },
    { status: 401, body: { error: { code: 401, message: 'Unauthorized' } }, early: true },
    { status: 413, body: { error: { code: 413, message: 'Request Entity Too Large' } }, refuseBeforeBody: true },
    { status: 401, body: { error: { code: 401, message: 'Unauthorized' } }, refuseBeforeBody: true },
    { status: 500, body: 'not the moonraker format' },
    { status: 400, body: '' },
  ];
  let i = 0;
  const srv = await startServer(() => answers[i++]!);
  const tf = await tempFile(randomBytes(3_000_000));
  try {
    for (const a of answers) {
      await assert.rejects(uploadFile({ url: srv.url, file: tf.file }), (err: unknown) => {
        assert.ok(err instanceof UploadError, String(err));
        assert.equal(err.status, a.status);
        const expected =
          a.body === '' ? /max_upload_size/ : typeof a.body === 'string' ? /not the moonraker format/ : new RegExp((a.body as { error: { message: string } }).error.message.slice(0, 20));
        assert.match(err.message, expected);
        return true;
      });
    }
  } finally {
    await tf.cleanup();
    await srv.close();
  }
});

test('an AbortSignal aborts a stalled upload', async () => {
  const srv = await startServer(() => ({ status: 201, body: OK_BODY, stall: true }));
  const tf = await tempFile(randomBytes(8_000_000));
  try {
    const ac = new AbortController();
    let sent = 0;
    const p = uploadFile({ url: srv.url, file: tf.file, checksum: 'x', signal: ac.signal, onProgress: (pr) => (sent = pr.sent) });
    setTimeout(() => ac.abort(), 100);
    await assert.rejects(p, UploadAbortedError);
    assert.ok(sent < 8_000_000, 'stopped before the whole file was sent');
    await assert.rejects(uploadFile({ url: srv.url, file: tf.file, signal: ac.signal }), UploadAbortedError);
  } finally {
    await tf.cleanup();
    await srv.close();
  }
});

test('a server that ignores Expect: 100-continue gets the body after a short wait', async () => {
  const srv = await startServer(() => ({ status: 201, body: OK_BODY, ignoreExpect: true }));
  const data = randomBytes(100_000);
  const tf = await tempFile(data);
  try {
    const t0 = Date.now();
    await uploadFile({ url: srv.url, file: tf.file, continueTimeoutMs: 150 });
    assert.ok(Date.now() - t0 >= 140);
    assert.equal(srv.received[0]!.parts.at(-1)?.size, data.length);
  } finally {
    await tf.cleanup();
    await srv.close();
  }
});

test('sha256File streams the file', async () => {
  const data = randomBytes(2_500_000);
  const tf = await tempFile(data);
  try {
    assert.equal(await sha256File(tf.file), createHash('sha256').update(data).digest('hex'));
  } finally {
    await tf.cleanup();
  }
});
