// Issue 13.2: URLs from the cloud (camera/timelapse upload URLs, print file
// downloads and their redirects) never reach the printer's own services.
// Local testing (polar.server_url on loopback, as here) may use http and
// loopback, never the configured Moonraker; production allows only https to
// public addresses, checked after DNS resolution. Errors the cloud sees are
// generic. Real loopback servers throughout.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Bridge, eventually } from '../bridge/bridge-harness.js';
import { AddressGuard, classifyAddress } from '../../src/net/address-guard.js';
import { UploadUrlCache, MAX_URL_LIFE_S } from '../../src/camera-policy/upload-urls.js';
import type { PolarClient } from '../../src/polar/polar-client.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { serve } from '../cloudprint/download-server.js';
import { hostileUrls } from '../fuzz/gen.js';

function httpRequestsTo(b: Bridge, t0: number): string[] {
  return b.sim.control.rpcLog().filter((r) => r.time >= t0 && r.transport === 'http').map((r) => r.method);
}

test('camera: an upload URL naming Moonraker (any spelling) is refused; no G-code runs through it', async () => {
  const b = await Bridge.start({ speedFactor: 20, camera: '' });
  try {
    await eventually(() => b.c.camera.camera !== null, 10_000, 'camera chosen');
    const port = new URL(b.sim.url).port;
    const hostile = [
      `${b.sim.url}/printer/gcode/script?script=M117%20PWNED`,
      `http://localhost:${port}/printer/gcode/script?script=M117%20PWNED`,
      `http://0x7f000001:${port}/printer/gcode/script?script=M117%20PWNED`,
      `http://[::ffff:127.0.0.1]:${port}/printer/gcode/script?script=M117%20PWNED`,
      `http://127.1:${port}/printer/gcode/script?script=M117%20PWNED`,
    ];
    for (const url of hostile) {
      b.emu.control.setUrlOptions({ url });
      b.c.camera.urls.clear();
      const t0 = b.sim.control.rpcLog().at(-1)?.time ?? 0;
      const g0 = b.sim.control.gcodeLog().length;
      await b.c.camera.captureAndUpload(b.c.camera.camera!);
      assert.deepEqual(b.gcodeSince(g0).filter((g) => g.includes('PWNED')), [], `${url}: no G-code ran`);
      assert.ok(!httpRequestsTo(b, t0 + 1).includes('printer.gcode.script'), `${url}: Moonraker saw no request`);
      assert.ok(b.log.has(/upload URL from Polar Cloud refused \(idle\): the upload URL names Moonraker/, 'warn'), `${url}: refusal logged`);
    }
    // The fuzz suite's hostile URLs as upload URLs (those naming IP literals or localhost, so no
    // test depends on outside DNS): none reaches Moonraker, nothing crashes, nothing is cached.
    const t1 = Date.now();
    for (const url of hostileUrls(b.emu.url).filter((u) => !/evil\.example|^\/\/|^https?:\/\/$/.test(u))) {
      b.emu.control.setUrlOptions({ url });
      b.c.camera.urls.clear();
      await b.c.camera.captureAndUpload(b.c.camera.camera!);
    }
    assert.ok(!httpRequestsTo(b, t1).length, `no HTTP request reached Moonraker: ${httpRequestsTo(b, t1).join(', ')}`);
    assert.equal(b.c.polar.state, 'online');
    // The emulator's own S3 endpoint (loopback, another port) is still fine in local testing.
    b.emu.control.setUrlOptions({});
    b.c.camera.urls.clear();
    const u0 = b.emu.control.uploads().length;
    await b.c.camera.captureAndUpload(b.c.camera.camera!);
    assert.equal(b.emu.control.uploads().length, u0 + 1, 'a normal image upload still works');
  } finally {
    await b.stop();
  }
});

