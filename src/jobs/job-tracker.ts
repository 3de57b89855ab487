// Pure job state machine, modelled on Moonraker's job_state.py: infers job starts and ends from
// successive printer snapshots and history records, including transitions it never saw (bridge or
// Moonraker restarted, a notification lost). History records are the authority; snapshots are the
// fallback when no record arrives within HISTORY_GRACE_MS. No I/O, no timers: time comes in events.

import { isDeepStrictEqual } from 'node:util';
import {
  LOCAL_JOB_ID,
  type FinishState,
  type HistoryRecord,
  type JobReport,
  type PendingCloudJob,
  type TrackedJob,
  type TrackerEvent,
  type TrackerResult,
  type TrackerState,
} from './job-types.js';

/** How long an ended print waits for its history record before it is reported from the snapshot. */
export const HISTORY_GRACE_MS = 5000;
/** How many report keys are remembered for dedupe. */
export const REPORTED_KEYS_CAP = 50;
/** A cloud job that neither started nor was aborted within this time is forgotten. */
export const PENDING_CLOUD_TTL_MS = 30 * 60_000;
/** Cloud jobs remembered in Moonraker's job queue (oldest dropped beyond this). */
export const QUEUED_CLOUD_CAP = 100;
/** A queued cloud job that has not started within this time is forgotten (the file stays). */
export const QUEUED_CLOUD_TTL_MS = 14 * 24 * 3600_000;
/** A history record may claim to start this much before the tracked start and still be that print
 *  (the tracked start may come from the bridge's clock, the record's from Moonraker's). */
export const START_SLACK_MS = 60_000;

const RUNNING_STATES = new Set(['printing', 'paused']);
/** History statuses that end Moonraker's record, not the print. */
const UNLINK_STATUSES = new Set(['server_exit', 'interrupted']);
const ENDED_STATES = new Set(['complete', 'cancelled', 'error', 'standby']);

/** Filename relative to the gcodes root: print_stats, history and uploads spell it differently. */
export function normalizeFilename(name: string): string {
  const noSlash = name.startsWith('/') ? name.slice(1) : name;
  return noSlash.startsWith('gcodes/') ? noSlash.slice('gcodes/'.length) : noSlash;
}

export function sameFile(a: string, b: string): boolean {
  return normalizeFilename(a) === normalizeFilename(b);
}

/** Working copy of one reduction. Nested objects of the input are replaced, never written to. */
interface Draft {
  at: number;
  mono: number | undefined;
  state: TrackerState;
  reports: JobReport[];
}

export function reduceJob(state: TrackerState, event: TrackerEvent): TrackerResult {
  const d: Draft = { at: event.at, mono: event.mono, state: { ...state }, reports: [] };
  dropExpiredPending(d);
  switch (event.type) {
    case 'snapshot':
      onSnapshot(d, event);
      break;
    case 'cloudStart':
      // Re-sent for the same job (hand-off after the download): keeps its original age.
      d.state.pendingCloud = d.state.pendingCloud?.jobId === event.job.jobId && d.state.pendingCloud.sinceMono !== undefined ? { ...event.job, sinceMono: d.state.pendingCloud.sinceMono } : accepted(d, event.job);
      break;
    case 'cloudAbort':
      onCloudAbort(d, event.jobId);
      break;
    case 'cloudQueue':
      if (d.state.pendingCloud?.jobId === event.job.jobId) d.state.pendingCloud = null;
      d.state.queuedCloud = [...(d.state.queuedCloud ?? []).filter((j) => j.jobId !== event.job.jobId), accepted(d, event.job)].slice(-QUEUED_CLOUD_CAP);
      break;
    case 'cloudDrop':
      if (d.state.pendingCloud?.jobId === event.jobId) d.state.pendingCloud = null;
      if (d.state.queuedCloud?.some((j) => j.jobId === event.jobId)) d.state.queuedCloud = d.state.queuedCloud.filter((j) => j.jobId !== event.jobId);
      break;
    case 'historyAdded':
    case 'historyFinished':
      // Dispatch on the record's status, not the notification name: a history list replay and
      // a notification describe the same thing.
      if (event.record.status === 'in_progress') onHistoryInProgress(d, event.record);
      else onHistoryFinished(d, event.record);
      break;
    case 'tick':
      onTick(d);
      break;
  }
  const next = d.state;
  return {
    state: next,
    reports: d.reports,
    changed: !isDeepStrictEqual(state, next),
    wakeAt: next.active && next.ended ? next.ended.at + HISTORY_GRACE_MS : null,
  };
}

/** How long ago `j` was accepted: on the monotonic clock when both ends have it, else on the wall clock. */
function ageOf(d: Draft, j: PendingCloudJob): number {
  return d.mono !== undefined && j.sinceMono !== undefined ? d.mono - j.sinceMono : d.at - j.since;
}

