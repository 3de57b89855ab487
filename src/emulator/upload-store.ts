// Accepted S3 uploads. Metadata for every one (bounded list); bytes only for
// small uploads and only while the total kept stays under a cap, so a stream
// of big time-lapse uploads cannot grow the emulator's memory.
import type { UploadRecord } from './types.js';

export const MAX_KEPT_BODY = 4 * 1024 * 1024;
const MAX_KEPT_TOTAL = 64 * 1024 * 1024;
const MAX_RECORDS = 1000;

/** files/printer/<serial>/<type>[/<jobId>]/<name> -> its parts. */
export function parseUploadKey(key: string): { serialNumber?: string; type?: string; jobId?: string } {
  const m = /^files\/printer\/([^/]+)\/(idle|printing|timelapse)\/(?:([^/]+)\/)?[^/]+$/.exec(key);
  if (!m) return {};
  return { serialNumber: m[1], type: m[2], jobId: m[3] };
}

export class UploadStore {
  private list: UploadRecord[] = [];
  private kept = 0;
  private seq = 0;

  add(rec: Omit<UploadRecord, 'seq'>): UploadRecord {
    const full: UploadRecord = { seq: ++this.seq, ...rec };
    if (full.body && full.body.length > MAX_KEPT_BODY) full.body = undefined;
    this.kept += full.body?.length ?? 0;
    this.list.push(full);
    if (this.list.length > MAX_RECORDS) {
      for (const old of this.list.splice(0, this.list.length - MAX_RECORDS)) this.kept -= old.body?.length ?? 0;
    }
    // Oldest bodies go first; metadata stays.
    for (const old of this.list) {
      if (this.kept <= MAX_KEPT_TOTAL) break;
      if (old.body) {
        this.kept -= old.body.length;
        old.body = undefined;
      }
    }
    return full;
  }

  all(): UploadRecord[] {
    return [...this.list];
  }

  get(seq: number): UploadRecord | undefined {
    return this.list.find((u) => u.seq === seq);
  }

  clear(): void {
    this.list = [];
    this.kept = 0;
  }
}
