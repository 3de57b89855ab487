// AWS Signature Version 4 for S3 browser-based POST uploads: building a
// pre-signed POST policy, and verifying a submitted form the way S3 does
// (signature, expiry, every condition, no unlisted fields).
import { createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';

export interface S3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
}

export const ALGORITHM = 'AWS4-HMAC-SHA256';

const conditionSchema = z.union([
  z.record(z.string(), z.string()).refine((o) => Object.keys(o).length === 1, 'an exact-match condition has one field'),
  z.tuple([z.enum(['eq', 'starts-with']), z.string().startsWith('$'), z.string()]),
  z.tuple([z.literal('content-length-range'), z.number().int().nonnegative(), z.number().int().nonnegative()]),
]);
export type PolicyCondition = z.infer<typeof conditionSchema>;
const policySchema = z.object({ expiration: z.string(), conditions: z.array(conditionSchema) });
export type PolicyDocument = z.infer<typeof policySchema>;

/** 20260101T000000Z */
export function amzDate(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
}

function hmac(key: Buffer | string, data: string): Buffer {
  return createHmac('sha256', key).update(data, 'utf8').digest();
}

/** kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request") */
export function signingKey(secretAccessKey: string, date: string, region: string, service = 's3'): Buffer {
  return hmac(hmac(hmac(hmac('AWS4' + secretAccessKey, date), region), service), 'aws4_request');
}

/** Hex signature of the base64 policy (the policy string is what is signed). */
export function signPolicy(policyB64: string, secretAccessKey: string, date: string, region: string): string {
  return hmac(signingKey(secretAccessKey, date, region), policyB64).toString('hex');
}

export interface PresignInput {
  bucket: string;
  key: string;
  acl: string;
  contentType: string;
  maxSize: number;
  /** Expiry, seconds from `now`. */
  expiresSec: number;
  now: number;
}

/** Form fields in the order the printer must send them (file goes last, after these). */
export function presignPost(creds: S3Credentials, input: PresignInput): { fields: Record<string, string>; policy: PolicyDocument } {
  const date = amzDate(input.now);
  const credential = `${creds.accessKeyId}/${date.slice(0, 8)}/${creds.region}/s3/aws4_request`;
  const policy: PolicyDocument = {
    expiration: new Date(input.now + input.expiresSec * 1000).toISOString(),
    conditions: [
      { bucket: input.bucket },
      { key: input.key },
      { acl: input.acl },
      { 'Content-Type': input.contentType },
      ['content-length-range', 1, input.maxSize],
      { 'x-amz-algorithm': ALGORITHM },
      { 'x-amz-credential': credential },
      { 'x-amz-date': date },
    ],
  };
  const policyB64 = Buffer.from(JSON.stringify(policy), 'utf8').toString('base64');
  const fields: Record<string, string> = {
    key: input.key,
    bucket: input.bucket,
    acl: input.acl,
    'Content-Type': input.contentType,
    'X-Amz-Algorithm': ALGORITHM,
    'X-Amz-Credential': credential,
    'X-Amz-Date': date,
    Policy: policyB64,
    'X-Amz-Signature': signPolicy(policyB64, creds.secretAccessKey, date.slice(0, 8), creds.region),
  };
  return { fields, policy };
}

export interface S3Failure {
  ok: false;
  status: number;
  code: string;
  message: string;
}
const fail = (status: number, code: string, message: string): S3Failure => ({ ok: false, status, code, message });

export interface VerifiedPost {
  ok: true;
  policy: PolicyDocument;
  /** From content-length-range; [0, Infinity] when the policy has none. */
  minSize: number;
  maxSize: number;
}

/** Field names S3 never requires a policy condition for. */
const EXEMPT = new Set(['policy', 'x-amz-signature', 'file']);

/**
 * Verifies a POST form's fields (names lower-cased, values as sent) against
 * the credentials, like S3: signature, then expiry, then every condition,
 * then that every field is covered by a condition. `pathBucket` is the
 * bucket the form was posted to.
 */
