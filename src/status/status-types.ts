// Input and output of the pure printer-state → Polar-status mapper.
import type { PrinterSnapshot } from '../../moonraker-bridge/index.js';
import type { PrinterToCloud } from '../polar/messages.js';
import type { FinishState, PendingCloudJob, TrackedJob } from '../jobs/job-types.js';

export type PolarStatusMessage = PrinterToCloud['status'];

/** From the file's Moonraker metadata (estimates for the whole print). */
export interface JobMeta {
  filename: string;
  estimatedTime: number | null;
  filamentTotal: number | null;
  gcodeStartByte: number | null;
  gcodeEndByte: number | null;
  size: number | null;
}

/** A cloud job on its way to the printer (issue 5 fills this in). */
export interface PrepareView {
  job: PendingCloudJob;
  /** 'plate': waiting for a free printer and a cleared build plate (status 15). */
  step: 'downloading' | 'slicing' | 'uploading' | 'starting' | 'plate' | 'queued';
  /** 0–100 when known. */
  percent?: number | undefined;
}

export type PauseKind = 'pause' | 'cold' | 'filament';

export interface StatusInput {
  serialNumber: string;
  printer: PrinterSnapshot;
  /** The tracker's active job (also during the short wait after it ended). */
  job: TrackedJob | null;
  jobMeta: JobMeta | null;
  prepare: PrepareView | null;
  /** A finished cloud job being announced (6/7 repeated on consecutive messages). */
  banner: { state: FinishState; jobId: string } | null;
  /** How the current pause was requested from the cloud (null: plain or local pause). */
  pauseKind: PauseKind | null;
  /** A finished cloud job whose timelapse is being encoded/uploaded. */
  postProcessing: { jobId: string } | null;
  /** This service is updating itself. */
  updating: boolean;
  /** A cloud print that failed before printing (reported as 12 for a few messages). */
  failure?: { jobId: string; message: string } | null | undefined;
  /** The cloud job handed to the bridge and not yet tracked as printing (tracker's pendingCloud). */
  pending?: PendingCloudJob | null | undefined;
  /** The cloud job a timelapse is being recorded for: its completion shows 5 before 7. */
  timelapseJobId?: string | null | undefined;
  /** A file history already finished while print_stats may still show it printing. */
  staleFile?: string | null | undefined;
  /** The build plate holds the last print and control.require_clear_plate is on: 15 when idle. */
  plateBlocking?: boolean | undefined;
  /** A cloud job waiting in Moonraker's job queue while the printer is idle: 2 (15 while the plate gate holds it). */
  queuedWaiting?: PendingCloudJob | null | undefined;
  /** Klipper object used as `chamber` (heater_generic / temperature_sensor / temperature_fan name), if any. */
  chamberObject: string | null;
}
