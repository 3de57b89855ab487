// Pure: finds prints in Moonraker's history that ended without the saved job
// state knowing them — they started after the file's last successful save
// (`savedAt`) while the disk was full, or the service stopped before saving —
// and turns them into reports, once. A print's cloud jobId comes from the
// pending/queued cloud jobs in the saved state (matched by file), else it is
// a local job.
import { REPORTED_KEYS_CAP, START_SLACK_MS, normalizeFilename, sameFile } from './job-tracker.js';
import { LOCAL_JOB_ID, type FinishState, type HistoryRecord, type JobReport, type TrackerState } from './job-types.js';

/** History statuses that end Moonraker's record, not the print (the tracker's own rule). */
const UNLINK_STATUSES = new Set(['server_exit', 'interrupted', 'in_progress']);

export interface ReconcileResult {
  state: TrackerState;
  reports: JobReport[];
}

export function reconcileWithHistory(state: TrackerState, records: readonly HistoryRecord[], savedAt: number, now: number): ReconcileResult {
  let next: TrackerState = state;
  const reports: JobReport[] = [];
  for (const rec of records) {
    if (UNLINK_STATUSES.has(rec.status)) continue;
    const startedAt = rec.start_time * 1000;
    // Started before the saved state was current: the saved state knew it (active or reported).
    if (!(startedAt > savedAt - START_SLACK_MS)) continue;
    if (alreadyKnown(next, rec)) continue;
    const cloud = next.pendingCloud && sameFile(next.pendingCloud.filename, rec.filename) ? next.pendingCloud : next.queuedCloud?.find((j) => sameFile(j.filename, rec.filename));
    const state: FinishState = rec.status === 'completed' ? 'completed' : 'canceled';
    reports.push({
      jobId: cloud ? cloud.jobId : LOCAL_JOB_ID,
      state,
      printSeconds: Math.round(rec.print_duration),
      filamentUsed: Math.round(rec.filament_used),
      key: rec.job_id,
      filename: normalizeFilename(rec.filename),
      cloud: cloud !== undefined && cloud !== null,
      finishedAt: now,
    });
    next = {
      ...next,
      reported: [...next.reported, rec.job_id].slice(-REPORTED_KEYS_CAP),
      ...(cloud && next.pendingCloud === cloud ? { pendingCloud: null } : {}),
      ...(cloud && next.queuedCloud?.includes(cloud) ? { queuedCloud: next.queuedCloud.filter((j) => j !== cloud) } : {}),
    };
  }
  return { state: next, reports };
}

/** Reported already (by history key or by the snapshot key `file@startMs`), or the print being tracked. */
function alreadyKnown(state: TrackerState, rec: HistoryRecord): boolean {
  if (state.reported.includes(rec.job_id)) return true;
  const startedAt = rec.start_time * 1000;
  const active = state.active;
  if (active && (active.moonrakerJobId === rec.job_id || (sameFile(active.filename, rec.filename) && Math.abs(active.startedAt - startedAt) <= START_SLACK_MS))) return true;
  return state.reported.some((key) => {
    const at = key.lastIndexOf('@');
    if (at <= 0) return false;
    const ms = Number(key.slice(at + 1));
    return Number.isFinite(ms) && sameFile(key.slice(0, at), rec.filename) && Math.abs(ms - startedAt) <= START_SLACK_MS;
  });
}
