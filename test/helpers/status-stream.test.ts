// The checker must catch every lie issue 14 saw on the wire, and pass an honest stream.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkStatusStream, type HealthSample, type StreamStatus } from './status-stream.js';

/** "2/J 0 3/J" → statuses with seqs 1.. */
function stream(text: string): StreamStatus[] {
  return text
    .split(/\s+/)
    .filter(Boolean)
    .map((tok, i) => {
      const [code, jobId] = tok.split('/');
      return { seq: (i + 1) * 10, status: Number(code), jobId };
    });
}

const healthy: HealthSample[] = [{ seq: 0, time: 0, ok: true }];

const bad: Array<[string, string, RegExp]> = [
  ['14.1 Ready flicker at a cloud start', '2/J 2/J 0 2/J 3/J 7/J 0', /cloud job J: 0 between/],
  ['14.2 false completion of a new job', '2/J 7/J 3/J 7/J', /breaks/],
  ['14.3 local print shown as 2', '2/123 1/123 1/123 0', /local job: status 2/],
  ['14.4 1/123 flash during a cloud cancel', '3/J 1/123 6/J 6/J', /local status 1\/123 inside its run/],
  ['14.8 2 heating during a cancel', '2/J 3/J 2/J 6/J 6/J 0', /breaks/],
  ['local job: 0 inside one run', '1/123 0 1/123', /local job: 0 between/],
  ['12 while Klipper was fine', '0 12 0', /status 12 .* while Klipper and Moonraker were fine/],
  ['18.4 a waiting cloud job shown as Ready', '3/A 7/A 15/B 0 15/B 2/B 3/B 7/B', /cloud job B: 0 between/],
  ['18.2 15 after the job printed', '2/J 3/J 15/J 7/J', /breaks/],
  ['18.2 a waiting job hidden behind a jobless 15', '2/J 15 2/J 3/J', /15 without its jobId inside its run/],
  ['18.2 15 on a local job', '1/123 15/123 1/123', /local job: status 15/],
];

for (const [name, text, re] of bad) {
  test(`checker flags: ${name}`, () => {
    const v = checkStatusStream({ statuses: stream(text), localReportSeqs: [], helloSeqs: [], health: healthy });
    assert.ok(v.some((l) => re.test(l)), `expected ${re} in:\n${v.join('\n')}`);
  });
}

const good: Array<[string, string]> = [
  ['cloud print from idle', '0 2/J 2/J 2/J 3/J 3/J 7/J 7/J 7/J 0'],
  ['pause, cold pause, filament, post-processing', '2/J 3/J 4/J 3/J 9/J 10/J 3/J 5/J 5/J 7/J 7/J 7/J 0'],
  ['canceled during download', '2/J 2/J 6/J 6/J 6/J 0'],
  ['refused, then sent again and printed', '2/J 12/J 12/J 12/J 0 2/J 3/J 7/J 0'],
  ['local print with heating', '0 1/123 1/123 4/123 1/123 0'],
  ['two jobs', '1/123 1/123 2/A 3/A 7/A 7/A 0 2/B 3/B 6/B 0'],
  ['18.2 plate gate: 15 between jobs, the next one waits at 15', '2/A 3/A 7/A 7/A 7/A 15 15/B 15/B 2/B 3/B 7/B 15'],
  ['18.2 downloaded behind a print, then waiting for the plate', '1/123 1/123 15/B 2/B 3/B 7/B 0'],
  ['18.2 canceled while waiting for the plate', '15 2/B 15/B 15/B 6/B 6/B 6/B 15'],
];
for (const [name, text] of good) {
  test(`checker passes: ${name}`, () => {
    assert.deepEqual(checkStatusStream({ statuses: stream(text), localReportSeqs: [], helloSeqs: [], health: healthy }), []);
  });
}

test('checker: 6/7 must agree with the job report (a job canceled before it ran is not "Complete")', () => {
  const v = checkStatusStream({ statuses: stream('2/J 7/J 7/J 0'), localReportSeqs: [], reports: [{ jobId: 'J', state: 'canceled' }], helloSeqs: [], health: healthy });
  assert.ok(v.some((l) => /7 but reported canceled/.test(l)), v.join('\n'));
});

