import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateRsaKeyPair, keysMatch, publicKeyOf, signChallenge, toSpkiPem, verifyChallenge } from '../../src/identity/keys.js';
import { IdentityStore } from '../../src/identity/identity-store.js';
import { writeFileAtomic } from '../../src/util/atomic-file.js';

const tmp = (): Promise<string> => mkdtemp(join(tmpdir(), 'pc-identity-'));

test('a generated key signs challenges the SPKI public key verifies', async () => {
  const pair = await generateRsaKeyPair();
  assert.match(pair.publicKey, /^-----BEGIN PUBLIC KEY-----/);
  const sig = signChallenge(pair.privateKey, 'challenge ✓ 1234');
  assert.equal(Buffer.from(sig, 'base64').length, 256);
  assert.ok(verifyChallenge(pair.publicKey, 'challenge ✓ 1234', sig));
  assert.ok(!verifyChallenge(pair.publicKey, 'challenge ✓ 1235', sig));
  assert.equal(publicKeyOf(pair.privateKey), pair.publicKey);
});

test('PKCS#1 key pairs from the cloud are accepted and checked for a match', () => {
  const a = generateKeyPairSync('rsa', { modulusLength: 2048, publicKeyEncoding: { type: 'pkcs1', format: 'pem' }, privateKeyEncoding: { type: 'pkcs1', format: 'pem' } });
  const b = generateKeyPairSync('rsa', { modulusLength: 2048, publicKeyEncoding: { type: 'pkcs1', format: 'pem' }, privateKeyEncoding: { type: 'pkcs1', format: 'pem' } });
  assert.match(a.publicKey, /BEGIN RSA PUBLIC KEY/);
  const spki = toSpkiPem(a.publicKey);
  assert.match(spki, /^-----BEGIN PUBLIC KEY-----/);
  assert.ok(keysMatch(spki, a.privateKey));
  assert.ok(!keysMatch(spki, b.privateKey));
  assert.ok(!keysMatch('garbage', a.privateKey));
});

test('short or non-RSA keys are refused', () => {
  const small = generateKeyPairSync('rsa', { modulusLength: 1024, publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } });
  assert.throws(() => toSpkiPem(small.publicKey), /too short/);
  const ec = generateKeyPairSync('ec', { namedCurve: 'prime256v1', publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } });
  assert.throws(() => toSpkiPem(ec.publicKey), /expected an RSA key/);
});

test('the private key is stored with mode 0600 in a 0700 data dir', async () => {
  const dir = join(await tmp(), 'data');
  const store = new IdentityStore(dir);
  await store.load();
  const pair = await generateRsaKeyPair();
  await store.saveKey(pair.privateKey);
  assert.equal((await stat(join(dir, 'private-key.pem'))).mode & 0o777, 0o600);
  assert.equal((await stat(dir)).mode & 0o777, 0o700);
  await store.saveSerial('KL000001', 'http://127.0.0.1:1', 'aa:bb:cc:dd:ee:ff');
  assert.equal((await stat(join(dir, 'identity.json'))).mode & 0o777, 0o600);

  const again = new IdentityStore(dir);
  await again.load();
  assert.equal(again.serialFor('http://127.0.0.1:1'), 'KL000001');
  assert.equal(again.serialFor('https://printer4.polar3d.com'), undefined, 'a serial belongs to its server');
  assert.equal(again.getPublicKey(), pair.publicKey);
  await again.clearSerial();
  assert.equal(again.serialFor('http://127.0.0.1:1'), undefined);
  assert.ok(again.hasKey, 'the key survives unregistering');
});

test('atomic replacement: readers see old or new, interrupted temp files are cleaned', async () => {
  const dir = await tmp();
  const file = join(dir, 'identity.json');
  await writeFileAtomic(file, 'old', { mode: 0o600 });
  // A crash mid-write leaves a temp file; the real file is untouched.
  const stale = join(dir, '.identity.json.123.abcd.tmp');
  await writeFile(stale, 'half');
  await utimes(stale, new Date(Date.now() - 3600_000), new Date(Date.now() - 3600_000));
  // A fresh one may be another process's write in progress: it is left alone.
  await writeFile(join(dir, '.identity.json.456.ef01.tmp'), 'in progress');
  assert.equal(await readFile(file, 'utf8'), 'old');
  const store = new IdentityStore(dir);
  await assert.rejects(store.load(), /not valid JSON/);
  assert.deepEqual((await readdir(dir)).sort(), ['.identity.json.456.ef01.tmp', 'identity.json'], 'only the stale temp file is removed');
  await rm(join(dir, '.identity.json.456.ef01.tmp'));
  await writeFileAtomic(file, '{"serialNumber":"KL9"}', { mode: 0o600 });
  assert.equal(await readFile(file, 'utf8'), '{"serialNumber":"KL9"}');
  assert.deepEqual(await readdir(dir), ['identity.json']);
});

test('a corrupt private key file is reported with its path', async () => {
  const dir = await tmp();
  await writeFile(join(dir, 'private-key.pem'), 'not a key');
  await assert.rejects(new IdentityStore(dir).load(), /private-key\.pem: not a readable private key/);
});
