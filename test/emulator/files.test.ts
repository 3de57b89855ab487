import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { request, type IncomingHttpHeaders } from 'node:http';
import { after, before, beforeEach, describe, it } from 'node:test';
import { parseRange } from '../../src/emulator/file-server.js';
import { GCODE_HEADER, generatedGcodeBytes, generatedGcodeChunks, startPolarEmulator, type PolarEmulator } from '../../src/emulator/index.js';

interface Got {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** The body ended as announced (no error, no early close). */
  complete: boolean;
  error?: string;
}

/**
 * GET with node:http so early closes and stalls are visible; gives up after `idleMs` without data.
 * Only the stall test relies on giving up; for the others it is a guard against a hang, generous so
 * that a loaded machine's pauses are not taken for a stall.
 */
function get(url: string, headers: Record<string, string> = {}, method = 'GET', idleMs = 10_000): Promise<Got> {
  return new Promise((resolve, reject) => {
    let onError: ((err: Error) => void) | undefined;
    const req = request(url, { method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      let done = false;
      const finish = (complete: boolean, error?: string): void => {
        if (done) return;
        done = true;
        clearTimeout(idle);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), complete, error });
        req.destroy();
      };
      onError = (err) => finish(false, err.message);
      let idle = setTimeout(() => finish(false), idleMs);
      res.on('data', (c: Buffer) => {
        chunks.push(c);
        clearTimeout(idle);
        idle = setTimeout(() => finish(false), idleMs);
      });
      res.on('end', () => finish(res.complete));
      res.on('error', () => finish(false));
      res.on('aborted', () => finish(false));
    });
    req.on('error', (err) => (onError ? onError(err) : reject(err)));
    req.end();
  });
}

describe('generated G-code', () => {
  it('has exactly the requested size, the slicer header and whole lines', () => {
    for (const size of [0, 10, GCODE_HEADER.length, GCODE_HEADER.length + 1, GCODE_HEADER.length + 2, 5000, 123_457]) {
      const bytes = generatedGcodeBytes(size);
      assert.equal(bytes.length, size);
      if (size > GCODE_HEADER.length) assert.equal(bytes[size - 1], 0x0a, `size ${size} ends with a newline`);
    }
    const text = generatedGcodeBytes(100_000).toString('ascii');
    assert.match(text, /; estimated printing time \(normal mode\) = 1h 2m 3s\n/);
    assert.match(text, /;Filament used: 1\.23m\n/);
    const body = text.slice(GCODE_HEADER.length).split('\n').filter((l) => l.startsWith('G1 '));
    assert.ok(body.length > 1000);
    assert.equal(new Set(body.map((l) => l.length)).size, 1, 'body lines have one width');
  });

  it('is deterministic and any range equals the same slice of the whole', () => {
    const size = 300_001;
    const whole = generatedGcodeBytes(size);
    assert.deepEqual(generatedGcodeBytes(size), whole);
    for (const [s, e] of [[0, 0], [5, 400], [GCODE_HEADER.length - 3, GCODE_HEADER.length + 70_000], [size - 10, size - 1], [150_000, 299_999]]) {
      assert.deepEqual(generatedGcodeBytes(size, s, e), whole.subarray(s, e + 1), `range ${s}-${e}`);
    }
    assert.ok([...generatedGcodeChunks(size)].every((c) => c.length <= 64 * 1024));
  });
});

describe('parseRange', () => {
  it('follows RFC 9110 for single ranges', () => {
    assert.deepEqual(parseRange('bytes=0-9', 100), { start: 0, end: 9 });
    assert.deepEqual(parseRange('bytes=90-', 100), { start: 90, end: 99 });
    assert.deepEqual(parseRange('bytes=90-500', 100), { start: 90, end: 99 });
    assert.deepEqual(parseRange('bytes=-10', 100), { start: 90, end: 99 });
    assert.deepEqual(parseRange('bytes=-500', 100), { start: 0, end: 99 });
    assert.equal(parseRange('bytes=100-', 100), 'unsatisfiable');
    assert.equal(parseRange('bytes=-0', 100), 'unsatisfiable');
    assert.equal(parseRange('bytes=5-1', 100), undefined);
    assert.equal(parseRange('bytes=0-1,5-6', 100), undefined);
    assert.equal(parseRange('items=0-1', 100), undefined);
    assert.equal(parseRange(undefined, 100), undefined);
  });
});

