import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { amzDate, presignPost, signPolicy, verifyPostFields, type S3Credentials } from '../../src/emulator/s3-post-policy.js';

const creds: S3Credentials = { accessKeyId: 'AKIDTEST', secretAccessKey: 'secret/key+1', region: 'us-east-1' };
const NOW = Date.UTC(2026, 0, 2, 3, 4, 5);

function presigned(maxSize = 1000): Map<string, string> {
  const { fields } = presignPost(creds, {
    bucket: 'bkt',
    key: 'files/printer/KL000001/idle/snapshot.jpg',
    acl: 'public-read',
    contentType: 'image/jpeg',
    maxSize,
    expiresSec: 3600,
    now: NOW,
  });
  return new Map(Object.entries(fields).map(([k, v]) => [k.toLowerCase(), v]));
}

function withPolicy(policy: unknown, extra: Record<string, string> = {}): Map<string, string> {
  const b64 = Buffer.from(JSON.stringify(policy)).toString('base64');
  return new Map([
    ['policy', b64],
    ['x-amz-algorithm', 'AWS4-HMAC-SHA256'],
    ['x-amz-credential', 'AKIDTEST/20260102/us-east-1/s3/aws4_request'],
    ['x-amz-date', '20260102T030405Z'],
    ['x-amz-signature', signPolicy(b64, creds.secretAccessKey, '20260102', 'us-east-1')],
    ...Object.entries(extra),
  ]);
}

