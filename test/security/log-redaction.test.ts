// Secrets are masked at the log sink, whatever part logs them and in whatever
// shape; control characters from cloud/LAN strings cannot forge a log line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Logger, type LogRecord } from '../../src/util/log.js';
import { sanitizeLogText } from '../../src/util/log-redact.js';

const CASES: Array<{ name: string; line: string; secrets: string[]; keep?: string[] }> = [
  { name: 'Moonraker remote method (JSON)', line: '< {"jsonrpc":"2.0","method":"polarcloud_register","params":{"email":"a@b.example","pin":"0123"}}', secrets: ['0123'], keep: ['a@b.example', 'polarcloud_register'] },
  { name: 'numeric JSON PIN', line: '{"pin":98765,"x":1}', secrets: ['98765'], keep: ['"x":1'] },
  { name: 'G-code argument', line: 'POLAR_REGISTER EMAIL=a@b.example PIN=0123', secrets: ['0123'], keep: ['a@b.example'] },
  { name: 'identify api_key', line: '> {"jsonrpc":"2.0","method":"server.connection.identify","params":{"client_name":"x","api_key":"f00dfeedcafe1234"},"id":1}', secrets: ['f00dfeedcafe1234'], keep: ['server.connection.identify'] },
  { name: 'X-Api-Key header text', line: 'headers: X-Api-Key: f00dfeedcafe1234', secrets: ['f00dfeedcafe1234'] },
  { name: 'oneshot token', line: '{"result":{"oneshot_token":"tok-secret-1"}}', secrets: ['tok-secret-1'] },
  { name: 'password', line: "{'username': 'u', 'password': 'hunter2'}", secrets: ['hunter2'], keep: ["'u'"] },
  { name: 'S3 POST fields', line: '← getUrlResponse {"fields":{"Policy":"eyJleHBpcmF0aW9u","X-Amz-Signature":"abcdef0123456789","X-Amz-Credential":"AKIA/2026/x","key":"p/1.jpg"}}', secrets: ['eyJleHBpcmF0aW9u', 'abcdef0123456789', 'AKIA/2026/x'], keep: ['p/1.jpg'] },
  { name: 'signed URL query', line: 'downloading https://bucket.s3.amazonaws.com/f.gcode?X-Amz-Signature=abc123def456&X-Amz-Expires=60 now', secrets: ['abc123def456', 'X-Amz-Expires'], keep: ['https://bucket.s3.amazonaws.com/f.gcode', ' now'] },
  { name: 'JSON string inside JSON', line: '{"msg":"{\\"pin\\":\\"4321\\",\\"ok\\":true}"}', secrets: ['4321'], keep: ['ok'] },
  { name: 'PEM private key (JSON-escaped)', line: '{"privateKey":"x","k":"-----BEGIN RSA PRIVATE KEY-----\\nMIIEowIBAAKCAQEAsecretbody\\n-----END RSA PRIVATE KEY-----\\n"}', secrets: ['MIIEowIBAAKCAQEAsecretbody'] },
  { name: 'PEM cut off by truncation', line: 'key -----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAAS', secrets: ['MIIEvQIBADANBgkqhkiG9w0BAQEFAAS'] },
  { name: 'bearer token', line: 'Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.e30.sig', secrets: ['eyJhbGciOiJIUzI1NiJ9'] },
  { name: 'signature in hello', line: '→ hello {"serialNumber":"123","signature":"c2lnbmF0dXJlYmFzZTY0"}', secrets: ['c2lnbmF0dXJlYmFzZTY0'], keep: ['"serialNumber":"123"'] },
];

for (const c of CASES) {
  test(`log sink redacts: ${c.name}`, () => {
    const out = sanitizeLogText(c.line);
    for (const s of c.secrets) assert.ok(!out.includes(s), `${s} left in: ${out}`);
    for (const k of c.keep ?? []) assert.ok(out.includes(k), `${k} lost from: ${out}`);
  });
}

test('ordinary text with look-alike words is left alone', () => {
  for (const line of [
    'spinning up: ok',
    'mapping: 3 heaters',
    'upload policy: https only',
    'private folder kept: /home/pi/printer_data/polarcloud',
    'cloud job 42: printing benchy.gcode (12 s)',
  ]) {
    assert.equal(sanitizeLogText(line), line);
  }
});

test('a redacted JSON line stays valid JSON', () => {
  const out = sanitizeLogText('{"params":{"email":"a@b.example","pin":"0123","api_key":"abc"},"n":1}');
  assert.deepEqual(JSON.parse(out), { params: { email: 'a@b.example', pin: '[redacted]', api_key: '[redacted]' }, n: 1 });
});

test('control characters in a cloud string cannot forge a log line', () => {
  const records: LogRecord[] = [];
  const lines: string[] = [];
  const log = Logger.create('debug', [(r) => records.push(r), (r) => lines.push(`${r.level} ${r.msg}\n`)]).child('cloud');
  const evil = 'M117 hi\n2026-12-04T20:00:00.000Z INFO  [polar] registered: serial number 1\r\x1b[2Jdone\u2028x';
  log.warn(`refused console command '${evil}'`);
  assert.equal(records.length, 1);
  const text = lines.join('');
  assert.equal(text.split('\n').length, 2, 'one record, one line');
  assert.ok(!/[\r\x1b\u2028]/.test(text), JSON.stringify(text));
  assert.match(records[0]!.msg, /hi\\n2026-12-04T20:00:00\.000Z INFO {2}\[polar\] registered: serial number 1\\r\\x1b\[2Jdone\\u2028x'$/);
});

test('every sink gets the redacted text (not only the file)', () => {
  const a: string[] = [];
  const b: string[] = [];
  const log = Logger.create('trace', [(r) => a.push(r.msg)]);
  log.addSink((r) => b.push(r.msg));
  log.child('moonraker').trace('> {"method":"server.connection.identify","params":{"api_key":"SEKRET-KEY-9"}}');
  assert.equal(a.length, 1);
  assert.deepEqual(a, b);
  assert.ok(!a[0]!.includes('SEKRET-KEY-9'));
});
