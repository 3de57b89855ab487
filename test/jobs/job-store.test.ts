import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { FakeClock } from '../helpers/fake-clock.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JOBS_FILE, JobStore } from '../../src/jobs/job-store.js';
import { INITIAL_TRACKER_STATE, type JobReport, type TrackedJob, type TrackerState } from '../../src/jobs/job-types.js';
import { Logger, type LogRecord } from '../../src/util/log.js';

const T0 = 1_700_000_000_000;

function capture(): { logger: Logger; records: LogRecord[] } {
  const records: LogRecord[] = [];
  return { logger: Logger.create('debug', [(r) => records.push(r)]), records };
}

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'pc-jobstore-'));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function freshStore(dir: string): Promise<{ store: JobStore; records: LogRecord[] }> {
  const { logger, records } = capture();
  const store = new JobStore(dir, logger);
  await store.load();
  return { store, records };
}

function report(key: string, over: Partial<JobReport> = {}): JobReport {
  return { jobId: '123', state: 'completed', printSeconds: 60, filamentUsed: 12.5, key, filename: 'a.gcode', cloud: false, finishedAt: T0, ...over };
}

const FULL_JOB: TrackedJob = {
  jobId: 'cloud-42',
  cloud: true,
  filename: 'polar/benchy.gcode',
  moonrakerJobId: '00001A',
  startedAt: T0,
  jobName: 'Benchy',
  fileUrl: 'https://example.com/benchy.gcode',
  configUrl: 'https://example.com/benchy.ini',
  printSeconds: 321.5,
  filamentUsed: 1234.25,
};
const BARE_JOB: TrackedJob = { jobId: '123', cloud: false, filename: 'local.gcode', moonrakerJobId: null, startedAt: T0, printSeconds: 0, filamentUsed: 0 };

const STATES: Record<string, TrackerState> = {
  initial: INITIAL_TRACKER_STATE,
  'active with optional fields': { active: FULL_JOB, ended: null, pendingCloud: null, reported: ['k1', 'k2'] },
  'active without optional fields, ended': { active: BARE_JOB, ended: { at: T0 + 5000, printState: 'complete' }, pendingCloud: null, reported: [] },
  'pending cloud + staleFile': {
    active: null,
    ended: null,
    pendingCloud: { jobId: 'cloud-7', filename: 'polar/x.gcode', since: T0, jobName: 'X', fileUrl: 'https://example.com/x' },
    reported: ['a'],
    staleFile: 'old.gcode',
  },
  'staleFile null': { active: null, ended: null, pendingCloud: null, reported: [], staleFile: null },
};

test('a missing file is a fresh start', async () => {
  await withDir(async (dir) => {
    const { store, records } = await freshStore(dir);
    assert.deepEqual(store.tracker, INITIAL_TRACKER_STATE);
    assert.deepEqual(store.outbox, []);
    assert.equal(store.path, join(dir, JOBS_FILE));
    assert.deepEqual(records.filter((r) => r.level === 'error'), []);
    assert.deepEqual(await readdir(dir), [], 'load alone writes nothing');
  });
});

test('update round-trips tracker state and outbox through a new store', async () => {
  for (const [name, tracker] of Object.entries(STATES)) {
    await withDir(async (dir) => {
      const { store } = await freshStore(dir);
      const reports = [report('k1'), report('cloud-42@1', { jobId: 'cloud-42', state: 'canceled', cloud: true, filename: 'polar/benchy.gcode' })];
      await store.update(tracker, reports);
      assert.deepEqual(store.tracker, tracker, `${name}: in memory`);
      assert.deepEqual(store.outbox, reports, `${name}: in memory outbox`);

      const { store: again, records } = await freshStore(dir);
      assert.deepEqual(again.tracker, tracker, `${name}: reloaded tracker`);
      assert.deepEqual(again.outbox, reports, `${name}: reloaded outbox`);
      assert.deepEqual(records.filter((r) => r.level === 'error'), [], name);
    });
  }
});

