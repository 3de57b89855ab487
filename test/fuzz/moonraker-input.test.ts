// Fuzz: random and malformed Moonraker frames into the bridge's Moonraker side.
// 1. MoonrakerClient + PrinterModel + MoonrakerApi against the in-memory fake
//    Moonraker: status deltas with hostile values, history/gcode/klippy/other
//    notifications with garbage, remote-method calls, inbound requests, stray
//    and malformed replies, random replies (or none) to the client's own calls,
//    text that is not JSON, deep and huge frames.
// 2. The whole bridge (Controller) behind a websocket proxy in front of the
//    Moonraker simulator: the same frames plus binary/invalid-UTF-8 frames, an
//    oversized frame, and tampered replies to the bridge's real calls.
// Invariants: nothing thrown out of a handler (no uncaughtException /
// unhandledRejection), the PrinterModel snapshot stays well-typed, the status
// the bridge would send to Polar stays valid, every API call settles with a
// known error type, every inbound request is answered once, the client stays
// connected or reconnects, and a valid update afterwards is applied.
// POLARCLOUD_FUZZ_LONG=1 runs 20× the frames; POLARCLOUD_FUZZ_SEED replays a seed
// (the frame sequence; reply tampering depends on timing). What it found is
// reproduced deterministically in findings.test.ts.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startPolarEmulator } from '../../src/emulator/index.js';
import { startMoonrakerSimulator, type MoonrakerSimulator } from '../../src/simulator/index.js';
import { MoonrakerApi, MoonrakerClient, PrinterModel, type SocketConnector, type SocketHandlers } from '../../moonraker-bridge/index.js';
import { FailureLog } from '../../src/util/backoff.js';
import { systemClock } from '../../src/util/clock.js';
import { Bridge, eventually } from '../bridge/bridge-harness.js';
import { LogCapture, makeDataDir } from '../helpers/bridge-setup.js';
import { FakeMoonraker, type FakeSocket, type Reply } from '../moonraker/fake-moonraker.js';
import { FixedBackoff, captureLog } from '../moonraker/helpers.js';
import { Rng, fuzzScale, fuzzSeed, jsonValue, shortString } from './gen.js';
import { moonrakerFrame, printLifecycle, snapshotProblems, type FrameContext } from './moonraker-frames.js';
import { UNSAFE_INT_VIOLATION, hugeTimestampsSafe, prototypeObjectNamesSafe, statusProblems, veryDeepSafe } from './known-issues.js';
import { MoonrakerFuzzProxy, type ReplyPlan } from './moonraker-proxy.js';

const SCALE = fuzzScale();
const CLIENT_FRAMES = 3000 * SCALE;
const BRIDGE_FRAMES = 1500 * SCALE;
const SEED = fuzzSeed(0x5eedf00d);
const KNOWN_ERRORS = new Set(['MoonrakerRpcError', 'GcodeError', 'MoonrakerReplyError', 'RpcTimeoutError', 'RpcClosedError', 'RpcAbortedError']);

const crashes: string[] = [];
const onUncaught = (err: unknown): void => void crashes.push(`uncaughtException: ${(err as Error)?.stack ?? String(err)}`);
const onRejection = (err: unknown): void => void crashes.push(`unhandledRejection: ${(err as Error)?.stack ?? String(err)}`);
before(() => {
  process.on('uncaughtException', onUncaught);
  process.on('unhandledRejection', onRejection);
});
after(() => {
  process.off('uncaughtException', onUncaught);
  process.off('unhandledRejection', onRejection);
});

/** Inputs that crash a bridge with a known issue (findings.test.ts) join the run once it is fixed. */
const PROTOTYPE_NAMES = prototypeObjectNamesSafe();
const VERY_DEEP = veryDeepSafe();
const HUGE_DURATIONS = hugeTimestampsSafe();

async function tick(ms = 0): Promise<void> {
  await new Promise((r) => setTimeout(r, ms));
}

// ------------------------------------------------------------------ 1. the client against the fake

