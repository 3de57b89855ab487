// The cloud print relay: the G-code file goes from the cloud's download
// straight into Moonraker's upload, with no copy on the bridge's disk and
// memory bounded by a few buffers whatever the file's size.
//  - Size: the download's Content-Length gives the upload's Content-Length;
//    without one the upload is sent chunked (Moonraker's Tornado accepts it).
//  - Integrity: the sha256 is computed as the bytes pass and sent as the
//    multipart `checksum` field after the file; Moonraker answers 422 on a
//    mismatch and keeps nothing.
//  - A dropped download resumes with Range into the same, still open upload
//    (Moonraker just waits for more body bytes). A server that ignores Range
//    (or resumes at the wrong offset) restarts both legs: the first upload's
//    connection is dropped, which Moonraker discards (it moves a file into
//    the gcodes root only after the complete body).
//  - Cancel, deadline, failure: both legs are dropped; nothing reaches the root.
// All the download rules (URL policy on every hop and redirect, stall,
// attempts and backoff, max size, deadline, throughput) are downloadToFile's.
import { Writable } from 'node:stream';
import { StreamUpload, UploadAbortedError, type StreamUploadOptions, type UploadResult } from '../../moonraker-bridge/index.js';
import { youngGcEvery } from '../util/young-gc.js';
import { DownloadError, downloadToFile, type DownloadOptions, type DownloadSink } from './http-download.js';

export interface RelayOptions extends Omit<DownloadOptions, 'sink'> {
  upload: Omit<StreamUploadOptions, 'size'>;
  /** The last byte and the checksum are on their way: from here Moonraker may store the file even if its answer is lost. */
  onAllSent?: (() => void) | undefined;
}

export interface RelayResult {
  bytes: number;
  sha256: string;
  upload: UploadResult;
}

const WRITE_BUFFER = 256 * 1024;
/** Socket buffers freed this often (see young-gc.ts): the relay's memory then stays flat. */
const GC_EVERY_BYTES = 512 * 1024;

export async function relayToMoonraker(url: string, label: string, o: RelayOptions): Promise<RelayResult> {
  let upload: StreamUpload | null = null;
  const sink: DownloadSink = {
    async open(offset, total) {
      if (offset > 0 && upload && !upload.failure && upload.bytes === offset) return forwardTo(upload);
      if (offset > 0) throw new DownloadError(upload?.failure ? upload.failure.message : `cannot resume the upload at byte ${offset}`, true);
      if (upload) {
        o.log?.warn(`${label}: the download starts over, so does the upload to Moonraker`);
        upload.abort(new Error('transfer restarted'));
      }
      upload = new StreamUpload({ ...o.upload, size: total });
      await upload.ready();
      return forwardTo(upload);
    },
  };
  const onAbort = (): void => upload?.abort();
  o.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const got = await downloadToFile(url, label, { ...o, sink });
    const up = upload as StreamUpload | null;
    if (!up) throw new DownloadError('no data received', false);
    o.onAllSent?.();
    const result = await up.finish(got.sha256);
    return { ...got, upload: result };
  } catch (err) {
    const up = upload as StreamUpload | null;
    // A refusal or failure of Moonraker's side is reported as such, not as a download error.
    const uploadFailure = up?.failure && !(up.failure instanceof UploadAbortedError) && up.failure.message !== 'transfer restarted' ? up.failure : null;
    up?.abort();
    if (o.signal?.aborted) throw new DownloadError('download canceled', true);
    throw uploadFailure ?? err;
  } finally {
    o.signal?.removeEventListener('abort', onAbort);
  }
}

/** The Writable one download attempt writes into; ending it leaves the upload open for a resume. */
function forwardTo(upload: StreamUpload): Writable {
  const counted = youngGcEvery(GC_EVERY_BYTES);
  return new Writable({
    highWaterMark: WRITE_BUFFER,
    write(chunk: Buffer, _enc, done) {
      counted(chunk.length);
      upload.write(chunk, done);
    },
    final(done) {
      done();
    },
  });
}
