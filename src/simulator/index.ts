// Moonraker/Klipper simulator: one process on 127.0.0.1 with Moonraker's HTTP
// routes and JSON-RPC websocket, backed by a simulated Klipper printer.
// See SimulatorControl (control-api.ts) for fault injection; the same controls
// are served over HTTP under /_sim/.
//
// Time model: Klipper runs on a simulated clock `speedFactor` times faster
// than real time (heating, moves, dwell, print_stats durations, eventtime).
// A file prints at the speed of its moves (distance / feedrate + v/accel),
// read in 64 KiB chunks; Moonraker-side timing (250 ms status batching, reply
// delays, restarts, history start/end timestamps) is real time.
import type { Clock } from '../util/clock.js';
import { systemClock } from '../util/clock.js';
import { Logger } from '../util/log.js';
import type { SimulatorControl } from './control-api.js';
import { Simulator } from './simulator.js';

export type { SimulatorControl } from './control-api.js';
export type { WebcamEntry } from './webcams.js';
export type { PowerDeviceSpec } from './power-devices.js';

export interface MoonrakerSimulatorOptions {
  /** Default '127.0.0.1'. */
  host?: string;
  /** Default 0 (random). */
  port?: number;
  /** API-key-required mode from the start. */
  apiKey?: string;
  /** Simulated-time multiplier (heating, moves, print durations); default 1, tests use 50–1000. */
  speedFactor?: number;
  /** Default 1. */
  extruders?: 1 | 2;
  /** heater_generic "chamber"; default true. */
  chamber?: boolean;
  /** Default: a fresh temp dir, removed on stop(). */
  gcodesDir?: string;
  /** Default Logger.silent(). */
  log?: Logger;
  /** How long Klippy stays in "startup" after a (re)start, real ms; default 150. */
  klippyStartupMs?: number;
  /** Moonraker's queue_gcode_uploads (upload with print=true while busy queues the file); default false. */
  queueGcodeUploads?: boolean;
  /** Klipper's idle_timeout in simulated seconds (then TURN_OFF_HEATERS + M84); default 600, 0 disables. */
  idleTimeoutSec?: number;
  /** ±0.05 °C thermistor noise; default true. */
  temperatureNoise?: boolean;
  /** Real-time source for timers; default the system clock. */
  clock?: Clock;
}

export interface MoonrakerSimulator {
  /** http://127.0.0.1:PORT */
  readonly url: string;
  readonly port: number;
  readonly control: SimulatorControl;
  stop(): Promise<void>;
}

/** Starts the simulator; resolves once Moonraker listens and Klippy is ready. */
export async function startMoonrakerSimulator(opts: MoonrakerSimulatorOptions = {}): Promise<MoonrakerSimulator> {
  const sim = new Simulator({
    host: opts.host ?? '127.0.0.1',
    port: opts.port ?? 0,
    apiKey: opts.apiKey ?? null,
    speedFactor: opts.speedFactor ?? 1,
    extruders: opts.extruders ?? 1,
    chamber: opts.chamber ?? true,
    gcodesDir: opts.gcodesDir ?? null,
    log: opts.log ?? Logger.silent(),
    clock: opts.clock ?? systemClock,
    klippyStartupMs: opts.klippyStartupMs ?? 150,
    queueGcodeUploads: opts.queueGcodeUploads ?? false,
    temperatureNoise: opts.temperatureNoise ?? true,
    idleTimeoutSec: opts.idleTimeoutSec ?? 600,
  });
  try {
    await sim.start();
  } catch (err) {
    await sim.stop().catch(() => undefined);
    throw err;
  }
  return {
    get url() {
      return sim.url;
    },
    get port() {
      return sim.port;
    },
    control: sim.control,
    stop: () => sim.stop(),
  };
}
