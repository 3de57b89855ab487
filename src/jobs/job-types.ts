// Shared types of the job tracker (pure state machine), the durable job store
// and the status mapper. Persisted shapes: changing them needs a migration.

export type FinishState = 'completed' | 'canceled';

/** Polar's jobId for a print it did not send (started from Mainsail, a macro, the console). */
export const LOCAL_JOB_ID = '123';

/** A finished job, as it will be sent in the Polar `job` message. */
export interface JobReport {
  /** Polar jobId, or LOCAL_JOB_ID. */
  jobId: string;
  state: FinishState;
  printSeconds: number;
  /** Millimetres of filament. */
  filamentUsed: number;
  /** Unique per finished print (Moonraker history job_id, or filename@start): the dedupe key. */
  key: string;
  filename: string;
  cloud: boolean;
  /** ms since epoch when the tracker produced it. */
  finishedAt: number;
}

/** A cloud job the bridge is about to start (download/upload/print.start under way). */
export interface PendingCloudJob {
  jobId: string;
  /** Filename (relative to Moonraker's gcodes root) the job will print as. */
  filename: string;
  since: number;
  /** Monotonic ms of this process when it was accepted (ages are measured on it; not persisted). */
  sinceMono?: number | undefined;
  jobName?: string | undefined;
  fileUrl?: string | undefined;
  configUrl?: string | undefined;
}

/** The print the tracker believes is running (or just ended and awaits its history record). */
export interface TrackedJob {
  jobId: string;
  cloud: boolean;
  filename: string;
  /** Moonraker history job_id, once seen. */
  moonrakerJobId: string | null;
  /** ms since epoch. */
  startedAt: number;
  jobName?: string | undefined;
  fileUrl?: string | undefined;
  configUrl?: string | undefined;
  /** Last values seen while it ran (fallback when history is unavailable). */
  printSeconds: number;
  filamentUsed: number;
  /**
   * print_stats has named this job's file while printing/paused. Until then print_stats
   * describes an earlier print (a stale complete/cancelled), never this job.
   */
  running?: true | undefined;
  /**
   * Past preparing for good: print_duration > 0 was seen (the first extrusion), or it was paused
   * (a resumed job that is still heating shows 3, never 2 again: 2 only opens a job's life).
   */
  printed?: true | undefined;
}

/** The tracker saw the print end (print_stats), and waits briefly for history to confirm. */
export interface EndedJob {
  at: number;
  /** print_stats.state when it ended: complete | cancelled | error | standby. */
  printState: string;
  /** Monotonic ms when it ended (the wait for history is measured on it). */
  mono?: number | undefined;
}

export interface TrackerState {
  active: TrackedJob | null;
  ended: EndedJob | null;
  pendingCloud: PendingCloudJob | null;
  /** Dedupe keys of reports already produced (newest last, capped). */
  reported: string[];
  /**
   * A job history finished while print_stats still said printing: snapshots of
   * this file showing 'printing' are stale until print_stats leaves that state.
   */
  staleFile?: string | null | undefined;
  /** Cloud jobs uploaded into Moonraker's job queue, waiting their turn (matched by filename when they start). */
  queuedCloud?: PendingCloudJob[] | undefined;
}

export const INITIAL_TRACKER_STATE: TrackerState = { active: null, ended: null, pendingCloud: null, reported: [] };

/** A Moonraker history record, as far as the tracker needs it. */
export interface HistoryRecord {
  job_id: string;
  filename: string;
  /** in_progress | completed | cancelled | error | klippy_shutdown | klippy_disconnect | server_exit | interrupted */
  status: string;
  /** seconds since epoch */
  start_time: number;
  print_duration: number;
  filament_used: number;
}

/** Every event may carry `mono`: monotonic ms of this process, used for ages and waits (wall `at` jumps). */
export type TrackerEvent = TrackerEventBody & { mono?: number | undefined };

type TrackerEventBody =
  /** Printer state (only meaningful while Klippy is ready; `ready: false` events are ignored for inference). */
  | {
      type: 'snapshot';
      at: number;
      ready: boolean;
      printState: string;
      filename: string;
      printDuration: number;
      totalDuration: number;
      filamentUsed: number;
    }
  | { type: 'cloudStart'; at: number; job: PendingCloudJob }
  /** The cloud job never started printing and was canceled: reported canceled. */
  | { type: 'cloudAbort'; at: number; jobId: string }
  /** A cloud job waits in Moonraker's job queue. */
  | { type: 'cloudQueue'; at: number; job: PendingCloudJob }
  /** Forget a pending/queued cloud job without a report (it failed before printing; the cloud keeps it queued). */
  | { type: 'cloudDrop'; at: number; jobId: string }
  /** notify_history_changed action 'added' or an in_progress record seen in a history list. */
  | { type: 'historyAdded'; at: number; record: HistoryRecord }
  /** notify_history_changed action 'finished' or a finished record seen in a history list. */
  | { type: 'historyFinished'; at: number; record: HistoryRecord }
  /** Time passes (lets the tracker give up waiting for a history record). */
  | { type: 'tick'; at: number };

export interface TrackerResult {
  state: TrackerState;
  /** Reports to queue, in order. */
  reports: JobReport[];
  /** True when `state` differs from the input state (persist it). */
  changed: boolean;
  /** ms timestamp at which a `tick` should be fed, if the tracker is waiting for something. */
  wakeAt: number | null;
}
