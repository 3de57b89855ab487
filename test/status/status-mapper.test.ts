import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ConnectionState, HeaterView, PrinterSnapshot } from '../../moonraker-bridge/index.js';
import { LOCAL_JOB_ID, type PendingCloudJob, type TrackedJob } from '../../src/jobs/job-types.js';
import { validatePrinterCommand } from '../../src/polar/messages.js';
import { defaultChamberObject, mapStatus, statusChangeIsMeaningful } from '../../src/status/status-mapper.js';
import type { JobMeta, PolarStatusMessage, StatusInput } from '../../src/status/status-types.js';

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

function heater(name: string, temperature: number | null, target: number | null, kind: 'heater' | 'sensor' = 'heater'): HeaterView {
  return { name, kind, temperature, target, power: null, max_temp: null, min_temp: null };
}

const DEFAULT_HEATERS = [heater('extruder', 205.26, 210.04), heater('heater_bed', 59.94, 60)];

function snapshot(over: Partial<Mutable<PrinterSnapshot>> = {}): PrinterSnapshot {
  const connection: ConnectionState = over.connection ?? 'klippy_ready';
  return {
    connection,
    klippyState: connection.startsWith('klippy_') ? (connection.slice(7) as PrinterSnapshot['klippyState']) : 'unknown',
    stateMessage: '',
    eventtime: 1,
    webhooks: {},
    print_stats: { state: 'standby', filename: '', print_duration: 0 },
    virtual_sdcard: {},
    display_status: {},
    pause_resume: { is_paused: false },
    idle_timeout: {},
    toolhead: {},
    heaters: DEFAULT_HEATERS,
    objectNames: [],
    macros: [],
    object: () => undefined,
    ...over,
  };
}

/** A print 100 s in, half-way through the file by bytes (gcode 1000..11000, position 5970 → 49.7%). */
function printingSnapshot(over: Partial<Mutable<PrinterSnapshot>> = {}): PrinterSnapshot {
  return snapshot({
    print_stats: { state: 'printing', filename: 'dir/benchy.gcode', print_duration: 100.4 },
    virtual_sdcard: { file_position: 5970, file_size: 12000, progress: 0.3 },
    ...over,
  });
}

function input(over: Partial<StatusInput> = {}): StatusInput {
  return {
    serialNumber: 'SN1',
    printer: snapshot(),
    job: null,
    jobMeta: null,
    prepare: null,
    banner: null,
    pauseKind: null,
    postProcessing: null,
    updating: false,
    chamberObject: null,
    ...over,
  };
}

const STARTED_AT = Date.UTC(2024, 4, 6, 12, 30, 0);
const cloudJob: TrackedJob = {
  jobId: 'J42',
  cloud: true,
  filename: 'dir/benchy.gcode',
  moonrakerJobId: '0001',
  startedAt: STARTED_AT,
  jobName: 'Benchy',
  fileUrl: 'https://x/file',
  configUrl: 'https://x/config',
  printSeconds: 0,
  filamentUsed: 0,
};
const localJob: TrackedJob = { ...cloudJob, jobId: LOCAL_JOB_ID, cloud: false, jobName: undefined, fileUrl: undefined, configUrl: undefined };
const meta: JobMeta = {
  filename: 'dir/benchy.gcode',
  estimatedTime: 3600.6,
  filamentTotal: 1234.4,
  gcodeStartByte: 1000,
  gcodeEndByte: 11000,
  size: 12000,
};
const pending: PendingCloudJob = { jobId: 'J42', filename: 'dir/benchy.gcode', since: 0, jobName: 'Benchy', fileUrl: 'https://x/file', configUrl: 'https://x/config' };

interface Row {
  name: string;
  input: StatusInput;
  expect: Partial<PolarStatusMessage>;
  absent?: (keyof PolarStatusMessage)[];
}

const TEMPS = { tool0: 205.3, targetTool0: 210, bed: 59.9, targetBed: 60 };
const NO_TEMPS: (keyof PolarStatusMessage)[] = ['tool0', 'targetTool0', 'bed', 'targetBed'];
const JOB_KEYS: (keyof PolarStatusMessage)[] = ['jobId', 'file', 'config', 'startTime', 'printSeconds', 'bytesRead', 'fileSize'];

