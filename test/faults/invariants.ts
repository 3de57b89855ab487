// The invariants every fault-storm scenario ends with (issue: "Prove it"):
// back online and authenticated within the backoff bound, every finished job
// reported exactly once with the right jobId and state, no orphaned temporary
// files or frame folders, status right again within one heartbeat, no protocol
// violation seen by the emulated cloud, and this process's memory and handles
// back to their baseline.
import assert from 'node:assert/strict';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { Bridge } from '../bridge/bridge-harness.js';
import { eventually } from '../helpers/bridge-setup.js';
import { filesUnder } from './crash-rig.js';
import { Rng, fuzzSeed } from '../fuzz/gen.js';

/** Storms run this many times longer with POLARCLOUD_FAULTS_LONG=1 (not in CI). */
export function stormScale(): number {
  return process.env.POLARCLOUD_FAULTS_LONG === '1' ? 10 : 1;
}

/**
 * The harness's Polar backoff is capped at 200 ms (test/helpers/bridge-setup.ts);
 * one reconnect plus the signed handshake takes a few ms on loopback. The bound
 * leaves room for a loaded 2-core CI machine running four test files at once.
 */
export const RECONNECT_BOUND_MS = 3000;

/** status.active_interval / idle_interval of the harness (seconds → ms), plus room for a busy machine. */
export const HEARTBEAT_MS = { active: 2000, idle: 5000 };
const HEARTBEAT_SLACK_MS = 1500;

/** Runs `body` on a fresh bridge (emulator + simulator); a failure carries the end of the bridge's log. */
export async function scenario(t: TestContext, o: Parameters<typeof Bridge.start>[0], body: (b: Bridge) => Promise<void>): Promise<void> {
  const b = await Bridge.start(o);
  try {
    await body(b);
  } catch (err) {
    const e = err instanceof Error ? err : new Error(String(err));
    e.message += `\n--- bridge log (last 40 lines):\n${b.log.lines().slice(-40).join('\n')}`;
    throw e;
  } finally {
    await b.stop();
  }
  t.diagnostic(`warnings logged: ${b.log.lines('warn').length}`);
}

/** POLARCLOUD_DEBUG_HANDLES=1: where every live timer was created, printed when handles leak. */
const liveTimers = process.env.POLARCLOUD_DEBUG_HANDLES === '1' ? new Map<number, string>() : null;
if (liveTimers) {
  const { createHook } = await import('node:async_hooks');
  createHook({
    init(id, type) {
      if (type === 'Timeout') liveTimers.set(id, (new Error().stack ?? '').split('\n').slice(2, 12).join('\n'));
    },
    destroy(id) {
      liveTimers.delete(id);
    },
  }).enable();
}

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

export interface ResourceBaseline {
  heapUsed: number;
  handles: Map<string, number>;
}

/** Active handles by kind (sockets, servers, timers), as Node counts them. */
function handleCounts(): Map<string, number> {
  const counts = new Map<string, number>();
  // Experimental but present since Node 17.3 (absent from @types/node 18).
  const info = (process as unknown as { getActiveResourcesInfo(): string[] }).getActiveResourcesInfo();
  for (const kind of info) counts.set(kind, (counts.get(kind) ?? 0) + 1);
  return counts;
}

async function settledHeap(): Promise<number> {
  // Two passes: the first frees objects whose finalizers release more.
  for (let i = 0; i < 2; i++) {
    gc();
    await new Promise((r) => setImmediate(r));
  }
  return process.memoryUsage().heapUsed;
}

export async function resourceBaseline(): Promise<ResourceBaseline> {
  return { heapUsed: await settledHeap(), handles: handleCounts() };
}

/**
 * Sockets and timers back to the baseline counts (within `handleSlack` per kind:
 * a heartbeat or a keep-alive socket may be mid-flight) and the heap after GC
 * within `heapSlackMiB`. The emulator's event log lives in this process and grows
 * by design (bounded at 50,000 events), hence a slack rather than equality.
 */
export async function assertBackToBaseline(base: ResourceBaseline, o: { heapSlackMiB?: number; handleSlack?: number } = {}): Promise<{ heapDeltaMiB: number }> {
  const slack = o.handleSlack ?? 2;
  const over = (): string[] => {
    const now = handleCounts();
    const out: string[] = [];
    for (const [kind, n] of now) {
      const was = base.handles.get(kind) ?? 0;
      if (n > was + slack) out.push(`${kind}: ${was} → ${n}`);
    }
    return out;
  };
  await eventually(() => over().length === 0, 5000, 'handles back to baseline').catch(() => undefined);
  if (over().length > 0 && liveTimers) {
    const byStack = new Map<string, number>();
    for (const st of liveTimers.values()) byStack.set(st, (byStack.get(st) ?? 0) + 1);
    for (const [st, n] of byStack) console.error(`${n} live timer(s) from:\n${st}`);
  }
  assert.deepEqual(over(), [], 'handles (sockets, timers) back to baseline');
  const heapDeltaMiB = ((await settledHeap()) - base.heapUsed) / 1048576;
  assert.ok(heapDeltaMiB < (o.heapSlackMiB ?? 16), `heap after GC grew ${heapDeltaMiB.toFixed(1)} MiB over the baseline`);
  return { heapDeltaMiB };
}

/** Online again (hello SUCCESS on a new connection) within the bound; returns how long it took. */
export async function assertOnlineWithin(b: Bridge, boundMs = RECONNECT_BOUND_MS): Promise<number> {
  const t0 = Date.now();
  await eventually(() => b.c.polar.online, boundMs, `online again within ${boundMs} ms (state ${b.c.polar.state})`);
  return Date.now() - t0;
}