function dropExpiredPending(d: Draft): void {
  const pending = d.state.pendingCloud;
  if (pending && ageOf(d, pending) > PENDING_CLOUD_TTL_MS) d.state.pendingCloud = null;
  const queued = d.state.queuedCloud;
  if (queued?.some((j) => ageOf(d, j) > QUEUED_CLOUD_TTL_MS)) d.state.queuedCloud = queued.filter((j) => ageOf(d, j) <= QUEUED_CLOUD_TTL_MS);
}

/** The job as accepted now, stamped on the monotonic clock when the event has it. */
function accepted(d: Draft, job: PendingCloudJob): PendingCloudJob {
  return d.mono !== undefined ? { ...job, sinceMono: d.mono } : { ...job };
}

type SnapshotEvent = Extract<TrackerEvent, { type: 'snapshot' }>;

function onSnapshot(d: Draft, e: SnapshotEvent): void {
  // Klippy not ready (shutdown, error, disconnected) or Moonraker down: print_stats is stale.
  if (!e.ready) return;
  const printSeconds = Math.round(e.printDuration);
  const filamentUsed = Math.round(e.filamentUsed);
  if (RUNNING_STATES.has(e.printState)) {
    const active = d.state.active;
    // History already finished this print; print_stats has not caught up yet (history may even have
    // started the next file, from Moonraker's job queue: that job is neither ended nor replaced).
    if (d.state.staleFile != null && sameFile(d.state.staleFile, e.filename) && !(active && sameFile(active.filename, e.filename))) return;
    // print_stats names another file: it has caught up.
    if (d.state.staleFile != null) delete d.state.staleFile;
    // Another file is printing: the tracked one ended while we were not looking.
    if (active && !sameFile(active.filename, e.filename)) finishFromSnapshot(d);
    const current = d.state.active;
    if (!current) startJob(d, e.filename, e.at - e.totalDuration * 1000, null, printSeconds, filamentUsed);
    else d.state.active = { ...current, printSeconds, filamentUsed };
    d.state.active = markRunning(d.state.active!, e.printDuration, e.printState === 'paused');
    d.state.ended = null; // still (or again) running
    return;
  }
  if (d.state.staleFile != null) delete d.state.staleFile;
  const active = d.state.active;
  // An ended print_stats counts once it has shown this job running (or names its file, e.g. after a
  // restart): a new job tracked from its history record still sees the previous print's
  // complete/cancelled of another file until Klipper starts it.
  if (ENDED_STATES.has(e.printState) && active && (active.running || sameFile(active.filename, e.filename)) && !d.state.ended) {
    d.state.ended = d.mono !== undefined ? { at: e.at, printState: e.printState, mono: d.mono } : { at: e.at, printState: e.printState };
  }
}

/** Notes that print_stats shows the job running (and past preparing, once print_duration moved or it paused). */
function markRunning(job: TrackedJob, printDuration: number, paused: boolean): TrackedJob {
  const printed = job.printed || printDuration > 0 || paused;
  if (job.running && printed === !!job.printed) return job;
  return { ...job, running: true, ...(printed ? { printed: true as const } : {}) };
}

function onHistoryInProgress(d: Draft, record: HistoryRecord): void {
  const active = d.state.active;
  const startedAt = record.start_time * 1000;
  // A new record for the file history just finished: print_stats showing it running is that new
  // print. For another file, print_stats still naming the finished one stays stale.
  if (d.state.staleFile != null && sameFile(d.state.staleFile, record.filename)) delete d.state.staleFile;
  const numbers = [Math.round(record.print_duration), Math.round(record.filament_used)] as const;
  if (!active) {
    startJob(d, record.filename, startedAt, record.job_id, ...numbers);
    return;
  }
  if (active.moonrakerJobId === record.job_id) return;
  if (active.moonrakerJobId === null && sameFile(active.filename, record.filename)) {
    // min: after an unlink the new record starts later than the print did.
    d.state.active = { ...active, moonrakerJobId: record.job_id, startedAt: Math.min(active.startedAt, startedAt) };
    return;
  }
  // Both starts are on Moonraker's clock here: a record not newer than the tracked job is stale.
  if (active.moonrakerJobId !== null && startedAt <= active.startedAt) return;
  // A different print is in progress: the tracked one ended unseen.
  finishFromSnapshot(d);
  startJob(d, record.filename, startedAt, record.job_id, ...numbers);
}

