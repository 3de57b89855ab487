import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { connect } from 'node:net';
import { after, before, beforeEach, describe, it } from 'node:test';
import { startPolarEmulator, type PolarEmulator } from '../../src/emulator/index.js';
import { connectAuthenticated, makeKeys, type RawPrinter, register } from './raw-printer.js';

const keys = makeKeys();
const JPEG = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(500, 7), Buffer.from([0xff, 0xd9])]);

type Part = { name: string; value: string } | { name: string; filename: string; type: string; data: Buffer };

/** A multipart/form-data body exactly as given (order, names, types). */
function multipart(parts: Part[], boundary = '----emulatorTestBoundary7MA4YWxk'): { body: Buffer; contentType: string } {
  const chunks: Buffer[] = [];
  for (const p of parts) {
    if ('value' in p) {
      chunks.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${p.name}"\r\n\r\n${p.value}\r\n`));
    } else {
      chunks.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${p.name}"; filename="${p.filename}"\r\nContent-Type: ${p.type}\r\n\r\n`));
      chunks.push(p.data, Buffer.from('\r\n'));
    }
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(chunks), contentType: `multipart/form-data; boundary=${boundary}` };
}

interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Writes an HTTP/1.1 request byte for byte (so Content-Length and chunking are ours) and reads the reply. */
function rawRequest(port: number, head: string[], body: Buffer | undefined, chunked = false): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const sock = connect(port, '127.0.0.1');
    const got: Buffer[] = [];
    sock.on('data', (c: Buffer) => got.push(c));
    sock.on('error', reject);
    sock.on('close', () => {
      const text = Buffer.concat(got).toString('latin1');
      const [top, ...rest] = text.split('\r\n\r\n');
      const [statusLine, ...lines] = top.split('\r\n');
      const headers: Record<string, string> = {};
      for (const l of lines) {
        const i = l.indexOf(':');
        headers[l.slice(0, i).toLowerCase()] = l.slice(i + 1).trim();
      }
      resolve({ status: Number(statusLine.split(' ')[1]), headers, body: rest.join('\r\n\r\n') });
    });
    sock.write([...head, 'Host: 127.0.0.1', 'Connection: close', '', ''].join('\r\n'));
    if (body && chunked) {
      for (let i = 0; i < body.length; i += 300) {
        const piece = body.subarray(i, i + 300);
        sock.write(`${piece.length.toString(16)}\r\n`);
        sock.write(piece);
        sock.write('\r\n');
      }
      sock.write('0\r\n\r\n');
    } else if (body) {
      sock.write(body);
    }
  });
}