/** Applies a link fault to an online bridge, waits until it notices, and returns how long it took to be online again. */
export async function faultAndReconnect(b: Bridge, fault: () => void, boundMs = RECONNECT_BOUND_MS): Promise<number> {
  assert.ok(b.c.polar.online, 'online before the fault');
  const offline = b.c.polar.events.next('offline', 5000);
  fault();
  await offline;
  return assertOnlineWithin(b, boundMs);
}

/** The bridge sees Klippy ready again (Moonraker link up, subscriptions renewed) within the bound. */
export async function assertPrinterReadyWithin(b: Bridge, boundMs = RECONNECT_BOUND_MS): Promise<number> {
  const t0 = Date.now();
  await eventually(() => b.c.printer.snapshot().connection === 'klippy_ready', boundMs, `Moonraker link and Klippy ready within ${boundMs} ms`);
  return Date.now() - t0;
}

/** The scenario's seeded generator (POLARCLOUD_FUZZ_SEED replays one); the seed goes in the test's output. */
export function stormRng(t: TestContext, fixedSeed: number): Rng {
  const r = new Rng(fuzzSeed(fixedSeed));
  t.diagnostic(`seed ${r.seed}`);
  return r;
}

/** The baseline after one warm-up reconnect of each link, so what is created lazily already exists. */
export async function warmBaseline(b: Bridge): Promise<ResourceBaseline> {
  await faultAndReconnect(b, () => b.emu.control.dropConnections());
  b.sim.control.dropWebsockets();
  await eventually(() => b.c.printer.snapshot().connection !== 'klippy_ready', 2000, 'Moonraker drop noticed').catch(() => undefined);
  await assertPrinterReadyWithin(b);
  await new Promise((r) => setTimeout(r, 300));
  return resourceBaseline();
}

/**
 * The cloud received exactly these job reports, each once. Waits for them, then
 * a little longer so a duplicate sent after a reconnect would be seen too.
 */
export async function assertReportedExactlyOnce(b: Bridge, expected: Array<{ jobId: string; state: string }>, timeoutMs = 30_000): Promise<void> {
  const want = new Set(expected.map((e) => e.jobId));
  await eventually(() => [...want].every((id) => b.jobReports().some((r) => r.jobId === id)), timeoutMs, `job reports for ${[...want].join(', ')}`);
  await eventually(() => b.c.jobs.store.outbox.length === 0, 5000, 'outbox empty');
  await new Promise((r) => setTimeout(r, 400));
  const seen = b.jobReports().map((r) => ({ jobId: r.jobId, state: r.state }));
  const sort = (l: Array<{ jobId: string; state: string }>): Array<{ jobId: string; state: string }> => [...l].sort((x, y) => x.jobId.localeCompare(y.jobId));
  assert.deepEqual(sort(seen), sort(expected), 'each finished job reported exactly once, with its jobId and state');
}

/**
 * Nothing half-done is left: no download, no timelapse frame folder, no
 * temporary file in the data directory, no partial upload on the printer.
 */
export async function assertNoOrphans(b: Bridge): Promise<void> {
  // A write in flight is not an orphan: let it land first.
  await b.c.jobs.store.flushed();
  await eventually(async () => (await filesUnder(join(b.dataDir, 'timelapse'))).length === 0, 10_000, 'timelapse frame folders removed').catch(() => undefined);
  assert.deepEqual(await filesUnder(join(b.dataDir, 'timelapse')), [], 'no timelapse frame folder left');
  assert.deepEqual(await filesUnder(join(b.dataDir, 'downloads')), [], 'no download left');
  const temps = (await filesUnder(b.dataDir)).filter((f) => /\.(tmp|part)$|~$/.test(f));
  assert.deepEqual(temps, [], 'no temporary file in the data directory');
  const onPrinter = (await b.c.moonrakerApi.listFiles('gcodes')).map((f) => f.path);
  assert.deepEqual(onPrinter.filter((p) => /\.tmp|\.part|\.partial/.test(p)), [], 'no partial file on the printer');
}

/** The next status the cloud receives (within one heartbeat) has this code. */
export async function assertStatusWithinHeartbeat(b: Bridge, status: number, kind: keyof typeof HEARTBEAT_MS, jobId?: string): Promise<void> {
  const since = b.emu.control.lastSeq();
  const s = await b.waitStatus(() => true, since, HEARTBEAT_MS[kind] + HEARTBEAT_SLACK_MS, `a status within one ${kind} heartbeat`);
  assert.equal(s.status, status, `status ${s.status} (${String(s.progressDetail ?? '')}), expected ${status}`);
  if (jobId !== undefined) assert.equal(s.jobId, jobId);
}

/**
 * The cloud saw the job's "Complete" (7) banner, and then, once the banner's
 * few repeats are over, the printer is Ready (0) again within one heartbeat.
 */
export async function assertCompletionSeen(b: Bridge, jobId: string): Promise<void> {
  const seven = await b.waitStatus((s) => s.status === 7 && s.jobId === jobId, 0, 10_000, `complete (7) for ${jobId}`);
  const ready = await b.waitStatus((s) => s.status === 0, seven.seq, 10_000, 'Ready (0) after the banner');
  assert.ok(ready.jobId === undefined || ready.jobId === '', 'Ready carries no job');
  await assertStatusWithinHeartbeat(b, 0, 'idle');
}

export function assertNoViolations(b: Bridge): void {
  assert.deepEqual(b.emu.control.violations(), [], 'the emulated cloud saw no protocol violation');
}
