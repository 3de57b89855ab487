// Issue 13 item 8: a download that never ends. A server dribbling a few bytes
// now and then resets the stall timeout forever; the minimum throughput and
// the overall deadline end it. Real HTTP servers on 127.0.0.1; the windows are
// short so the test takes well under a second per case.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { DownloadError, downloadToFile } from '../../src/cloudprint/http-download.js';
import { options, sendAll, serve, tempDir, type TestServer } from './download-server.js';

const tmp = await tempDir('dl-limits-');
const servers: TestServer[] = [];
after(async () => {
  await Promise.all(servers.map((s) => s.close()));
  await tmp.dispose();
});
let fileNo = 0;
const dest = (): string => join(tmp.dir, `f${++fileNo}.part`);

/** Announces `total` bytes, then sends one short line every `everyMs` (never enough to finish). */
async function dribbler(total: number, everyMs: number): Promise<TestServer> {
  const srv = await serve((_req, res) => {
    res.writeHead(200, { 'content-length': String(total) });
    const timer = setInterval(() => res.write('G1 X1\n'), everyMs);
    res.on('close', () => clearInterval(timer));
  });
  servers.push(srv);
  return srv;
}

test('a dribbling server fails the minimum throughput (retried, then the download fails), though it never stalls', async () => {
  const srv = await dribbler(1_000_000, 20);
  const t0 = Date.now();
  await assert.rejects(
    downloadToFile(`${srv.base}/f.gcode`, dest(), options(srv, { stallMs: 10_000, attempts: 2, minBytesPerSecond: 4096, throughputWindowMs: 250 })),
    (err: unknown) => err instanceof DownloadError && !err.permanent && /failed after 2 attempts: too slow: \d+ bytes in 0\.3 s \(minimum 4\.0 KiB\/s/.test(err.message),
  );
  assert.equal(srv.requests.length, 2, 'each attempt measured');
  assert.ok(Date.now() - t0 < 8000, 'ended long before the stall timeout would have');
});

test('the overall deadline ends a download that keeps its throughput up but never finishes (not retried)', async () => {
  const srv = await dribbler(100_000_000, 5);
  await assert.rejects(
    downloadToFile(`${srv.base}/f.gcode`, dest(), options(srv, { stallMs: 10_000, attempts: 5, deadlineMs: 400 })),
    (err: unknown) => err instanceof DownloadError && err.permanent && /did not finish within 0\.4 s \(\d+\.\d MiB received; cloud_print\.download_deadline\)/.test(err.message),
  );
  assert.equal(srv.requests.length, 1, 'a deadline is final');
});

test('a download that is fast enough is not disturbed by the limits', async () => {
  const body = Buffer.alloc(2 * 1048576, 7);
  const srv = await serve((_req, res) => sendAll(res, body));
  servers.push(srv);
  const got = await downloadToFile(`${srv.base}/f.gcode`, dest(), options(srv, { minBytesPerSecond: 4096, throughputWindowMs: 100, deadlineMs: 30_000 }));
  assert.equal(got.bytes, body.length);
});

test('no Content-Length: the room checkSize returns bounds the file on disk too', async () => {
  const srv = await serve((_req, res) => {
    res.writeHead(200);
    const chunk = Buffer.alloc(64 * 1024, 1);
    let n = 0;
    const more = (): void => {
      if (res.destroyed || n++ > 40) return void res.end();
      res.write(chunk, more);
    };
    more();
  });
  servers.push(srv);
  await assert.rejects(
    downloadToFile(`${srv.base}/f.gcode`, dest(), options(srv, { checkSize: async () => 1048576 })),
    (err: unknown) => err instanceof DownloadError && err.permanent && /not enough disk space: the file outgrew the 1\.0 MiB/.test(err.message),
  );
});