function onHistoryFinished(d: Draft, record: HistoryRecord): void {
  const active = d.state.active;
  if (!active) return;
  const matches =
    active.moonrakerJobId !== null
      ? active.moonrakerJobId === record.job_id
      : sameFile(active.filename, record.filename) && record.start_time * 1000 >= active.startedAt - START_SLACK_MS;
  if (!matches) return; // an older job (history replay), or one we never tracked
  if (UNLINK_STATUSES.has(record.status)) {
    // Moonraker stopped (or crashed) while the print went on; it opens a new record for the same
    // print when it is back. Unlink and let that record (or print_stats) tell how it ends.
    d.state.active = { ...active, moonrakerJobId: null };
    return;
  }
  const state: FinishState = record.status === 'completed' ? 'completed' : 'canceled';
  // Moonraker may announce the end before the print_stats update that shows it.
  if (!d.state.ended) d.state.staleFile = active.filename;
  finishActive(d, state, Math.round(record.print_duration), Math.round(record.filament_used), record.job_id);
}

function onTick(d: Draft): void {
  const { active, ended } = d.state;
  if (!active || !ended) return;
  const waited = d.mono !== undefined && ended.mono !== undefined ? d.mono - ended.mono : d.at - ended.at;
  if (waited >= HISTORY_GRACE_MS) finishFromSnapshot(d);
}

function onCloudAbort(d: Draft, jobId: string): void {
  const queued = d.state.queuedCloud?.find((j) => j.jobId === jobId);
  const pending = d.state.pendingCloud?.jobId === jobId ? d.state.pendingCloud : (queued ?? null);
  if (!pending) return;
  const active = d.state.active;
  // Already printing: the print's own end will be reported.
  if (active && active.cloud && active.jobId === jobId) return;
  if (d.state.pendingCloud?.jobId === jobId) d.state.pendingCloud = null;
  if (queued) d.state.queuedCloud = d.state.queuedCloud!.filter((j) => j !== queued);
  emit(d, {
    jobId,
    state: 'canceled',
    printSeconds: 0,
    filamentUsed: 0,
    key: `abort:${jobId}`,
    filename: pending.filename,
    cloud: true,
  });
}

/** Starts tracking a print: the pending cloud job if it is that file, else a local print. */
function startJob(
  d: Draft,
  filename: string,
  startedAt: number,
  moonrakerJobId: string | null,
  printSeconds: number,
  filamentUsed: number,
): void {
  const pending = d.state.pendingCloud;
  const base = { filename, startedAt, moonrakerJobId, printSeconds, filamentUsed };
  const queued = d.state.queuedCloud?.find((j) => sameFile(j.filename, filename));
  if (pending && sameFile(pending.filename, filename)) {
    d.state.pendingCloud = null;
    d.state.active = { ...base, jobId: pending.jobId, cloud: true, ...cloudDetails(pending) };
  } else if (queued) {
    d.state.queuedCloud = d.state.queuedCloud!.filter((j) => j !== queued);
    d.state.active = { ...base, jobId: queued.jobId, cloud: true, ...cloudDetails(queued) };
  } else {
    d.state.active = { ...base, jobId: LOCAL_JOB_ID, cloud: false };
  }
  d.state.ended = null;
}

/** Only the defined optional fields, so a persisted (JSON) copy compares equal to the live one. */
function cloudDetails(p: PendingCloudJob): Pick<TrackedJob, 'jobName' | 'fileUrl' | 'configUrl'> {
  const out: Pick<TrackedJob, 'jobName' | 'fileUrl' | 'configUrl'> = {};
  if (p.jobName !== undefined) out.jobName = p.jobName;
  if (p.fileUrl !== undefined) out.fileUrl = p.fileUrl;
  if (p.configUrl !== undefined) out.configUrl = p.configUrl;
  return out;
}

/** Reports the active job from what the snapshots showed: no history record is coming for it. */
function finishFromSnapshot(d: Draft): void {
  const { active, ended } = d.state;
  if (!active) return;
  // 'standby' right after 'printing' is a firmware restart; an end never seen counts as canceled.
  const state: FinishState = ended?.printState === 'complete' ? 'completed' : 'canceled';
  const key = active.moonrakerJobId ?? `${active.filename}@${active.startedAt}`;
  finishActive(d, state, active.printSeconds, active.filamentUsed, key);
}

function finishActive(d: Draft, state: FinishState, printSeconds: number, filamentUsed: number, key: string): void {
  const active = d.state.active;
  if (!active) return;
  d.state.active = null;
  d.state.ended = null;
  emit(d, { jobId: active.jobId, state, printSeconds, filamentUsed, key, filename: active.filename, cloud: active.cloud });
}

/** Queues a report unless its key was already reported. */
function emit(d: Draft, report: Omit<JobReport, 'finishedAt'>): void {
  if (d.state.reported.includes(report.key)) return;
  d.reports.push({ ...report, finishedAt: d.at });
  d.state.reported = [...d.state.reported, report.key].slice(-REPORTED_KEYS_CAP);
}
