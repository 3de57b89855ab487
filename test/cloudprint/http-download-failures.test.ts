// downloadToFile refusals and failures against real HTTP servers on 127.0.0.1:
// permanent errors are not retried, stalls and aborts end promptly, redirects
// are re-checked against the URL policy.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import * as net from 'node:net';
import { join } from 'node:path';
import { DownloadError, downloadToFile } from '../../src/cloudprint/http-download.js';
import { options, sendAll, sendRange, sendTruncated, serve, tempDir, type Handler } from './download-server.js';

const BODY = randomBytes(200_000);

let tmp: Awaited<ReturnType<typeof tempDir>>;
let fileNo = 0;
const dest = (): string => join(tmp.dir, `f${++fileNo}.part`);

before(async () => {
  tmp = await tempDir('cp-download-fail-');
});
after(async () => {
  await tmp.dispose();
});

/** Asserts `p` rejects with a DownloadError of the given kind whose message matches. */
async function rejectsWith(p: Promise<unknown>, message: RegExp, permanent: boolean): Promise<DownloadError> {
  let caught: unknown;
  await assert.rejects(p, (err) => {
    caught = err;
    return true;
  });
  assert.ok(caught instanceof DownloadError, `not a DownloadError: ${String(caught)}`);
  assert.match(caught.message, message);
  assert.equal(caught.permanent, permanent, `permanent for: ${caught.message}`);
  return caught;
}

async function withServer(handler: Handler, fn: (srv: Awaited<ReturnType<typeof serve>>) => Promise<void>): Promise<void> {
  const srv = await serve(handler);
  try {
    await fn(srv);
  } finally {
    await srv.close();
  }
}

async function sizeOf(file: string): Promise<number> {
  return stat(file).then((s) => s.size, () => 0);
}

test('download: the first URL is checked against the policy before any request', async () => {
  await withServer((_req, res) => sendAll(res, BODY), async (srv) => {
    const o = options(srv);
    await rejectsWith(downloadToFile('ftp://127.0.0.1/x', dest(), o), /ftp: URLs are not accepted/, true);
    await rejectsWith(downloadToFile('http://example.com/x', dest(), o), /allow_http_hosts/, true);
    await rejectsWith(downloadToFile(`http://u:p@${srv.base.slice(7)}/x`, dest(), o), /credentials/, true);
    assert.equal(srv.requests.length, 0);
  });
});

test('download: 4xx is permanent and not retried; 408 and 429 are retried', async () => {
  for (const status of [403, 404, 410]) {
    await withServer((_req, res) => {
      res.statusCode = status;
      res.end('no');
    }, async (srv) => {
      await rejectsWith(downloadToFile(`${srv.base}/missing?sig=secret`, dest(), options(srv, { attempts: 5 })), new RegExp(`HTTP ${status}`), true);
      assert.equal(srv.requests.length, 1, `${status}: one request only`);
    });
  }
  for (const status of [408, 429]) {
    await withServer((_req, res, n) => {
      if (n > 1) return sendAll(res, BODY);
      res.statusCode = status;
      res.end();
    }, async (srv) => {
      const got = await downloadToFile(`${srv.base}/x`, dest(), options(srv));
      assert.equal(got.bytes, BODY.length, `${status} then 200`);
      assert.equal(srv.requests.length, 2);
    });
  }
});

test('download: the error message does not leak a signed URL query', async () => {
  await withServer((_req, res) => {
    res.statusCode = 404;
    res.end();
  }, async (srv) => {
    const err = await rejectsWith(downloadToFile(`${srv.base}/f.gcode?Signature=topsecret`, dest(), options(srv)), /HTTP 404/, true);
    assert.ok(!err.message.includes('topsecret'), err.message);
  });
});

test('download: 5xx every time gives up after the configured attempts', async () => {
  await withServer((_req, res) => {
    res.statusCode = 500;
    res.end();
  }, async (srv) => {
    await rejectsWith(downloadToFile(`${srv.base}/x`, dest(), options(srv, { attempts: 3 })), /failed after 3 attempts: HTTP 500/, false);
    assert.equal(srv.requests.length, 3);
  });
});

