// Runs the adapter against the Moonraker simulator (src/simulator), wired the
// way the composition root will: src/util Logger, Clock and Backoff.
import { startMoonrakerSimulator } from '../../src/simulator/index.js';
import { Backoff, FailureLog } from '../../src/util/backoff.js';
import { systemClock } from '../../src/util/clock.js';
import { Logger, type LogRecord } from '../../src/util/log.js';
import {
  MoonrakerApi,
  MoonrakerClient,
  PrinterModel,
  type BridgeBackoff,
  type BridgeClock,
  type BridgeLogger,
  type ConnectionState,
  type PrinterSnapshot,
} from '../../moonraker-bridge/index.js';

export type Sim = Awaited<ReturnType<typeof startMoonrakerSimulator>>;
export type SimOptions = Parameters<typeof startMoonrakerSimulator>[0];

export async function withSim<T>(opts: SimOptions, fn: (sim: Sim) => Promise<T>): Promise<T> {
  const sim = await startMoonrakerSimulator(opts);
  try {
    return await fn(sim);
  } finally {
    await sim.stop();
  }
}

export interface Harness {
  client: MoonrakerClient;
  model: PrinterModel;
  api: MoonrakerApi;
  records: LogRecord[];
  stop(): Promise<void>;
}

export function connect(
  sim: Sim,
  opts: { apiKey?: string; remoteMethods?: string[]; rpcTimeoutMs?: number; unauthorizedRetryMs?: number; idleTemperaturePollMs?: number; quietAfterMs?: number } = {},
): Harness {
  const records: LogRecord[] = [];
  const root = Logger.create(process.env.MR_TEST_LOG === '1' ? 'debug' : 'debug', [
    (rec) => {
      records.push(rec);
      if (process.env.MR_TEST_LOG === '1') process.stderr.write(`${rec.level} [${rec.ns}] ${rec.msg}\n`);
    },
  ]);
  // The composition root's types must satisfy the adapter's structural interfaces.
  const log: BridgeLogger = root.child('moonraker');
  const clock: BridgeClock = systemClock;
  const backoff: BridgeBackoff = new Backoff({ initialMs: 50, maxMs: 400 });
  const model = new PrinterModel({ log });
  const client = new MoonrakerClient({
    url: sim.url,
    apiKey: opts.apiKey,
    version: '0.1.0-test',
    remoteMethods: opts.remoteMethods,
    model,
    log,
    clock,
    backoff,
    failureLog: new FailureLog(root.child('moonraker'), `cannot reach Moonraker at ${sim.url}`, 5 * 60_000, () => clock.now()),
    klippyPollMs: 200,
    identifyRetryMs: 100,
    unauthorizedRetryMs: opts.unauthorizedRetryMs ?? 300,
    rpcTimeoutMs: opts.rpcTimeoutMs ?? 5_000,
    idleTemperaturePollMs: opts.idleTemperaturePollMs,
    quietAfterMs: opts.quietAfterMs,
  });
  const api = new MoonrakerApi({ rpc: client, log });
  api.start();
  client.start();
  return {
    client,
    model,
    api,
    records,
    stop: async () => {
      api.stop();
      await client.stop();
    },
  };
}

/** Resolves once the model is in `state` (now or later). */
export function waitState(model: PrinterModel, state: ConnectionState, timeoutMs = 5000): Promise<void> {
  return waitModel(model, (s) => s.connection === state, `connection state ${state}`, timeoutMs);
}

/** Resolves once `pred(snapshot)` holds; checks on every model event. */
export function waitModel(model: PrinterModel, pred: (s: PrinterSnapshot) => boolean, what: string, timeoutMs = 5000): Promise<void> {
  return new Promise((resolve, reject) => {
    const offs: Array<() => void> = [];
    const done = (err?: Error): void => {
      clearTimeout(timer);
      for (const off of offs) off();
      if (err) reject(err);
      else resolve();
    };
    const check = (): void => {
      if (pred(model.snapshot())) done();
    };
    const timer = setTimeout(() => done(new Error(`timed out after ${timeoutMs} ms waiting for ${what} (connection: ${model.connectionState})`)), timeoutMs);
    offs.push(model.on('connectionChanged', check), model.on('objectsChanged', check));
    check();
  });
}

export function count<T>(list: readonly T[], pred: (x: T) => boolean): number {
  return list.filter(pred).length;
}
