import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  HISTORY_GRACE_MS,
  PENDING_CLOUD_TTL_MS,
  QUEUED_CLOUD_TTL_MS,
  REPORTED_KEYS_CAP,
  reduceJob,
  sameFile,
} from '../../src/jobs/job-tracker.js';
import {
  INITIAL_TRACKER_STATE,
  LOCAL_JOB_ID,
  type HistoryRecord,
  type JobReport,
  type TrackedJob,
  type TrackerEvent,
  type TrackerResult,
  type TrackerState,
} from '../../src/jobs/job-types.js';

const T0 = 1_700_000_000_000; // ms; history start_time is T0 / 1000 s
const S0 = T0 / 1000;

function snap(at: number, printState: string, filename = 'a.gcode', printDuration = 0, filamentUsed = 0, ready = true): TrackerEvent {
  // total_duration counts from the print's start at T0, like Klipper's print_stats
  return { type: 'snapshot', at, ready, printState, filename, printDuration, totalDuration: (at - T0) / 1000, filamentUsed };
}
function rec(job_id: string, status: string, over: Partial<HistoryRecord> = {}): HistoryRecord {
  return { job_id, filename: 'a.gcode', status, start_time: S0, print_duration: 0, filament_used: 0, ...over };
}
const added = (at: number, record: HistoryRecord): TrackerEvent => ({ type: 'historyAdded', at, record });
const finished = (at: number, record: HistoryRecord): TrackerEvent => ({ type: 'historyFinished', at, record });
const tick = (at: number): TrackerEvent => ({ type: 'tick', at });
const cloudStart = (at: number, jobId: string, filename = 'a.gcode'): TrackerEvent => ({
  type: 'cloudStart',
  at,
  job: { jobId, filename, since: at, jobName: 'Benchy', fileUrl: 'https://s3/f' },
});
const cloudAbort = (at: number, jobId: string): TrackerEvent => ({ type: 'cloudAbort', at, jobId });
const cloudQueue = (at: number, jobId: string, filename: string): TrackerEvent => ({ type: 'cloudQueue', at, job: { jobId, filename, since: at } });

function report(over: Partial<JobReport> & Pick<JobReport, 'key' | 'finishedAt'>): JobReport {
  return { jobId: LOCAL_JOB_ID, state: 'completed', printSeconds: 0, filamentUsed: 0, filename: 'a.gcode', cloud: false, ...over };
}
function job(over: Partial<TrackedJob> = {}): TrackedJob {
  return { jobId: LOCAL_JOB_ID, cloud: false, filename: 'a.gcode', moonrakerJobId: null, startedAt: T0, printSeconds: 0, filamentUsed: 0, ...over };
}
const cloudJob = (over: Partial<TrackedJob> = {}): TrackedJob =>
  job({ jobId: 'cj1', cloud: true, jobName: 'Benchy', fileUrl: 'https://s3/f', ...over });

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

/** Feeds events in order; every input state is deep-frozen, so any mutation throws. */
function run(initial: TrackerState, events: TrackerEvent[]): { state: TrackerState; reports: JobReport[]; results: TrackerResult[] } {
  let state = initial;
  const reports: JobReport[] = [];
  const results: TrackerResult[] = [];
  for (const e of events) {
    const input = deepFreeze(structuredClone(state));
    const r = reduceJob(input, e);
    assert.equal(r.changed, !isEqual(input, r.state), `changed flag after ${e.type}@${e.at - T0}`);
    results.push(r);
    reports.push(...r.reports);
    state = r.state;
  }
  return { state, reports, results };
}
function isEqual(a: unknown, b: unknown): boolean {
  try {
    assert.deepStrictEqual(a, b);
    return true;
  } catch {
    return false;
  }
}

/** The running/printed flags are compared only where a scenario states them (the tests below are about them). */
function withoutSeenFlags(state: TrackerState, expected: TrackerState): TrackerState {
  const a = state.active;
  if (!a || !expected.active) return state;
  const out: TrackedJob = { ...a };
  if (!('running' in expected.active)) delete out.running;
  if (!('printed' in expected.active)) delete out.printed;
  return { ...state, active: out };
}

const idle = (reported: string[]): TrackerState => ({ ...INITIAL_TRACKER_STATE, reported });
/** Idle after history finished a print whose end print_stats has not shown yet. */
const idleStale = (reported: string[], staleFile = 'a.gcode'): TrackerState => ({ ...idle(reported), staleFile });