describe('S3 SigV4 POST policy', () => {
  it('signs like other SigV4 implementations', () => {
    // Policy and signature from the s3-post-policy npm package's documented example
    // (AWS's example credentials, 2013-08-06, us-east-1).
    const policy =
      'eyJleHBpcmF0aW9uIjoiMjAxMy0wOC0wNlQxMjowMDowMC4wMDBaIiwiY29uZGl0aW9ucyI6W3siYWNsIjoicHVibGljLXJlYWQifSxbInN0YXJ0cy13aXRoIiwiJENvbnRlbnQtVHlwZSIsImltYWdlLyJdLFsic3RhcnRzLXdpdGgiLCIka2V5IiwidXNlci91c2VyMS8iXSxbInN0YXJ0cy13aXRoIiwiJHgtYW16LW1ldGEtdGFnIiwiIl0seyJ4LWFtei1tZXRhLXV1aWQiOiIxNDM2NTEyMzY1MTI3NCJ9LHsiYnVja2V0IjoiZXhhbXBsZWJ1Y2tldCJ9LHsieC1hbXotYWxnb3JpdGhtIjoiQVdTNC1ITUFDLVNIQTI1NiJ9LHsieC1hbXotY3JlZGVudGlhbCI6IkFLSUFJT1NGT0ROTjdFWEFNUExFLzIwMTMwODA2L3VzLWVhc3QtMS9zMy9hd3M0X3JlcXVlc3QifSx7IngtYW16LWRhdGUiOiIyMDEzMDgwNlQxMjAwMDBaIn1dfQ==';
    assert.equal(
      signPolicy(policy, 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY', '20130806', 'us-east-1'),
      '5bc8a7be4a6fc6445b94d0f4096f8cf3dfa00303529f8a68ea7dc0c23bb83cd9',
    );
  });

  it('formats X-Amz-Date', () => {
    assert.equal(amzDate(NOW), '20260102T030405Z');
  });

  it('presigns the fields in protocol order with an exact policy', () => {
    const { fields, policy } = presignPost(creds, {
      bucket: 'bkt',
      key: 'k/x.jpg',
      acl: 'public-read',
      contentType: 'image/jpeg',
      maxSize: 500,
      expiresSec: 60,
      now: NOW,
    });
    assert.deepEqual(Object.keys(fields), ['key', 'bucket', 'acl', 'Content-Type', 'X-Amz-Algorithm', 'X-Amz-Credential', 'X-Amz-Date', 'Policy', 'X-Amz-Signature']);
    assert.equal(fields['X-Amz-Credential'], 'AKIDTEST/20260102/us-east-1/s3/aws4_request');
    assert.match(fields['X-Amz-Signature'], /^[0-9a-f]{64}$/);
    assert.deepEqual(JSON.parse(Buffer.from(fields.Policy, 'base64').toString()), policy);
    assert.deepEqual(policy, {
      expiration: '2026-01-02T03:05:05.000Z',
      conditions: [
        { bucket: 'bkt' },
        { key: 'k/x.jpg' },
        { acl: 'public-read' },
        { 'Content-Type': 'image/jpeg' },
        ['content-length-range', 1, 500],
        { 'x-amz-algorithm': 'AWS4-HMAC-SHA256' },
        { 'x-amz-credential': 'AKIDTEST/20260102/us-east-1/s3/aws4_request' },
        { 'x-amz-date': '20260102T030405Z' },
      ],
    });
  });

  it('verifies its own form and reports the size range', () => {
    const res = verifyPostFields(creds, 'bkt', presigned(777), NOW + 1000);
    assert.equal(res.ok, true);
    assert.deepEqual(res.ok && [res.minSize, res.maxSize], [1, 777]);
  });

  it('rejects a changed signature, a re-encoded policy and other keys', () => {
    const sig = presigned();
    sig.set('x-amz-signature', (sig.get('x-amz-signature') as string).replace(/^./, (c) => (c === '0' ? '1' : '0')));
    assert.deepEqual(pick(verifyPostFields(creds, 'bkt', sig, NOW)), [403, 'SignatureDoesNotMatch']);

    const bigger = presigned();
    const policy = JSON.parse(Buffer.from(bigger.get('policy') as string, 'base64').toString()) as { conditions: unknown[] };
    policy.conditions[4] = ['content-length-range', 1, 10 ** 9];
    bigger.set('policy', Buffer.from(JSON.stringify(policy)).toString('base64'));
    assert.deepEqual(pick(verifyPostFields(creds, 'bkt', bigger, NOW)), [403, 'SignatureDoesNotMatch']);

    const upper = presigned();
    upper.set('x-amz-signature', (upper.get('x-amz-signature') as string).toUpperCase());
    assert.deepEqual(pick(verifyPostFields(creds, 'bkt', upper, NOW)), [403, 'SignatureDoesNotMatch']);

    assert.deepEqual(pick(verifyPostFields({ ...creds, secretAccessKey: 'other' }, 'bkt', presigned(), NOW)), [403, 'SignatureDoesNotMatch']);
    assert.deepEqual(pick(verifyPostFields({ ...creds, accessKeyId: 'AKIDOTHER' }, 'bkt', presigned(), NOW)), [403, 'InvalidAccessKeyId']);
  });

  it('rejects an expired policy', () => {
    const res = verifyPostFields(creds, 'bkt', presigned(), NOW + 3600 * 1000);
    assert.deepEqual(pick(res), [403, 'AccessDenied']);
    assert.equal(!res.ok && res.message, 'Invalid according to Policy: Policy expired.');
  });

  it('rejects fields that break a condition, and fields no condition covers', () => {
    const key = presigned();
    key.set('key', 'files/printer/KL000002/idle/snapshot.jpg');
    const res = verifyPostFields(creds, 'bkt', key, NOW);
    assert.deepEqual(pick(res), [403, 'AccessDenied']);
    assert.match(!res.ok ? res.message : '', /^Invalid according to Policy: Policy Condition failed: \["eq", "\$key", "files\/printer\/KL000001/);

    const acl = presigned();
    acl.set('acl', 'private');
    assert.match(msg(verifyPostFields(creds, 'bkt', acl, NOW)), /"\$acl"/);
    const type = presigned();
    type.set('content-type', 'image/png');
    assert.match(msg(verifyPostFields(creds, 'bkt', type, NOW)), /"\$Content-Type"/);
    const missing = presigned();
    missing.delete('acl');
    assert.match(msg(verifyPostFields(creds, 'bkt', missing, NOW)), /"\$acl"/);
    assert.match(msg(verifyPostFields(creds, 'other-bucket', presigned(), NOW)), /"\$bucket"/);
    const bucketField = presigned();
    bucketField.set('bucket', 'other-bucket');
    assert.match(msg(verifyPostFields(creds, 'bkt', bucketField, NOW)), /"\$bucket"/);

    const extra = presigned();
    extra.set('x-amz-meta-foo', 'bar');
    assert.equal(msg(verifyPostFields(creds, 'bkt', extra, NOW)), 'Invalid according to Policy: Extra input fields: x-amz-meta-foo');
    const ignored = presigned();
    ignored.set('x-ignore-me', '1');
    assert.equal(verifyPostFields(creds, 'bkt', ignored, NOW).ok, true);
  });

  it('requires the signature fields', () => {
    for (const name of ['policy', 'x-amz-algorithm', 'x-amz-credential', 'x-amz-date', 'x-amz-signature']) {
      const f = presigned();
      f.delete(name);
      assert.deepEqual(pick(verifyPostFields(creds, 'bkt', f, NOW)), [400, 'InvalidArgument'], name);
    }
  });

  it('supports eq and starts-with conditions', () => {
    const policy = {
      expiration: new Date(NOW + 60_000).toISOString(),
      conditions: [
        ['starts-with', '$key', 'user/'],
        ['eq', '$acl', 'public-read'],
        { 'x-amz-algorithm': 'AWS4-HMAC-SHA256' },
        { 'x-amz-credential': 'AKIDTEST/20260102/us-east-1/s3/aws4_request' },
        { 'x-amz-date': '20260102T030405Z' },
      ],
    };
    assert.equal(verifyPostFields(creds, 'b', withPolicy(policy, { key: 'user/a', acl: 'public-read' }), NOW).ok, true);
    assert.match(msg(verifyPostFields(creds, 'b', withPolicy(policy, { key: 'admin/a', acl: 'public-read' }), NOW)), /starts-with/);
    assert.deepEqual(pick(verifyPostFields(creds, 'b', withPolicy({ expiration: 'soon', conditions: [] }), NOW)), [400, 'InvalidPolicyDocument']);
    assert.deepEqual(pick(verifyPostFields(creds, 'b', withPolicy({ conditions: [['nope', '$key', 'x']] }), NOW)), [400, 'InvalidPolicyDocument']);
  });
});

function pick(res: ReturnType<typeof verifyPostFields>): [number, string] | true {
  return res.ok ? true : [res.status, res.code];
}
function msg(res: ReturnType<typeof verifyPostFields>): string {
  return res.ok ? 'ok' : res.message;
}