test('update appends to the outbox; remove drops only the given keys and persists', async () => {
  await withDir(async (dir) => {
    const { store } = await freshStore(dir);
    await store.update(INITIAL_TRACKER_STATE, [report('a'), report('b')]);
    await store.update(STATES['active with optional fields']!, [report('c')]);
    await store.update(STATES['active with optional fields']!, []);
    assert.deepEqual(store.outbox.map((r) => r.key), ['a', 'b', 'c']);

    const cases: { remove: string[]; left: string[] }[] = [
      { remove: ['b'], left: ['a', 'c'] },
      { remove: ['nope'], left: ['a', 'c'] },
      { remove: [], left: ['a', 'c'] },
      { remove: ['a', 'c'], left: [] },
    ];
    for (const c of cases) {
      await store.remove(new Set(c.remove));
      assert.deepEqual(store.outbox.map((r) => r.key), c.left, `remove ${c.remove}`);
      const { store: again } = await freshStore(dir);
      assert.deepEqual(again.outbox.map((r) => r.key), c.left, `reloaded after remove ${c.remove}`);
      assert.deepEqual(again.tracker, STATES['active with optional fields'], 'remove keeps the tracker');
    }
  });
});

test('many concurrent updates: the file ends with the last state', async () => {
  await withDir(async (dir) => {
    const { store } = await freshStore(dir);
    const writes: Promise<void>[] = [];
    for (let i = 0; i < 50; i++) {
      const tracker: TrackerState = { ...INITIAL_TRACKER_STATE, active: { ...BARE_JOB, printSeconds: i }, reported: [`k${i}`] };
      writes.push(store.update(tracker, [report(`k${i}`)]));
      if (i % 10 === 9) writes.push(store.remove(new Set([`k${i - 5}`])));
    }
    await store.flushed();
    await Promise.all(writes);
    const { store: again } = await freshStore(dir);
    assert.equal(again.tracker.active?.printSeconds, 49);
    assert.deepEqual(again.tracker.reported, ['k49']);
    const wantKeys = Array.from({ length: 50 }, (_, i) => `k${i}`).filter((k) => ![4, 14, 24, 34, 44].includes(Number(k.slice(1))));
    assert.deepEqual(again.outbox.map((r) => r.key), wantKeys);
    assert.deepEqual(again.outbox, store.outbox);
  });
});

test('a corrupt or invalid file is logged, set aside, and the store starts empty', async () => {
  const valid = { version: 1, tracker: INITIAL_TRACKER_STATE, outbox: [] };
  const cases: [string, string][] = [
    ['not JSON', '{"version": 1, "tracker": '],
    ['empty file', ''],
    ['JSON null', 'null'],
    ['wrong version', JSON.stringify({ ...valid, version: 2 })],
    ['tracker missing', JSON.stringify({ version: 1, outbox: [] })],
    ['bad report state', JSON.stringify({ ...valid, outbox: [{ ...report('x'), state: 'exploded' }] })],
    ['active job lacks fields', JSON.stringify({ ...valid, tracker: { ...INITIAL_TRACKER_STATE, active: { jobId: 'x' } } })],
    ['reported not strings', JSON.stringify({ ...valid, tracker: { ...INITIAL_TRACKER_STATE, reported: [1, 2] } })],
  ];
  for (const [name, text] of cases) {
    await withDir(async (dir) => {
      await writeFile(join(dir, JOBS_FILE), text);
      const { store, records } = await freshStore(dir);
      assert.deepEqual(store.tracker, INITIAL_TRACKER_STATE, name);
      assert.deepEqual(store.outbox, [], name);
      const errors = records.filter((r) => r.level === 'error');
      assert.equal(errors.length, 1, `${name}: one error logged`);
      assert.match(errors[0]!.msg, /unreadable.*corrupt-\d+/, name);

      const names = await readdir(dir);
      assert.equal(names.length, 1, `${name}: ${names}`);
      assert.match(names[0]!, /^jobs\.json\.corrupt-\d+$/, name);
      assert.equal(await readFile(join(dir, names[0]!), 'utf8'), text, `${name}: set aside unchanged`);

      // The store is usable afterwards and writes a fresh file next to the set-aside one.
      await store.update(STATES['active with optional fields']!, [report('after')]);
      const { store: again } = await freshStore(dir);
      assert.deepEqual(again.outbox.map((r) => r.key), ['after'], name);
      assert.equal((await readdir(dir)).length, 2, name);
    });
  }
});

