// getUrl: pre-signed S3 POST forms for camera images and time-lapse videos,
// pointing at the emulator's own S3 endpoint (/s3/<bucket>).
import type { EmulatorContext } from './context.js';
import { toFileName } from './print-files.js';
import { presignPost } from './s3-post-policy.js';

export type UploadType = 'idle' | 'printing' | 'timelapse';

export const URL_DEFAULTS: Record<UploadType, { expires: number; maxSize: number; contentType: string; file: string }> = {
  idle: { expires: 86400, maxSize: 300_000, contentType: 'image/jpeg', file: 'snapshot.jpg' },
  printing: { expires: 86400, maxSize: 300_000, contentType: 'image/jpeg', file: 'snapshot.jpg' },
  timelapse: { expires: 3600, maxSize: 100 * 1024 * 1024, contentType: 'video/mp4', file: 'timelapse.mp4' },
};

export function uploadKey(serial: string, type: UploadType, jobId?: string): string {
  const parts = ['files', 'printer', toFileName(serial), type];
  if (type !== 'idle' && jobId !== undefined) parts.push(toFileName(jobId));
  parts.push(URL_DEFAULTS[type].file);
  return parts.join('/');
}

export function buildGetUrlResponse(ctx: EmulatorContext, serial: string, req: { type: UploadType; jobId?: string }): Record<string, unknown> {
  const failed = (message: string): Record<string, unknown> => ({ status: 'FAILED', serialNumber: serial, type: req.type, message });
  const opts = ctx.settings.urlOptions;
  if (opts.fail) return failed(typeof opts.fail === 'string' ? opts.fail : 'SERVER_ERROR');
  if (req.type !== 'idle') {
    if (!req.jobId) return failed('jobId is required for printing and timelapse URLs');
    // Must be a job the cloud sent this printer (queue, history, or any `print` it was sent).
    const known = ctx.printers.get(serial)?.printedJobIds.has(req.jobId) || ctx.jobs.knows(serial, req.jobId);
    if (!known) return failed(`invalid jobId '${req.jobId}'`);
  }
  const d = URL_DEFAULTS[req.type];
  const expires = opts.expires ?? d.expires;
  const maxSize = opts.maxSize ?? d.maxSize;
  const { fields } = presignPost(ctx.s3, {
    bucket: ctx.s3.bucket,
    key: uploadKey(serial, req.type, req.jobId),
    acl: 'public-read',
    contentType: d.contentType,
    maxSize,
    expiresSec: expires,
    now: ctx.now(),
  });
  const res: Record<string, unknown> = {
    status: 'SUCCESS',
    serialNumber: serial,
    method: 'post',
    type: req.type,
    expires,
    maxSize,
    contentType: d.contentType,
    url: opts.url ?? `${ctx.baseUrl}/s3/${encodeURIComponent(ctx.s3.bucket)}`,
    fields,
  };
  if (req.jobId !== undefined) res.jobId = req.jobId;
  return res;
}
