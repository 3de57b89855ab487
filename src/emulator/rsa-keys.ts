// RSA key handling on the cloud side: checking registered public keys,
// verifying hello signatures, and generating key pairs for makeKeyPair.
import { createPublicKey, createVerify, generateKeyPair, type KeyObject } from 'node:crypto';

export const MIN_RSA_BITS = 2048;
const PUBLIC_PEM = /^\s*-----BEGIN (RSA )?PUBLIC KEY-----\r?\n[\s\S]+-----END (RSA )?PUBLIC KEY-----\s*$/;

export type KeyCheck = { ok: true; key: KeyObject } | { ok: false; reason: string };

/**
 * Accepts only a PEM public key (SPKI `BEGIN PUBLIC KEY` or PKCS#1 `BEGIN RSA PUBLIC KEY`)
 * of an RSA key with at least 2048 bits. A private key or certificate is refused even
 * though node could derive a public key from it.
 */
export function checkPublicKey(pem: string): KeyCheck {
  const m = PUBLIC_PEM.exec(pem);
  if (!m) return { ok: false, reason: 'not a PEM public key' };
  if ((m[1] ?? '') !== (m[2] ?? '')) return { ok: false, reason: 'mismatched PEM armor' };
  let key: KeyObject;
  try {
    key = createPublicKey({ key: pem, format: 'pem' });
  } catch {
    return { ok: false, reason: 'unparseable public key' };
  }
  if (key.asymmetricKeyType !== 'rsa') return { ok: false, reason: `not an RSA key (${key.asymmetricKeyType ?? 'unknown'})` };
  const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
  if (bits < MIN_RSA_BITS) return { ok: false, reason: `RSA key too small (${bits} bits)` };
  return { ok: true, key };
}

/** RSA PKCS#1 v1.5 with SHA-256 over the UTF-8 challenge; signature in base64. */
export function verifyChallenge(publicKeyPem: string, challenge: string, signatureB64: string): boolean {
  // Strict base64: node's decoder silently skips junk, which would accept mangled signatures.
  const compact = signatureB64.replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(compact) || compact.length % 4 !== 0) return false;
  try {
    const v = createVerify('RSA-SHA256');
    v.update(challenge, 'utf8');
    return v.verify(publicKeyPem, Buffer.from(compact, 'base64'));
  } catch {
    return false;
  }
}

export interface PemKeyPair {
  public: string;
  private: string;
}

/** A 2048-bit RSA pair as PKCS#1 PEM, like the protocol's keyPair example. */
export function makeRsaKeyPair(bits = MIN_RSA_BITS): Promise<PemKeyPair> {
  return new Promise((resolve, reject) => {
    generateKeyPair(
      'rsa',
      {
        modulusLength: bits,
        publicKeyEncoding: { type: 'pkcs1', format: 'pem' },
        privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
      },
      (err, publicKey, privateKey) => (err ? reject(err) : resolve({ public: publicKey, private: privateKey })),
    );
  });
}