describe('print file server', () => {
  let emu: PolarEmulator;
  const url = (name: string): string => `${emu.url}/files/${name}`;
  before(async () => {
    emu = await startPolarEmulator();
  });
  beforeEach(() => emu.control.reset());
  after(async () => {
    await emu.stop();
  });

  it('serves inline content with length, ranges and 416', async () => {
    emu.control.addFile('a.gcode', { content: 'G28\nG1 X10\n' });
    const full = await get(url('a.gcode'));
    assert.equal(full.status, 200);
    assert.equal(full.headers['content-length'], '11');
    assert.equal(full.headers['accept-ranges'], 'bytes');
    assert.equal(full.body.toString(), 'G28\nG1 X10\n');
    const part = await get(url('a.gcode'), { Range: 'bytes=4-' });
    assert.equal(part.status, 206);
    assert.equal(part.headers['content-range'], 'bytes 4-10/11');
    assert.equal(part.headers['content-length'], '7');
    assert.equal(part.body.toString(), 'G1 X10\n');
    const bad = await get(url('a.gcode'), { Range: 'bytes=11-' });
    assert.equal(bad.status, 416);
    assert.equal(bad.headers['content-range'], 'bytes */11');
    const head = await get(url('a.gcode'), {}, 'HEAD');
    assert.equal(head.headers['content-length'], '11');
    assert.equal(head.body.length, 0);
    assert.equal((await get(url('missing.gcode'))).status, 404);
  });

  it('streams a 1 GB generated file: exact length and correct bytes at any range', async () => {
    const size = 1024 * 1024 * 1024;
    emu.control.addFile('big.gcode', { size });
    const head = await get(url('big.gcode'), {}, 'HEAD');
    assert.equal(head.headers['content-length'], String(size));
    const start = size - 70_000;
    const tail = await get(url('big.gcode'), { Range: `bytes=${start}-` });
    assert.equal(tail.status, 206);
    assert.equal(tail.headers['content-range'], `bytes ${start}-${size - 1}/${size}`);
    assert.deepEqual(tail.body, generatedGcodeBytes(size, start, size - 1));
    const mid = await get(url('big.gcode'), { Range: 'bytes=500000000-500000099' });
    assert.deepEqual(mid.body, generatedGcodeBytes(size, 500_000_000, 500_000_099));
  });

  it('full downloads hash like the generator', async () => {
    const size = 8 * 1024 * 1024 + 3;
    emu.control.addFile('mid.gcode', { size });
    const got = await get(url('mid.gcode'));
    assert.equal(got.complete, true);
    const expected = createHash('sha256');
    for (const c of generatedGcodeChunks(size)) expected.update(c);
    assert.equal(createHash('sha256').update(got.body).digest('hex'), expected.digest('hex'));
  });

  it('fault notFound and status, for the next n requests only', async () => {
    emu.control.addFile('f.gcode', { size: 1000 });
    emu.control.faultFile('f.gcode', { kind: 'notFound' }, 1);
    const nf = await get(url('f.gcode'));
    assert.equal(nf.status, 404);
    assert.match(nf.body.toString(), /<Code>NoSuchKey<\/Code>/);
    assert.equal((await get(url('f.gcode'))).status, 200);
    emu.control.faultFile('f.gcode', { kind: 'status', status: 503 });
    assert.equal((await get(url('f.gcode'))).status, 503);
    assert.equal((await get(url('f.gcode'))).status, 503, 'without times the fault stays');
    emu.control.faultFile('f.gcode', null);
    assert.equal((await get(url('f.gcode'))).status, 200);
  });

  it('fault truncate closes the connection early', async () => {
    emu.control.addFile('t.gcode', { size: 200_000 });
    emu.control.faultFile('t.gcode', { kind: 'truncate', afterBytes: 70_000 });
    const got = await get(url('t.gcode'));
    assert.equal(got.headers['content-length'], '200000');
    assert.equal(got.body.length, 70_000);
    assert.equal(got.complete, false);
    assert.deepEqual(got.body, generatedGcodeBytes(200_000, 0, 69_999));
    const ev = await emu.control.waitFor((e) => e.kind === 'download' && e.reason === 'aborted');
    assert.equal((ev.payload as { bytes: number }).bytes, 70_000);
  });

  it('fault slow sends the whole file at the given average rate', async () => {
    emu.control.addFile('slow.gcode', { size: 300_000 });
    emu.control.faultFile('slow.gcode', { kind: 'slow', bytesPerSecond: 1_000_000 });
    const t0 = Date.now();
    const got = await get(url('slow.gcode'));
    const ms = Date.now() - t0;
    assert.equal(got.complete, true);
    assert.deepEqual(got.body, generatedGcodeBytes(300_000, 0, 299_999));
    // 300 kB at 1 MB/s: each chunk waits for its share of the time, so the last one does not go
    // out before 300 ms (a loaded machine only makes it later).
    assert.ok(ms >= 290, `took ${ms} ms`);
    const ev = await emu.control.waitFor((e) => e.kind === 'download' && e.reason === 'done' && (e.payload as { fault?: string }).fault === 'slow');
    assert.equal((ev.payload as { bytes: number }).bytes, 300_000);
  });

  it('fault stall sends some bytes and then nothing', async () => {
    emu.control.addFile('s.gcode', { size: 100_000 });
    emu.control.faultFile('s.gcode', { kind: 'stall', afterBytes: 1234 });
    const got = await get(url('s.gcode'), {}, 'GET', 300);
    assert.equal(got.body.length, 1234);
    assert.equal(got.complete, false);
    // The client gave up; the server sees the close.
    await emu.control.waitFor((e) => e.kind === 'download' && e.reason === 'aborted');
  });

  it('fault wrongLength announces a different Content-Length', async () => {
    emu.control.addFile('w.gcode', { content: 'x'.repeat(1000) });
    emu.control.faultFile('w.gcode', { kind: 'wrongLength', contentLength: 1500 }, 1);
    const longer = await get(url('w.gcode'));
    assert.equal(longer.headers['content-length'], '1500');
    assert.equal(longer.body.length, 1000);
    assert.equal(longer.complete, false);
    emu.control.faultFile('w.gcode', { kind: 'wrongLength', contentLength: 600 }, 1);
    const shorter = await get(url('w.gcode'));
    assert.equal(shorter.headers['content-length'], '600');
    // The client takes 600 bytes; what follows is garbage on the connection (node says so).
    assert.ok(shorter.body.length <= 600);
    assert.ok(shorter.body.length === 600 || /Data after `Connection: close`/.test(shorter.error ?? ''), shorter.error);
  });

  it('rejects bad file names and bad faults', () => {
    assert.throws(() => emu.control.addFile('../x', { size: 1 }), /invalid file name/);
    emu.control.addFile('ok.gcode', { size: 1 });
    assert.throws(() => emu.control.faultFile('ok.gcode', { kind: 'stall', afterBytes: -1 }), /afterBytes/);
    assert.throws(() => emu.control.faultFile('nope.gcode', { kind: 'notFound' }), /no file/);
  });
});