test(`MoonrakerClient, PrinterModel and MoonrakerApi survive random frames (${CLIENT_FRAMES} frames, seed ${SEED})`, { timeout: 300_000 * SCALE }, async (t) => {
  const rng = new Rng(SEED);
  // Reply decisions depend on how many calls the client makes (timing): their own stream keeps the frames reproducible.
  const replyRng = new Rng(SEED + 1);
  const log = captureLog();
  const server = new FakeMoonraker();
  server.heaters = ['extruder', 'heater_bed', 'heater_generic chamber'];
  server.objects = [...server.objects, 'heater_generic chamber', 'configfile'];
  let handlers: SocketHandlers | undefined;
  const connector: SocketConnector = async (h) => {
    const sock = await server.connector(h);
    handlers = h;
    return sock;
  };
  const ctx: FrameContext = { inflight: [], remoteMethods: ['polar_fuzz', 'polar_other', 'not_registered'], extensionMethods: ['fuzz_echo', 'fuzz_fail', 'nope'], inboundIds: [], huge: true, prototypeNames: PROTOTYPE_NAMES, veryDeep: VERY_DEEP, hugeDurations: HUGE_DURATIONS };
  let replyFuzz = 0.3;
  server.override = (method, _params, sock) => {
    if (method === undefined) return 'none'; // the client's answer to an inbound request
    if (!replyRng.bool(replyFuzz)) return undefined;
    const id = sock.calls[sock.calls.length - 1]!.id!;
    return replyRng.oneOf<Reply>([
      [4, () => ({ result: jsonValue(replyRng) })],
      [2, () => ({ error: { code: replyRng.pick([-32601, -32602, -32000, 400, 401, 403, 503]), message: replyRng.pick(['Unauthorized', 'Agent already registered', 'Klippy Disconnected', 'boom', String(shortString(replyRng))]) } })],
      [2, () => {
        ctx.inflight.push(id);
        return 'none';
      }],
    ]);
  };
  const model = new PrinterModel({ log });
  const client = new MoonrakerClient({
    url: 'http://127.0.0.1:7125',
    version: 'fuzz',
    model,
    log,
    clock: systemClock,
    backoff: new FixedBackoff(5),
    failureLog: new FailureLog(log, 'cannot reach Moonraker', 60_000, () => Date.now()),
    connect: connector,
    remoteMethods: ['polar_fuzz', 'polar_other'],
    rpcTimeoutMs: 250,
    klippyPollMs: 20,
    identifyRetryMs: 5,
    unauthorizedRetryMs: 20,
  });
  const api = new MoonrakerApi({ rpc: client, log });
  api.start();
  const events = { remote: 0, gcode: 0, history: 0, ready: 0 };
  client.on('remoteMethod', ({ params }) => {
    assert.ok(typeof params === 'object' && params !== null && !Array.isArray(params), 'remote method params are an object');
    events.remote++;
  });
  client.on('gcodeResponse', ({ line }) => {
    assert.equal(typeof line, 'string');
    events.gcode++;
  });
  client.on('ready', () => void events.ready++);
  api.on('historyChanged', ({ job }) => {
    assert.equal(typeof job.filename, 'string');
    events.history++;
  });
  client.registerExtensionMethod('fuzz_echo', async (params) => ({ echoed: params ?? null }));
  client.registerExtensionMethod('fuzz_fail', async () => {
    throw new Error('refused');
  });

  const calls = { started: 0, settled: 0, bad: [] as string[] };
  const fire = (what: string, p: Promise<unknown>): void => {
    calls.started++;
    p.then(
      () => void calls.settled++,
      (err: unknown) => {
        calls.settled++;
        if (!(err instanceof Error) || !KNOWN_ERRORS.has(err.name)) calls.bad.push(`${what}: ${String(err)}`);
      },
    );
  };
  const problems: string[] = [];
  const unsafeInts: string[] = [];
  const kinds = new Map<string, number>();
  /** Each inbound request and the socket it arrived on. */
  const inboundOn: Array<{ id: string; sock: FakeSocket }> = [];
  const started = Date.now();
  try {
    client.start();
    await eventually(() => model.connectionState === 'klippy_ready', 5000, 'first ready');
    for (let i = 0; i < CLIENT_FRAMES; i++) {
      const f = moonrakerFrame(rng, ctx);
      kinds.set(f.kind, (kinds.get(f.kind) ?? 0) + 1);
      handlers?.onMessage(f.text);
      if (f.kind === 'inbound_request') inboundOn.push({ id: String(ctx.inboundIds[ctx.inboundIds.length - 1]), sock: server.last });
      const snap = model.snapshot();
      for (const p of snapshotProblems(snap)) problems.push(`frame ${i} (${f.kind}): ${p}`);
      const st = statusProblems(snap);
      unsafeInts.push(...st.unsafeInt);
      for (const p of st.other) problems.push(`frame ${i} (${f.kind}): status for Polar: ${p}`);
      if (problems.length) break;
      if (i % 25 === 0) {
        fire('listFiles', api.listFiles());
        fire('jobQueueStatus', api.jobQueueStatus());
        fire('historyJob', api.historyJob(String(rng.int(0, 99))));
        fire('gcodeScriptCollect', api.gcodeScriptCollect('M115', { timeoutMs: 300 }));
        fire('freeDiskSpace', api.freeDiskSpace());
        fire('updateStatus', api.updateStatus());
        fire('fileMetadata', api.fileMetadata('a.gcode'));
        fire('queryObjects', api.queryObjects({ extruder: null }));
      }
      if (i % 50 === 0) await tick(rng.int(0, 3));
      if (crashes.length) break;
    }
    assert.deepEqual(crashes, [], `nothing thrown (seed ${SEED})`);
    assert.deepEqual(problems.slice(0, 10), [], `snapshot and status stay well-typed (seed ${SEED})`);

    // Recovery: honest replies again, Moonraker says Klippy is ready, a valid update is applied.
    replyFuzz = 0;
    await eventually(() => client.connected, 5000, 'client connected again');
    await eventually(() => calls.settled === calls.started, 5000, `every API call settles (${calls.settled}/${calls.started})`);
    handlers!.onMessage(JSON.stringify({ jsonrpc: '2.0', method: 'notify_klippy_ready' }));
    await eventually(() => model.connectionState === 'klippy_ready' && client.connected, 5000, 'klippy_ready after notify_klippy_ready');
    await tick(50);
    handlers!.onMessage(JSON.stringify({ jsonrpc: '2.0', method: 'notify_status_update', params: [{ extruder: { temperature: 123.4, target: 200 }, heater_bed: { temperature: 55.5 }, print_stats: { state: 'printing', filename: 'ok.gcode' } }, 1e6] }));
    const snap = model.snapshot();
    assert.equal(snap.heaters.find((h) => h.name === 'extruder')?.temperature, 123.4);
    assert.equal(snap.heaters.find((h) => h.name === 'extruder')?.target, 200);
    assert.equal(snap.heaters.find((h) => h.name === 'heater_bed')?.temperature, 55.5);
    assert.equal(snap.print_stats.state, 'printing');
    assert.equal(snap.print_stats.filename, 'ok.gcode');
    assert.deepEqual(snapshotProblems(snap), []);

    assert.deepEqual(calls.bad, [], 'API calls fail only with the documented error types');
    // Every inbound request was answered exactly once (at most once when its socket closed meanwhile).
    await tick(20);
    let answeredTotal = 0;
    for (const { id, sock } of inboundOn) {
      const n = sock.calls.filter((c) => c.method === undefined && String(c.id) === id).length;
      answeredTotal += n;
      if (sock.open) assert.equal(n, 1, `inbound request ${id} answered once`);
      else assert.ok(n <= 1, `inbound request ${id} answered at most once`);
    }
    assert.ok(answeredTotal > inboundOn.length / 2, `inbound requests were answered (${answeredTotal}/${inboundOn.length})`);
    assert.deepEqual(crashes, []);
    // Errors the client logs on purpose (an unauthorized answer); anything else is a handler that threw.
    const errors = log.lines.filter((l) => l.level === 'error' && !/refused the connection as unauthorized|keeps refusing identify/.test(l.msg));
    assert.deepEqual(errors.map((l) => l.msg.slice(0, 300)), [], 'no handler threw');
    t.diagnostic(`seed ${SEED}: ${CLIENT_FRAMES} frames (${[...kinds].map(([k, n]) => `${k} ${n}`).join(', ')}) in ${Date.now() - started} ms; ${server.sockets.length} connections; ${calls.started} API calls; ${inboundOn.length} inbound requests; events: ${JSON.stringify(events)}; ${log.count('warn')} warnings; ${unsafeInts.length} statuses with unsafe integers (known issue); Object.prototype object names ${PROTOTYPE_NAMES ? 'on' : 'off (known issue)'}, 20k-level nesting ${VERY_DEEP ? 'on' : 'off (known issue)'}, durations past Date's range ${HUGE_DURATIONS ? 'on' : 'off (known issue)'}`);
  } finally {
    await client.stop();
  }
});

