// Small HTTP helpers shared by the emulator's endpoints.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomBytes } from 'node:crypto';

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body, (_k, v: unknown) => (Buffer.isBuffer(v) ? `<${v.length} bytes>` : v));
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

export function xmlEscape(s: string): string {
  return s.replace(/[<>&'"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c] as string);
}

/** S3-style error body: <Error><Code/><Message/>[extra]<RequestId/></Error>. */
export function s3ErrorXml(code: string, message: string, extra: Record<string, string> = {}): string {
  const parts = [`<Code>${xmlEscape(code)}</Code>`, `<Message>${xmlEscape(message)}</Message>`];
  for (const [k, v] of Object.entries(extra)) parts.push(`<${k}>${xmlEscape(v)}</${k}>`);
  parts.push(`<RequestId>${randomBytes(8).toString('hex').toUpperCase()}</RequestId>`);
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Error>${parts.join('')}</Error>`;
}

export function sendS3Error(
  res: ServerResponse,
  status: number,
  code: string,
  message: string,
  extra?: Record<string, string>,
  headers: Record<string, string> = {},
): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = s3ErrorXml(code, message, extra);
  res.writeHead(status, { 'Content-Type': 'application/xml', 'Content-Length': Buffer.byteLength(body), ...headers });
  res.end(body);
}

/** Reads a request body up to `limit` bytes (rejects beyond it). */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        reject(new Error(`body larger than ${limit} bytes`));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** Discards what is left of a request body; past `limit` bytes the connection is cut instead. */
export function drain(req: IncomingMessage, limit = 8 * 1024 * 1024): void {
  if (req.complete) return;
  let seen = 0;
  req.on('data', (c: Buffer) => {
    seen += c.length;
    if (seen > limit) req.socket.destroy();
  });
  req.resume();
}