test('print: download URLs and redirects to Moonraker are refused, and the cloud only sees a generic reason', async () => {
  const b = await Bridge.start({ extraYaml: 'cloud_print:\n  download_attempts: 1\n' });
  const redirect = await serve((_req, res) => {
    res.writeHead(302, { location: `${b.sim.url}/server/info` });
    res.end();
  });
  try {
    const cases = [
      { jobId: 'direct', gcodeFile: `${b.sim.url}/printer/info` },
      { jobId: 'redirect', gcodeFile: `${redirect.base}/a.gcode` },
      { jobId: 'closed1', gcodeFile: 'http://127.0.0.1:1/a.gcode' },
    ];
    const t0 = Date.now();
    for (const c of cases) {
      const n = b.commandResponses().length;
      b.send('print', c);
      await eventually(() => b.commandResponses().slice(n).some((r) => r.includes(c.jobId)), 10_000, `refusal of ${c.jobId}`);
      const answer = b.commandResponses().slice(n).find((r) => r.includes(c.jobId))!;
      assert.match(answer, /Download for job \S+ failed: (the file's URL is not allowed on this printer|redirect refused|could not reach the file server)/, `${c.jobId}: ${answer}`);
      assert.doesNotMatch(answer, /127\.0\.0\.1|ECONN|:\d{2,5}\b|Moonraker|\bport\b/, `${c.jobId}: no address, port or service named to the cloud: ${answer}`);
    }
    assert.deepEqual(httpRequestsTo(b, t0), [], 'Moonraker got no HTTP request from the downloads');
    assert.ok(b.log.has(/cloud job closed1: download of .* failed: .*ECONNREFUSED/, 'warn'), 'the details are in the log');
  } finally {
    await redirect.close();
    await b.stop();
  }
});

test('production rules: https to public addresses only, checked after DNS and for every address family trick', async () => {
  const dns: Record<string, string[]> = {
    'loop.example': ['127.0.0.1'],
    'meta.example': ['169.254.169.254'],
    'lan.example': ['192.168.1.20'],
    'mapped.example': ['::ffff:127.0.0.1'],
    'mixed.example': ['93.184.216.34', '10.0.0.1'],
    'public.example': ['93.184.216.34'],
  };
  const guard = new AddressGuard({
    serverUrl: 'https://printer4.polar3d.com',
    moonrakerUrl: 'http://127.0.0.1:7125',
    resolve: async (host) => (dns[host] ?? []).map((address) => ({ address, family: address.includes(':') ? 6 : 4 })),
  });
  for (const url of ['http://public.example/a', 'https://127.0.0.1/a', 'https://0x7f000001/a', 'https://2130706433/a', 'https://[::1]/a', 'https://[::ffff:7f00:1]/a', 'https://169.254.169.254/latest', 'https://10.1.2.3/a', 'https://[fe80::1]/a', 'https://[fd00::1]/a', 'https://0.0.0.0/a', 'https://224.0.0.1/a', 'https://localhost/a', 'https://u:p@public.example/a', 'ftp://public.example/a']) {
    assert.notEqual(guard.checkUrl(url), null, `${url} refused`);
  }
  assert.equal(guard.checkUrl('https://public.example/a'), null);
  const withHttp = new AddressGuard({ serverUrl: 'https://printer4.polar3d.com', moonrakerUrl: 'http://127.0.0.1:7125', httpHosts: ['files.school.example'] });
  assert.equal(withHttp.checkUrl('http://files.school.example/a.gcode'), null, 'cloud_print.allow_http_hosts still allows plain http from that host');
  assert.notEqual(withHttp.checkUrl('http://other.example/a.gcode'), null);
  assert.notEqual(withHttp.checkUrl('http://127.0.0.1/a.gcode'), null);
  assert.equal(guard.checkUrl('https://93.184.216.34/a'), null);

  // The DNS answer is checked on a real connection attempt: a loopback server that must see nothing.
  let hits = 0;
  const server = http.createServer((_req, res) => {
    hits++;
    res.end('secret');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  try {
    for (const host of ['loop.example', 'meta.example', 'lan.example', 'mapped.example', 'mixed.example']) {
      const url = `https://${host}:${port}/x`;
      assert.equal(guard.checkUrl(url), null, 'a name passes the URL check; its addresses are checked at connect time');
      const err = await new Promise<Error>((resolve) => {
        const req = http.get(`http://${host}:${port}/x`, { lookup: guard.lookupFor(url) as never }, () => resolve(new Error('connected')));
        req.on('error', resolve);
      });
      assert.equal(err.name, 'AddressRefusedError', `${host}: ${err.message}`);
    }
  } finally {
    server.close();
  }
  assert.equal(hits, 0, 'the loopback server was never reached');

  for (const [addr, kind] of [['127.0.0.1', 'loopback'], ['::1', 'loopback'], ['10.0.0.1', 'private'], ['172.31.255.255', 'private'], ['100.64.0.1', 'private'], ['169.254.169.254', 'link-local'], ['fe80::1', 'link-local'], ['fc00::1', 'private'], ['::', 'unspecified'], ['0.0.0.0', 'unspecified'], ['239.255.255.250', 'multicast'], ['ff02::1', 'multicast'], ['::ffff:8.8.8.8', 'translated'], ['64:ff9b::808:808', 'translated'], ['2002:7f00:1::', 'translated'], ['8.8.8.8', 'public'], ['2606:4700::1111', 'public']] as const) {
    assert.equal(classifyAddress(addr), kind, addr);
  }
});

test('local testing: http and loopback allowed, never Moonraker\'s host:port or this host\'s web server', () => {
  const guard = new AddressGuard({ serverUrl: 'http://127.0.0.1:4000', moonrakerUrl: 'http://127.0.0.1:7125' });
  assert.equal(guard.local, true);
  assert.equal(guard.checkUrl('http://127.0.0.1:4000/s3/bucket'), null);
  for (const url of ['http://127.0.0.1:7125/printer/gcode/script', 'http://localhost:7125/x', 'http://[::1]:7125/x', 'http://0.0.0.0:7125/x', 'http://127.0.0.1/printer/gcode/script', 'http://localhost/x']) {
    assert.notEqual(guard.checkUrl(url), null, url);
  }
});

test('upload URLs: a refused one is never cached or used; the cloud\'s expires is capped at 1 h', async () => {
  const clock = new FakeClock();
  let asked = 0;
  let url = 'https://s3.example/bucket';
  const polar = {
    serialNumber: 'S1',
    online: true,
    request: async () => {
      asked++;
      return { status: 'SUCCESS', type: 'idle', expires: 30 * 86_400, maxSize: 1000, contentType: 'image/jpeg', url, fields: {} };
    },
  } as unknown as PolarClient;
  const guard = new AddressGuard({ serverUrl: 'https://printer4.polar3d.com', moonrakerUrl: 'http://127.0.0.1:7125' });
  const cache = new UploadUrlCache(polar, clock, 1000, guard);
  await cache.get('idle');
  await cache.get('idle');
  assert.equal(asked, 1, 'cached');
  clock.advance(MAX_URL_LIFE_S * 1000);
  await cache.get('idle');
  assert.equal(asked, 2, 'renewed within the hour, not after 30 days');
  url = 'http://169.254.169.254/latest/meta-data';
  cache.clear();
  await assert.rejects(cache.get('idle'), /upload URL this printer does not use/);
  await assert.rejects(cache.get('idle'), /upload URL this printer does not use/);
  assert.equal(asked, 4, 'asked again each time: nothing cached');
});