// ------------------------------------------------------------------ 2. the whole bridge behind a proxy

/** Lines the bridge may send to Klipper when Moonraker input drives it (plus the cloud's console `M115` and one `temperature`). */
const ALLOWED_LINES = [/^RESPOND TYPE=(?:echo|error) MSG="Polar Cloud: [\x20\x21\x23-\x7e]*"$/, /^M140 S50$/, /^M115$/];
const FORBIDDEN_RPC = ['printer.emergency_stop', 'printer.firmware_restart', 'printer.restart', 'server.restart', 'machine.reboot', 'machine.shutdown'];

test(`the whole bridge behind a fuzzing proxy keeps going (${BRIDGE_FRAMES} frames, seed ${SEED})`, { timeout: 300_000 * SCALE }, async (t) => {
  const rng = new Rng(SEED ^ 0x9e3779b9);
  const tamperRng = new Rng(SEED + 2);
  const emu = await startPolarEmulator();
  const sim = await startMoonrakerSimulator({ speedFactor: 50, temperatureNoise: false });
  const proxy = new MoonrakerFuzzProxy(sim.url);
  await proxy.start();
  const viaProxy: MoonrakerSimulator = { url: proxy.url, port: 0, control: sim.control, stop: () => sim.stop() };
  const b = new Bridge(emu, viaProxy, await makeDataDir(), new LogCapture(), 'camera:\n  enabled: false\n');
  let tamper = true;
  const stats = { tampered: 0, binary: 0, oversize: 0, injected: 0 };
  proxy.onRequest = (method, id): ReplyPlan | undefined => {
    // identify/register are left alone: their error paths wait 2 s / 60 s by design (covered in part 1).
    if (!tamper || method === 'server.connection.identify' || method === 'connection.register_remote_method' || !tamperRng.bool(0.08)) return undefined;
    stats.tampered++;
    const junk = (): string =>
      JSON.stringify(
        tamperRng.oneOf<Record<string, unknown>>([
          [3, () => ({ jsonrpc: '2.0', id, result: jsonValue(tamperRng) })],
          [2, () => ({ jsonrpc: '2.0', id, error: { code: tamperRng.pick([-32601, -32000, 400, 404, 503]), message: String(shortString(tamperRng)) } })],
          [1, () => ({ jsonrpc: '2.0', id, error: jsonValue(tamperRng, 2) })],
          [1, () => ({ jsonrpc: '2.0', id })],
        ]),
      );
    return tamperRng.oneOf<ReplyPlan>([[3, () => ({ replace: junk() })], [1, () => ({ before: junk() })], [1, () => ({ after: junk() })]]);
  };
  const ctx: FrameContext = {
    inflight: [],
    // Not polarcloud_register/unregister: registering or unregistering on request is their job.
    remoteMethods: ['polarcloud_status', 'polarcloud_next_print', 'polarcloud_nope'],
    extensionMethods: ['status', 'next_print', 'nope'],
    inboundIds: [],
    huge: true,
    prototypeNames: PROTOTYPE_NAMES,
    veryDeep: VERY_DEEP,
    hugeDurations: HUGE_DURATIONS,
  };
  const problems: string[] = [];
  let unsafeInts = 0;
  let knownViolations: string[] = [];
  let lifecycles = 0;
  let gcodeChecked = 0;
  const check = (where: string): void => {
    assert.deepEqual(crashes, [], `${where}: nothing thrown (seed ${SEED})`);
    // Integers past 2^53 taken from Moonraker are a known issue (findings.test.ts): counted, not failed.
    const violations = emu.control.violations().map((v) => `${v.name}: ${v.reason}`);
    const unknown = violations.filter((v) => !UNSAFE_INT_VIOLATION.test(v));
    knownViolations = violations.filter((v) => UNSAFE_INT_VIOLATION.test(v)).map((v) => v.split(':')[0]!);
    assert.deepEqual(unknown, [], `${where}: everything sent to Polar is valid (seed ${SEED})`);
    assert.equal(b.c.polar.state, 'online', `${where}: still online with Polar`);
    const snap = b.c.printer.snapshot();
    for (const p of snapshotProblems(snap)) problems.push(`${where}: ${p}`);
    assert.deepEqual(problems, [], `${where}: snapshot well-typed`);
    unsafeInts += statusProblems(snap).unsafeInt.length;
    const scripts = sim.control.gcodeLog();
    for (const s of scripts.slice(gcodeChecked)) {
      for (const line of s.split('\n')) assert.ok(ALLOWED_LINES.some((re) => re.test(line)), `${where}: G-code from Moonraker input: ${JSON.stringify(line.slice(0, 200))}`);
    }
    gcodeChecked = scripts.length;
    const bad = sim.control.rpcLog().map((r) => r.method).filter((m) => FORBIDDEN_RPC.includes(m));
    assert.deepEqual(bad, [], `${where}: no restart/emergency RPC`);
  };
  const started = Date.now();
  try {
    b.c = b.makeController();
    b.serial = (await b.c.register('a@b.example', '1234')).serialNumber;
    await b.c.start();
    await b.ready();
    const oversizeAt = Math.floor(BRIDGE_FRAMES / 2);
    for (let i = 0; i < BRIDGE_FRAMES; i++) {
      if (!proxy.connected) await eventually(() => proxy.connected, 10_000, 'bridge reconnected to Moonraker');
      if (i === oversizeAt) {
        // Past the client's 64 MiB frame limit: the socket closes (1009) and the bridge reconnects.
        const before = proxy.connections;
        proxy.inject('x'.repeat(64 * 1024 * 1024 + 1));
        stats.oversize++;
        await eventually(() => proxy.connections > before && proxy.connected, 15_000, 'reconnect after an oversized frame');
        continue;
      }
      if (rng.bool(0.01)) {
        for (const text of printLifecycle(rng, lifecycles++)) {
          proxy.inject(text);
          await tick(rng.int(0, 30));
        }
      } else if (rng.bool(0.05)) {
        // Binary frames: invalid UTF-8, or a valid frame sent as binary.
        const bytes = rng.bool() ? Buffer.from(Array.from({ length: rng.int(1, 64) }, () => rng.int(0, 255))) : Buffer.from(moonrakerFrame(rng, ctx).text, 'utf8');
        proxy.inject(bytes, true);
        stats.binary++;
      } else {
        proxy.inject(moonrakerFrame(rng, ctx).text);
      }
      stats.injected++;
      // A console command now and then: its response collects whatever notify_gcode_response lines arrive meanwhile.
      if ((i + 1) % 100 === 0) b.send('command', { command: 'M115' });
      if ((i + 1) % 10 === 0) await tick(rng.int(0, 8));
      if ((i + 1) % 50 === 0) check(`frame ${i}`);
    }
    await tick(100);
    check('end of injection');

    // Recovery: honest Moonraker again, a fresh connection, a valid update is applied.
    tamper = false;
    const before = proxy.connections;
    proxy.drop();
    await eventually(() => proxy.connections > before, 10_000, 'reconnected');
    await b.ready();
    const since = emu.control.lastSeq();
    b.send('temperature', { bed: 50 });
    await eventually(() => b.c.printer.snapshot().heaters.find((h) => h.name === 'heater_bed')?.target === 50, 10_000, 'heater_bed target 50 from a real status update');
    const st = await b.waitStatus((s) => s.targetBed === 50, since, 10_000, 'status with targetBed 50');
    assert.equal(st.targetBed, 50);
    check('after recovery');
    t.diagnostic(`seed ${SEED}: ${stats.injected} frames injected (${stats.binary} binary, ${stats.oversize} oversized), ${stats.tampered} replies tampered, ${proxy.connections} Moonraker connections, ${lifecycles} print lifecycles, ${b.jobReports().length} job reports, ${b.commandResponses().length} console responses, ${knownViolations.length} Polar messages rejected for unsafe integers (known issue${knownViolations.length ? `: ${[...new Set(knownViolations)].join(', ')}` : ''}), ${emu.control.events().filter((e) => e.kind === 'in' && e.name === 'status').length} statuses to Polar, ${unsafeInts} checkpoints with unsafe integers (known issue), ${Date.now() - started} ms`);
  } finally {
    await b.c?.stop().catch(() => undefined);
    await proxy.stop();
    await sim.stop();
    await emu.stop();
  }
});
