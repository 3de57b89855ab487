// Benchmark: latency from a simulator state change to the PrinterModel event.
// Each sample sets a new extruder target with a G-code script and measures the
// time until the model emits objectsChanged with that target (≥ 200 samples).
// Like Klippy, the simulator batches status updates every 250 ms, so samples
// start at a random phase (0-250 ms pause) and the end-to-end figure includes
// that batching; "frame -> event" is the adapter's own share (JSON parse, zod
// validation, merge, emit) from websocket frame arrival to the event.
// The simulator runs in this process (shared event loop, as a worst case).
//   node <build>/bench/moonraker-delta-latency.js [--samples=200]   (or BENCH_SAMPLES; BENCH_QUICK=1: 30)
import { startMoonrakerSimulator } from '../src/simulator/index.js';
import { Backoff, FailureLog } from '../src/util/backoff.js';
import { systemClock } from '../src/util/clock.js';
import { Logger } from '../src/util/log.js';
import { MoonrakerApi, MoonrakerClient, PrinterModel, createWsConnector, type SocketConnector } from '../moonraker-bridge/index.js';
import { QUICK, knob, printRow, summarize } from './stats.js';

const args = new Map(process.argv.slice(2).map((a) => a.replace(/^--/, '').split('=') as [string, string | undefined]));
// p99 needs ≥ 200 samples; a quick run only checks that the path works.
const SAMPLES = Math.max(QUICK ? 1 : 200, Number(args.get('samples') ?? knob('BENCH_SAMPLES', 200, 30)));

async function main(): Promise<void> {
  const sim = await startMoonrakerSimulator({ port: 0 });
  const log = Logger.create('warn').child('moonraker');
  const model = new PrinterModel({ log });
  let frameAt = 0;
  const ws = createWsConnector({ url: sim.url, clock: systemClock, log });
  const connect: SocketConnector = (handlers) =>
    ws({
      onMessage: (text) => {
        frameAt = performance.now();
        handlers.onMessage(text);
      },
      onClose: handlers.onClose,
    });
  const client = new MoonrakerClient({
    url: sim.url,
    version: 'bench',
    model,
    log,
    clock: systemClock,
    backoff: new Backoff({ initialMs: 100, maxMs: 1000 }),
    failureLog: new FailureLog(log, 'cannot reach Moonraker', 60_000, () => Date.now()),
    connect,
  });
  const api = new MoonrakerApi({ rpc: client, log });
  client.start();
  try {
    await new Promise<void>((resolve) => {
      if (model.connectionState === 'klippy_ready') resolve();
      const off = model.on('connectionChanged', (e) => {
        if (e.to === 'klippy_ready') {
          off();
          resolve();
        }
      });
    });
    const toEvent: number[] = [];
    const toReply: number[] = [];
    const frameToEvent: number[] = [];
    for (let i = 0; i < SAMPLES; i++) {
      const target = 100 + (i % 2 === 0 ? i % 100 : 150 + (i % 50));
      const seen = new Promise<number>((resolve) => {
        const off = model.on('objectsChanged', (e) => {
          if (e.changed.extruder?.target === target) {
            const now = performance.now();
            frameToEvent.push(now - frameAt);
            off();
            resolve(now);
          }
        });
      });
      await new Promise((r) => setTimeout(r, Math.random() * 250));
      const t0 = performance.now();
      await api.gcodeScript(`M104 S${target}`);
      toReply.push(performance.now() - t0);
      toEvent.push((await seen) - t0);
    }
    console.log(`moonraker-delta-latency: ${SAMPLES} samples (M104 via printer.gcode.script -> objectsChanged), node ${process.version}`);
    const ms = (x: { n: number; median: number; p99: number; max: number }) => ({ n: x.n, median_ms: x.median, p99_ms: x.p99, max_ms: x.max });
    printRow('state change -> model event', ms(summarize(toEvent)));
    printRow('frame -> model event (adapter)', ms(summarize(frameToEvent)));
    printRow('script reply (reference)', ms(summarize(toReply)));
  } finally {
    api.stop();
    await client.stop();
    await sim.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
