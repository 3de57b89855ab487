// relayToMoonraker: a download (real HTTP server on 127.0.0.1) streamed into
// the Moonraker simulator's upload — with and without Content-Length, the
// checksum field after the file, a dropped download resumed into the same
// upload or restarted when the server ignores Range, cancel, refusals, and
// the free-space budget for a download of unknown size.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import * as http from 'node:http';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { relayToMoonraker, type RelayOptions } from '../../src/cloudprint/cloud-relay.js';
import { DownloadError } from '../../src/cloudprint/http-download.js';
import { startMoonrakerSimulator, type MoonrakerSimulator } from '../../src/simulator/index.js';
import { UploadError } from '../../moonraker-bridge/index.js';
import { options, sendAll, sendRange, sendTruncated, serve, tempDir, type TestServer } from './download-server.js';

const tmp = await tempDir('relay-test-');
const gcodesDir = join(tmp.dir, 'gcodes');
let sim: MoonrakerSimulator;
let servers: TestServer[] = [];
before(async () => {
  sim = await startMoonrakerSimulator({ gcodesDir });
});
after(async () => {
  await Promise.all(servers.map((s) => s.close()));
  await sim.stop();
  await tmp.dispose();
});

async function server(handler: Parameters<typeof serve>[0]): Promise<TestServer> {
  const s = await serve(handler);
  servers.push(s);
  return s;
}

let n = 0;
function relayOpts(srv: TestServer, extra: Partial<RelayOptions> = {}): { name: string; opts: RelayOptions } {
  const name = `relay${++n}.gcode`;
  return { name, opts: { ...options(srv), upload: { url: sim.url, filename: name, path: 'polarcloud' }, ...extra } };
}

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
const uploads = (since: number): number => sim.control.rpcLog().filter((r) => r.time >= since && r.method === 'server.files.upload').length;
const cloudFiles = async (): Promise<string[]> => readdir(join(gcodesDir, 'polarcloud')).catch(() => []);

test('Content-Length: streamed into one upload, stored byte for byte, sha256 computed on the way', async () => {
  const body = randomBytes(3 * 1048576 + 17);
  const srv = await server((_req, res) => sendAll(res, body));
  const { name, opts } = relayOpts(srv);
  const since = Date.now();
  const got = await relayToMoonraker(`${srv.base}/f.gcode`, 'test', opts);
  assert.equal(got.bytes, body.length);
  assert.equal(got.sha256, sha(body));
  assert.equal(got.upload.item.path, `polarcloud/${name}`);
  assert.ok((await readFile(join(gcodesDir, 'polarcloud', name))).equals(body));
  assert.equal(uploads(since), 1);
});

test('no Content-Length (chunked download): the upload is sent chunked and stored complete', async () => {
  const body = randomBytes(1048576 + 5);
  const srv = await server((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    res.write(body.subarray(0, 1000));
    setTimeout(() => res.end(body.subarray(1000)), 20);
  });
  const { name, opts } = relayOpts(srv);
  const got = await relayToMoonraker(`${srv.base}/f.gcode`, 'test', opts);
  assert.equal(got.sha256, sha(body));
  assert.ok((await readFile(join(gcodesDir, 'polarcloud', name))).equals(body));
});

test('the multipart body: Content-Length of the whole body, root and path first, the file, then the checksum field', async () => {
  const body = Buffer.from('G28\nG1 X10\n'.repeat(1000));
  const srv = await server((_req, res) => sendAll(res, body));
  let seen: { headers: http.IncomingHttpHeaders; body: Buffer } | null = null;
  const moonraker = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen = { headers: req.headers, body: Buffer.concat(chunks) };
      res.writeHead(201, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ item: { path: 'polarcloud/x.gcode', root: 'gcodes' }, action: 'create_file' }));
    });
  });
  await new Promise<void>((r) => moonraker.listen(0, '127.0.0.1', r));
  try {
    const port = (moonraker.address() as { port: number }).port;
    await relayToMoonraker(`${srv.base}/f.gcode`, 'test', { ...options(srv), upload: { url: `http://127.0.0.1:${port}`, filename: 'x.gcode', path: 'polarcloud' } });
    const s = seen as { headers: http.IncomingHttpHeaders; body: Buffer } | null;
    assert.ok(s);
    assert.equal(Number(s.headers['content-length']), s.body.length, 'Content-Length announced up front and exact');
    const text = s.body.toString('latin1');
    const order = ['name="root"', 'name="path"', 'name="file"', 'name="checksum"'].map((f) => text.indexOf(f));
    assert.ok(order.every((i) => i >= 0), `all four parts present: ${order.join(', ')}`);
    assert.deepEqual([...order].sort((a, b) => a - b), order, 'root, path, file, checksum in that order');
    assert.ok(text.includes(`name="checksum"\r\n\r\n${sha(body)}\r\n`), 'the checksum is the sha256 of the file');
  } finally {
    moonraker.closeAllConnections();
    await new Promise((r) => moonraker.close(r));
  }
});

