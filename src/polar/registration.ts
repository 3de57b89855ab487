// Registration: a short-lived connection that makes sure the printer has a
// key, sends `register` with the owner's e-mail and PIN, and stores the serial
// number. The PIN is used for this one message and never stored or logged.
import type { Logger } from '../util/log.js';
import type { Clock } from '../util/clock.js';
import { errText } from '../util/log.js';
import type { IdentityStore } from '../identity/identity-store.js';
import { generateRsaKeyPair, keysMatch, toSpkiPem, type KeyPairPem } from '../identity/keys.js';
import { PolarConnection } from './connection.js';
import type { TransportFactory } from './transport.js';

export interface RegistrationOptions {
  serverUrl: string;
  identity: IdentityStore;
  transportFactory: TransportFactory;
  clock: Clock;
  log: Logger;
  mfg: string;
  mfgSn?: string | undefined;
  mac: string;
  replyTimeoutMs: number;
  wire?: boolean;
  /** Local key generation; the cloud's makeKeyPair is the fallback when it fails. */
  generateKey?: () => Promise<KeyPairPem>;
}

export class RegistrationError extends Error {
  constructor(readonly reason: string, message: string) {
    super(message);
    this.name = 'RegistrationError';
  }
}

/** A sentence a user can act on, for each registerResponse failure reason. */
export function registrationFailureMessage(reason: string | undefined, mfg: string, dataDir: string): string {
  switch (reason) {
    case 'EMAIL_PIN_ERROR':
      return 'The e-mail address and PIN do not match a Polar Cloud account. Check both on polar3d.com (your account settings show the PIN).';
    case 'MFG_MISSING':
      return 'The registration had no manufacturer code. Set polar.mfg in the config (use "kl" for Klipper printers).';
    case 'MFG_UNKNOWN':
      return `Polar Cloud does not know the manufacturer code "${mfg}" (polar.mfg). Use "kl" for Klipper printers.`;
    case 'FORBIDDEN':
      return 'Polar Cloud refused the registration: this printer may already belong to another account. Remove it from that account first.';
    case 'INVALID_KEY':
      return `Polar Cloud rejected this printer's public key. Delete ${dataDir}/private-key.pem so a new key is made, then register again.`;
    case 'SERVER_ERROR':
      return 'Polar Cloud had a server error while registering the printer. Try again in a few minutes.';
    default:
      return `Polar Cloud refused the registration (${reason ?? 'no reason given'}).`;
  }
}

export interface RegistrationResult {
  serialNumber: string;
  /** Milliseconds spent generating a key here, if one was generated. */
  keyGenerationMs: number | undefined;
  keySource: 'existing' | 'local' | 'cloud';
}

export async function registerPrinter(o: RegistrationOptions, email: string, pin: string): Promise<RegistrationResult> {
  const log = o.log;
  const conn = new PolarConnection(o.transportFactory(o.serverUrl), log, o.clock, o.wire ?? false);
  const welcome = conn.next('welcome', o.replyTimeoutMs);
  conn.open();
  try {
    // The welcome challenge is ignored during registration (protocol §1.1),
    // but it tells us the server is talking to us.
    await welcome.catch((err: unknown) => {
      throw new RegistrationError('CONNECT', `Could not reach Polar Cloud at ${o.serverUrl}: ${errText(err)}`);
    });
    const key = await ensureKey(o, conn);
    const pending = conn.next('registerResponse', o.replyTimeoutMs);
    log.info(`registering with Polar Cloud as ${email} (mfg ${o.mfg}, MAC ${o.mac})`);
    conn.send('register', {
      mfg: o.mfg,
      email,
      pin,
      publicKey: o.identity.getPublicKey(),
      myInfo: { MAC: o.mac },
      ...(o.mfgSn ? { mfgSn: o.mfgSn } : {}),
    });
    const res = await pending.catch((err: unknown) => {
      throw new RegistrationError('TIMEOUT', `Polar Cloud did not answer the registration: ${errText(err)}`);
    });
    if (res.status !== 'SUCCESS' || !res.serialNumber) {
      const reason = res.reason ?? (res.status === 'SUCCESS' ? 'NO_SERIAL' : undefined);
      throw new RegistrationError(reason ?? 'FAILED', registrationFailureMessage(reason, o.mfg, o.identity.dataDir));
    }
    await o.identity.saveSerial(res.serialNumber, o.serverUrl, o.mac);
    log.info(`registered: serial number ${res.serialNumber}`);
    return { serialNumber: res.serialNumber, ...key };
  } finally {
    // Protocol §1.1: disconnect after registering; the service reconnects with the new identity.
    conn.close();
  }
}

async function ensureKey(o: RegistrationOptions, conn: PolarConnection): Promise<Omit<RegistrationResult, 'serialNumber'>> {
  if (o.identity.hasKey) return { keyGenerationMs: undefined, keySource: 'existing' };
  const started = performance.now();
  try {
    const pair = await (o.generateKey ?? generateRsaKeyPair)();
    const ms = performance.now() - started;
    await o.identity.saveKey(pair.privateKey);
    o.log.info(`generated a 2048-bit RSA key in ${ms.toFixed(0)} ms`);
    return { keyGenerationMs: ms, keySource: 'local' };
  } catch (err) {
    o.log.warn(`local key generation failed (${errText(err)}); asking Polar Cloud for a key pair`);
  }
  const pending = conn.next('keyPair', o.replyTimeoutMs);
  conn.send('makeKeyPair', { type: 'RSA', bits: 2048 });
  const res = await pending.catch((err: unknown) => {
    throw new RegistrationError('KEYPAIR', `No key pair from Polar Cloud: ${errText(err)}`);
  });
  if (res.status === 'FAILED' || !res.public || !res.private) {
    throw new RegistrationError('KEYPAIR', `Polar Cloud could not make a key pair: ${res.message ?? 'no reason given'}`);
  }
  let publicKey: string;
  try {
    publicKey = toSpkiPem(res.public);
  } catch (err) {
    throw new RegistrationError('KEYPAIR', `Polar Cloud sent an unusable public key: ${errText(err)}`);
  }
  if (!keysMatch(publicKey, res.private)) {
    throw new RegistrationError('KEYPAIR', 'Polar Cloud sent a key pair whose public and private keys do not match; nothing was stored');
  }
  await o.identity.saveKey(res.private);
  o.log.info('stored the key pair made by Polar Cloud');
  return { keyGenerationMs: undefined, keySource: 'cloud' };
}
