// Pure mapping of the printer's state (Moonraker snapshot + job tracker view)
// to the Polar Cloud `status` message, and the rule deciding whether a new
// status differs enough from the last one sent to be worth sending now.
import type { HeaterView, PrinterSnapshot } from '../../moonraker-bridge/index.js';
import { LOCAL_JOB_ID } from '../jobs/job-types.js';
import { POLAR_STATUS } from '../polar/messages.js';
import type { TrackedJob } from '../jobs/job-types.js';
import { jobPhase, type RunStep } from './job-phase.js';
import type { JobMeta, PolarStatusMessage, PrepareView, StatusInput } from './status-types.js';
import { runoutDetail, runoutSensor } from './filament-runout.js';

type Fields = Partial<PolarStatusMessage>;

const TOOL_KEYS = ['tool0', 'tool1', 'tool2', 'tool3'] as const;
const TARGET_TOOL_KEYS = ['targetTool0', 'targetTool1', 'targetTool2', 'targetTool3'] as const;
const EXTRUDER_NAMES = ['extruder', 'extruder1', 'extruder2', 'extruder3'] as const;
const TEMPERATURE_KEYS: ReadonlySet<string> = new Set([...TOOL_KEYS, 'bed', 'chamber']);
/** Change every message while printing; on their own they do not justify sending one. */
const NOISY_KEYS: ReadonlySet<string> = new Set(['printSeconds', 'bytesRead']);
const PERCENT_RE = /Percent Complete: (-?\d+(?:\.\d+)?)%/;
/** A temperature must move this much (°C) to matter; the epsilon absorbs float error of 1-decimal values. */
const TEMPERATURE_STEP = 1 - 1e-9;

/** What to do about status 15 (issue 18.2). */
const PLATE_DETAIL = 'Clear the build plate and confirm (POLAR_PLATE_CLEAR)';

const CHAMBER_PREFIXES = ['heater_generic', 'temperature_fan', 'temperature_sensor'] as const;

export function mapStatus(input: StatusInput): PolarStatusMessage {
  const p = input.printer;
  const ready = p.connection === 'klippy_ready';
  // Temperatures are unknown (stale at best) unless Klippy is ready.
  const temps = ready ? temperatures(p.heaters, input.chamberObject) : {};
  const base = { serialNumber: input.serialNumber, ...temps };

  if (input.updating) return finish(base, POLAR_STATUS.UPDATING, 'Updating', {});
  // A cloud print that failed before it ran: shown for a few messages, then the real state.
  if (input.failure) {
    return finish(base, POLAR_STATUS.ERROR, 'Error', { progressDetail: input.failure.message, jobId: input.failure.jobId });
  }
  if (!ready) return notReady(input.serialNumber, p);

  // One owner of the job's phase (src/status/job-phase.ts); this only words it.
  const phase = jobPhase(input);
  switch (phase.kind) {
    case 'idle':
      return finish(base, POLAR_STATUS.READY, 'Ready', {});
    case 'cloudFailed':
      return finish(base, POLAR_STATUS.ERROR, 'Error', { progressDetail: phase.message, jobId: phase.jobId });
    case 'plateOccupied':
      return finish(base, POLAR_STATUS.CLEAR_BUILD_PLATE, 'Clear build plate', { progressDetail: PLATE_DETAIL });
    case 'cloudPreparing':
      if (phase.prepare.step === 'plate') {
        return finish(base, POLAR_STATUS.CLEAR_BUILD_PLATE, 'Clear build plate', { ...prepareFields(input, phase.prepare), progressDetail: `${PLATE_DETAIL}; then job ${phase.prepare.job.jobId} starts` });
      }
      return finish(base, POLAR_STATUS.PREPARING, 'Preparing', prepareFields(input, phase.prepare));
    case 'cloudPostProcessing':
      return finish(base, POLAR_STATUS.POSTPROCESSING, 'Post-processing', { jobId: phase.jobId });
    case 'cloudFinished': {
      const done = phase.state === 'completed';
      return finish(base, done ? POLAR_STATUS.COMPLETE : POLAR_STATUS.CANCELING, done ? 'Complete' : 'Canceled', {
        jobId: phase.jobId,
        file: phase.job?.fileUrl,
        config: phase.job?.configUrl,
      });
    }
    case 'cloudRunning':
      return runningPrint(input, base, phase.job, phase.step);
    case 'local':
      return runningPrint(input, base, phase.job, phase.step);
  }
}