export function verifyPostFields(
  creds: S3Credentials,
  pathBucket: string,
  fields: ReadonlyMap<string, string>,
  now: number,
): VerifiedPost | S3Failure {
  for (const name of ['policy', 'x-amz-algorithm', 'x-amz-credential', 'x-amz-date', 'x-amz-signature']) {
    if (!fields.has(name)) {
      return fail(400, 'InvalidArgument', `Bucket POST must contain a field named '${name}'.  If it is specified, please check the order of the fields.`);
    }
  }
  const policyB64 = fields.get('policy') as string;
  if (fields.get('x-amz-algorithm') !== ALGORITHM) return fail(400, 'InvalidArgument', `Unsupported x-amz-algorithm (only ${ALGORITHM})`);
  const scope = (fields.get('x-amz-credential') as string).split('/');
  if (scope.length !== 5 || !/^\d{8}$/.test(scope[1]) || scope[3] !== 's3' || scope[4] !== 'aws4_request') {
    return fail(400, 'AuthorizationQueryParametersError', 'Error parsing the X-Amz-Credential parameter; the credential is mal-formed.');
  }
  const [akid, date, region] = scope;
  if (akid !== creds.accessKeyId) return fail(403, 'InvalidAccessKeyId', 'The AWS Access Key Id you provided does not exist in our records.');
  if (region !== creds.region) return fail(400, 'AuthorizationQueryParametersError', `Error parsing the X-Amz-Credential parameter; the region '${region}' is wrong; expecting '${creds.region}'`);

  const expected = Buffer.from(signPolicy(policyB64, creds.secretAccessKey, date, region), 'utf8');
  const given = Buffer.from(fields.get('x-amz-signature') as string, 'utf8');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    return fail(403, 'SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided. Check your key and signing method.');
  }

  let policy: PolicyDocument;
  try {
    const parsed = policySchema.safeParse(JSON.parse(Buffer.from(policyB64, 'base64').toString('utf8')));
    if (!parsed.success) return fail(400, 'InvalidPolicyDocument', 'Invalid Policy: Invalid conditions.');
    policy = parsed.data;
  } catch {
    return fail(400, 'InvalidPolicyDocument', 'Invalid Policy: Invalid JSON.');
  }
  const expiration = Date.parse(policy.expiration);
  if (!Number.isFinite(expiration)) return fail(400, 'InvalidPolicyDocument', 'Invalid Policy: Invalid expiration.');
  if (expiration <= now) return fail(403, 'AccessDenied', 'Invalid according to Policy: Policy expired.');

  const covered = new Set<string>();
  let minSize = 0;
  let maxSize = Infinity;
  for (const cond of policy.conditions) {
    if (Array.isArray(cond)) {
      if (cond[0] === 'content-length-range') {
        minSize = cond[1];
        maxSize = cond[2];
        continue;
      }
      const name = cond[1].slice(1).toLowerCase();
      covered.add(name);
      const value = valueOf(name, fields, pathBucket);
      const ok = value !== undefined && (cond[0] === 'eq' ? value === cond[2] : value.startsWith(cond[2]));
      if (!ok || (name === 'bucket' && !bucketAgrees(fields, pathBucket))) return conditionFailed(cond[0], cond[1], cond[2]);
    } else {
      const [[rawName, expectedValue]] = Object.entries(cond);
      const name = rawName.toLowerCase();
      covered.add(name);
      if (valueOf(name, fields, pathBucket) !== expectedValue || (name === 'bucket' && !bucketAgrees(fields, pathBucket))) {
        return conditionFailed('eq', `$${rawName}`, expectedValue);
      }
    }
  }
  const extra = [...fields.keys()].filter((n) => !EXEMPT.has(n) && !n.startsWith('x-ignore-') && !covered.has(n));
  if (extra.length > 0) return fail(403, 'AccessDenied', `Invalid according to Policy: Extra input fields: ${extra.join(', ')}`);
  return { ok: true, policy, minSize, maxSize };
}

function conditionFailed(op: string, field: string, value: string): S3Failure {
  return fail(403, 'AccessDenied', `Invalid according to Policy: Policy Condition failed: ["${op}", "${field}", ${JSON.stringify(value)}]`);
}

/** The bucket is the one posted to; a `bucket` form field, if any, must agree with it. */
function valueOf(name: string, fields: ReadonlyMap<string, string>, pathBucket: string): string | undefined {
  return name === 'bucket' ? pathBucket : fields.get(name);
}

function bucketAgrees(fields: ReadonlyMap<string, string>, pathBucket: string): boolean {
  const field = fields.get('bucket');
  return field === undefined || field === pathBucket;
}
