// Table: which history records the saved job state never heard of get reported at start.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { reconcileWithHistory } from '../../src/jobs/history-reconcile.js';
import { INITIAL_TRACKER_STATE, type HistoryRecord, type TrackerState } from '../../src/jobs/job-types.js';

const SAVED = 1_700_000_000_000;
const NOW = SAVED + 3600_000;
const rec = (job_id: string, startOffsetS: number, status = 'completed', filename = `${job_id}.gcode`): HistoryRecord => ({
  job_id,
  filename,
  status,
  start_time: (SAVED + startOffsetS * 1000) / 1000,
  print_duration: 100.4,
  filament_used: 55.6,
});

const CASES: Array<{ name: string; state?: Partial<TrackerState>; records: HistoryRecord[]; expect: Array<[string, string, string]> }> = [
  { name: 'a job after the save is reported', records: [rec('A', 60)], expect: [['123', 'completed', 'A']] },
  { name: 'cancelled and error count as canceled', records: [rec('A', 60, 'cancelled'), rec('B', 70, 'error')], expect: [['123', 'canceled', 'A'], ['123', 'canceled', 'B']] },
  { name: 'a job long before the save is not', records: [rec('A', -600)], expect: [] },
  { name: 'in progress / interrupted records are the tracker\'s', records: [rec('A', 60, 'in_progress'), rec('B', 60, 'interrupted'), rec('C', 60, 'server_exit')], expect: [] },
  { name: 'already reported by history key', state: { reported: ['A'] }, records: [rec('A', 60)], expect: [] },
  { name: 'already reported by snapshot key file@start', state: { reported: [`A.gcode@${SAVED + 61_000}`] }, records: [rec('A', 60)], expect: [] },
  {
    name: 'the tracked job is left to the tracker',
    state: { active: { jobId: '123', cloud: false, filename: 'A.gcode', moonrakerJobId: null, startedAt: SAVED + 59_000, printSeconds: 0, filamentUsed: 0 } },
    records: [rec('A', 60)],
    expect: [],
  },
  { name: 'a pending cloud job by its file', state: { pendingCloud: { jobId: 'cj1', filename: 'polar/x.gcode', since: SAVED } }, records: [rec('X', 60, 'completed', 'polar/x.gcode')], expect: [['cj1', 'completed', 'X']] },
  { name: 'a queued cloud job by its file', state: { queuedCloud: [{ jobId: 'cj2', filename: 'polar/y.gcode', since: SAVED }] }, records: [rec('Y', 60, 'cancelled', '/polar/y.gcode')], expect: [['cj2', 'canceled', 'Y']] },
];

for (const c of CASES) {
  test(`reconcile: ${c.name}`, () => {
    const state: TrackerState = { ...INITIAL_TRACKER_STATE, ...c.state };
    const res = reconcileWithHistory(state, c.records, SAVED, NOW);
    assert.deepEqual(res.reports.map((r) => [r.jobId, r.state, r.key]), c.expect);
    for (const r of res.reports) {
      assert.ok(res.state.reported.includes(r.key), 'remembered as reported');
      assert.equal(r.printSeconds, 100);
      assert.equal(r.filamentUsed, 56);
    }
    // Applying it again finds nothing: exactly once.
    assert.deepEqual(reconcileWithHistory(res.state, c.records, SAVED, NOW).reports, []);
    if (c.expect.some(([id]) => id.startsWith('cj'))) {
      assert.equal(res.state.pendingCloud ?? null, null);
      assert.deepEqual(res.state.queuedCloud ?? [], []);
    }
  });
}