/** Moonraker or Klippy not usable: 13 (not there yet / gone) or 12 (Klipper reports a failure). */
function notReady(serialNumber: string, p: PrinterSnapshot): PolarStatusMessage {
  const msg = p.stateMessage.trim();
  const withMsg = (text: string): string => (msg ? `${text}: ${msg}` : text);
  const base = { serialNumber };
  switch (p.connection) {
    case 'klippy_shutdown':
      return finish(base, POLAR_STATUS.ERROR, 'Error', { progressDetail: msg || 'Klipper shut down' });
    case 'klippy_error':
      return finish(base, POLAR_STATUS.ERROR, 'Error', { progressDetail: msg || 'Klipper reports an error' });
    case 'klippy_startup':
      return finish(base, POLAR_STATUS.DISCONNECTED, 'Disconnected', { progressDetail: 'Klipper starting' });
    case 'klippy_disconnected':
      return finish(base, POLAR_STATUS.DISCONNECTED, 'Disconnected', { progressDetail: 'Klipper disconnected' });
    case 'connecting':
      return finish(base, POLAR_STATUS.DISCONNECTED, 'Disconnected', { progressDetail: withMsg('Connecting to Moonraker') });
    case 'unauthorized':
      return finish(base, POLAR_STATUS.DISCONNECTED, 'Disconnected', { progressDetail: withMsg('Moonraker refused access') });
    default:
      return finish(base, POLAR_STATUS.DISCONNECTED, 'Disconnected', { progressDetail: withMsg('Moonraker unreachable') });
  }
}

function prepareFields(input: StatusInput, prepare: PrepareView): Fields {
  const job = prepare.job;
  const name = job.jobName || basename(job.filename);
  const pct = prepare.percent !== undefined && Number.isFinite(prepare.percent) ? ` ${formatPercent(prepare.percent)}%` : '';
  const pctParen = prepare.percent !== undefined && Number.isFinite(prepare.percent) ? ` (${Math.floor(Math.min(100, Math.max(0, prepare.percent)))}%)` : '';
  const detail =
    prepare.step === 'downloading'
      ? `Downloading file for job: ${job.jobId}${pctParen}`
      : prepare.step === 'slicing'
        ? `Slicing Job: ${job.jobId}`
        : prepare.step === 'uploading'
          ? `Uploading to printer: ${name}${pct}`
          : prepare.step === 'queued'
            ? `Waiting in the printer's job queue: ${name}`
            : `Starting print: ${name}`;
  return {
    progressDetail: detail,
    jobId: job.jobId,
    file: job.fileUrl,
    config: job.configUrl,
    ...metaFields(metaFor(input.jobMeta, job.filename)),
  };
}

/**
 * A job handed to Klipper. Cloud: 2 until the first extrusion, then 3; local: always 1 (heating
 * detail in progressDetail; 2 is reserved for cloud prints, protocol §3.12); paused: 4/9/10.
 */