test('download: a stalled transfer fails after stallMs with a message about no data', async () => {
  await withServer((_req, res) => {
    res.writeHead(200, { 'content-length': String(BODY.length) });
    res.write(BODY.subarray(0, 1000)); // ... and then nothing
  }, async (srv) => {
    const started = Date.now();
    await rejectsWith(downloadToFile(`${srv.base}/stall`, dest(), options(srv, { attempts: 1, stallMs: 300 })), /no data/, false);
    const took = Date.now() - started;
    // The upper bound only tells a stall-out from a hang; it is wide for a loaded machine.
    assert.ok(took >= 250 && took < 10_000, `took ${took} ms`);
  });
});

test('download: a server that never answers also stalls out', async () => {
  await withServer(() => undefined, async (srv) => {
    const started = Date.now();
    await rejectsWith(downloadToFile(`${srv.base}/silent`, dest(), options(srv, { attempts: 1, stallMs: 300 })), /no data/, false);
    assert.ok(Date.now() - started < 10_000);
  });
});

test('download: a Content-Length over maxBytes is refused before the body is written', async () => {
  await withServer((_req, res) => {
    res.writeHead(200, { 'content-length': String(10 * 1048576) });
    res.write(BODY);
  }, async (srv) => {
    const file = dest();
    let checked = false;
    const o = options(srv, { maxBytes: 1048576, checkSize: async () => void (checked = true) });
    await rejectsWith(downloadToFile(`${srv.base}/big`, file, o), /10\.0 MiB, over the 1\.0 MiB limit \(cloud_print\.max_file_size\)/, true);
    assert.equal(srv.requests.length, 1);
    assert.equal(checked, false, 'checkSize is not asked about a file that is too large anyway');
    assert.equal(await sizeOf(file), 0);
  });
});

test('download: a body without Content-Length is cut off at maxBytes', async () => {
  await withServer((_req, res) => {
    res.writeHead(200); // chunked, size unknown
    res.end(BODY);
  }, async (srv) => {
    const file = dest();
    await rejectsWith(downloadToFile(`${srv.base}/x`, file, options(srv, { maxBytes: 50_000 })), /exceeds the .* MiB limit/, true);
    assert.ok((await sizeOf(file)) <= 50_000);
  });
});

