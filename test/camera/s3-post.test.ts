import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import { postToS3, S3UploadError, type S3PostOptions } from '../../camera/s3-post.js';
import { startPolarEmulator, type PolarEmulator } from '../../src/emulator/index.js';
import { connectAuthenticated, makeKeys, type RawPrinter, register } from '../emulator/raw-printer.js';

const JPEG = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(5000, 7), Buffer.from([0xff, 0xd9])]);

async function uploadError(p: Promise<unknown>): Promise<S3UploadError> {
  const err = await p.then(
    () => assert.fail('expected an S3UploadError'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof S3UploadError, `not an S3UploadError: ${String(err)}`);
  return err;
}

/** Sleeps nothing; remembers the delays asked for. */
function sleepSpy(): { delays: number[]; sleep: (ms: number) => Promise<void> } {
  const delays: number[] = [];
  return { delays, sleep: async (ms) => void delays.push(ms) };
}

let tmp: string;
before(() => {
  tmp = mkdtempSync(join(tmpdir(), 's3-post-test-'));
});
after(() => rmSync(tmp, { recursive: true, force: true }));

describe('postToS3 against the emulator S3 endpoint', () => {
  const keys = makeKeys();
  let emu: PolarEmulator;
  let clock = Date.UTC(2026, 0, 1, 12);
  let serial: string;
  let printer: RawPrinter | undefined;

  interface GetUrl {
    url: string;
    fields: Record<string, string>;
    contentType: string;
  }
  const getUrl = async (type = 'idle', jobId?: string): Promise<GetUrl> => {
    printer!.emit('getUrl', { serialNumber: serial, method: 'post', type, ...(jobId ? { jobId } : {}) });
    const res = (await printer!.next('getUrlResponse')) as GetUrl & { status: string };
    assert.equal(res.status, 'SUCCESS');
    return res;
  };
  const rejections = (): number => emu.control.events().filter((e) => e.kind === 'upload-rejected').length;

  before(async () => {
    emu = await startPolarEmulator({ now: () => clock });
  });
  beforeEach(async () => {
    printer?.close();
    emu.control.reset();
    clock = Date.UTC(2026, 0, 1, 12);
    serial = await register(emu, keys);
    printer = await connectAuthenticated(emu, serial, keys);
  });
  after(async () => {
    printer?.close();
    await emu.stop();
  });

  const base = (g: GetUrl, sleep: (ms: number) => Promise<void>): S3PostOptions => ({
    url: g.url,
    fields: g.fields,
    file: JPEG,
    contentType: g.contentType,
    timeoutMs: 5000,
    attempts: 3,
    retryDelayMs: 10,
    sleep,
  });

  it('uploads a JPEG snapshot the emulator accepts and stores', async () => {
    const g = await getUrl();
    const spy = sleepSpy();
    const res = await postToS3(base(g, spy.sleep));
    assert.equal(res.status, 204);
    assert.match(res.etag ?? '', /^"[0-9a-f]{32}"$/);
    assert.equal(res.location, `${g.url}/${g.fields.key}`);
    const [up] = emu.control.uploads();
    assert.deepEqual(
      [up.key, up.size, up.contentType, up.type, up.serialNumber, up.body],
      [`files/printer/${serial}/idle/snapshot.jpg`, JPEG.length, 'image/jpeg', 'idle', serial, JPEG],
    );
    assert.deepEqual(spy.delays, []);
  });

  it('streams a 5 MB video from disk', async () => {
    emu.control.addJob(serial, { jobId: 'J1' });
    const g = await getUrl('timelapse', 'J1');
    const video = Buffer.alloc(5 * 1024 * 1024);
    Buffer.from('\0\0\0\x18ftypmp42\0\0\0\0mp42isom', 'latin1').copy(video);
    for (let i = 64; i < video.length; i += 4096) video.writeUInt32BE((i * 2654435761) >>> 0, i);
    const path = join(tmp, 'timelapse.mp4');
    writeFileSync(path, video);
    const sha256 = createHash('sha256').update(video).digest('hex');
    const spy = sleepSpy();
    const rssBefore = process.memoryUsage().rss;
    const res = await postToS3({ ...base(g, spy.sleep), file: { path, size: video.length }, contentType: 'video/mp4' });
    const grew = process.memoryUsage().rss - rssBefore;
    assert.equal(res.status, 204);
    const [up] = emu.control.uploads();
    assert.deepEqual([up.key, up.size, up.sha256, up.contentType, up.jobId], [g.fields.key, video.length, sha256, 'video/mp4', 'J1']);
    // Loose: the emulator runs in this process too; this catches gross buffering, not a copy.
    assert.ok(grew < 64 * 1024 * 1024, `RSS grew by ${grew} bytes`);
  });

  it('a form missing a signed field is refused (4xx): parsed, not retried, no secrets in the message', async () => {
    const g = await getUrl();
    const noSignature = Object.fromEntries(Object.entries(g.fields).filter(([k]) => k !== 'X-Amz-Signature'));
    const spy = sleepSpy();
    const err = await uploadError(postToS3({ ...base(g, spy.sleep), fields: noSignature }));
    assert.deepEqual([err.status, err.code, err.attempts, err.retryable, err.policyExpired], [400, 'InvalidArgument', 1, false, false]);
    assert.match(err.s3Message, /x-amz-signature/);

    // Reordered (key moved last) and acl left out: the policy's acl condition fails.
    const { key, acl, ...rest } = g.fields;
    assert.ok(acl);
    const err2 = await uploadError(postToS3({ ...base(g, spy.sleep), fields: { ...rest, key } }));
    assert.deepEqual([err2.status, err2.code, err2.attempts, err2.policyExpired], [403, 'AccessDenied', 1, false]);
    assert.match(err2.message, /^HTTP 403 AccessDenied: Invalid according to Policy: Policy Condition failed: \["eq", "\$acl", "public-read"\]/);
    for (const e of [err, err2]) {
      for (const secret of [g.fields['X-Amz-Signature'], g.fields.Policy, g.fields['X-Amz-Credential']]) assert.ok(!e.message.includes(secret));
    }
    assert.deepEqual(spy.delays, []);
    assert.equal(rejections(), 2);
    assert.deepEqual(emu.control.uploads(), []);
  });

  it('an expired policy is policyExpired', async () => {
    emu.control.setUrlOptions({ expires: 1 });
    const g = await getUrl();
    clock += 2000;
    const spy = sleepSpy();
    const err = await uploadError(postToS3(base(g, spy.sleep)));
    assert.deepEqual([err.status, err.code, err.s3Message, err.policyExpired, err.attempts], [403, 'AccessDenied', 'Invalid according to Policy: Policy expired.', true, 1]);
    assert.equal(rejections(), 1);
  });

  it('a file over the policy maxSize is EntityTooLarge', async () => {
    emu.control.setUrlOptions({ maxSize: 1000 });
    const g = await getUrl();
    const spy = sleepSpy();
    const err = await uploadError(postToS3(base(g, spy.sleep)));
    assert.deepEqual([err.status, err.code, err.policyExpired, err.attempts], [400, 'EntityTooLarge', false, 1]);
    assert.deepEqual(spy.delays, []);
    assert.equal(rejections(), 1);
  });

  it('a file over the maxSize given is refused before sending', async () => {
    emu.control.setUrlOptions({ maxSize: 1000 });
    const g = (await getUrl()) as GetUrl & { maxSize: number };
    const err = await uploadError(postToS3({ ...base(g, sleepSpy().sleep), maxSize: g.maxSize }));
    assert.deepEqual([err.status, err.code, err.attempts], [0, 'EntityTooLarge', 0]);
    assert.equal(rejections(), 0);
    assert.equal((await postToS3({ ...base(g, sleepSpy().sleep), file: JPEG.subarray(0, 1000), maxSize: g.maxSize })).status, 204);
  });

  it('a file part type other than the signed Content-Type is refused', async () => {
    const g = await getUrl();
    const err = await uploadError(postToS3({ ...base(g, sleepSpy().sleep), contentType: 'image/png' }));
    assert.deepEqual([err.status, err.code], [403, 'AccessDenied']);
    assert.match(err.s3Message, /Content-Type/);
  });
});

interface Seen {
  headers: IncomingHttpHeaders;
  body: Buffer;
}

describe('postToS3 retries (local server)', () => {
  let server: Server | undefined;
  const serve = async (handler: (req: IncomingMessage, res: ServerResponse, seen: Seen[]) => void): Promise<{ url: string; seen: Seen[] }> => {
    const seen: Seen[] = [];
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        seen.push({ headers: req.headers, body: Buffer.concat(chunks) });
        handler(req, res, seen);
      });
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/bucket`, seen };
  };
  afterEach(async () => {
    server?.closeAllConnections();
    await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
    server = undefined;
  });
  const s3Error = (res: ServerResponse, status: number, code: string, message: string): void => {
    const body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message><RequestId>X</RequestId></Error>`;
    res.writeHead(status, { 'Content-Type': 'application/xml', 'Content-Length': Buffer.byteLength(body) }).end(body);
  };
  const fields = { key: 'a/b/snapshot.jpg', acl: 'public-read', Policy: 'eyJwb2xpY3kiOiJ4In0=', 'X-Amz-Signature': 'f'.repeat(64), 'Content-Type': 'image/jpeg' };
  const opts = (url: string, sleep: (ms: number) => Promise<void>): S3PostOptions => ({
    url,
    fields,
    file: JPEG,
    contentType: 'image/jpeg',
    timeoutMs: 2000,
    attempts: 3,
    retryDelayMs: 100,
    sleep,
  });

  it('retries 503 twice, then succeeds, sending the identical fixed-length body each time', async () => {
    const { url, seen } = await serve((_req, res, all) => {
      if (all.length <= 2) s3Error(res, 503, 'SlowDown', 'Please reduce your request rate.');
      else res.writeHead(204, { ETag: '"abc"', Location: `${url}/a/b/snapshot.jpg` }).end();
    });
    const spy = sleepSpy();
    const res = await postToS3(opts(url, spy.sleep));
    assert.deepEqual(res, { status: 204, etag: '"abc"', location: `${url}/a/b/snapshot.jpg` });
    assert.equal(seen.length, 3);
    for (const s of seen) {
      assert.deepEqual(s.body, seen[0].body);
      assert.equal(s.headers['content-length'], String(s.body.length));
      assert.equal(s.headers['transfer-encoding'], undefined);
    }
    // Backoff: about 100 ms then about 200 ms (±20% jitter).
    assert.equal(spy.delays.length, 2);
    assert.ok(spy.delays[0] >= 80 && spy.delays[0] <= 120, String(spy.delays));
    assert.ok(spy.delays[1] >= 160 && spy.delays[1] <= 240, String(spy.delays));

    // The form: every field in the order given, then the file part last.
    const body = seen[0].body.toString('latin1');
    const boundary = /boundary=(\S+)/.exec(seen[0].headers['content-type'] ?? '')?.[1] ?? '';
    assert.ok(boundary.length > 20);
    assert.deepEqual([...body.matchAll(/; name="([^"]+)"/g)].map((m) => m[1]), [...Object.keys(fields), 'file']);
    for (const [k, v] of Object.entries(fields)) assert.ok(body.includes(`name="${k}"\r\n\r\n${v}\r\n`));
    const filePart = `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="snapshot.jpg"\r\nContent-Type: image/jpeg\r\n\r\n`;
    assert.ok(body.endsWith(filePart + JPEG.toString('latin1') + `\r\n--${boundary}--\r\n`));
  });

  it('retries a file from disk with the same body, re-reading the file', async () => {
    const path = join(tmp, 'clip.mp4');
    const data = Buffer.alloc(700_000, 0x42);
    writeFileSync(path, data);
    const { url, seen } = await serve((_req, res, all) => {
      if (all.length === 1) s3Error(res, 500, 'InternalError', 'We encountered an internal error. Please try again.');
      else res.writeHead(204).end();
    });
    const spy = sleepSpy();
    const res = await postToS3({ ...opts(url, spy.sleep), file: { path, size: data.length }, contentType: 'video/mp4' });
    assert.equal(res.status, 204);
    assert.equal(seen.length, 2);
    assert.deepEqual(seen[1].body, seen[0].body);
    assert.ok(seen[0].body.includes(Buffer.from('filename="clip.mp4"\r\nContent-Type: video/mp4\r\n\r\n')));
    assert.equal(seen[0].body.length, Number(seen[0].headers['content-length']));
    assert.ok(seen[0].body.includes(data));
  });

  it('gives up after `attempts` 5xx answers with the last S3 error', async () => {
    const { url, seen } = await serve((_req, res) => s3Error(res, 503, 'SlowDown', 'Please reduce your request rate.'));
    const spy = sleepSpy();
    const err = await uploadError(postToS3(opts(url, spy.sleep)));
    assert.deepEqual([err.status, err.code, err.attempts, err.retryable, seen.length, spy.delays.length], [503, 'SlowDown', 3, true, 3, 2]);
    assert.match(err.message, /after 3 attempts/);
  });

  it('retries network errors and S3 RequestTimeout, not other 4xx', async () => {
    const { url, seen } = await serve((req, res, all) => {
      if (all.length === 1) return req.socket.destroy();
      if (all.length === 2) return s3Error(res, 400, 'RequestTimeout', 'Your socket connection to the server was not read from or written to within the timeout period.');
      if (all.length === 3) return res.writeHead(204).end();
      s3Error(res, 400, 'InvalidArgument', 'nope');
    });
    const spy = sleepSpy();
    assert.equal((await postToS3(opts(url, spy.sleep))).status, 204);
    assert.equal(seen.length, 3);
    const err = await uploadError(postToS3(opts(url, spy.sleep)));
    assert.deepEqual([err.status, err.code, err.attempts, seen.length], [400, 'InvalidArgument', 1, 4]);
  });

  it('times out a silent server per attempt', async () => {
    const { url, seen } = await serve(() => undefined);
    const spy = sleepSpy();
    const err = await uploadError(postToS3({ ...opts(url, spy.sleep), timeoutMs: 100, attempts: 2 }));
    assert.deepEqual([err.status, err.code, err.attempts, seen.length], [0, 'Timeout', 2, 2]);
  });

  it('an abort during the backoff ends the upload without another attempt', async () => {
    const { url, seen } = await serve((_req, res) => s3Error(res, 503, 'SlowDown', 'slow down'));
    const ac = new AbortController();
    const err = await uploadError(postToS3({ ...opts(url, () => new Promise(() => ac.abort())), signal: ac.signal }));
    assert.deepEqual([err.code, seen.length], ['Aborted', 1]);
    assert.equal((await uploadError(postToS3({ ...opts(url, sleepSpy().sleep), signal: ac.signal }))).code, 'Aborted');
    assert.equal(seen.length, 1);
  });

  it('keeps signed field values out of messages even when S3 echoes them', async () => {
    const { url } = await serve((_req, res) => s3Error(res, 403, 'SignatureDoesNotMatch', `The request signature we calculated does not match the signature you provided (${fields['X-Amz-Signature']}).`));
    const err = await uploadError(postToS3(opts(url, sleepSpy().sleep)));
    assert.equal(err.code, 'SignatureDoesNotMatch');
    assert.ok(!err.message.includes(fields['X-Amz-Signature']));
    assert.match(err.s3Message, /\(\[redacted\]\)/);
  });

  it('refuses a file shorter than its declared size without sending anything', async () => {
    const path = join(tmp, 'short.mp4');
    writeFileSync(path, Buffer.alloc(10));
    const { url, seen } = await serve((_req, res) => res.writeHead(204).end());
    const err = await uploadError(postToS3({ ...opts(url, sleepSpy().sleep), file: { path, size: 11 }, contentType: 'video/mp4' }));
    assert.deepEqual([err.code, seen.length], ['FileError', 0]);
  });
});
