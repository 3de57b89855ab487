import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkDownloadUrl, type UrlPolicy } from '../../src/cloudprint/url-policy.js';

const POLICY: UrlPolicy = { serverUrl: 'http://127.0.0.1:8080', allowHttpHosts: ['files.local', 'NAS.Example.org'] };

interface Case {
  name: string;
  url: string;
  base?: string;
  policy?: UrlPolicy;
  /** Expected resolved href, or a RegExp the refusal reason must match. */
  want: string | RegExp;
}

function run(cases: readonly Case[]): void {
  for (const c of cases) {
    const got = checkDownloadUrl(c.url, c.policy ?? POLICY, c.base === undefined ? undefined : new URL(c.base));
    if (typeof c.want === 'string') {
      assert.ok(got.ok, `${c.name}: expected ok, got ${JSON.stringify(got)}`);
      assert.equal(got.url.href, c.want, c.name);
    } else {
      assert.ok(!got.ok, `${c.name}: expected a refusal, got ${got.ok ? got.url.href : ''}`);
      assert.match(got.reason, c.want, c.name);
    }
  }
}

test('url policy: https is always accepted', () => {
  run([
    { name: 'https', url: 'https://cdn.polar3d.com/f/benchy.gcode?sig=abc', want: 'https://cdn.polar3d.com/f/benchy.gcode?sig=abc' },
    { name: 'https with port', url: 'https://example.com:8443/x', want: 'https://example.com:8443/x' },
    { name: 'HTTPS upper case scheme', url: 'HTTPS://Example.COM/x', want: 'https://example.com/x' },
    { name: 'https even with an empty allow list', url: 'https://a.b/c', policy: { serverUrl: 'https://polar3d.com', allowHttpHosts: [] }, want: 'https://a.b/c' },
  ]);
});

test('url policy: plain http only from the server host or listed hosts', () => {
  run([
    { name: 'server host', url: 'http://127.0.0.1:8080/files/1.gcode', want: 'http://127.0.0.1:8080/files/1.gcode' },
    { name: 'server host, other port', url: 'http://127.0.0.1:9999/x', want: 'http://127.0.0.1:9999/x' },
    { name: 'listed host', url: 'http://files.local/x.gcode', want: 'http://files.local/x.gcode' },
    { name: 'listed host, case-insensitive (url)', url: 'http://FILES.LOCAL/x', want: 'http://files.local/x' },
    { name: 'listed host, case-insensitive (list)', url: 'http://nas.example.org/x', want: 'http://nas.example.org/x' },
    {
      name: 'server URL host, case-insensitive',
      url: 'http://polar.lan/x',
      policy: { serverUrl: 'https://POLAR.lan', allowHttpHosts: [] },
      want: 'http://polar.lan/x',
    },
  ]);
});

test('url policy: plain http elsewhere is refused, naming the setting that allows it', () => {
  run([
    { name: 'other host', url: 'http://example.com/x.gcode', want: /cloud_print\.allow_http_hosts/ },
    { name: 'reason names the host', url: 'http://evil.example/x', want: /evil\.example/ },
    { name: 'subdomain of a listed host', url: 'http://a.files.local/x', want: /allow_http_hosts/ },
    { name: 'suffix trick', url: 'http://files.local.evil.com/x', want: /allow_http_hosts/ },
    { name: 'localhost is not 127.0.0.1', url: 'http://localhost:8080/x', want: /allow_http_hosts/ },
    {
      name: 'invalid server URL allows nothing extra',
      url: 'http://127.0.0.1/x',
      policy: { serverUrl: 'not a url', allowHttpHosts: [] },
      want: /allow_http_hosts/,
    },
  ]);
});

test('url policy: other schemes are refused', () => {
  run([
    { name: 'ftp', url: 'ftp://files.local/x.gcode', want: /ftp: URLs are not accepted/ },
    { name: 'file', url: 'file:///etc/passwd', want: /file: URLs are not accepted/ },
    { name: 'data', url: 'data:text/plain,G28', want: /data: URLs are not accepted/ },
    { name: 'javascript', url: 'javascript:alert(1)', want: /javascript: URLs are not accepted/ },
    { name: 'ws', url: 'ws://127.0.0.1:8080/x', want: /ws: URLs are not accepted/ },
  ]);
});

test('url policy: credentials in the URL are refused, even over https', () => {
  run([
    { name: 'user and password', url: 'https://user:pass@example.com/x', want: /credentials/ },
    { name: 'user only', url: 'https://user@example.com/x', want: /credentials/ },
    { name: 'password only', url: 'http://:secret@127.0.0.1:8080/x', want: /credentials/ },
  ]);
});

test('url policy: invalid URLs are refused', () => {
  run([
    { name: 'empty', url: '', want: /not a valid URL/ },
    { name: 'relative without base', url: '/files/x.gcode', want: /not a valid URL/ },
    { name: 'garbage', url: 'http://', want: /not a valid URL/ },
    { name: 'bad port', url: 'https://example.com:99999/x', want: /not a valid URL/ },
  ]);
});

test('url policy: redirects resolve against the previous URL and are re-checked', () => {
  run([
    { name: 'relative path', url: '/b/file.gcode', base: 'http://127.0.0.1:8080/a/start', want: 'http://127.0.0.1:8080/b/file.gcode' },
    { name: 'relative sibling', url: 'file.gcode?x=1', base: 'https://cdn.example.com/a/start', want: 'https://cdn.example.com/a/file.gcode?x=1' },
    { name: 'protocol-relative keeps https', url: '//other.example.com/x', base: 'https://cdn.example.com/a', want: 'https://other.example.com/x' },
    { name: 'https to https elsewhere', url: 'https://other.example.com/x', base: 'https://cdn.example.com/a', want: 'https://other.example.com/x' },
    { name: 'https to http of a listed host', url: 'http://files.local/x', base: 'https://cdn.example.com/a', want: 'http://files.local/x' },
    { name: 'https to http of a non-allowed host', url: 'http://cdn.example.com/x', base: 'https://cdn.example.com/a', want: /allow_http_hosts/ },
    { name: 'protocol-relative from http to a non-allowed host', url: '//evil.example/x', base: 'http://127.0.0.1:8080/a', want: /allow_http_hosts/ },
    { name: 'redirect to ftp', url: 'ftp://127.0.0.1/x', base: 'http://127.0.0.1:8080/a', want: /ftp: URLs are not accepted/ },
    { name: 'redirect adding credentials', url: 'https://u:p@cdn.example.com/x', base: 'https://cdn.example.com/a', want: /credentials/ },
  ]);
});