test('download: more bytes than the Content-Length is an error, never a success', async () => {
  // node:http itself refuses the extra bytes (a parse error); the download must not succeed either way.
  const raw = net.createServer((s) => {
    s.on('error', () => undefined);
    s.once('data', () => s.write('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n' + 'x'.repeat(40)));
  });
  await new Promise<void>((resolve) => raw.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(raw.address() as net.AddressInfo).port}`;
  try {
    const o = options({ base, requests: [], close: async () => undefined }, { attempts: 2 });
    await assert.rejects(downloadToFile(`${base}/x`, dest(), o), DownloadError);
  } finally {
    await new Promise<void>((resolve) => raw.close(() => resolve()));
  }
});

test('download: checkSize refusing is a permanent error with its message', async () => {
  await withServer((_req, res) => sendAll(res, BODY), async (srv) => {
    const file = dest();
    const o = options(srv, {
      attempts: 3,
      checkSize: async (total) => {
        throw new Error(`not enough disk space: needs ${total} bytes`);
      },
    });
    await rejectsWith(downloadToFile(`${srv.base}/x`, file, o), new RegExp(`^not enough disk space: needs ${BODY.length} bytes$`), true);
    assert.equal(srv.requests.length, 1);
    assert.equal(await sizeOf(file), 0);
  });
});

test('download: aborting mid-download rejects promptly with download canceled', async () => {
  let timer: ReturnType<typeof setInterval> | undefined;
  await withServer((_req, res) => {
    res.writeHead(200, { 'content-length': String(100 * BODY.length) });
    timer = setInterval(() => res.write(BODY.subarray(0, 4096)), 10);
    res.on('close', () => clearInterval(timer));
  }, async (srv) => {
    const ac = new AbortController();
    let received = 0;
    const o = options(srv, {
      signal: ac.signal,
      stallMs: 60_000, // far above the bound below: a cancel that waited for the stall would show
      onProgress: (r) => {
        received = r;
        if (r > 20_000) ac.abort();
      },
    });
    const started = Date.now();
    await rejectsWith(downloadToFile(`${srv.base}/slow`, dest(), o), /^download canceled$/, true);
    assert.ok(Date.now() - started < 20_000, `took ${Date.now() - started} ms`);
    assert.ok(received > 20_000);
    assert.equal(srv.requests.length, 1, 'no retry after a cancel');
  });
  clearInterval(timer);
});

test('download: an already-aborted signal makes no request', async () => {
  await withServer((_req, res) => sendAll(res, BODY), async (srv) => {
    const ac = new AbortController();
    ac.abort();
    await rejectsWith(downloadToFile(`${srv.base}/x`, dest(), options(srv, { signal: ac.signal })), /download canceled/, true);
    assert.equal(srv.requests.length, 0);
  });
});

// Known bug (see report): the retry back-off sleep does not listen to the signal, so a cancel
// between attempts waits out the whole delay (up to 30 s) before it takes effect.
test('download: aborting during the retry delay rejects promptly', async () => {
  await withServer((_req, res) => {
    res.statusCode = 500;
    res.end();
  }, async (srv) => {
    const ac = new AbortController();
    // The delay is long (60 s) so "promptly" has a wide margin on a loaded machine.
    const o = options(srv, { signal: ac.signal, retryDelayMs: 60_000, log: { warn: () => setTimeout(() => ac.abort(), 50), debug: () => undefined } });
    const started = Date.now();
    await rejectsWith(downloadToFile(`${srv.base}/x`, dest(), o), /download canceled/, true);
    assert.ok(Date.now() - started < 20_000, `took ${Date.now() - started} ms`);
  });
});

// Known bug (see report): a 206 is trusted without reading Content-Range, and the final size is
// not compared with the known total, so a server that answers a resume from the wrong offset
// yields a corrupt file reported as a success.
test('download: a 206 that starts at the wrong offset does not give a corrupt success', async () => {
  await withServer((req, res, n) => {
    if (n === 1) return sendTruncated(res, BODY, 50_000);
    // Claims to resume but sends the file from byte 0.
    req.headers.range = 'bytes=0-';
    sendRange(req, res, BODY);
  }, async (srv) => {
    const file = dest();
    const got = await downloadToFile(`${srv.base}/x`, file, options(srv)).catch((e: Error) => e);
    if (got instanceof Error) return; // refusing is fine; resuming correctly (a third request) is too
    assert.equal(got.bytes, BODY.length, 'file has the wrong size');
    assert.ok((await readFile(file)).equals(BODY), 'file content is corrupt');
  });
});

test('download: redirects to other schemes or non-allowed http hosts are refused', async () => {
  for (const location of ['ftp://127.0.0.1/x.gcode', 'http://example.com/x.gcode', 'file:///etc/passwd', 'https://u:p@example.com/x']) {
    await withServer((_req, res) => {
      res.writeHead(302, { location });
      res.end();
    }, async (srv) => {
      await rejectsWith(downloadToFile(`${srv.base}/start`, dest(), options(srv)), /^redirect refused: /, true);
      assert.equal(srv.requests.length, 1, `${location}: not retried`);
    });
  }
});

test('download: more than 5 redirects are refused', async () => {
  await withServer((req, res) => {
    const hop = Number(/^\/hop\/(\d+)$/.exec(req.url ?? '')?.[1] ?? 0);
    res.writeHead(301, { location: `/hop/${hop + 1}` });
    res.end();
  }, async (srv) => {
    await rejectsWith(downloadToFile(`${srv.base}/hop/0`, dest(), options(srv)), /too many redirects/, true);
    assert.equal(srv.requests.length, 6, 'the first request and 5 redirects');
  });
});