const statusRows: Row[] = [
  { name: 'idle → 0 Ready', input: input(), expect: { status: 0, progress: 'Ready', serialNumber: 'SN1', ...TEMPS }, absent: ['progressDetail', ...JOB_KEYS] },
  { name: 'updating → 8 wins over everything', input: input({ updating: true, printer: printingSnapshot() }), expect: { status: 8, progress: 'Updating', ...TEMPS }, absent: ['jobId'] },
  ...(
    [
      ['disconnected', 'ECONNREFUSED', 'Moonraker unreachable: ECONNREFUSED'],
      ['connecting', '', 'Connecting to Moonraker'],
      ['unauthorized', 'HTTP 401', 'Moonraker refused access: HTTP 401'],
      ['klippy_startup', 'Printer is not ready', 'Klipper starting'],
      ['klippy_disconnected', '', 'Klipper disconnected'],
    ] as const
  ).map(([connection, stateMessage, detail]): Row => ({
    name: `${connection} → 13`,
    input: input({ printer: snapshot({ connection, stateMessage }), job: cloudJob }),
    expect: { status: 13, progress: 'Disconnected', progressDetail: detail },
    absent: [...NO_TEMPS, 'jobId'],
  })),
  { name: 'klippy_shutdown → 12 with the message', input: input({ printer: snapshot({ connection: 'klippy_shutdown', stateMessage: 'MCU timer too close\n' }) }), expect: { status: 12, progress: 'Error', progressDetail: 'MCU timer too close' }, absent: NO_TEMPS },
  { name: 'klippy_error → 12', input: input({ printer: snapshot({ connection: 'klippy_error', stateMessage: 'Config error' }) }), expect: { status: 12, progressDetail: 'Config error' }, absent: NO_TEMPS },
  {
    name: 'prepare downloading → 2 with percent and job fields',
    input: input({ prepare: { job: pending, step: 'downloading', percent: 42.25 }, jobMeta: meta }),
    expect: { status: 2, progress: 'Preparing', progressDetail: 'Downloading file for job: J42 (42%)', jobId: 'J42', file: 'https://x/file', config: 'https://x/config', estimatedTime: 3601, filamentUsed: 1234, ...TEMPS },
    absent: ['printSeconds', 'bytesRead', 'startTime'],
  },
  { name: 'prepare uploading', input: input({ prepare: { job: { ...pending, jobName: undefined }, step: 'uploading' } }), expect: { status: 2, progressDetail: 'Uploading to printer: benchy.gcode', jobId: 'J42' } },
  { name: 'prepare slicing', input: input({ prepare: { job: pending, step: 'slicing' } }), expect: { status: 2, progressDetail: 'Slicing Job: J42', jobId: 'J42' } },
  { name: 'a failed cloud print → 12 with the reason, ahead of everything but updating', input: input({ failure: { jobId: 'J9', message: 'Download failed: HTTP 404' }, prepare: { job: pending, step: 'downloading' } }), expect: { status: 12, progress: 'Error', progressDetail: 'Download failed: HTTP 404', jobId: 'J9' } },
  { name: 'prepare starting', input: input({ prepare: { job: pending, step: 'starting', percent: 100 } }), expect: { status: 2, progressDetail: 'Starting print: Benchy' } },
  {
    name: 'local print, no tracked job → 1 with jobId 123 and exact detail',
    input: input({ printer: printingSnapshot(), jobMeta: meta }),
    expect: { status: 1, progress: 'Printing', jobId: '123', progressDetail: 'Printing Job: benchy.gcode Percent Complete: 49.7%', printSeconds: 100, bytesRead: 5970, fileSize: 12000, estimatedTime: 3601, filamentUsed: 1234, ...TEMPS },
    absent: ['startTime', 'file', 'config'],
  },
  { name: 'tracked local print → 1 with its jobId and start time', input: input({ printer: printingSnapshot(), job: localJob }), expect: { status: 1, jobId: '123', startTime: '2024-05-06T12:30:00.000Z' }, absent: ['file', 'config'] },
  {
    name: 'cloud print → 3 with file/config/startTime',
    input: input({ printer: printingSnapshot(), job: cloudJob, jobMeta: meta }),
    expect: { status: 3, progress: 'Printing', jobId: 'J42', file: 'https://x/file', config: 'https://x/config', startTime: '2024-05-06T12:30:00.000Z', progressDetail: 'Printing Job: Benchy Percent Complete: 49.7%' },
  },
  {
    name: 'printing with print_duration 0 → 2 heating/homing',
    input: input({ printer: printingSnapshot({ print_stats: { state: 'printing', filename: 'dir/benchy.gcode', print_duration: 0 } }), job: cloudJob, jobMeta: meta }),
    expect: { status: 2, progress: 'Preparing', progressDetail: 'Heating / homing before printing Benchy', jobId: 'J42', estimatedTime: 3601, printSeconds: 0 },
  },
  { name: 'paused → 4', input: input({ printer: printingSnapshot({ print_stats: { state: 'paused', filename: 'dir/benchy.gcode', print_duration: 100 } }), job: cloudJob, jobMeta: meta }), expect: { status: 4, progress: 'Paused', jobId: 'J42', progressDetail: 'Printing Job: Benchy Percent Complete: 49.7%' } },
  { name: 'pause_resume.is_paused while printing → 4', input: input({ printer: printingSnapshot({ pause_resume: { is_paused: true } }) }), expect: { status: 4, jobId: '123' } },
  { name: 'cold pause → 9', input: input({ printer: printingSnapshot({ print_stats: { state: 'paused', filename: 'b.gcode', print_duration: 5 } }), job: cloudJob, pauseKind: 'cold' }), expect: { status: 9 } },
  { name: 'filament pause → 10', input: input({ printer: printingSnapshot({ print_stats: { state: 'paused', filename: 'b.gcode', print_duration: 5 } }), job: cloudJob, pauseKind: 'filament' }), expect: { status: 10 } },
  { name: 'post-processing → 5', input: input({ postProcessing: { jobId: 'J42' }, banner: { state: 'completed', jobId: 'J42' } }), expect: { status: 5, progress: 'Post-processing', jobId: 'J42', ...TEMPS } },
  { name: 'plate occupied with the gate on, idle → 15 without a job', input: input({ plateBlocking: true }), expect: { status: 15, progress: 'Clear build plate', ...TEMPS }, absent: JOB_KEYS },
  { name: 'a cloud job waiting for the plate → 15 with its jobId', input: input({ prepare: { job: pending, step: 'plate' }, plateBlocking: true }), expect: { status: 15, progress: 'Clear build plate', jobId: 'J42', file: 'https://x/file' } },
  { name: 'waiting for the plate: the previous job\'s 7 comes first', input: input({ prepare: { job: pending, step: 'plate' }, banner: { state: 'completed', jobId: 'J7' } }), expect: { status: 7, jobId: 'J7' } },
  { name: 'waiting for the plate while a local print runs → 1', input: input({ prepare: { job: pending, step: 'plate' }, printer: printingSnapshot() }), expect: { status: 1 } },
  { name: 'banner completed → 7', input: input({ banner: { state: 'completed', jobId: 'J7' } }), expect: { status: 7, progress: 'Complete', jobId: 'J7' } },
  { name: 'banner canceled → 6', input: input({ banner: { state: 'canceled', jobId: 'J6' } }), expect: { status: 6, progress: 'Canceled', jobId: 'J6' } },
  ...(
    [
      ['complete', 7, 'Complete'],
      ['cancelled', 6, 'Canceled'],
      ['error', 6, 'Canceled'],
    ] as const
  ).map(([state, status, progress]): Row => ({
    name: `print_stats ${state} with cloud job still tracked → ${status}`,
    input: input({ printer: snapshot({ print_stats: { state, filename: 'dir/benchy.gcode', print_duration: 500 } }), job: { ...cloudJob, running: true, printed: true } }),
    expect: { status, progress, jobId: 'J42', file: 'https://x/file' },
  })),
  { name: 'print_stats complete, local job that ran → 0', input: input({ printer: snapshot({ print_stats: { state: 'complete', filename: 'dir/benchy.gcode', print_duration: 9 } }), job: { ...localJob, running: true } }), expect: { status: 0 }, absent: ['jobId'] },
  // Issue 14: the transitions.
  {
    name: "14.2 a new cloud job tracked while print_stats still shows the previous file's complete → 2 starting, never 7",
    input: input({ printer: snapshot({ print_stats: { state: 'complete', filename: 'old.gcode', print_duration: 900 } }), job: cloudJob }),
    expect: { status: 2, progress: 'Preparing', jobId: 'J42', progressDetail: 'Starting print: Benchy' },
    absent: ['printSeconds', 'bytesRead', 'startTime'],
  },
  {
    name: '14.2 same file re-printed, print_stats still complete from the last run → 2 starting',
    input: input({ printer: snapshot({ print_stats: { state: 'complete', filename: 'dir/benchy.gcode', print_duration: 900 } }), job: cloudJob }),
    expect: { status: 2, jobId: 'J42' },
  },
  {
    name: '14.1 handed to Moonraker (pipeline done), print_stats not printing yet → 2 starting, not 0',
    input: input({ printer: snapshot({ print_stats: { state: 'cancelled', filename: 'old.gcode', print_duration: 9 } }), pending }),
    expect: { status: 2, progress: 'Preparing', jobId: 'J42', progressDetail: 'Starting print: Benchy' },
  },
  {
    name: '14.3 local print heating/homing (print_duration 0) → 1 with the heating detail, never 2',
    input: input({ printer: printingSnapshot({ print_stats: { state: 'printing', filename: 'dir/benchy.gcode', print_duration: 0 } }), job: { ...localJob, running: true } }),
    expect: { status: 1, progress: 'Printing', jobId: '123', progressDetail: 'Heating / homing before printing benchy.gcode' },
  },
  {
    name: '14.3 local print tracked from history, print_stats still on the previous print → 1 starting',
    input: input({ printer: snapshot({ print_stats: { state: 'complete', filename: 'dir/benchy.gcode', print_duration: 9 } }), job: localJob }),
    expect: { status: 1, jobId: '123', progressDetail: 'Starting print: benchy.gcode' },
  },
  {
    name: '14.8 a cloud job that has extruded stays 3 when print_duration reads 0 (cancel turning heaters off)',
    input: input({ printer: printingSnapshot({ print_stats: { state: 'printing', filename: 'dir/benchy.gcode', print_duration: 0 } }), job: { ...cloudJob, running: true, printed: true } }),
    expect: { status: 3, jobId: 'J42' },
  },
  {
    name: 'a cloud job paused while heating, resumed and still heating → 3, never 2 again (found by the fuzz checker)',
    input: input({ printer: printingSnapshot({ print_stats: { state: 'printing', filename: 'dir/benchy.gcode', print_duration: 0 } }), job: { ...cloudJob, running: true, printed: true } }),
    expect: { status: 3, jobId: 'J42' },
  },
  {
    name: '14.4 history finished the cloud job, print_stats still printing it → the 6 banner, no "1 with jobId 123"',
    input: input({ printer: printingSnapshot(), staleFile: 'dir/benchy.gcode', banner: { state: 'canceled', jobId: 'J42' } }),
    expect: { status: 6, jobId: 'J42' },
  },
  {
    name: '14.4 history finished a local job, print_stats still printing it → 0',
    input: input({ printer: printingSnapshot(), staleFile: 'dir/benchy.gcode' }),
    expect: { status: 0 },
    absent: ['jobId'],
  },
  {
    name: "18.4 history finished the local print, print_stats still printing it, a cloud job waits in Moonraker's queue → 2 with that job, never 0",
    input: input({ printer: printingSnapshot(), staleFile: 'dir/benchy.gcode', queuedWaiting: { ...pending, filename: 'cloud/Q-J42.gcode' } }),
    expect: { status: 2, jobId: 'J42' },
  },
  {
    name: "18.4 history finished the local print and Moonraker's queue started the cloud job, print_stats still printing the local file → 2 with that job, never 1/123",
    input: input({ printer: printingSnapshot(), staleFile: 'dir/benchy.gcode', job: { ...cloudJob, filename: 'cloud/Q-J42.gcode' } }),
    expect: { status: 2, jobId: 'J42' },
  },
  {
    name: "18.4 a cloud job waiting in Moonraker's queue stays hidden while the running print is not finished (no 2 inside the local print)",
    input: input({ printer: printingSnapshot(), queuedWaiting: { ...pending, filename: 'cloud/Q-J42.gcode' } }),
    expect: { status: 1, jobId: '123' },
  },
  {
    name: 'a print running on the printer outranks the download of a cloud job that will queue behind it',
    input: input({ printer: printingSnapshot({ print_stats: { state: 'printing', filename: 'local.gcode', print_duration: 50 } }), prepare: { job: pending, step: 'downloading', percent: 10 } }),
    expect: { status: 1, jobId: '123' },
  },
  {
    name: 'so does a local print tracked from history before print_stats shows it (no 2 between its 1s)',
    input: input({ printer: snapshot({ print_stats: { state: 'complete', filename: 'old.gcode', print_duration: 9 } }), job: localJob, prepare: { job: pending, step: 'downloading', percent: 10 } }),
    expect: { status: 1, jobId: '123', progressDetail: 'Starting print: benchy.gcode' },
  },
  {
    name: 'print_stats names the pending job before the tracker caught up → its cloud status, not local',
    input: input({ printer: printingSnapshot(), pending }),
    expect: { status: 3, jobId: 'J42', file: 'https://x/file' },
  },
];

