// POST /s3/<bucket>: an S3 browser-POST endpoint as strict as the real one.
// Fields are checked (signature, expiry, policy conditions) as soon as the
// file part starts, before its bytes are read; the file must be the last part;
// its size must fit content-length-range. Memory stays bounded: only small
// bodies are kept, every upload is hashed while streaming.
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import busboy from 'busboy';
import type { EmulatorContext } from './context.js';
import { drain, sendS3Error } from './http-util.js';
import { verifyPostFields, type S3Failure } from './s3-post-policy.js';
import { MAX_KEPT_BODY, parseUploadKey } from './upload-store.js';

/** Bigger request bodies are refused before reading (the largest URL maxSize plus form overhead). */
export const MAX_POST_BYTES = 1024 * 1024 * 1024 + 1024 * 1024;

type Failure = Omit<S3Failure, 'ok'> & { extra?: Record<string, string> };
const failure = (status: number, code: string, message: string, extra?: Record<string, string>): Failure => ({ status, code, message, extra });

export function handleS3Post(ctx: EmulatorContext, req: IncomingMessage, res: ServerResponse, bucket: string): void {
  const path = `/s3/${bucket}`;
  let settled = false;
  const reject = (f: Failure, key?: string): void => {
    if (settled) return;
    settled = true;
    ctx.events.record({ kind: 'upload-rejected', name: path, reason: `${f.code}: ${f.message}`, payload: { key, status: f.status } });
    ctx.log.warn(`upload to ${path} rejected: ${f.status} ${f.code}: ${f.message}`);
    sendS3Error(res, f.status, f.code, f.message, f.extra);
    drain(req);
  };

  const outage = ctx.settings.uploadFault;
  if (outage && req.method === 'POST') {
    if (--outage.times <= 0) ctx.settings.uploadFault = undefined;
    const { status, code, message } = outage.fault;
    return reject(failure(status, code ?? (status === 503 ? 'ServiceUnavailable' : 'InternalError'), message ?? 'Injected fault (emulator control: faultUploads).'));
  }
  if (req.method !== 'POST') return reject(failure(405, 'MethodNotAllowed', 'The specified method is not allowed against this resource.'));
  if (bucket !== ctx.s3.bucket) return reject(failure(404, 'NoSuchBucket', 'The specified bucket does not exist', { BucketName: bucket }));
  if (req.headers['transfer-encoding'] !== undefined) {
    return reject(failure(501, 'NotImplemented', 'A header you provided implies functionality that is not implemented', { Header: 'Transfer-Encoding' }));
  }
  const declared = req.headers['content-length'];
  if (declared === undefined) return reject(failure(411, 'MissingContentLength', 'You must provide the Content-Length HTTP header.'));
  if (Number(declared) > MAX_POST_BYTES) {
    return reject(failure(400, 'EntityTooLarge', 'Your proposed upload exceeds the maximum allowed size', { MaxSizeAllowed: String(MAX_POST_BYTES) }));
  }
  if (!/^multipart\/form-data\s*;.*boundary=/i.test(req.headers['content-type'] ?? '')) {
    return reject(failure(412, 'PreconditionFailed', 'Bucket POST must be of the enclosure-type multipart/form-data', { Condition: 'Bucket POST must be of the enclosure-type multipart/form-data' }));
  }

  let bb: busboy.Busboy;
  try {
    bb = busboy({ headers: req.headers, limits: { fields: 50, parts: 60, fieldSize: 64 * 1024, fieldNameSize: 256, fileSize: MAX_POST_BYTES } });
  } catch {
    return reject(failure(400, 'MalformedPOSTRequest', 'The body of your POST request is not well-formed multipart/form-data.'));
  }
  const fields = new Map<string, string>();
  let fileSeen = false;
  let refused: Failure | undefined;
  let key: string | undefined;
  let upload: { size: number; sha256: string; body?: Buffer; contentType: string; minSize: number } | undefined;

  const stop = (f: Failure): void => {
    req.unpipe(bb);
    bb.removeAllListeners();
    bb.on('error', () => undefined);
    reject(f, key);
  };
  const afterFile = failure(400, 'InvalidArgument', 'The file field must be the last field of the form: nothing may follow it.');
  const malformed = failure(400, 'MalformedPOSTRequest', 'The body of your POST request is not well-formed multipart/form-data.');

  bb.on('field', (name, value, info) => {
    if (fileSeen) return stop(afterFile);
    const lower = name.toLowerCase();
    if (lower === 'file') {
      return stop(failure(400, 'InvalidArgument', 'POST requires exactly one file upload per request (the file part needs a filename).'));
    }
    if (info.valueTruncated || info.nameTruncated) return stop(failure(400, 'InvalidArgument', `Form field '${name.slice(0, 64)}' is too long`));
    if (fields.has(lower)) return stop(failure(400, 'InvalidArgument', `Bucket POST can only contain one field named '${name}'`));
    fields.set(lower, value);
  });

  bb.on('file', (name, stream, info) => {
    if (fileSeen) {
      stream.resume();
      return stop(afterFile);
    }
    fileSeen = true;
    if (name.toLowerCase() !== 'file') {
      stream.resume();
      return stop(failure(400, 'InvalidArgument', `POST requires exactly one file upload per request, in a field named 'file' (got '${name}')`));
    }
    key = fields.get('key');
    // A refused form is answered once the body has been read, so that a part after
    // the file (the likelier mistake) is reported as such rather than as a missing field.
    const verified = verifyPostFields(ctx.s3, bucket, fields, ctx.now());
    if (!verified.ok) {
      refused = verified;
      stream.resume();
      return;
    }
    // The part's own type must agree with the Content-Type the policy pinned.
    const fieldType = fields.get('content-type');
    if (fieldType !== undefined && info.mimeType !== fieldType) {
      refused = failure(403, 'AccessDenied', `Invalid according to Policy: Policy Condition failed: ["eq", "$Content-Type", ${JSON.stringify(fieldType)}] (file part is ${info.mimeType})`);
      stream.resume();
      return;
    }
    const hash = createHash('sha256');
    const kept: Buffer[] = [];
    let size = 0;
    stream.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > verified.maxSize) {
        stream.resume();
        return stop(failure(400, 'EntityTooLarge', 'Your proposed upload exceeds the maximum allowed size', { ProposedSize: String(size), MaxSizeAllowed: String(verified.maxSize) }));
      }
      hash.update(chunk);
      if (size <= MAX_KEPT_BODY) kept.push(chunk);
    });
    stream.on('limit', () => stop(failure(400, 'EntityTooLarge', 'Your proposed upload exceeds the maximum allowed size')));
    stream.on('end', () => {
      if (settled) return;
      upload = {
        size,
        sha256: hash.digest('hex'),
        body: size <= MAX_KEPT_BODY ? Buffer.concat(kept) : undefined,
        contentType: fieldType ?? info.mimeType,
        minSize: verified.minSize,
      };
    });
  });

  bb.on('partsLimit', () => stop(failure(400, 'InvalidArgument', 'Too many parts in the form')));
  bb.on('fieldsLimit', () => stop(failure(400, 'InvalidArgument', 'Too many fields in the form')));
  bb.on('filesLimit', () => stop(afterFile));
  bb.on('error', () => stop(malformed));
  bb.on('close', () => {
    if (settled) return;
    if (!fileSeen) return stop(failure(400, 'InvalidArgument', 'POST requires exactly one file upload per request.'));
    if (refused) return stop(refused);
    if (!upload || key === undefined) return stop(malformed);
    if (upload.size < upload.minSize) {
      return stop(failure(400, 'EntityTooSmall', 'Your proposed upload is smaller than the minimum allowed size', { ProposedSize: String(upload.size), MinSizeAllowed: String(upload.minSize) }));
    }
    settled = true;
    const rec = ctx.uploads.add({
      time: ctx.now(),
      bucket,
      key,
      contentType: upload.contentType,
      size: upload.size,
      sha256: upload.sha256,
      body: upload.body,
      ...parseUploadKey(key),
    });
    ctx.events.record({
      kind: 'upload',
      name: path,
      serialNumber: rec.serialNumber,
      payload: { seq: rec.seq, key, size: rec.size, contentType: rec.contentType, sha256: rec.sha256 },
    });
    ctx.log.info(`upload ${key} (${rec.size} bytes) accepted`);
    const etag = `"${createHash('md5').update(upload.body ?? Buffer.from(upload.sha256)).digest('hex')}"`;
    res.writeHead(204, { ETag: etag, Location: `${ctx.baseUrl}/s3/${bucket}/${key}` });
    res.end();
  });
  req.on('aborted', () => {
    if (!settled) {
      settled = true;
      ctx.events.record({ kind: 'upload-rejected', name: path, reason: 'client aborted', payload: { key } });
    }
  });
  req.pipe(bb);
}
