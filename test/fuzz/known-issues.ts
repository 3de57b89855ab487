// Probes for the issues the fuzz suites found (reproduced in findings.test.ts).
// Inputs that would crash a bridge with the issue are left out of the random
// runs while the probe says it is there, and join them once it is fixed — the
// suites stay green before the fix and get stronger after it.
import { PrinterModel, type PrinterSnapshot } from '../../moonraker-bridge/index.js';
import { PolarConnection } from '../../src/polar/connection.js';
import { validatePrinterCommand } from '../../src/polar/messages.js';
import type { PolarTransport, TransportHandlers } from '../../src/polar/transport.js';
import { defaultChamberObject, mapStatus } from '../../src/status/status-mapper.js';
import { systemClock } from '../../src/util/clock.js';
import { LogCapture } from '../helpers/bridge-setup.js';
import { silentLogger } from '../../moonraker-bridge/index.js';

/** Cloud event names that are Object.prototype members. */
export const PROTOTYPE_EVENTS = ['toString', 'constructor', '__proto__', 'hasOwnProperty', 'valueOf'];
/** Klipper object names that are Object.prototype members. */
export const PROTOTYPE_OBJECT_NAMES = ['constructor', 'toString', 'hasOwnProperty', 'valueOf'];

/** Feeds one cloud event to a PolarConnection over a stub transport; returns what it threw, if anything. */
export function polarEventThrows(event: string, payload: unknown = { serialNumber: 'X' }): unknown {
  const log = new LogCapture();
  let handlers: TransportHandlers | undefined;
  const transport: PolarTransport = { open: (h) => void (handlers = h), send: () => undefined, close: () => undefined };
  new PolarConnection(transport, log.logger, systemClock, false).open();
  try {
    handlers!.onMessage(event, payload);
    return undefined;
  } catch (err) {
    return err;
  }
}

/** Whether cloud events named like Object.prototype members are handled (over socket.io a throw is a process crash). */
export function prototypeEventsSafe(): boolean {
  return PROTOTYPE_EVENTS.every((e) => polarEventThrows(e) === undefined);
}

/** Whether status updates naming objects 'constructor', 'toString'… are handled. */
export function prototypeObjectNamesSafe(): boolean {
  const model = new PrinterModel({ log: silentLogger });
  try {
    for (const name of PROTOTYPE_OBJECT_NAMES) model.applyUpdate([{ [name]: { x: 1 } }, 1]);
    return true;
  } catch {
    return false;
  }
}

/** `depth` levels of {"v": …} around 1, as JSON text (JSON.stringify itself overflows past ~10k levels). */
export function deepJson(depth: number): string {
  return `${'{"v":'.repeat(depth)}1${'}'.repeat(depth)}`;
}

/** Whether two 20 000-level deltas of one object are handled without overflowing the stack. */
export function veryDeepSafe(): boolean {
  const model = new PrinterModel({ log: silentLogger });
  try {
    for (let i = 0; i < 2; i++) model.applyUpdate(JSON.parse(`[{"gcode_macro DEEP": {"v": ${deepJson(20_000)}}}, ${i}]`));
    return true;
  } catch {
    return false;
  }
}

/**
 * Whether a tracked job whose start lies outside Date's range (from an absurd
 * total_duration or start_time) can be mapped to a status without throwing.
 */
export function hugeTimestampsSafe(): boolean {
  const model = new PrinterModel({ log: silentLogger });
  model.setConnection('klippy_ready', '');
  model.replaceAll({ heaters: { available_heaters: [], available_sensors: [] }, print_stats: { state: 'printing', filename: 'x.gcode', print_duration: 5 } }, 1);
  try {
    mapStatus({
      serialNumber: 'SN-FUZZ',
      printer: model.snapshot(),
      job: { jobId: '123', cloud: false, filename: 'x.gcode', moonrakerJobId: null, startedAt: Date.now() - 1e16, printSeconds: 5, filamentUsed: 0 },
      jobMeta: null,
      prepare: null,
      banner: null,
      pauseKind: null,
      postProcessing: null,
      updating: false,
      chamberObject: null,
    });
    return true;
  } catch {
    return false;
  }
}

/**
 * What is wrong with the Polar status the bridge would build from this snapshot.
 * `unsafeInt`: integer fields past 2^53 taken from Moonraker (a known issue), kept apart.
 */
export function statusProblems(s: PrinterSnapshot): { unsafeInt: string[]; other: string[] } {
  const msg = mapStatus({
    serialNumber: 'SN-FUZZ',
    printer: s,
    job: null,
    jobMeta: null,
    prepare: null,
    banner: null,
    pauseKind: null,
    postProcessing: null,
    updating: false,
    chamberObject: defaultChamberObject(s.heaters.map((h) => h.name)),
  });
  const v = validatePrinterCommand('status', msg);
  if (v.ok) return { unsafeInt: [], other: [] };
  const m = msg as Record<string, unknown>;
  const unsafe = ['printSeconds', 'bytesRead', 'fileSize', 'estimatedTime', 'filamentUsed'].filter((k) => typeof m[k] === 'number' && !Number.isSafeInteger(m[k]));
  return unsafe.length ? { unsafeInt: [`${unsafe.join(',')}: ${v.reason}`], other: [] } : { unsafeInt: [], other: [v.reason] };
}

/** Polar's answer to a message carrying an integer past 2^53 (the same known issue, seen by the emulator). */
export const UNSAFE_INT_VIOLATION = /Too big: expected int to be <=9007199254740991/;
