import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Backoff, FailureLog } from '../../src/util/backoff.js';
import { Logger, type LogRecord } from '../../src/util/log.js';

test('backoff grows exponentially, is capped, jittered downward, and resets', () => {
  const b = new Backoff({ initialMs: 1000, maxMs: 60_000, jitter: 0, random: () => 0.5 });
  assert.deepEqual([1, 2, 3, 4, 5, 6, 7, 8].map(() => b.next()), [1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000]);
  b.reset();
  assert.equal(b.next(), 1000);
  const j = new Backoff({ initialMs: 1000, maxMs: 60_000, jitter: 0.5, random: () => 1 });
  assert.equal(j.next(), 500);
  const values = new Set(Array.from({ length: 50 }, () => new Backoff({ initialMs: 1000, maxMs: 60_000 }).next()));
  assert.ok(values.size > 5, 'real jitter spreads reconnects');
  for (const v of values) assert.ok(v >= 700 && v <= 1000);
});

test('failure log: first failure warns, repeats are rate-limited, recovery is reported', () => {
  const recs: LogRecord[] = [];
  const log = Logger.create('debug', [(r) => recs.push(r)]);
  let now = 0;
  const f = new FailureLog(log, 'cloud link', 60_000, () => now);
  f.failure('ECONNREFUSED');
  for (let i = 0; i < 20; i++) {
    now += 1000;
    f.failure('ECONNREFUSED');
  }
  now += 60_000;
  f.failure('ECONNREFUSED');
  f.success('connected');
  const warnings = recs.filter((r) => r.level === 'warn').map((r) => r.msg);
  assert.equal(warnings.length, 2);
  assert.equal(warnings[0], 'cloud link: ECONNREFUSED');
  assert.match(warnings[1]!, /still failing: 22 attempts, 20 similar messages suppressed/);
  assert.deepEqual(recs.filter((r) => r.level === 'info').map((r) => r.msg), ['connected (after 22 failed attempts)']);
});

test('failure log: a flapping link (fail, recover, fail again) warns once per period, not once per flap', () => {
  const recs: LogRecord[] = [];
  const log = Logger.create('debug', [(r) => recs.push(r)]);
  let now = 0;
  const f = new FailureLog(log, 'cloud link', 60_000, () => now);
  for (let i = 0; i < 30; i++) {
    now += 1000;
    f.failure('transport close');
    f.success('connected');
  }
  const at = (level: LogRecord['level']): string[] => recs.filter((r) => r.level === level).map((r) => r.msg);
  assert.deepEqual(at('warn'), ['cloud link: transport close'], 'one warning in the first minute');
  assert.deepEqual(at('info'), ['connected (after 1 failed attempts)'], 'only the announced streak announces its end');
  now += 60_000;
  f.failure('transport close');
  assert.equal(at('warn').length, 2, 'a minute later it may warn again');
});
