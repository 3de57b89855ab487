import assert from 'node:assert/strict';
import { createPublicKey } from 'node:crypto';
import { after, before, beforeEach, describe, it } from 'node:test';
import { startPolarEmulator, type PolarEmulator } from '../../src/emulator/index.js';
import { connectAuthenticated, makeKeys, RawPrinter, register, sign } from './raw-printer.js';

const keys = makeKeys();
const otherKeys = makeKeys();

describe('emulator registration and hello', () => {
  let emu: PolarEmulator;
  const printers: RawPrinter[] = [];
  const open = (): RawPrinter => {
    const p = new RawPrinter(emu.url);
    printers.push(p);
    return p;
  };
  const registerMsg = (over: Record<string, unknown> = {}): Record<string, unknown> => ({
    mfg: 'kl',
    email: 'owner@example.com',
    pin: '1234',
    publicKey: keys.publicKey,
    myInfo: { MAC: '02:00:00:00:00:01' },
    ...over,
  });

  before(async () => {
    emu = await startPolarEmulator({ accounts: [{ email: 'owner@example.com', pin: '1234' }] });
  });
  beforeEach(() => {
    for (const p of printers.splice(0)) p.close();
    emu.control.reset();
  });
  after(async () => {
    for (const p of printers) p.close();
    await emu.stop();
  });

  it('sends a random challenge on connect', async () => {
    const a = open();
    const b = open();
    const [ca, cb] = [await a.welcome(), await b.welcome()];
    assert.match(ca, /^[0-9a-f]{32}$/);
    assert.notEqual(ca, cb);
  });

  it('registers, gives the same serial to the same MAC and replaces the key', async () => {
    const p = open();
    await p.welcome();
    p.emit('register', registerMsg());
    const res = (await p.next('registerResponse')) as Record<string, unknown>;
    assert.deepEqual(res, { status: 'SUCCESS', serialNumber: 'KL000001', reason: 'SUCCESS' });
    // Same MAC in another spelling, new key: same serial, new key stored.
    p.emit('register', registerMsg({ publicKey: otherKeys.publicKey, myInfo: { MAC: '02.00.00.00.00.01' } }));
    assert.equal(((await p.next('registerResponse')) as { serialNumber: string }).serialNumber, 'KL000001');
    assert.equal(emu.control.printer('KL000001')?.publicKey, otherKeys.publicKey);
    p.emit('register', registerMsg({ myInfo: { MAC: '02:00:00:00:00:02' } }));
    assert.equal(((await p.next('registerResponse')) as { serialNumber: string }).serialNumber, 'KL000002');
    assert.deepEqual(emu.control.violations(), []);
  });

  it('answers each documented register failure', async () => {
    const p = open();
    await p.welcome();
    const reasonFor = async (msg: Record<string, unknown>): Promise<string> => {
      p.emit('register', msg);
      const res = (await p.next('registerResponse')) as { status: string; reason: string; serialNumber?: string };
      assert.equal(res.status, 'FAILED');
      assert.equal(res.serialNumber, undefined);
      return res.reason;
    };
    assert.equal(await reasonFor(registerMsg({ mfg: undefined })), 'MFG_MISSING');
    assert.equal(await reasonFor(registerMsg({ mfg: 'acme' })), 'MFG_UNKNOWN');
    assert.equal(await reasonFor(registerMsg({ pin: '9999' })), 'EMAIL_PIN_ERROR');
    assert.equal(await reasonFor(registerMsg({ email: 'someone@example.com' })), 'EMAIL_PIN_ERROR');
    assert.equal(await reasonFor(registerMsg({ publicKey: 'not a key' })), 'INVALID_KEY');
    assert.equal(await reasonFor(registerMsg({ publicKey: keys.privateKey })), 'INVALID_KEY', 'a private key is not a public key');
    assert.equal(await reasonFor(registerMsg({ publicKey: makeKeys(1024).publicKey })), 'INVALID_KEY', '1024-bit keys are too small');
    emu.control.failNextRegister('FORBIDDEN');
    assert.equal(await reasonFor(registerMsg()), 'FORBIDDEN');
    emu.control.failNextRegister('SERVER_ERROR');
    assert.equal(await reasonFor(registerMsg()), 'SERVER_ERROR');
    // One-shot: the next one succeeds again.
    p.emit('register', registerMsg());
    assert.equal(((await p.next('registerResponse')) as { status: string }).status, 'SUCCESS');
    // A missing mfg is answered and recorded as a violation.
    assert.equal(emu.control.violations().length, 1);
  });

  it('accepts PKCS#1 public keys and test/op manufacturers', async () => {
    const p = open();
    await p.welcome();
    p.emit('register', registerMsg({ mfg: 'TEST', publicKey: makeKeys(2048, 'pkcs1').publicKey }));
    assert.equal(((await p.next('registerResponse')) as { status: string }).status, 'SUCCESS');
  });

  it('masks the PIN and private keys in the event log', async () => {
    const p = open();
    await p.welcome();
    p.emit('register', registerMsg());
    await p.next('registerResponse');
    p.emit('makeKeyPair', { type: 'RSA', bits: 2048 });
    await p.next('keyPair');
    const inReg = emu.control.events().find((e) => e.kind === 'in' && e.name === 'register');
    assert.equal((inReg?.payload as { pin: string }).pin, '***');
    const outKey = emu.control.events().find((e) => e.kind === 'out' && e.name === 'keyPair');
    assert.equal((outKey?.payload as { private: string }).private, '***');
    assert.ok(!JSON.stringify(emu.control.events()).includes('BEGIN RSA PRIVATE KEY'));
  });

  it('makes a PKCS#1 key pair that registers and signs', async () => {
    const p = open();
    const challenge = await p.welcome();
    p.emit('makeKeyPair', { type: 'RSA', bits: 2048 });
    const pair = (await p.next('keyPair', 10_000)) as { status: string; public: string; private: string };
    assert.equal(pair.status, 'SUCCESS');
    assert.match(pair.public, /^-----BEGIN RSA PUBLIC KEY-----\n/);
    assert.match(pair.private, /^-----BEGIN RSA PRIVATE KEY-----\n/);
    p.emit('register', registerMsg({ publicKey: pair.public }));
    const { serialNumber } = (await p.next('registerResponse')) as { serialNumber: string };
    p.emit('hello', { serialNumber, signature: sign(pair.private, challenge), protocol: '2' });
    assert.equal(((await p.next('helloResponse')) as { status: string }).status, 'SUCCESS');
  });

  it('can fail makeKeyPair or answer with a mismatched pair', async () => {
    const p = open();
    await p.welcome();
    emu.control.setKeyPairBehavior('fail');
    p.emit('makeKeyPair', { type: 'RSA', bits: 2048 });
    assert.equal(((await p.next('keyPair')) as { status: string }).status, 'FAILED');
    emu.control.setKeyPairBehavior('mismatch');
    p.emit('makeKeyPair', { type: 'RSA', bits: 2048 });
    const pair = (await p.next('keyPair', 10_000)) as { public: string; private: string };
    const derived = createPublicKey(pair.private).export({ type: 'pkcs1', format: 'pem' });
    assert.notEqual(derived, pair.public);
    p.emit('makeKeyPair', { type: 'RSA', bits: 4096 });
    assert.equal(((await p.next('keyPair')) as { status: string }).status, 'FAILED');
    assert.match(emu.control.violations()[0]?.reason ?? '', /bits/);
  });

  it('says SUCCESS to a correctly signed hello and stores its fields', async () => {
    const serial = await register(emu, keys);
    const p = await connectAuthenticated(emu, serial, keys);
    printers.push(p);
    const info = emu.control.printer(serial);
    assert.equal(info?.authenticated, true);
    assert.equal(info?.connections, 1);
    assert.equal(info?.hello?.protocol, '2');
    assert.equal(info?.hello?.signature, undefined);
  });

  it('says FAILED to a bad signature and closes the socket', async () => {
    const serial = await register(emu, keys);
    const p = open();
    const challenge = await p.welcome();
    p.emit('hello', { serialNumber: serial, signature: sign(otherKeys.privateKey, challenge), protocol: '2' });
    assert.equal(((await p.next('helloResponse')) as { status: string }).status, 'FAILED');
    assert.equal(await p.waitDisconnect(), 'io server disconnect');
    assert.equal(emu.control.printer(serial)?.authenticated, false);
  });

  it('says FAILED to a hello signed over another challenge', async () => {
    const serial = await register(emu, keys);
    const p = open();
    await p.welcome();
    p.emit('hello', { serialNumber: serial, signature: sign(keys.privateKey, 'not the challenge'), protocol: '2' });
    assert.equal(((await p.next('helloResponse')) as { status: string }).status, 'FAILED');
  });

  it('says FAILED to a hello with missing fields and records why', async () => {
    const serial = await register(emu, keys);
    const p = open();
    const challenge = await p.welcome();
    p.emit('hello', { serialNumber: serial, signature: sign(keys.privateKey, challenge) });
    const res = (await p.next('helloResponse')) as { status: string; message: string };
    assert.equal(res.status, 'FAILED');
    assert.match(res.message, /protocol/);
    assert.match(emu.control.violations()[0]?.reason ?? '', /protocol/);
  });

  it('says DELETED to unknown serials', async () => {
    const p = open();
    const challenge = await p.welcome();
    p.emit('hello', { serialNumber: 'KL999999', signature: sign(keys.privateKey, challenge), protocol: '2' });
    assert.equal(((await p.next('helloResponse')) as { status: string }).status, 'DELETED');
    assert.equal(await p.waitDisconnect(), 'io server disconnect');
  });

  it('deletePrinter sends delete, and later hellos get DELETED until the printer registers again', async () => {
    const serial = await register(emu, keys);
    const p = await connectAuthenticated(emu, serial, keys);
    printers.push(p);
    assert.equal(emu.control.deletePrinter(serial), true);
    assert.deepEqual(await p.next('delete'), { serialNumber: serial });
    assert.equal(emu.control.printer(serial)?.deleted, true);
    await assert.rejects(connectAuthenticated(emu, serial, keys), /DELETED/);
    assert.equal(await register(emu, keys), serial);
    printers.push(await connectAuthenticated(emu, serial, keys));
  });

  it('failNextHellos fails exactly n hellos', async () => {
    const serial = await register(emu, keys);
    emu.control.failNextHellos(2);
    await assert.rejects(connectAuthenticated(emu, serial, keys), /FAILED/);
    await assert.rejects(connectAuthenticated(emu, serial, keys), /FAILED/);
    printers.push(await connectAuthenticated(emu, serial, keys));
  });

  it('unregister answers, deletes the printer and ends the authentication', async () => {
    const serial = await register(emu, keys);
    const p = await connectAuthenticated(emu, serial, keys);
    printers.push(p);
    p.emit('unregister', { serialNumber: serial });
    assert.deepEqual(await p.next('unregisterResponse'), { serialNumber: serial, status: 'SUCCESS', message: 'Printer unregister successful' });
    assert.equal(emu.control.printer(serial)?.deleted, true);
    p.emit('status', { serialNumber: serial, status: 0 });
    await emu.control.waitFor((e) => e.kind === 'violation' && e.reason === 'command before valid hello');
    await assert.rejects(connectAuthenticated(emu, serial, keys), /DELETED/);
  });

  it('addPrinter provisions a printer without a socket', async () => {
    const info = emu.control.addPrinter({ publicKey: keys.publicKey });
    assert.match(info.serialNumber, /^KL\d{6}$/);
    printers.push(await connectAuthenticated(emu, info.serialNumber, keys));
    assert.throws(() => emu.control.addPrinter({ publicKey: 'junk' }), /invalid public key/);
  });
});

describe('emulator without accounts', () => {
  it('accepts any email and PIN, and uses the configured serial prefix', async () => {
    const emu = await startPolarEmulator({ serialPrefix: 'TS', manufacturers: ['acme'] });
    try {
      assert.equal(await register(emu, keys, '02:00:00:00:00:09', { mfg: 'acme', email: 'x@y.z', pin: '0' }), 'TS000001');
    } finally {
      await emu.stop();
    }
  });
});