describe('emulator getUrl and S3 POST endpoint', () => {
  let emu: PolarEmulator;
  let clock = Date.UTC(2026, 0, 1, 12);
  let serial: string;
  let printer: RawPrinter;
  let path: string;

  const getUrl = async (type = 'idle', jobId?: string): Promise<Record<string, unknown>> => {
    printer.emit('getUrl', { serialNumber: serial, method: 'post', type, ...(jobId ? { jobId } : {}) });
    return (await printer.next('getUrlResponse')) as Record<string, unknown>;
  };
  const fieldParts = (fields: Record<string, string>): Part[] => Object.entries(fields).map(([name, value]) => ({ name, value }));
  const post = (parts: Part[], opts: { chunked?: boolean; noLength?: boolean; to?: string } = {}): Promise<RawResponse> => {
    const { body, contentType } = multipart(parts);
    const head = [`POST ${opts.to ?? path} HTTP/1.1`, `Content-Type: ${contentType}`];
    if (opts.chunked) head.push('Transfer-Encoding: chunked');
    else if (!opts.noLength) head.push(`Content-Length: ${body.length}`);
    return rawRequest(emu.port, head, opts.noLength ? undefined : body, opts.chunked);
  };
  const file = (data: Buffer = JPEG, type = 'image/jpeg'): Part => ({ name: 'file', filename: 'snapshot.jpg', type, data });
  const code = (r: RawResponse): [number, string] => [r.status, /<Code>([^<]+)<\/Code>/.exec(r.body)?.[1] ?? ''];
  const message = (r: RawResponse): string => /<Message>([^<]+)<\/Message>/.exec(r.body)?.[1] ?? '';

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

  it('getUrl idle gives a signed POST form for this emulator', async () => {
    const res = await getUrl();
    assert.equal(res.status, 'SUCCESS');
    assert.deepEqual([res.type, res.method, res.expires, res.maxSize, res.contentType], ['idle', 'post', 86400, 300000, 'image/jpeg']);
    assert.equal(res.url, `${emu.url}/s3/polar-emulator`);
    const fields = res.fields as Record<string, string>;
    assert.deepEqual(Object.keys(fields), ['key', 'bucket', 'acl', 'Content-Type', 'X-Amz-Algorithm', 'X-Amz-Credential', 'X-Amz-Date', 'Policy', 'X-Amz-Signature']);
    assert.equal(fields.key, `files/printer/${serial}/idle/snapshot.jpg`);
    assert.equal(fields['X-Amz-Date'], '20260101T120000Z');
    assert.match(fields['X-Amz-Credential'], /^AKIA\w+\/20260101\/us-east-1\/s3\/aws4_request$/);
    const policy = JSON.parse(Buffer.from(fields.Policy, 'base64').toString()) as { expiration: string };
    assert.equal(policy.expiration, '2026-01-02T12:00:00.000Z');
  });

  it('getUrl printing/timelapse need a jobId the printer was sent', async () => {
    assert.match(String((await getUrl('timelapse')).message), /jobId/);
    assert.match(String((await getUrl('printing', 'J404')).message), /invalid jobId/);
    emu.control.addJob(serial, { jobId: 'J1' });
    const tl = await getUrl('timelapse', 'J1');
    assert.deepEqual([tl.status, tl.expires, tl.maxSize, tl.contentType, tl.jobId], ['SUCCESS', 3600, 100 * 1024 * 1024, 'video/mp4', 'J1']);
    assert.equal((tl.fields as Record<string, string>).key, `files/printer/${serial}/timelapse/J1/timelapse.mp4`);
    assert.equal((await getUrl('printing', 'J1')).status, 'SUCCESS');
  });

  it('setUrlOptions overrides expiry and size, or fails getUrl', async () => {
    emu.control.setUrlOptions({ expires: 60, maxSize: 1000 });
    const res = await getUrl();
    assert.deepEqual([res.expires, res.maxSize], [60, 1000]);
    emu.control.setUrlOptions({ fail: 'SERVER_ERROR' });
    assert.deepEqual(await getUrl(), { status: 'FAILED', serialNumber: serial, type: 'idle', message: 'SERVER_ERROR' });
  });

  it('accepts a correct upload and stores it', async () => {
    const fields = (await getUrl()).fields as Record<string, string>;
    const res = await post([...fieldParts(fields), file()]);
    assert.equal(res.status, 204, res.body);
    const [up] = emu.control.uploads();
    assert.deepEqual(
      [up.key, up.contentType, up.size, up.sha256, up.serialNumber, up.type],
      [fields.key, 'image/jpeg', JPEG.length, createHash('sha256').update(JPEG).digest('hex'), serial, 'idle'],
    );
    assert.deepEqual(up.body, JPEG);
    const ev = await emu.control.waitFor((e) => e.kind === 'upload');
    assert.equal(ev.serialNumber, serial);
  });

  it('faultUploads answers uploads with an S3 error the given number of times, then accepts again', async () => {
    const fields = (await getUrl()).fields as Record<string, string>;
    emu.control.faultUploads({ status: 503 }, 2);
    assert.deepEqual(code(await post([...fieldParts(fields), file()])), [503, 'ServiceUnavailable']);
    emu.control.faultUploads({ status: 500, code: 'InternalError', message: 'We encountered an internal error.' });
    const second = await post([...fieldParts(fields), file()]);
    assert.deepEqual(code(second), [500, 'InternalError']);
    assert.equal(message(second), 'We encountered an internal error.');
    assert.equal((await post([...fieldParts(fields), file()])).status, 500, 'no count: until cleared');
    emu.control.faultUploads(null);
    assert.equal((await post([...fieldParts(fields), file()])).status, 204);
    assert.equal(emu.control.uploads().length, 1, 'only the accepted upload is stored');
    assert.throws(() => emu.control.faultUploads({ status: 200 }), /HTTP error status/);
  });

  it('treats field names case-insensitively, like S3', async () => {
    const fields = (await getUrl()).fields as Record<string, string>;
    const lower = Object.fromEntries(Object.entries(fields).map(([k, v]) => [k.toLowerCase(), v]));
    assert.equal((await post([...fieldParts(lower), file()])).status, 204);
  });

  it('rejects chunked uploads (501) and uploads without Content-Length (411)', async () => {
    const fields = (await getUrl()).fields as Record<string, string>;
    const chunked = await post([...fieldParts(fields), file()], { chunked: true });
    assert.deepEqual(code(chunked), [501, 'NotImplemented']);
    assert.match(chunked.body, /<Header>Transfer-Encoding<\/Header>/);
    assert.deepEqual(code(await post([...fieldParts(fields), file()], { noLength: true })), [411, 'MissingContentLength']);
    assert.deepEqual(emu.control.uploads(), []);
  });

  it('rejects an expired form', async () => {
    const fields = (await getUrl()).fields as Record<string, string>;
    clock += 86400 * 1000;
    const res = await post([...fieldParts(fields), file()]);
    assert.deepEqual(code(res), [403, 'AccessDenied']);
    assert.equal(message(res), 'Invalid according to Policy: Policy expired.');
  });

  it('rejects files outside content-length-range', async () => {
    emu.control.setUrlOptions({ maxSize: 100 });
    const fields = (await getUrl()).fields as Record<string, string>;
    assert.equal((await post([...fieldParts(fields), file(Buffer.alloc(100, 1))])).status, 204);
    assert.deepEqual(code(await post([...fieldParts(fields), file(Buffer.alloc(101, 1))])), [400, 'EntityTooLarge']);
    assert.deepEqual(code(await post([...fieldParts(fields), file(Buffer.alloc(0))])), [400, 'EntityTooSmall']);
    assert.equal(emu.control.uploads().length, 1);
  });

  it('rejects a tampered signature, policy or field', async () => {
    const fields = (await getUrl()).fields as Record<string, string>;
    const badSig = { ...fields, 'X-Amz-Signature': fields['X-Amz-Signature'].replace(/^./, (c) => (c === 'a' ? 'b' : 'a')) };
    assert.deepEqual(code(await post([...fieldParts(badSig), file()])), [403, 'SignatureDoesNotMatch']);
    const policy = JSON.parse(Buffer.from(fields.Policy, 'base64').toString()) as { conditions: unknown[] };
    policy.conditions[1] = { key: `files/printer/${serial}/idle/other.jpg` };
    const badPolicy = { ...fields, key: `files/printer/${serial}/idle/other.jpg`, Policy: Buffer.from(JSON.stringify(policy)).toString('base64') };
    assert.deepEqual(code(await post([...fieldParts(badPolicy), file()])), [403, 'SignatureDoesNotMatch']);
    const badKey = { ...fields, key: 'files/printer/KL999999/idle/snapshot.jpg' };
    const res = await post([...fieldParts(badKey), file()]);
    assert.deepEqual(code(res), [403, 'AccessDenied']);
    assert.match(message(res), /Policy Condition failed: \[&quot;eq&quot;, &quot;\$key&quot;/);
    const extra = await post([...fieldParts(fields), { name: 'x-amz-meta-evil', value: '1' }, file()]);
    assert.match(message(extra), /Extra input fields: x-amz-meta-evil/);
    const missing = { ...fields } as Record<string, string | undefined>;
    delete missing.acl;
    assert.deepEqual(code(await post([...fieldParts(missing as Record<string, string>), file()])), [403, 'AccessDenied']);
    assert.deepEqual(emu.control.uploads(), []);
  });

  it('rejects a file part whose type differs from the signed Content-Type', async () => {
    const fields = (await getUrl()).fields as Record<string, string>;
    const res = await post([...fieldParts(fields), file(JPEG, 'image/png')]);
    assert.deepEqual(code(res), [403, 'AccessDenied']);
    assert.match(message(res), /Content-Type/);
    const swapped = { ...fields, 'Content-Type': 'image/png' };
    assert.deepEqual(code(await post([...fieldParts(swapped), file(JPEG, 'image/png')])), [403, 'AccessDenied']);
  });

  it('rejects anything after the file part', async () => {
    const fields = (await getUrl()).fields as Record<string, string>;
    const { acl, ...rest } = fields;
    const res = await post([...fieldParts(rest), file(), { name: 'acl', value: acl }]);
    assert.deepEqual(code(res), [400, 'InvalidArgument']);
    assert.match(message(res), /last/);
    const two = await post([...fieldParts(fields), file(), file()]);
    assert.deepEqual(code(two), [400, 'InvalidArgument']);
    assert.deepEqual(emu.control.uploads(), []);
  });

  it('rejects forms without a file, non-multipart posts, other buckets and methods', async () => {
    const fields = (await getUrl()).fields as Record<string, string>;
    assert.deepEqual(code(await post(fieldParts(fields))), [400, 'InvalidArgument']);
    const form = await rawRequest(emu.port, [`POST ${path} HTTP/1.1`, 'Content-Type: application/x-www-form-urlencoded', 'Content-Length: 3'], Buffer.from('a=b'));
    assert.deepEqual(code(form), [412, 'PreconditionFailed']);
    assert.deepEqual(code(await post([...fieldParts(fields), file()], { to: '/s3/other-bucket' })), [404, 'NoSuchBucket']);
    assert.deepEqual(code(await rawRequest(emu.port, [`GET ${path} HTTP/1.1`], undefined)), [405, 'MethodNotAllowed']);
    const events = emu.control.events().filter((e) => e.kind === 'upload-rejected');
    assert.equal(events.length, 4);
  });

  it('streams large uploads: hashed, not kept in memory', async () => {
    emu.control.addJob(serial, { jobId: 'J1' });
    const fields = (await getUrl('timelapse', 'J1')).fields as Record<string, string>;
    const video = Buffer.alloc(6 * 1024 * 1024, 0x42);
    const res = await post([...fieldParts(fields), { name: 'file', filename: 'timelapse.mp4', type: 'video/mp4', data: video }]);
    assert.equal(res.status, 204, res.body);
    const [up] = emu.control.uploads();
    assert.deepEqual([up.size, up.sha256, up.body, up.jobId], [video.length, createHash('sha256').update(video).digest('hex'), undefined, 'J1']);
  });

  before(() => {
    path = '/s3/polar-emulator';
  });
});