function runningPrint(input: StatusInput, base: Fields & { serialNumber: string }, job: TrackedJob | null, step: RunStep): PolarStatusMessage {
  const p = input.printer;
  const cloud = job?.cloud === true;
  const filename = job?.filename || p.print_stats.filename || '';
  const name = job?.jobName || basename(filename);
  const meta = metaFor(input.jobMeta, filename);
  const fields: Fields = {
    jobId: job ? job.jobId : LOCAL_JOB_ID,
    file: cloud ? job.fileUrl : undefined,
    config: cloud ? job.configUrl : undefined,
    startTime: job && step !== 'starting' ? isoTime(job.startedAt) : undefined,
    ...metaFields(meta),
  };
  if (step === 'starting') {
    // print_stats still shows the previous print: none of its numbers belong to this job.
    const detail = `Starting print: ${name}`;
    return cloud
      ? finish(base, POLAR_STATUS.PREPARING, 'Preparing', { ...fields, progressDetail: detail })
      : finish(base, POLAR_STATUS.SERIAL, 'Printing', { ...fields, progressDetail: detail });
  }
  Object.assign(fields, {
    printSeconds: nonNegInt(p.print_stats.print_duration),
    bytesRead: nonNegInt(p.virtual_sdcard.file_position),
    fileSize: nonNegInt(p.virtual_sdcard.file_size),
  });
  const printingDetail = `Printing Job: ${name} Percent Complete: ${formatPercent(percentDone(p, meta))}%`;

  if (step === 'paused') {
    // Paused with an enabled runout sensor seeing no filament: 10 with the sensor named (issue 18.3).
    const runout = input.pauseKind === 'cold' ? null : runoutSensor(p);
    if (runout) return finish(base, POLAR_STATUS.CHANGING_FILAMENT, 'Changing filament', { ...fields, progressDetail: runoutDetail(runout, printingDetail) });
    const [status, progress] =
      input.pauseKind === 'cold'
        ? [POLAR_STATUS.COLD_PAUSE, 'Paused (cold)']
        : input.pauseKind === 'filament'
          ? [POLAR_STATUS.CHANGING_FILAMENT, 'Changing filament']
          : [POLAR_STATUS.PAUSED, 'Paused'];
    return finish(base, status, progress, { ...fields, progressDetail: printingDetail });
  }
  if (step === 'heating') {
    const detail = `Heating / homing before printing ${name}`;
    return cloud
      ? finish(base, POLAR_STATUS.PREPARING, 'Preparing', { ...fields, progressDetail: detail })
      : finish(base, POLAR_STATUS.SERIAL, 'Printing', { ...fields, progressDetail: detail });
  }
  const status = cloud ? POLAR_STATUS.PRINTING : POLAR_STATUS.SERIAL;
  return finish(base, status, 'Printing', { ...fields, progressDetail: printingDetail });
}

/** Percent of the print done (0–100): G-code byte range when known, else Klipper's own progress. */
function percentDone(p: PrinterSnapshot, meta: JobMeta | null): number {
  const pos = p.virtual_sdcard.file_position;
  const start = meta?.gcodeStartByte;
  const end = meta?.gcodeEndByte;
  let pct: number | undefined;
  if (isNum(pos) && isNum(start) && isNum(end) && end > start) pct = ((pos - start) / (end - start)) * 100;
  else if (isNum(p.virtual_sdcard.progress)) pct = p.virtual_sdcard.progress * 100;
  else if (isNum(p.display_status.progress)) pct = p.display_status.progress * 100;
  return clamp(pct ?? 0, 0, 100);
}

/** The metadata only when it belongs to the file in question (never a previous file's estimates). */
function metaFor(meta: JobMeta | null, filename: string): JobMeta | null {
  if (!meta || !filename) return null;
  return stripSlash(meta.filename) === stripSlash(filename) ? meta : null;
}

function metaFields(meta: JobMeta | null): Fields {
  if (!meta) return {};
  return { estimatedTime: nonNegInt(meta.estimatedTime), filamentUsed: nonNegInt(meta.filamentTotal) };
}

function temperatures(heaters: readonly HeaterView[], chamberObject: string | null): Fields {
  const out: Fields = {};
  const byName = new Map(heaters.map((h) => [h.name, h]));
  EXTRUDER_NAMES.forEach((name, i) => {
    const h = byName.get(name);
    if (!h) return;
    out[TOOL_KEYS[i]!] = round1(h.temperature);
    out[TARGET_TOOL_KEYS[i]!] = round1(h.target);
  });
  const bed = byName.get('heater_bed');
  if (bed) {
    out.bed = round1(bed.temperature);
    out.targetBed = round1(bed.target);
  }
  const chamber = chamberObject ? byName.get(chamberObject) : undefined;
  if (chamber) {
    out.chamber = round1(chamber.temperature);
    if (chamber.kind === 'heater') out.targetChamber = round1(chamber.target);
  }
  return out;
}