interface Scenario {
  name: string;
  initial?: TrackerState;
  events: TrackerEvent[];
  reports: JobReport[];
  state: TrackerState;
}

const scenarios: Scenario[] = [
  {
    name: 'local print: start -> complete, numbers from history',
    events: [
      snap(T0 + 1000, 'printing'),
      added(T0 + 1500, rec('0001', 'in_progress')),
      snap(T0 + 100_000, 'printing', 'a.gcode', 90.4, 500.6),
      snap(T0 + 200_000, 'complete', 'a.gcode', 190, 990),
      finished(T0 + 200_500, rec('0001', 'completed', { print_duration: 190.7, filament_used: 1000.2 })),
    ],
    reports: [report({ key: '0001', printSeconds: 191, filamentUsed: 1000, finishedAt: T0 + 200_500 })],
    state: idle(['0001']),
  },
  {
    name: 'cloud print: pending -> printing -> history maps the id -> completed',
    events: [
      cloudStart(T0 - 60_000, 'cj1', '/gcodes/a.gcode'),
      snap(T0 + 2000, 'printing', 'a.gcode'),
      added(T0 + 2500, rec('0007', 'in_progress', { filename: 'gcodes/a.gcode' })),
      snap(T0 + 50_000, 'printing', 'a.gcode', 45, 300),
      finished(T0 + 60_000, rec('0007', 'completed', { print_duration: 55, filament_used: 400 })),
    ],
    reports: [report({ jobId: 'cj1', cloud: true, key: '0007', printSeconds: 55, filamentUsed: 400, finishedAt: T0 + 60_000 })],
    state: idleStale(['0007']),
  },
  ...[
    ['cancelled', 'canceled'],
    ['klippy_shutdown', 'canceled'],
    ['error', 'canceled'],
  ].map(([status, state]): Scenario => ({
    name: `history status '${status}' -> ${state}`,
    events: [
      added(T0, rec('0002', 'in_progress')),
      snap(T0 + 10_000, 'printing', 'a.gcode', 9, 20),
      snap(T0 + 11_000, 'error', 'a.gcode', 9, 20, false), // Klippy shut down: ignored
      finished(T0 + 12_000, rec('0002', status!, { print_duration: 10, filament_used: 21 })),
    ],
    reports: [report({ key: '0002', state: state as JobReport['state'], printSeconds: 10, filamentUsed: 21, finishedAt: T0 + 12_000 })],
    state: idleStale(['0002']),
  })),
  {
    name: 'printing -> standby (firmware restart), no history: canceled after the grace, last snapshot numbers',
    events: [
      snap(T0 + 1000, 'printing', 'a.gcode', 1, 2),
      snap(T0 + 30_000, 'printing', 'a.gcode', 29.6, 80.4),
      snap(T0 + 31_000, 'standby', ''),
      tick(T0 + 31_000 + HISTORY_GRACE_MS),
    ],
    reports: [report({ key: `a.gcode@${T0}`, state: 'canceled', printSeconds: 30, filamentUsed: 80, finishedAt: T0 + 31_000 + HISTORY_GRACE_MS })],
    state: idle([`a.gcode@${T0}`]),
  },
  {
    name: 'printing -> complete, no history: nothing before the grace, completed after',
    events: [
      snap(T0 + 1000, 'printing', 'a.gcode', 1, 2),
      added(T0 + 1200, rec('0003', 'in_progress')),
      snap(T0 + 40_000, 'complete', 'a.gcode', 39, 120),
      tick(T0 + 40_000 + HISTORY_GRACE_MS - 1),
      tick(T0 + 40_000 + HISTORY_GRACE_MS),
      tick(T0 + 40_000 + 2 * HISTORY_GRACE_MS),
    ],
    reports: [report({ key: '0003', printSeconds: 1, filamentUsed: 2, finishedAt: T0 + 40_000 + HISTORY_GRACE_MS })],
    state: idle(['0003']),
  },
  {
    name: 'history after the snapshot end but within the grace: one report, history numbers',
    events: [
      snap(T0 + 1000, 'printing', 'a.gcode', 1, 2),
      snap(T0 + 40_000, 'cancelled', 'a.gcode', 39, 120),
      finished(T0 + 42_000, rec('0004', 'cancelled', { print_duration: 39.2, filament_used: 121 })),
      tick(T0 + 40_000 + HISTORY_GRACE_MS),
    ],
    reports: [report({ key: '0004', state: 'canceled', printSeconds: 39, filamentUsed: 121, finishedAt: T0 + 42_000 })],
    state: idle(['0004']),
  },
  {
    name: 'duplicate historyFinished: one report',
    events: [
      added(T0, rec('0005', 'in_progress')),
      finished(T0 + 9000, rec('0005', 'completed', { print_duration: 9 })),
      finished(T0 + 9100, rec('0005', 'completed', { print_duration: 9 })),
      added(T0 + 9200, rec('0005', 'completed', { print_duration: 9 })), // list replay of the same record
    ],
    reports: [report({ key: '0005', printSeconds: 9, finishedAt: T0 + 9000 })],
    state: idleStale(['0005']),
  },
  {
    name: 'history finishes before print_stats shows it: the stale printing snapshot starts nothing',
    events: [
      added(T0, rec('0006', 'in_progress')),
      snap(T0 + 5000, 'printing', 'a.gcode', 5, 6),
      finished(T0 + 9000, rec('0006', 'cancelled', { print_duration: 9 })),
      snap(T0 + 9010, 'printing', 'a.gcode', 9, 10), // print_stats not caught up yet
      snap(T0 + 9020, 'cancelled', 'a.gcode', 9, 10),
      snap(T0 + 20_000, 'printing', 'a.gcode', 0, 0), // a real reprint of the same file
    ],
    reports: [report({ key: '0006', state: 'canceled', printSeconds: 9, finishedAt: T0 + 9000 })],
    state: { ...idle(['0006']), active: job() },
  },
  {
    name: "history ends a print and starts the next file (Moonraker's job queue) before print_stats shows either: the stale snapshot neither ends nor replaces the new job",
    events: [
      cloudQueue(T0 + 1000, 'cj2', 'b.gcode'),
      added(T0, rec('0006', 'in_progress')),
      snap(T0 + 5000, 'printing', 'a.gcode', 5, 6),
      finished(T0 + 9000, rec('0006', 'completed', { print_duration: 9 })),
      added(T0 + 9005, rec('0007', 'in_progress', { filename: 'b.gcode', start_time: S0 + 9 })),
      snap(T0 + 9010, 'printing', 'a.gcode', 9, 10), // print_stats not caught up yet
      snap(T0 + 9250, 'printing', 'b.gcode', 0, 0), // now it has
    ],
    reports: [report({ key: '0006', printSeconds: 9, finishedAt: T0 + 9000 })],
    state: { ...idle(['0006']), queuedCloud: [], active: job({ jobId: 'cj2', cloud: true, filename: 'b.gcode', moonrakerJobId: '0007', startedAt: T0 + 9000 }) },
  },
  {
    name: "Moonraker restarted mid-print: 'server_exit' unlinks, the new record re-links, one report with the cloud id",
    events: [
      cloudStart(T0 - 1000, 'cj1', 'a.gcode'),
      added(T0, rec('0008', 'in_progress')),
      finished(T0 + 50_000, rec('0008', 'server_exit', { print_duration: 50 })),
      added(T0 + 52_000, rec('0009', 'in_progress', { start_time: S0 + 52 })),
      finished(T0 + 90_000, rec('0009', 'completed', { start_time: S0 + 52, print_duration: 88, filament_used: 300 })),
    ],
    reports: [report({ jobId: 'cj1', cloud: true, key: '0009', printSeconds: 88, filamentUsed: 300, finishedAt: T0 + 90_000 })],
    state: idleStale(['0009']),
  },
  {
    name: 'restart mid-print: persisted cloud job, history finishes it',
    initial: { ...INITIAL_TRACKER_STATE, active: cloudJob({ moonrakerJobId: '0042', printSeconds: 100 }) },
    events: [snap(T0 + 500_000, 'printing', 'a.gcode', 480, 900), finished(T0 + 600_000, rec('0042', 'completed', { print_duration: 590, filament_used: 1100 }))],
    reports: [report({ jobId: 'cj1', cloud: true, key: '0042', printSeconds: 590, filamentUsed: 1100, finishedAt: T0 + 600_000 })],
    state: idleStale(['0042']),
  },
  {
    name: 'restart after the end was missed: first snapshot is complete, reported after the grace',
    initial: { ...INITIAL_TRACKER_STATE, active: cloudJob({ moonrakerJobId: '0043', printSeconds: 100, filamentUsed: 50 }) },
    events: [snap(T0 + 900_000, 'complete', 'a.gcode', 800, 2000), tick(T0 + 901_000), tick(T0 + 900_000 + HISTORY_GRACE_MS)],
    reports: [report({ jobId: 'cj1', cloud: true, key: '0043', printSeconds: 100, filamentUsed: 50, finishedAt: T0 + 900_000 + HISTORY_GRACE_MS })],
    state: idle(['0043']),
  },
  {
    name: 'history replay of older unrelated finished jobs: no reports, active job kept',
    events: [
      snap(T0 + 3000, 'printing', 'a.gcode', 2, 3),
      finished(T0 + 3100, rec('0010', 'completed', { start_time: S0 - 7200 })), // same file, an hour earlier
      finished(T0 + 3100, rec('0011', 'cancelled', { filename: 'b.gcode', start_time: S0 - 3600 })),
    ],
    reports: [],
    state: { ...INITIAL_TRACKER_STATE, active: job({ printSeconds: 2, filamentUsed: 3 }) },
  },
  {
    name: 'finished records with nothing active: ignored',
    events: [finished(T0, rec('0012', 'completed')), tick(T0 + 60_000)],
    reports: [],
    state: INITIAL_TRACKER_STATE,
  },
  {
    name: 'cloudAbort before printing: one canceled report',
    events: [cloudStart(T0, 'cj1'), cloudAbort(T0 + 1000, 'cj1'), cloudAbort(T0 + 2000, 'cj1'), cloudStart(T0 + 3000, 'cj1'), cloudAbort(T0 + 4000, 'cj1')],
    reports: [report({ jobId: 'cj1', cloud: true, state: 'canceled', key: 'abort:cj1', finishedAt: T0 + 1000 })],
    state: idle(['abort:cj1']),
  },
  {
    name: 'cloudAbort for a job that is printing: nothing',
    events: [cloudStart(T0 - 1000, 'cj1'), snap(T0 + 1000, 'printing'), cloudAbort(T0 + 2000, 'cj1'), cloudAbort(T0 + 2000, 'other')],
    reports: [],
    state: { ...INITIAL_TRACKER_STATE, active: cloudJob() },
  },
  {
    name: 'cloudStart re-sent for the printing job, then aborted: still nothing',
    events: [cloudStart(T0 - 1000, 'cj1'), snap(T0 + 1000, 'printing'), cloudStart(T0 + 1500, 'cj1'), cloudAbort(T0 + 2000, 'cj1')],
    reports: [],
    state: { ...INITIAL_TRACKER_STATE, active: cloudJob(), pendingCloud: { jobId: 'cj1', filename: 'a.gcode', since: T0 + 1500, jobName: 'Benchy', fileUrl: 'https://s3/f' } },
  },
  {
    name: 'a stale in_progress record (older than the tracked one) is ignored',
    initial: { ...INITIAL_TRACKER_STATE, active: job({ moonrakerJobId: '0050' }) },
    events: [added(T0 + 1000, rec('0049', 'in_progress', { filename: 'b.gcode', start_time: S0 - 100 }))],
    reports: [],
    state: { ...INITIAL_TRACKER_STATE, active: job({ moonrakerJobId: '0050' }) },
  },
  {
    name: 'pause and resume: no report',
    events: [
      snap(T0 + 1000, 'printing', 'a.gcode', 1, 1),
      snap(T0 + 20_000, 'paused', 'a.gcode', 19, 30),
      tick(T0 + 600_000),
      snap(T0 + 700_000, 'printing', 'a.gcode', 19, 30),
      snap(T0 + 710_000, 'printing', 'a.gcode', 29, 50),
    ],
    reports: [],
    state: { ...INITIAL_TRACKER_STATE, active: job({ printSeconds: 29, filamentUsed: 50 }) },
  },
  {
    name: 'non-ready snapshots never start or end a job',
    events: [
      snap(T0 + 1000, 'printing', 'b.gcode', 1, 1, false),
      snap(T0 + 2000, 'printing', 'a.gcode', 2, 2),
      snap(T0 + 3000, 'standby', '', 0, 0, false),
      snap(T0 + 4000, 'error', 'a.gcode', 0, 0, false),
      tick(T0 + 60_000),
    ],
    reports: [],
    state: { ...INITIAL_TRACKER_STATE, active: job({ printSeconds: 2, filamentUsed: 2 }) },
  },
  {
    name: 'another file printing while active: old one canceled, new one tracked',
    events: [snap(T0 + 1000, 'printing', 'a.gcode', 1, 4), snap(T0 + 9000, 'printing', 'b.gcode', 3, 5)],
    reports: [report({ key: `a.gcode@${T0}`, state: 'canceled', printSeconds: 1, filamentUsed: 4, finishedAt: T0 + 9000 })],
    state: { ...idle([`a.gcode@${T0}`]), active: job({ filename: 'b.gcode', printSeconds: 3, filamentUsed: 5 }) },
  },
  {
    name: 'a different in_progress history record: old one canceled, new one tracked',
    events: [added(T0, rec('0020', 'in_progress')), snap(T0 + 5000, 'printing', 'a.gcode', 5, 6), added(T0 + 90_000, rec('0021', 'in_progress', { start_time: S0 + 80 }))],
    reports: [report({ key: '0020', state: 'canceled', printSeconds: 5, filamentUsed: 6, finishedAt: T0 + 90_000 })],
    state: { ...idle(['0020']), active: job({ moonrakerJobId: '0021', startedAt: T0 + 80_000 }) },
  },
  {
    name: 'pendingCloud older than the TTL is dropped: the print is local, a late abort reports nothing',
    events: [cloudStart(T0 - PENDING_CLOUD_TTL_MS - 1, 'cj1'), snap(T0, 'printing'), cloudAbort(T0 + 1, 'cj1')],
    reports: [],
    state: { ...INITIAL_TRACKER_STATE, active: job() },
  },
  {
    name: 'print_stats running marks the job running; print_duration > 0 marks it printed, and both stick',
    events: [cloudStart(T0, 'cj1'), snap(T0 + 1000, 'printing', 'a.gcode', 0), snap(T0 + 2000, 'printing', 'a.gcode', 0.5), snap(T0 + 3000, 'paused', 'a.gcode', 0.5)],
    reports: [],
    state: { ...INITIAL_TRACKER_STATE, active: cloudJob({ startedAt: T0, running: true, printed: true, printSeconds: 1 }) },
  },
  {
    name: "a new job tracked from history while print_stats still shows the previous file's complete: not ended",
    events: [cloudStart(T0, 'cj1', 'new.gcode'), added(T0 + 100, rec('0030', 'in_progress', { filename: 'new.gcode' })), snap(T0 + 200, 'complete', 'old.gcode', 50), tick(T0 + 200 + HISTORY_GRACE_MS + 1)],
    reports: [],
    state: { ...INITIAL_TRACKER_STATE, active: cloudJob({ filename: 'new.gcode', moonrakerJobId: '0030' }) },
  },
  {
    name: 'paused while still heating: past preparing for good (printed), so a resume never shows 2 again',
    events: [snap(T0 + 1000, 'printing', 'a.gcode', 0), snap(T0 + 2000, 'paused', 'a.gcode', 0), snap(T0 + 3000, 'printing', 'a.gcode', 0)],
    reports: [],
    state: { ...INITIAL_TRACKER_STATE, active: job({ running: true, printed: true }) },
  },
  {
    name: 'heating (print_duration 0) is running but not printed',
    events: [snap(T0 + 1000, 'printing', 'a.gcode', 0)],
    reports: [],
    state: { ...INITIAL_TRACKER_STATE, active: job({ running: true }) },
  },
];

