// The one owner of "which job is the printer on, and where is it in its life".
// Pure: derived from the tracker (pending/active job and what print_stats has
// shown of it), the cloud-print pipeline's step, post-processing and the finish
// announcements, plus Klipper's print_stats. The status mapper reads only this
// for job state, so no two sources can disagree at a transition.
//
// A cloud job's lifecycle:
//   accepted → downloading (→ slicing) → uploading → starting   (2, from the pipeline / tracker)
//   → heating (2, print_stats names its file and is printing, nothing extruded yet)
//   → printing (3) ⇄ paused (4/9/10)   (never back to 2 once it has extruded)
//   → post-processing (5) → finished (6/7, repeated a few times)
// A local print (not sent by the cloud): starting / heating / printing (1), paused (4/9/10).
//
// print_stats counts for a job only once it names that job's file while printing or paused:
// a complete/cancelled left from the previous print never finishes a new job.
import type { PrinterSnapshot } from '../../moonraker-bridge/index.js';
import { sameFile } from '../jobs/job-tracker.js';
import type { FinishState, PendingCloudJob, TrackedJob } from '../jobs/job-types.js';
import type { PrepareView, StatusInput } from './status-types.js';

export type RunStep = 'starting' | 'heating' | 'printing' | 'paused';

export type JobPhase =
  | { kind: 'idle' }
  /** A print Polar did not send. `job` is null until the tracker has picked it up. */
  | { kind: 'local'; step: RunStep; job: TrackedJob | null }
  /** Before Klipper runs it: the pipeline's step, or "starting" once handed to Moonraker. */
  | { kind: 'cloudPreparing'; prepare: PrepareView }
  /** Tracked by the tracker and handed to Klipper. */
  | { kind: 'cloudRunning'; step: RunStep; job: TrackedJob }
  | { kind: 'cloudPostProcessing'; jobId: string }
  | { kind: 'cloudFinished'; jobId: string; state: FinishState; job: TrackedJob | null }
  | { kind: 'cloudFailed'; jobId: string; message: string }
  /** Idle, the last print's part on the plate and control.require_clear_plate on: 15 without a job. */
  | { kind: 'plateOccupied' };

const RUNNING = new Set(['printing', 'paused']);
const ENDED = new Set(['complete', 'cancelled', 'error']);

