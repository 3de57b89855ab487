// The simulated Klipper host: printer state, the printer objects it reports
// (see printer-status.ts) and the events Moonraker reacts to. Command
// semantics live in gcode-interpreter.ts; file printing in print-executor.ts.
import { TypedEmitter } from '../util/typed-emitter.js';
import { FilamentSensors } from './filament-sensors.js';
import { PrintStats, type PrintStatsStatus } from './print-stats.js';
import type { SimClock } from './sim-clock.js';
import { Heater, bedHeater, chamberHeater, extruderHeater } from './thermal-model.js';

export type KlippyHostState = 'startup' | 'ready' | 'error' | 'shutdown';
export type Vec4 = [number, number, number, number];

export const MESSAGE_READY = 'Printer is ready';
export const MESSAGE_STARTUP = 'Printer is not ready\nThe klippy host software is attempting to connect.  Please\nretry in a few moments.';

export interface KlipperEvents {
  /** One raw G-code response (what Klipper sends to `notify_gcode_response`). */
  response: string;
  state: { state: KlippyHostState; message: string };
  /** print_stats.state changed (Moonraker's job_state watches this). */
  printState: { prev: PrintStatsStatus; next: PrintStatsStatus };
  /** The physics tick ran; `eventtime` is simulated. */
  tick: number;
  /** The idle timeout elapsed: run TURN_OFF_HEATERS / M84. */
  idleTimeout: void;
  /** A filament sensor saw a runout while printing: run `script` (PAUSE + runout_gcode). */
  runout: { sensor: string; script: string };
}

export interface VirtualSdStatus {
  file_path: string | null;
  progress: number;
  is_active: boolean;
  file_position: number;
  file_size: number;
}

export interface PrinterModelOptions {
  extruders: 1 | 2;
  chamber: boolean;
  gcodesDir: string;
}

export class Toolhead {
  position: Vec4 = [0, 0, 0, 0];
  homed = new Set<'x' | 'y' | 'z'>();
  /** Simulated time at which all queued moves are done. */
  busyUntil = 0;
  /** Klipper's print_time: sum of scheduled move time. */
  printTime = 0;
  stalls = 0;
  activeExtruder = 'extruder';
  maxVelocity = 300;
  maxAccel = 3000;
  minimumCruiseRatio = 0.5;
  squareCornerVelocity = 5;
  readonly maxZVelocity = 15;
  readonly axisMinimum: Vec4 = [0, 0, 0, 0];
  readonly axisMaximum: Vec4 = [235, 235, 250, 0];

  get homedAxes(): string {
    return ['x', 'y', 'z'].filter((a) => this.homed.has(a as 'x' | 'y' | 'z')).join('');
  }
}

export class GcodeMove {
  absoluteCoord = true;
  absoluteExtrude = true;
  /** mm/s of the last G0/G1 F parameter. */
  speed = 25;
  speedFactor = 1;
  extrudeFactor = 1;
  basePosition: Vec4 = [0, 0, 0, 0];
  homingPosition: Vec4 = [0, 0, 0, 0];
  lastPosition: Vec4 = [0, 0, 0, 0];
  /** SAVE_GCODE_STATE snapshots (PAUSE uses NAME=PAUSE_STATE). */
  saved = new Map<string, { absoluteCoord: boolean; absoluteExtrude: boolean; base: Vec4; last: Vec4; speed: number }>();

  gcodePosition(): Vec4 {
    return this.lastPosition.map((p, i) => p - (this.basePosition[i] ?? 0)) as Vec4;
  }
}

export class KlipperPrinter extends TypedEmitter<KlipperEvents> {
  state: KlippyHostState = 'startup';
  stateMessage = MESSAGE_STARTUP;
  readonly heaters: Heater[];
  readonly toolhead = new Toolhead();
  readonly gcodeMove = new GcodeMove();
  readonly printStats: PrintStats;
  readonly filamentSensors = new FilamentSensors();
  fanSpeed = 0;
  displayMessage: string | null = null;
  m73Progress: number | null = null;
  m73Expire = 0;
  isPaused = false;
  idleState: 'Idle' | 'Printing' | 'Ready' = 'Idle';
  idleTimeout = 600;
  private printingSince = 0;
  private readySince = 0;
  /** Set by the G-code runner: a script or SD line holds the G-code mutex. */
  gcodeBusy: () => boolean = () => false;
  vsdStatus: () => VirtualSdStatus = () => ({ file_path: null, progress: 0, is_active: false, file_position: 0, file_size: 0 });
  private lastTick: number;
  private lastPrintState: PrintStatsStatus;

  constructor(
    readonly sim: SimClock,
    readonly opts: PrinterModelOptions,
  ) {
    super();
    this.heaters = [extruderHeater(0)];
    if (opts.extruders === 2) this.heaters.push(extruderHeater(1));
    this.heaters.push(bedHeater());
    if (opts.chamber) this.heaters.push(chamberHeater());
    this.printStats = new PrintStats(
      () => this.sim.now(),
      () => ({ e: this.gcodeMove.lastPosition[3], extrudeFactor: this.gcodeMove.extrudeFactor }),
    );
    this.lastTick = sim.now();
    this.lastPrintState = this.printStats.snapshot();
  }

