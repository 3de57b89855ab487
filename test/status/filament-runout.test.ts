// Issue 18.3: a print paused for filament runout is 10 "Changing filament"
// with the sensor named in progressDetail; table-driven over the mapper.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { PrinterSnapshot } from '../../moonraker-bridge/index.js';
import { LOCAL_JOB_ID, type TrackedJob } from '../../src/jobs/job-types.js';
import { validatePrinterCommand } from '../../src/polar/messages.js';
import { mapStatus } from '../../src/status/status-mapper.js';
import type { PauseKind, StatusInput } from '../../src/status/status-types.js';

type Sensors = Record<string, Record<string, unknown>>;

function snapshot(state: string, sensors: Sensors, isPaused = state === 'paused'): PrinterSnapshot {
  return {
    connection: 'klippy_ready',
    klippyState: 'ready',
    stateMessage: '',
    eventtime: 1,
    webhooks: {},
    print_stats: { state, filename: 'benchy.gcode', print_duration: state === 'standby' ? 0 : 100 },
    virtual_sdcard: { file_position: 500, file_size: 1000, progress: 0.5 },
    display_status: {},
    pause_resume: { is_paused: isPaused },
    idle_timeout: {},
    toolhead: {},
    heaters: [],
    objectNames: ['webhooks', 'print_stats', ...Object.keys(sensors)],
    macros: [],
    object: (name: string) => sensors[name],
  };
}

const cloudJob: TrackedJob = { jobId: 'J42', cloud: true, filename: 'benchy.gcode', moonrakerJobId: '0001', startedAt: 0, jobName: 'Benchy', fileUrl: 'https://x/f', configUrl: 'https://x/c', printSeconds: 0, filamentUsed: 0 };

function input(printer: PrinterSnapshot, job: TrackedJob | null = cloudJob, pauseKind: PauseKind | null = null): StatusInput {
  return { serialNumber: 'SN1', printer, job, jobMeta: null, prepare: null, banner: null, pauseKind, postProcessing: null, updating: false, chamberObject: null };
}

const OUT = { 'filament_switch_sensor runout': { filament_detected: false, enabled: true } };
const IN = { 'filament_switch_sensor runout': { filament_detected: true, enabled: true } };
const DISABLED_OUT = { 'filament_switch_sensor runout': { filament_detected: false, enabled: false } };
const MOTION_OUT = { 'filament_switch_sensor runout': { filament_detected: true, enabled: true }, 'filament_motion_sensor encoder': { filament_detected: false, enabled: true } };
const UNKNOWN = { 'filament_switch_sensor runout': {} };

const rows: Array<{ name: string; input: StatusInput; status: number; progress?: string; detail?: string | RegExp; jobId?: string }> = [
  { name: 'paused, switch sensor sees no filament → 10 with the sensor', input: input(snapshot('paused', OUT)), status: 10, progress: 'Changing filament', detail: 'Filament runout (sensor runout): Printing Job: Benchy Percent Complete: 50.0%', jobId: 'J42' },
  { name: 'is_paused while print_stats still says printing → 10', input: input(snapshot('printing', OUT, true)), status: 10, detail: /^Filament runout \(sensor runout\)/ },
  { name: 'motion sensor → 10 naming it', input: input(snapshot('paused', MOTION_OUT)), status: 10, detail: /^Filament runout \(sensor encoder\)/ },
  { name: 'local print paused for runout → 10 with jobId 123', input: input(snapshot('paused', OUT), null), status: 10, jobId: LOCAL_JOB_ID },
  { name: 'after resume (printing, filament back) → 3', input: input(snapshot('printing', IN)), status: 3, progress: 'Printing', detail: 'Printing Job: Benchy Percent Complete: 50.0%' },
  { name: 'printing with no filament (pause_on_runout off) → 3', input: input(snapshot('printing', OUT)), status: 3 },
  { name: 'paused, filament present → plain 4', input: input(snapshot('paused', IN)), status: 4, progress: 'Paused' },
  { name: 'paused, sensor disabled → 4', input: input(snapshot('paused', DISABLED_OUT)), status: 4 },
  { name: 'paused, sensor state not reported yet → 4', input: input(snapshot('paused', UNKNOWN)), status: 4 },
  { name: 'a cold pause from the cloud stays 9', input: input(snapshot('paused', OUT), cloudJob, 'cold'), status: 9 },
  { name: 'idle with no filament → 0', input: input(snapshot('standby', OUT), null), status: 0 },
];

for (const row of rows) {
  test(`runout: ${row.name}`, () => {
    const msg = mapStatus(row.input);
    const v = validatePrinterCommand('status', msg);
    assert.ok(v.ok, v.ok ? '' : v.reason);
    assert.equal(msg.status, row.status);
    if (row.progress) assert.equal(msg.progress, row.progress);
    if (typeof row.detail === 'string') assert.equal(msg.progressDetail, row.detail);
    else if (row.detail) assert.match(String(msg.progressDetail), row.detail);
    if (row.jobId) assert.equal(msg.jobId, row.jobId);
  });
}