for (const row of statusRows) {
  test(`mapStatus: ${row.name}`, () => {
    const msg = mapStatus(row.input);
    const v = validatePrinterCommand('status', msg);
    assert.ok(v.ok, v.ok ? '' : v.reason);
    for (const [k, val] of Object.entries(row.expect)) assert.deepEqual(msg[k as keyof PolarStatusMessage], val, k);
    for (const k of row.absent ?? []) assert.ok(!(k in msg), `${k} should be absent`);
    for (const [k, val] of Object.entries(msg)) assert.ok(val !== undefined && !Number.isNaN(val), `${k} is ${String(val)}`);
  });
}

interface FieldRow {
  name: string;
  input: StatusInput;
  expect: Partial<PolarStatusMessage>;
  absent?: (keyof PolarStatusMessage)[];
}

const printing = (over: Partial<Mutable<PrinterSnapshot>>): PrinterSnapshot => printingSnapshot(over);
const fieldRows: FieldRow[] = [
  {
    name: 'only present heaters with numbers are reported',
    input: input({ printer: snapshot({ heaters: [heater('extruder', null, 200)] }) }),
    expect: { targetTool0: 200 },
    absent: ['tool0', 'bed', 'targetBed', 'chamber'],
  },
  {
    name: 'extruder1 → tool1/targetTool1',
    input: input({ printer: snapshot({ heaters: [heater('extruder', 20, 0), heater('extruder1', 180.44, 185.06)] }) }),
    expect: { tool0: 20, targetTool0: 0, tool1: 180.4, targetTool1: 185.1 },
    absent: ['tool2'],
  },
  {
    name: 'chamber sensor: temperature without target (even if a target value is present)',
    input: input({ chamberObject: 'temperature_sensor chamber', printer: snapshot({ heaters: [...DEFAULT_HEATERS, heater('temperature_sensor chamber', 35.55, 40, 'sensor')] }) }),
    expect: { chamber: 35.6, ...TEMPS },
    absent: ['targetChamber'],
  },
  {
    name: 'chamber heater: temperature and target',
    input: input({ chamberObject: 'heater_generic chamber', printer: snapshot({ heaters: [heater('heater_generic chamber', 40, 45)] }) }),
    expect: { chamber: 40, targetChamber: 45 },
  },
  {
    name: 'chamber object not among heaters → no chamber',
    input: input({ chamberObject: 'temperature_sensor chamber' }),
    expect: {},
    absent: ['chamber', 'targetChamber'],
  },
  {
    name: 'percent from virtual_sdcard.progress without gcode byte range',
    input: input({ printer: printing({ virtual_sdcard: { progress: 0.12345 } }) }),
    expect: { progressDetail: 'Printing Job: benchy.gcode Percent Complete: 12.3%' },
    absent: ['bytesRead', 'fileSize', 'estimatedTime'],
  },
  {
    name: 'percent from display_status when virtual_sdcard has none',
    input: input({ printer: printing({ virtual_sdcard: {}, display_status: { progress: 0.5 } }) }),
    expect: { progressDetail: 'Printing Job: benchy.gcode Percent Complete: 50.0%' },
  },
  {
    name: 'gcode byte percent clamped to 0 before the gcode start',
    input: input({ printer: printing({ virtual_sdcard: { file_position: 10, file_size: 12000 } }), jobMeta: meta }),
    expect: { progressDetail: 'Printing Job: benchy.gcode Percent Complete: 0.0%', bytesRead: 10 },
  },
  {
    name: 'gcode byte percent clamped to 100 after the gcode end',
    input: input({ printer: printing({ virtual_sdcard: { file_position: 11999, file_size: 12000 } }), jobMeta: meta }),
    expect: { progressDetail: 'Printing Job: benchy.gcode Percent Complete: 100.0%' },
  },
  {
    name: "metadata of another file is not used",
    input: input({ printer: printingSnapshot(), jobMeta: { ...meta, filename: 'other.gcode' } }),
    expect: { progressDetail: 'Printing Job: benchy.gcode Percent Complete: 30.0%' },
    absent: ['estimatedTime', 'filamentUsed'],
  },
  {
    name: 'unknown estimates are omitted, not NaN',
    input: input({ printer: printingSnapshot(), jobMeta: { ...meta, estimatedTime: null, filamentTotal: Number.NaN } }),
    expect: { printSeconds: 100 },
    absent: ['estimatedTime', 'filamentUsed'],
  },
];