test('checker: a local job report ends the run (0 between two local prints is fine)', () => {
  const statuses = stream('1/123 1/123 0 1/123');
  assert.deepEqual(checkStatusStream({ statuses, localReportSeqs: [25], helloSeqs: [], health: healthy }), []);
});

test('checker: 12/13 while the simulator really was away, and 13 before a new session reached Moonraker, pass', () => {
  const statuses = stream('0 3/J 12 12 3/J 13 0');
  const health: HealthSample[] = [
    { seq: 0, time: 0, ok: true },
    { seq: 25, time: 1000, ok: false },
    { seq: 45, time: 2000, ok: true },
  ];
  assert.deepEqual(checkStatusStream({ statuses, localReportSeqs: [], helloSeqs: [55], health, awaySlackMs: 500 }).filter((l) => l.startsWith('status')), []);
  // The same 12s with the simulator fine all along are lies.
  assert.equal(checkStatusStream({ statuses, localReportSeqs: [], helloSeqs: [55], health: healthy }).filter((l) => l.startsWith('status 12')).length, 2);
});

test('checker: the tail of a real outage (13 until the bridge reconnects) passes; a 13 after the bridge was back does not', () => {
  const health: HealthSample[] = [
    { seq: 0, time: 0, ok: true },
    { seq: 25, time: 1000, ok: false },
    { seq: 26, time: 1100, ok: true },
    { seq: 45, time: 60_000, ok: true },
  ];
  const tail = stream('0 3/J 13 13 13 3/J');
  assert.deepEqual(checkStatusStream({ statuses: tail, localReportSeqs: [], helloSeqs: [], health, awaySlackMs: 500 }).filter((l) => l.startsWith('status')), []);
  const later = stream('0 3/J 13 13 13 3/J 13');
  const health2: HealthSample[] = [...health, { seq: 65, time: 120_000, ok: true }];
  assert.equal(checkStatusStream({ statuses: later, localReportSeqs: [], helloSeqs: [], health: health2, awaySlackMs: 500 }).filter((l) => l.startsWith('status 13')).length, 1);
});

test("checker: 18.4 a 0 while a cloud job's file sits in Moonraker's job queue is flagged; once it left the queue a 0 is fine", () => {
  // The 18.4 stream before the fix: the local print canceled (its report at 25), one 0, then the waiting job.
  const statuses = stream('1/123 1/123 0 2/J 3/J');
  const queued: HealthSample[] = [
    { seq: 0, time: 0, ok: true, queued: ['InQueue-J.gcode'] },
    { seq: 30, time: 100, ok: true, queued: ['InQueue-J.gcode'] },
    { seq: 40, time: 200, ok: true, queued: [] },
  ];
  const v = checkStatusStream({ statuses, localReportSeqs: [25], helloSeqs: [], health: queued });
  assert.ok(v.some((l) => /0 while cloud job J waits in Moonraker's job queue/.test(l)), v.join('\n'));
  // Deleted from the queue (a cloud cancel) before the 0 arrived: no violation.
  const deleted: HealthSample[] = [
    { seq: 0, time: 0, ok: true, queued: ['InQueue-J.gcode'] },
    { seq: 30, time: 100, ok: true, queued: [] },
  ];
  assert.deepEqual(checkStatusStream({ statuses: stream('1/123 1/123 0 6/J 0'), localReportSeqs: [25], helloSeqs: [], health: deleted }), []);
  // A local file in the queue (not a cloud job of this stream) is not the bridge's to show.
  const local: HealthSample[] = [{ seq: 0, time: 0, ok: true, queued: ['benchy.gcode', 'other-X.gcode'] }, { seq: 99, time: 100, ok: true, queued: ['benchy.gcode'] }];
  assert.deepEqual(checkStatusStream({ statuses: stream('1/123 1/123 0 2/J 3/J'), localReportSeqs: [25], helloSeqs: [], health: local }), []);
});
