// Masks secrets in protocol payloads before they reach a log line: the PIN,
// private keys, signatures, and pre-signed upload fields/URLs.
const SECRET_KEYS = new Set(['pin', 'private', 'privateKey', 'signature', 'Policy', 'X-Amz-Signature', 'X-Amz-Credential', 'fields']);

export function redactPayload(value: unknown, depth = 0): unknown {
  if (depth > 6) return '…';
  if (Array.isArray(value)) return value.slice(0, 50).map((v) => redactPayload(v, depth + 1));
  if (typeof value !== 'object' || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    if (SECRET_KEYS.has(k)) out[k] = '[redacted]';
    else if (k === 'publicKey' && typeof v === 'string') out[k] = `[${v.length} chars]`;
    else if (typeof v === 'string' && /^https?:\/\/.*[?]/.test(v)) out[k] = v.replace(/\?.*$/, '?…');
    else out[k] = redactPayload(v, depth + 1);
  }
  return out;
}