for (const row of fieldRows) {
  test(`mapStatus fields: ${row.name}`, () => {
    const msg = mapStatus(row.input);
    const v = validatePrinterCommand('status', msg);
    assert.ok(v.ok, v.ok ? '' : v.reason);
    for (const [k, val] of Object.entries(row.expect)) assert.deepEqual(msg[k as keyof PolarStatusMessage], val, k);
    for (const k of row.absent ?? []) assert.ok(!(k in msg), `${k} should be absent`);
  });
}

const base: PolarStatusMessage = {
  serialNumber: 'SN1',
  status: 3,
  progress: 'Printing',
  progressDetail: 'Printing Job: Benchy Percent Complete: 49.2%',
  jobId: 'J42',
  printSeconds: 100,
  bytesRead: 5000,
  tool0: 205,
  targetTool0: 210,
  bed: 60,
  targetBed: 60,
};
const detail = (pct: string): string => `Printing Job: Benchy Percent Complete: ${pct}%`;

const changeRows: { name: string; prev: PolarStatusMessage | null; next: Partial<PolarStatusMessage>; want: boolean }[] = [
  { name: 'first status', prev: null, next: {}, want: true },
  { name: 'identical', prev: base, next: {}, want: false },
  { name: 'temperature moved 0.9', prev: base, next: { tool0: 205.9 }, want: false },
  { name: 'temperature moved 1.0', prev: base, next: { tool0: 206 }, want: true },
  { name: 'bed moved 1.0 down (1-decimal float values)', prev: { ...base, bed: 60.3 }, next: { bed: 59.3 }, want: true },
  { name: 'temperature appeared', prev: base, next: { chamber: 30 }, want: true },
  { name: 'temperature disappeared', prev: base, next: { bed: undefined }, want: true },
  { name: 'target changed by 0.5', prev: base, next: { targetTool0: 210.5 }, want: true },
  { name: 'percent 49.2 → 49.8', prev: base, next: { progressDetail: detail('49.8') }, want: false },
  { name: 'percent 49.8 → 50.1', prev: { ...base, progressDetail: detail('49.8') }, next: { progressDetail: detail('50.1') }, want: true },
  { name: 'detail text changed, same percent', prev: base, next: { progressDetail: 'Printing Job: Other Percent Complete: 49.2%' }, want: true },
  { name: 'detail without percent changed', prev: { ...base, progressDetail: 'Downloading Benchy' }, next: { progressDetail: 'Uploading to printer: Benchy' }, want: true },
  { name: 'printSeconds and bytesRead only', prev: base, next: { printSeconds: 160, bytesRead: 9000 }, want: false },
  { name: 'status change', prev: base, next: { status: 4 }, want: true },
  { name: 'progress text change', prev: base, next: { progress: 'Paused' }, want: true },
  { name: 'jobId change', prev: base, next: { jobId: '123' }, want: true },
  { name: 'file appeared', prev: base, next: { file: 'https://x/file' }, want: true },
];

for (const row of changeRows) {
  test(`statusChangeIsMeaningful: ${row.name} → ${row.want}`, () => {
    const next = { ...(row.prev ?? base), ...row.next } as Record<string, unknown>;
    for (const k of Object.keys(next)) if (next[k] === undefined) delete next[k];
    assert.equal(statusChangeIsMeaningful(row.prev, next as PolarStatusMessage), row.want);
  });
}

const chamberRows: { names: string[]; want: string | null }[] = [
  { names: ['extruder', 'heater_bed'], want: null },
  { names: ['temperature_sensor chamber', 'heater_generic Chamber'], want: 'heater_generic Chamber' },
  { names: ['temperature_sensor CHAMBER', 'temperature_fan chamber'], want: 'temperature_fan chamber' },
  { names: ['temperature_sensor chamber'], want: 'temperature_sensor chamber' },
  { names: ['temperature_sensor chamber_top', 'heater_generic chamberx'], want: null },
];

for (const row of chamberRows) {
  test(`defaultChamberObject(${JSON.stringify(row.names)}) → ${String(row.want)}`, () => {
    assert.equal(defaultChamberObject(row.names), row.want);
  });
}