for (const s of scenarios) {
  test(`tracker: ${s.name}`, () => {
    const { state, reports } = run(s.initial ?? INITIAL_TRACKER_STATE, s.events);
    assert.deepEqual(reports, s.reports);
    assert.deepEqual(withoutSeenFlags(state, s.state), s.state);
  });
}

test('sameFile ignores a leading / and gcodes/', () => {
  const cases: [string, string, boolean][] = [
    ['a.gcode', '/a.gcode', true],
    ['gcodes/sub/a.gcode', 'sub/a.gcode', true],
    ['/gcodes/a.gcode', 'a.gcode', true],
    ['sub/a.gcode', 'a.gcode', false],
    ['gcodesx/a.gcode', 'a.gcode', false],
  ];
  for (const [a, b, same] of cases) assert.equal(sameFile(a, b), same, `${a} vs ${b}`);
});

test('wakeAt follows the wait for history, changed only when state differs', () => {
  const { results } = run(INITIAL_TRACKER_STATE, [
    tick(T0),
    snap(T0 + 1000, 'printing', 'a.gcode', 1, 1),
    snap(T0 + 1500, 'printing', 'a.gcode', 1.2, 1.4), // same rounded numbers
    snap(T0 + 2000, 'complete', 'a.gcode', 2, 2),
    tick(T0 + 3000),
    tick(T0 + 2000 + HISTORY_GRACE_MS),
  ]);
  assert.deepEqual(results.map((r) => r.wakeAt), [null, null, null, T0 + 2000 + HISTORY_GRACE_MS, T0 + 2000 + HISTORY_GRACE_MS, null]);
  assert.deepEqual(results.map((r) => r.changed), [false, true, false, true, false, true]);
});