test('a dropped download resumes with Range into the same upload (one upload, complete file)', async () => {
  const body = randomBytes(2 * 1048576);
  const srv = await server((req, res, k) => (k === 1 ? sendTruncated(res, body, 700_000) : sendRange(req, res, body)));
  const { name, opts } = relayOpts(srv);
  const since = Date.now();
  const got = await relayToMoonraker(`${srv.base}/f.gcode`, 'test', opts);
  assert.match(String(srv.requests[1]?.headers.range), /^bytes=[1-9]\d*-$/, 'the retry asked for the rest');
  assert.equal(got.sha256, sha(body));
  assert.ok((await readFile(join(gcodesDir, 'polarcloud', name))).equals(body));
  assert.equal(uploads(since), 1, 'the upload stayed open across the drop');
});

test('a server that ignores Range: both legs start over, the first upload leaves nothing', async () => {
  const body = randomBytes(2 * 1048576);
  const srv = await server((_req, res, k) => (k === 1 ? sendTruncated(res, body, 700_000) : sendAll(res, body)));
  const { name, opts } = relayOpts(srv);
  const since = Date.now();
  const got = await relayToMoonraker(`${srv.base}/f.gcode`, 'test', opts);
  assert.equal(got.sha256, sha(body));
  assert.ok((await readFile(join(gcodesDir, 'polarcloud', name))).equals(body));
  assert.equal(uploads(since), 2, 'a second upload');
});

test('cancel during the transfer: both legs dropped, nothing stored in Moonraker', async () => {
  const body = randomBytes(1048576);
  const srv = await server((_req, res) => {
    res.writeHead(200, { 'content-length': String(body.length * 4) });
    res.write(body); // then nothing: the transfer is in progress when the cancel comes
  });
  const ac = new AbortController();
  const { name, opts } = relayOpts(srv, { signal: ac.signal, stallMs: 30_000 });
  const since = Date.now();
  const relay = relayToMoonraker(`${srv.base}/f.gcode`, 'test', opts);
  while (uploads(since) === 0) await new Promise((r) => setTimeout(r, 10));
  ac.abort();
  await assert.rejects(relay, (err: unknown) => err instanceof DownloadError && err.permanent && /canceled/.test(err.message));
  // A later upload goes through: the simulator finished with the dropped one.
  const ok = await server((_req, res) => sendAll(res, Buffer.from('G28\n')));
  await relayToMoonraker(`${ok.base}/f.gcode`, 'test', relayOpts(ok).opts);
  assert.ok(!(await cloudFiles()).includes(name), 'the canceled file is not in the gcodes folder');
});

test('Moonraker refuses the upload: an UploadError with its status, the download stops', async () => {
  const body = randomBytes(4 * 1048576);
  const srv = await server((_req, res) => sendAll(res, body));
  sim.control.refuseUploads(403);
  try {
    const { name, opts } = relayOpts(srv);
    await assert.rejects(relayToMoonraker(`${srv.base}/f.gcode`, 'test', opts), (err: unknown) => err instanceof UploadError && err.status === 403);
    assert.ok(!(await cloudFiles()).includes(name));
  } finally {
    sim.control.refuseUploads(null);
  }
});

test('no Content-Length: a file that outgrows the room checkSize gave is stopped, nothing stored', async () => {
  const chunk = randomBytes(64 * 1024);
  const srv = await server((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    let sent = 0;
    const more = (): void => {
      if (res.destroyed || sent > 64) return void res.end();
      sent++;
      res.write(chunk, more);
    };
    more();
  });
  let askedWith: number | null | undefined;
  const { name, opts } = relayOpts(srv, {
    checkSize: async (total) => {
      askedWith = total;
      return 1048576;
    },
  });
  await assert.rejects(relayToMoonraker(`${srv.base}/f.gcode`, 'test', opts), (err: unknown) => err instanceof DownloadError && err.permanent && /not enough disk space/.test(err.message));
  assert.equal(askedWith, null, 'size unknown when the space was checked');
  assert.ok(!(await cloudFiles()).includes(name));
});
