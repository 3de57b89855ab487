// RSA identity with Node's built-in crypto. node-forge is deliberately not
// used: its pure-JS key generation takes seconds per key (far longer on a
// Pi) and it has had repeated high-severity advisories.
import { createPrivateKey, createPublicKey, generateKeyPair, randomBytes, sign, verify, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';

const generateKeyPairAsync = promisify(generateKeyPair);

export interface KeyPairPem {
  /** SPKI PEM (`BEGIN PUBLIC KEY`), the form sent to the cloud. */
  publicKey: string;
  /** PKCS#8 PEM (`BEGIN PRIVATE KEY`) when generated here; PKCS#1 kept as received from the cloud. */
  privateKey: string;
}

export async function generateRsaKeyPair(): Promise<KeyPairPem> {
  const { publicKey, privateKey } = await generateKeyPairAsync('rsa', {
    modulusLength: 2048,
    publicExponent: 0x10001,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  return { publicKey, privateKey };
}

/** Parses a private key PEM (PKCS#1 or PKCS#8); throws a readable error if it is not RSA ≥ 2048. */
export function parsePrivateKey(pem: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: pem, format: 'pem' });
  } catch (err) {
    throw new Error(`not a readable private key (${(err as Error).message})`);
  }
  checkRsa(key);
  return key;
}

/** Any public key PEM (SPKI or PKCS#1 `BEGIN RSA PUBLIC KEY`) → SPKI PEM. */
export function toSpkiPem(pem: string): string {
  let key: KeyObject;
  try {
    key = createPublicKey({ key: pem, format: 'pem' });
  } catch (err) {
    throw new Error(`not a readable public key (${(err as Error).message})`);
  }
  checkRsa(key);
  return key.export({ type: 'spki', format: 'pem' }).toString();
}

/** The SPKI public key belonging to a private key. */
export function publicKeyOf(privateKeyPem: string): string {
  return createPublicKey(parsePrivateKey(privateKeyPem)).export({ type: 'spki', format: 'pem' }).toString();
}

function checkRsa(key: KeyObject): void {
  if (key.asymmetricKeyType !== 'rsa') throw new Error(`expected an RSA key, got ${key.asymmetricKeyType ?? 'unknown'}`);
  const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
  if (bits < 2048) throw new Error(`RSA key too short (${bits} bits, need 2048)`);
}

/** Base64 RSA PKCS#1 v1.5 SHA-256 signature over the UTF-8 challenge (protocol §3.6). */
export function signChallenge(privateKeyPem: string, challenge: string): string {
  return sign('sha256', Buffer.from(challenge, 'utf8'), parsePrivateKey(privateKeyPem)).toString('base64');
}

export function verifyChallenge(publicKeyPem: string, challenge: string, signatureB64: string): boolean {
  try {
    return verify('sha256', Buffer.from(challenge, 'utf8'), createPublicKey(publicKeyPem), Buffer.from(signatureB64, 'base64'));
  } catch {
    return false;
  }
}

/** True when the private key signs what the public key verifies (checks a cloud-made pair). */
export function keysMatch(publicKeyPem: string, privateKeyPem: string): boolean {
  try {
    const probe = randomBytes(32).toString('hex');
    return verifyChallenge(publicKeyPem, probe, signChallenge(privateKeyPem, probe));
  } catch {
    return false;
  }
}