test('a finished record with an in-progress job of the same file but earlier start is not it', () => {
  // The active job started from a snapshot at T0; a record starting 2 min before is another print.
  const { state, reports } = run(INITIAL_TRACKER_STATE, [snap(T0 + 1000, 'printing'), finished(T0 + 2000, rec('0030', 'completed', { start_time: S0 - 120 }))]);
  assert.deepEqual(reports, []);
  assert.deepEqual(state.active, job({ running: true }));
  // ...but one starting within the slack (clocks of two hosts) is.
  const r = reduceJob(state, finished(T0 + 3000, rec('0031', 'completed', { start_time: S0 - 30, print_duration: 3 })));
  assert.deepEqual(r.reports, [report({ key: '0031', printSeconds: 3, finishedAt: T0 + 3000 })]);
});

test(`reported keys are capped at ${REPORTED_KEYS_CAP}, oldest dropped`, () => {
  const old = Array.from({ length: REPORTED_KEYS_CAP }, (_, i) => `k${i}`);
  const { state, reports } = run(idle(old), [added(T0, rec('new', 'in_progress')), finished(T0 + 1000, rec('new', 'completed'))]);
  assert.equal(reports.length, 1);
  assert.deepEqual(state.reported, [...old.slice(1), 'new']);
});

test('a key already reported is not reported again, and the job is still closed', () => {
  const { state, reports } = run(idle(['0040']), [added(T0, rec('0040', 'in_progress')), finished(T0 + 1000, rec('0040', 'completed'))]);
  assert.deepEqual(reports, []);
  assert.deepEqual(state, idleStale(['0040']));
});