/** The phase of the job the printer is on. Call only when Klippy is ready (else 12/13 say it all). */
export function jobPhase(input: StatusInput): JobPhase {
  if (input.failure) return { kind: 'cloudFailed', jobId: input.failure.jobId, message: input.failure.message };
  const p = input.printer;
  const job = input.job;
  const file = p.print_stats.filename ?? '';
  const state = p.print_stats.state ?? '';

  const klipperRunning = RUNNING.has(state) && !isStale(input, file);
  if (klipperRunning) {
    const step = runStep(p, job && sameFile(job.filename, file) ? job : null);
    if (job && sameFile(job.filename, file)) return job.cloud ? { kind: 'cloudRunning', step, job } : { kind: 'local', step, job };
    const pending = input.pending ?? null;
    // The tracker has not caught up with print_stats yet (same tick): the pending job if it is this file.
    if (pending && sameFile(pending.filename, file)) return { kind: 'cloudRunning', step, job: fromPending(pending) };
    // Moonraker started the cloud job waiting in its queue (issue 18.4): that job, not a local print.
    const queued = input.queuedWaiting ?? null;
    if (queued && sameFile(queued.filename, file)) return { kind: 'cloudRunning', step, job: fromPending(queued) };
    return { kind: 'local', step, job: null };
  }

  // Tracked from its history record or just handed to Klipper; print_stats still shows the previous
  // print. It runs on the printer: like a print print_stats shows, it outranks a cloud job being
  // prepared behind it (else that job's 2 would come between this print's statuses). When
  // print_stats shows this very file ended (a reprint, or a restart that missed the end), below.
  const starting = (j: TrackedJob): JobPhase => (j.cloud ? { kind: 'cloudRunning', step: 'starting', job: j } : { kind: 'local', step: 'starting', job: j });
  const endedHere = ENDED.has(state) && job !== null && sameFile(job.filename, file);
  if (job && !job.running && !endedHere) return starting(job);

  // A job waiting for the plate comes after the previous job's finish (below): its 6/7 first.
  const plateWait = input.prepare?.step === 'plate' ? input.prepare : null;
  if (input.prepare && !plateWait) return { kind: 'cloudPreparing', prepare: input.prepare };

  if (job) {
    if (!job.running) return starting(job);
    // Klipper ended it; the tracker waits for the history record to confirm how.
    if (job.cloud) {
      const done = state === 'complete';
      if (done && input.timelapseJobId === job.jobId) return { kind: 'cloudPostProcessing', jobId: job.jobId };
      return { kind: 'cloudFinished', jobId: job.jobId, state: done ? 'completed' : 'canceled', job };
    }
    // A local print that ended is just the printer being idle again (no 6/7 for local jobs).
  }

  // Handed to Moonraker (print.start sent), print_stats not showing it yet: still "starting", never Ready.
  const pending = input.pending ?? null;
  if (pending && !plateWait) return { kind: 'cloudPreparing', prepare: { job: pending, step: 'starting' } };

  if (input.postProcessing) return { kind: 'cloudPostProcessing', jobId: input.postProcessing.jobId };
  if (input.banner) {
    const b = input.banner;
    // Reported, its timelapse not picked up yet (the outbox write comes first).
    if (b.state === 'completed' && input.timelapseJobId === b.jobId) return { kind: 'cloudPostProcessing', jobId: b.jobId };
    return { kind: 'cloudFinished', jobId: b.jobId, state: b.state, job: null };
  }
  if (plateWait) return { kind: 'cloudPreparing', prepare: plateWait };
  // Once the running print's end is known from either source: Klipper shows no print, or history
  // already recorded its end (the tracker marked print_stats' file stale) — never a 0 in between.
  // Not while print_stats still runs a file the tracker has not finished (no 2 inside that print).
  if (input.queuedWaiting && (!RUNNING.has(state) || isStale(input, file))) return { kind: 'cloudPreparing', prepare: { job: input.queuedWaiting, step: input.plateBlocking ? 'plate' : 'queued' } };
  if (input.plateBlocking) return { kind: 'plateOccupied' };
  return { kind: 'idle' };
}

/** print_stats still shows a print that history (or the tracker) already finished. */
function isStale(input: StatusInput, file: string): boolean {
  const job = input.job;
  if (job && sameFile(job.filename, file)) return false;
  if (input.staleFile && sameFile(input.staleFile, file)) return true;
  // A finish being announced and nothing tracked: the print_stats update has not arrived yet.
  return job === null && input.banner !== null && !(input.pending && sameFile(input.pending.filename, file));
}

function runStep(p: PrinterSnapshot, job: TrackedJob | null): RunStep {
  if (p.print_stats.state === 'paused' || p.pause_resume.is_paused === true) return 'paused';
  // print_duration stays 0 until the first extrusion (heating, homing, mesh) — and on real
  // hardware for ~2 s after printing starts. Once a job has extruded it never goes back.
  if (job?.printed || (p.print_stats.print_duration ?? 0) > 0) return 'printing';
  return 'heating';
}

function fromPending(p: PendingCloudJob): TrackedJob {
  const out: TrackedJob = { jobId: p.jobId, cloud: true, filename: p.filename, moonrakerJobId: null, startedAt: p.since, printSeconds: 0, filamentUsed: 0, running: true };
  if (p.jobName !== undefined) out.jobName = p.jobName;
  if (p.fileUrl !== undefined) out.fileUrl = p.fileUrl;
  if (p.configUrl !== undefined) out.configUrl = p.configUrl;
  return out;
}