  heater(objectName: string): Heater | undefined {
    return this.heaters.find((h) => h.name === objectName);
  }

  get isReady(): boolean {
    return this.state === 'ready';
  }

  setState(state: KlippyHostState, message: string): void {
    this.state = state;
    this.stateMessage = message;
    this.emit('state', { state, message });
  }

  /** Raw response line(s), as Klipper's gcode.respond_raw. */
  respond(msg: string): void {
    this.emit('response', msg);
  }

  /** Klipper's respond_info: every line prefixed with "// ". */
  respondInfo(msg: string): void {
    const lines = msg.trim().split('\n').map((l) => l.trim());
    this.respond('// ' + lines.join('\n// '));
  }

  /** Klipper's _respond_error: extra lines as info, first line with "!! ". */
  respondError(msg: string): void {
    const lines = msg.trim().split('\n');
    if (lines.length > 1) this.respondInfo(lines.join('\n'));
    this.respond('!! ' + (lines[0] ?? '').trim());
  }

  /** Klipper's M105 text: "T0:25.0 /0.0 B:25.0 /0.0". */
  temperatureReport(): string {
    const parts = this.heaters.map((h) => h.report()).filter((s): s is string => s !== null);
    return parts.length ? parts.join(' ') : 'T:0';
  }

  /** A filament sensor's switch changed (control.setFilamentDetected); a runout while printing pauses like Klipper's RunoutHelper. */
  setFilamentDetected(sensor: string, detected: boolean): void {
    // idle_timeout "Printing" (evaluated now, not at the last tick).
    const printing = this.state === 'ready' && (this.idleState === 'Printing' || this.vsdStatus().is_active || this.gcodeBusy());
    const script = this.filamentSensors.setDetected(sensor, detected, printing);
    if (script) this.emit('runout', { sensor, script });
  }

  /** Call after anything that may have changed print_stats.state. */
  checkPrintState(): void {
    const next = this.printStats.snapshot();
    if (next.state !== this.lastPrintState.state) {
      const prev = this.lastPrintState;
      this.lastPrintState = next;
      this.emit('printState', { prev, next });
    } else {
      this.lastPrintState = next;
    }
  }

  /** Advances physics to the current simulated time. */
  tick(): void {
    const now = this.sim.now();
    const dt = now - this.lastTick;
    this.lastTick = now;
    for (const h of this.heaters) h.step(dt);
    if (this.state === 'ready') this.updateIdle(now);
    this.emit('tick', now);
  }

  private updateIdle(now: number): void {
    const busy = this.toolhead.busyUntil > now || this.gcodeBusy() || this.vsdStatus().is_active;
    if (busy) {
      if (this.idleState !== 'Printing') {
        this.idleState = 'Printing';
        this.printingSince = now;
      }
      return;
    }
    if (this.idleState === 'Printing' && now - Math.max(this.toolhead.busyUntil, this.printingSince) >= 0.5) {
      this.idleState = 'Ready';
      this.readySince = now;
    } else if (this.idleState === 'Ready' && this.idleTimeout > 0 && now - this.readySince >= this.idleTimeout) {
      this.idleState = 'Idle';
      this.emit('idleTimeout', undefined);
    }
  }

  idleStatus(now: number): { state: string; printing_time: number; idle_timeout: number } {
    return {
      state: this.idleState,
      printing_time: this.idleState === 'Printing' ? now - this.printingSince : 0,
      idle_timeout: this.idleTimeout,
    };
  }

  /** Fresh Klippy process state after RESTART/FIRMWARE_RESTART (temperatures are physical and stay). */
  resetHost(): void {
    for (const h of this.heaters) h.target = 0;
    this.toolhead.homed.clear();
    this.toolhead.busyUntil = 0;
    this.toolhead.activeExtruder = 'extruder';
    const gm = this.gcodeMove;
    gm.absoluteCoord = gm.absoluteExtrude = true;
    gm.speed = 25;
    gm.speedFactor = gm.extrudeFactor = 1;
    gm.basePosition = [0, 0, 0, 0];
    gm.homingPosition = [0, 0, 0, 0];
    gm.lastPosition = [0, 0, 0, 0];
    gm.saved.clear();
    this.toolhead.position = [0, 0, 0, 0];
    this.printStats.reset();
    this.fanSpeed = 0;
    this.displayMessage = null;
    this.m73Progress = null;
    this.isPaused = false;
    this.idleState = 'Idle';
    // A new Klippy process: sensors start enabled again; the filament itself stays where it is.
    for (const s of this.filamentSensors.list) s.enabled = true;
    this.lastPrintState = this.printStats.snapshot();
  }
}