test('a newer cloudStart replaces the pending one', () => {
  const { state } = run(INITIAL_TRACKER_STATE, [cloudStart(T0, 'cj1', 'a.gcode'), cloudStart(T0 + 1, 'cj2', 'b.gcode'), snap(T0 + 2, 'printing', 'b.gcode')]);
  assert.equal(state.pendingCloud, null);
  assert.equal(state.active?.jobId, 'cj2');
});

// Issue 13.12: ages are measured on the monotonic clock; the wall clock may jump by days.
test('a +15 day wall-clock jump while a cloud job waits in the queue: it still starts as the cloud job', () => {
  const DAY = 24 * 3600_000;
  const mono = 5_000;
  const events: TrackerEvent[] = [
    { type: 'cloudQueue', at: T0, mono, job: { jobId: 'cj9', filename: 'q.gcode', since: T0 } },
    { ...snap(T0 + 15 * DAY, 'printing', 'q.gcode', 0), mono: mono + 60_000 },
  ];
  const { state, reports } = run(INITIAL_TRACKER_STATE, events);
  assert.deepEqual(reports, []);
  assert.equal(state.active?.jobId, 'cj9');
  assert.equal(state.active?.cloud, true);
  // Without monotonic stamps (an old caller), the wall clock decides and the job expires: the bug.
  const wallOnly = run(INITIAL_TRACKER_STATE, events.map(({ mono: _m, ...e }) => e as TrackerEvent));
  assert.equal(wallOnly.state.active?.jobId, LOCAL_JOB_ID);
  assert.ok(15 * DAY > QUEUED_CLOUD_TTL_MS);
});

test('a pending cloud job expires after its TTL on the monotonic clock even if the wall clock went back', () => {
  const { state } = run(INITIAL_TRACKER_STATE, [
    { ...cloudStart(T0, 'cj1'), mono: 0 },
    { ...tick(T0 - 3600_000), mono: PENDING_CLOUD_TTL_MS + 1 },
  ]);
  assert.equal(state.pendingCloud, null);
});

test('the wait for a history record is measured on the monotonic clock', () => {
  const s0 = run(INITIAL_TRACKER_STATE, [{ ...snap(T0, 'printing', 'a.gcode', 5), mono: 0 }, { ...snap(T0 + 1000, 'complete', 'a.gcode', 6), mono: 1000 }]).state;
  // The wall clock jumped a day ahead, only 1 s passed: still waiting.
  assert.deepEqual(reduceJob(s0, { ...tick(T0 + 86_400_000), mono: 2000 }).reports, []);
  assert.equal(reduceJob(s0, { ...tick(T0 + 2000), mono: 1000 + HISTORY_GRACE_MS }).reports.length, 1);
});