/** Assembles the message, dropping keys whose value is undefined or not a finite number. */
function finish(base: Fields & { serialNumber: string }, status: number, progress: string, extra: Fields): PolarStatusMessage {
  const merged: Record<string, unknown> = { ...base, status, progress, ...extra };
  for (const [k, v] of Object.entries(merged)) {
    if (v === undefined || v === null || (typeof v === 'number' && !Number.isFinite(v))) delete merged[k];
  }
  return merged as PolarStatusMessage;
}

/**
 * Whether `next` should be sent now rather than waiting for the periodic status:
 * anything but printSeconds/bytesRead, small temperature moves and sub-percent
 * progress changes counts.
 */
export function statusChangeIsMeaningful(prev: PolarStatusMessage | null, next: PolarStatusMessage): boolean {
  if (!prev) return true;
  const a = prev as Record<string, unknown>;
  const b = next as Record<string, unknown>;
  for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) {
    const x = a[key];
    const y = b[key];
    if (x === y || NOISY_KEYS.has(key)) continue;
    if (TEMPERATURE_KEYS.has(key)) {
      if (typeof x !== 'number' || typeof y !== 'number' || Math.abs(x - y) >= TEMPERATURE_STEP) return true;
      continue;
    }
    if (key === 'progressDetail' && typeof x === 'string' && typeof y === 'string') {
      if (detailChanged(x, y)) return true;
      continue;
    }
    return true;
  }
  return false;
}

/** Keys whose change is a user-visible event (not drift): sent ahead of the 1 s coalescing. */
const URGENT_KEYS = new Set(['status', 'jobId', 'progress', 'file', 'config', 'targetTool0', 'targetTool1', 'targetTool2', 'targetTool3', 'targetBed', 'targetChamber']);

/**
 * A change someone is waiting to see (state, job, a target set from the UI), as
 * opposed to temperatures drifting or progress ticking: the reporter sends these
 * within 250 ms even right after another message.
 */
export function statusChangeIsUrgent(prev: PolarStatusMessage | null, next: PolarStatusMessage): boolean {
  if (!prev) return true;
  const a = prev as Record<string, unknown>;
  const b = next as Record<string, unknown>;
  for (const key of URGENT_KEYS) if (a[key] !== b[key]) return true;
  return false;
}

/** Progress details differ in text, or in the whole percent. */
function detailChanged(x: string, y: string): boolean {
  const px = PERCENT_RE.exec(x);
  const py = PERCENT_RE.exec(y);
  if (!px || !py) return true;
  if (x.replace(PERCENT_RE, '') !== y.replace(PERCENT_RE, '')) return true;
  return Math.floor(Number(px[1])) !== Math.floor(Number(py[1]));
}

/** The Klipper object to report as `chamber` when none is configured. */
export function defaultChamberObject(heaterNames: readonly string[]): string | null {
  for (const prefix of CHAMBER_PREFIXES) {
    const found = heaterNames.find((n) => {
      const space = n.indexOf(' ');
      return space > 0 && n.slice(0, space) === prefix && n.slice(space + 1).toLowerCase() === 'chamber';
    });
    if (found) return found;
  }
  return null;
}

// ------------------------------------------------------------------ helpers

function isNum(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}

function clamp(v: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, v));
}

function round1(v: number | null | undefined): number | undefined {
  return isNum(v) ? Math.round(v * 10) / 10 : undefined;
}

function nonNegInt(v: number | null | undefined): number | undefined {
  // Absurd values (a corrupt file's metadata) are dropped rather than sent as non-integers past 2^53.
  return isNum(v) && v >= 0 && v <= Number.MAX_SAFE_INTEGER ? Math.round(v) : undefined;
}

function formatPercent(pct: number): string {
  return clamp(pct, 0, 100).toFixed(1);
}

function isoTime(ms: number): string | undefined {
  // Date's range is ±8.64e15 ms; a corrupt history/print_stats time must not throw from a timer.
  return isNum(ms) && Math.abs(ms) <= 8.64e15 ? new Date(ms).toISOString() : undefined;
}

function basename(path: string): string {
  const i = path.lastIndexOf('/');
  return i >= 0 ? path.slice(i + 1) : path;
}

function stripSlash(path: string): string {
  return path.replace(/^\/+/, '');
}