test('writes leave a valid version-1 JSON file and no temp files', async () => {
  await withDir(async (dir) => {
    const { store } = await freshStore(dir);
    const pending: Promise<void>[] = [];
    for (let i = 0; i < 20; i++) pending.push(store.update(STATES['pending cloud + staleFile']!, [report(`r${i}`)]));
    pending.push(store.remove(new Set(['r0'])));
    await Promise.all(pending);
    await store.flushed();

    assert.deepEqual(await readdir(dir), [JOBS_FILE]);
    const parsed = JSON.parse(await readFile(store.path, 'utf8')) as { version: unknown; tracker: unknown; outbox: JobReport[]; savedAt: unknown };
    assert.equal(parsed.version, 1);
    assert.deepEqual(Object.keys(parsed).sort(), ['outbox', 'savedAt', 'tracker', 'version']);
    assert.equal(typeof parsed.savedAt, 'number');
    assert.deepEqual(parsed.tracker, STATES['pending cloud + staleFile']);
    assert.equal(parsed.outbox.length, 19);
    assert.equal(parsed.outbox[0]!.key, 'r1');
  });
});

test('flushed() waits for writes requested so far', async () => {
  await withDir(async (dir) => {
    const { store } = await freshStore(dir);
    void store.update(STATES['active with optional fields']!, [report('z')]);
    await store.flushed();
    const parsed = JSON.parse(await readFile(store.path, 'utf8')) as { outbox: JobReport[] };
    assert.deepEqual(parsed.outbox.map((r) => r.key), ['z']);
  });
});

test('jobs.json is 0600 (it holds signed file URLs), also when an older 0644 file was there', async () => {
  await withDir(async (dir) => {
    await writeFile(join(dir, JOBS_FILE), JSON.stringify({ version: 1, tracker: INITIAL_TRACKER_STATE, outbox: [] }), { mode: 0o644 });
    const { store } = await freshStore(dir);
    await store.update(STATES['active with optional fields']!, [report('m')]);
    assert.equal((await stat(store.path)).mode & 0o777, 0o600);
  });
});

test('a failed save keeps everything in memory, logs once, and is retried with backoff until it works', async () => {
  await withDir(async (dir) => {
    const clock = new FakeClock();
    const { logger, records } = capture();
    const store = new JobStore(dir, logger, { clock, retryMs: 1000, maxRetryMs: 8000 });
    await store.load();
    await store.update(INITIAL_TRACKER_STATE, []);
    const before = await readFile(store.path, 'utf8');
    // A real write failure: jobs.json cannot be replaced (it is now a non-empty folder).
    await rm(store.path);
    await mkdir(join(store.path, 'x'), { recursive: true });

    await assert.rejects(store.update(STATES['active with optional fields']!, [report('lost?')]));
    assert.equal(store.unsaved, true);
    assert.deepEqual(store.outbox.map((r) => r.key), ['lost?'], 'the report stays in memory');
    const delays: number[] = [];
    for (let i = 0; i < 5; i++) {
      delays.push(clock.nextDelay()!);
      await clock.advance(clock.nextDelay()!);
      await store.flushed();
    }
    assert.deepEqual(delays, [1000, 2000, 4000, 8000, 8000], 'capped exponential backoff');
    assert.equal(records.filter((r) => r.level === 'error').length, 1, 'the failure is logged once, then quietly');

    // Space again: the next retry saves the in-memory state.
    await rm(store.path, { recursive: true });
    await clock.advance(clock.nextDelay()!);
    await store.flushed();
    assert.equal(store.unsaved, false);
    assert.equal(clock.pending, 0, 'no more retries');
    const saved = JSON.parse(await readFile(store.path, 'utf8')) as { outbox: JobReport[] };
    assert.deepEqual(saved.outbox.map((r) => r.key), ['lost?']);
    assert.notEqual(before, await readFile(store.path, 'utf8'));
    assert.ok(records.some((r) => r.level === 'info' && /saved .* again \(after 6 failed attempt/.test(r.msg)), records.map((r) => r.msg).join('\n'));
    await store.close();
  });
});
