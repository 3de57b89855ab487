// Per-printer print queues and history. A job is "ready" unless marked
// otherwise; completed jobs move to history, canceled ones stay queued (as in
// the protocol's `job` command).
import type { FileStore } from './print-files.js';
import { toFileName } from './print-files.js';
import type { AddJobSpec, QueuedJobInfo } from './types.js';

/** A queued job as stored: the public view plus the extra `print` fields. */
export interface JobRecord extends QueuedJobInfo {
  printFields?: Record<string, unknown>;
}

const DEFAULT_SIZE = 64 * 1024;

export class JobStore {
  private readonly queues = new Map<string, JobRecord[]>();
  private readonly done = new Map<string, JobRecord[]>();
  private counter = 100000;

  constructor(private readonly files: FileStore) {}

  add(serialNumber: string, spec: AddJobSpec = {}): JobRecord {
    const sources = [spec.content !== undefined, spec.size !== undefined, spec.url !== undefined].filter(Boolean).length;
    if (sources > 1) throw new Error('give at most one of content, size, url');
    const jobId = spec.jobId ?? `${serialNumber}-${++this.counter}`;
    if (jobId.length === 0) throw new Error('jobId must not be empty');
    if (this.find(serialNumber, jobId)) throw new Error(`job '${jobId}' is already queued for ${serialNumber}`);
    let gcodeUrl: string;
    let fileName: string | undefined;
    if (spec.url !== undefined) {
      gcodeUrl = spec.url;
    } else {
      fileName = spec.fileName ?? `${toFileName(jobId)}.gcode`;
      if (spec.content !== undefined) this.files.add(fileName, { content: spec.content });
      else this.files.add(fileName, { size: spec.size ?? DEFAULT_SIZE });
      gcodeUrl = this.files.url(fileName);
    }
    const job: JobRecord = {
      jobId,
      jobName: spec.jobName ?? `${jobId}.gcode`,
      owner: spec.owner ?? 'Emulator User',
      ownerPhotoFile: spec.ownerPhotoFile,
      imageFile: spec.imageFile,
      imageThumbnailFile: spec.imageThumbnailFile,
      ready: spec.ready ?? true,
      gcodeUrl,
      fileName,
      printFields: spec.printFields,
      printsSent: 0,
      state: 'queued',
    };
    this.queueOf(serialNumber).push(job);
    return job;
  }

  /** The whole queue, ready or not, in order. */
  queue(serialNumber: string): JobRecord[] {
    return [...(this.queues.get(serialNumber) ?? [])];
  }

  /** What getQueue reports and sendNextPrint picks from. */
  ready(serialNumber: string): JobRecord[] {
    return this.queue(serialNumber).filter((j) => j.ready);
  }

  history(serialNumber: string): JobRecord[] {
    return [...(this.done.get(serialNumber) ?? [])];
  }

  find(serialNumber: string, jobId: string): JobRecord | undefined {
    return this.queues.get(serialNumber)?.find((j) => j.jobId === jobId);
  }

  knows(serialNumber: string, jobId: string): boolean {
    return this.find(serialNumber, jobId) !== undefined || (this.done.get(serialNumber) ?? []).some((j) => j.jobId === jobId);
  }

  /** Moves a queued job to history; false if it was not queued. */
  complete(serialNumber: string, jobId: string): boolean {
    const q = this.queues.get(serialNumber);
    const i = q?.findIndex((j) => j.jobId === jobId) ?? -1;
    if (!q || i < 0) return false;
    const [job] = q.splice(i, 1);
    job.state = 'completed';
    const list = this.done.get(serialNumber) ?? [];
    list.push(job);
    this.done.set(serialNumber, list);
    return true;
  }

  remove(serialNumber: string, jobId: string): boolean {
    const q = this.queues.get(serialNumber);
    const i = q?.findIndex((j) => j.jobId === jobId) ?? -1;
    if (!q || i < 0) return false;
    q.splice(i, 1);
    return true;
  }

  /** The `print` command for a job (printFields merged over it; null/undefined entries removed). */
  printPayload(serialNumber: string, job: JobRecord): Record<string, unknown> {
    const payload: Record<string, unknown> = {
      serialNumber,
      jobId: job.jobId,
      jobName: job.jobName,
      gcodeFile: job.gcodeUrl,
      fileToPrint: 'gcodeFile',
      imageFile: job.imageFile,
      imageThumbnailFile: job.imageThumbnailFile,
      ...job.printFields,
    };
    for (const [k, v] of Object.entries(payload)) if (v === undefined || v === null) delete payload[k];
    return payload;
  }

  clear(): void {
    this.queues.clear();
    this.done.clear();
  }

  private queueOf(serialNumber: string): JobRecord[] {
    let q = this.queues.get(serialNumber);
    if (!q) this.queues.set(serialNumber, (q = []));
    return q;
  }
}

export function jobInfo(job: JobRecord): QueuedJobInfo {
  return {
    jobId: job.jobId,
    jobName: job.jobName,
    owner: job.owner,
    ownerPhotoFile: job.ownerPhotoFile,
    imageFile: job.imageFile,
    imageThumbnailFile: job.imageThumbnailFile,
    ready: job.ready,
    gcodeUrl: job.gcodeUrl,
    fileName: job.fileName,
    printsSent: job.printsSent,
    state: job.state,
  };
}

/** The queue entry as getQueueResponse carries it. */
export function queueEntry(job: JobRecord): Record<string, string> {
  const out: Record<string, string> = { jobId: job.jobId };
  if (job.jobName !== undefined) out.jobName = job.jobName;
  if (job.imageFile !== undefined) out.imageFile = job.imageFile;
  if (job.imageThumbnailFile !== undefined) out.imageThumbnailFile = job.imageThumbnailFile;
  if (job.owner !== undefined) out.owner = job.owner;
  if (job.ownerPhotoFile !== undefined) out.ownerPhotoFile = job.ownerPhotoFile;
  return out;
}
