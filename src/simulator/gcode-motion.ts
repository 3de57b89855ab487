// Motion commands (gcode_move, toolhead, homing). Moves are not executed in
// real time: each adds its duration (distance / feedrate, plus a v/a term for
// acceleration) to the toolhead's queue, which the print executor waits on.
// Like Klipper, G1 returns as soon as the move is queued; G28 and M400 wait.
import { CommandError } from './errors.js';
import type { GCodeCommand } from './gcode-command.js';
import type { GcodeInterpreter } from './gcode-interpreter.js';
import type { KlipperPrinter, Vec4 } from './klipper-printer.js';

const AXES = ['X', 'Y', 'Z', 'E'] as const;
const MAX_EXTRUDE_ONLY_DISTANCE = 50;
const MAX_EXTRUDE_ONLY_VELOCITY = 40;
const HOMING_SPEED = { x: 50, y: 50, z: 5 } as const;

function fmtPos(p: Vec4): string {
  return `${p[0].toFixed(3)} ${p[1].toFixed(3)} ${p[2].toFixed(3)} [${p[3].toFixed(3)}]`;
}

/** Queues a move to `end` (toolhead coordinates) at `speed` mm/s; validates like Klipper. */
export function queueMove(p: KlipperPrinter, end: Vec4, speed: number): void {
  const th = p.toolhead;
  const start = th.position;
  const d = end.map((v, i) => v - (start[i] ?? 0));
  const names = ['x', 'y', 'z'] as const;
  for (let i = 0; i < 3; i++) {
    if (!d[i]) continue;
    const axis = names[i] as 'x' | 'y' | 'z';
    const pos = end[i] as number;
    if (!th.homed.has(axis)) throw new CommandError(`Must home axis first: ${fmtPos(end)}`);
    if (pos < (th.axisMinimum[i] as number) || pos > (th.axisMaximum[i] as number)) {
      throw new CommandError(`Move out of range: ${fmtPos(end)}`);
    }
  }
  const dist = Math.hypot(d[0] ?? 0, d[1] ?? 0, d[2] ?? 0);
  const de = d[3] ?? 0;
  if (de) {
    const heater = p.heater(th.activeExtruder);
    if (heater && !heater.canExtrude) {
      throw new CommandError("Extrude below minimum temp\nSee the 'min_extrude_temp' config option for details");
    }
    if (!dist && Math.abs(de) > MAX_EXTRUDE_ONLY_DISTANCE) {
      throw new CommandError(
        `Extrude only move too long (${Math.abs(de).toFixed(3)}mm vs ${MAX_EXTRUDE_ONLY_DISTANCE.toFixed(3)}mm)\nSee the 'max_extrude_only_distance' config option for details`,
      );
    }
  }
  let duration = 0;
  if (dist > 0) {
    let v = Math.min(speed, th.maxVelocity);
    const dz = Math.abs(d[2] ?? 0);
    if (dz) v = Math.min(v, (th.maxZVelocity * dist) / dz);
    duration = dist / v + v / th.maxAccel;
  } else if (de) {
    const v = Math.min(speed, MAX_EXTRUDE_ONLY_VELOCITY);
    duration = Math.abs(de) / v + v / th.maxAccel;
  }
  th.position = [...end];
  p.gcodeMove.lastPosition = [...end];
  schedule(p, duration);
}

/** Adds `seconds` of toolhead activity (moves, dwell). */
export function schedule(p: KlipperPrinter, seconds: number): void {
  if (seconds <= 0) return;
  const th = p.toolhead;
  const now = p.sim.now();
  th.busyUntil = Math.max(th.busyUntil, now) + seconds;
  th.printTime = Math.max(th.printTime, now) + seconds;
}

/** Waits until queued moves are done (M400, before homing). */
export async function waitMoves(p: KlipperPrinter): Promise<void> {
  await p.sim.sleepUntil(p.toolhead.busyUntil, () => !p.isReady);
}

function cmdG1(p: KlipperPrinter, g: GCodeCommand): void {
  const gm = p.gcodeMove;
  const end: Vec4 = [...gm.lastPosition];
  AXES.forEach((axis, i) => {
    const raw = g.params[axis];
    if (raw === undefined) return;
    let v = raw.trim() === '' ? NaN : Number(raw);
    if (!Number.isFinite(v)) throw new CommandError(`Unable to parse move '${g.commandline}'`);
    let absolute = gm.absoluteCoord;
    if (axis === 'E') {
      v *= gm.extrudeFactor;
      if (!gm.absoluteExtrude) absolute = false;
    }
    end[i] = absolute ? v + (gm.basePosition[i] as number) : (end[i] as number) + v;
  });
  if (g.params['F'] !== undefined) {
    const f = Number(g.params['F']);
    if (!(f > 0)) throw new CommandError(`Invalid speed in '${g.commandline}'`);
    gm.speed = f / 60;
  }
  queueMove(p, end, gm.speed * gm.speedFactor);
}

async function cmdG28(p: KlipperPrinter, g: GCodeCommand): Promise<void> {
  const th = p.toolhead;
  let axes = (['x', 'y', 'z'] as const).filter((a) => g.params[a.toUpperCase()] !== undefined);
  if (!axes.length) axes = ['x', 'y', 'z'];
  await waitMoves(p);
  let seconds = 0;
  for (const a of axes) {
    const i = a === 'x' ? 0 : a === 'y' ? 1 : 2;
    seconds += Math.abs(th.homed.has(a) ? (th.position[i] as number) : 100) / HOMING_SPEED[a] + 0.5;
  }
  const start = p.sim.now();
  await p.sim.sleepUntil(start + seconds, () => !p.isReady);
  if (!p.isReady) throw new CommandError(p.stateMessage);
  for (const a of axes) {
    const i = a === 'x' ? 0 : a === 'y' ? 1 : 2;
    th.homed.add(a);
    th.position[i] = 0;
    p.gcodeMove.lastPosition[i] = 0;
  }
  th.printTime = Math.max(th.printTime, p.sim.now());
}

function cmdG92(p: KlipperPrinter, g: GCodeCommand): void {
  const gm = p.gcodeMove;
  const offsets = AXES.map((a) => g.getOptFloat(a));
  if (offsets.every((o) => o === null)) {
    gm.basePosition = [...gm.lastPosition];
    return;
  }
  offsets.forEach((o, i) => {
    if (o === null) return;
    const off = i === 3 ? o * gm.extrudeFactor : o;
    gm.basePosition[i] = (gm.lastPosition[i] as number) - off;
  });
}

function cmdSetGcodeOffset(p: KlipperPrinter, g: GCodeCommand): void {
  const gm = p.gcodeMove;
  AXES.forEach((a, i) => {
    let offset = g.getOptFloat(a);
    if (offset === null) {
      const adjust = g.getOptFloat(`${a}_ADJUST`);
      if (adjust === null) return;
      offset = (gm.homingPosition[i] as number) + adjust;
    }
    const delta = offset - (gm.homingPosition[i] as number);
    gm.basePosition[i] = (gm.basePosition[i] as number) + delta;
    gm.homingPosition[i] = offset;
  });
}

export function registerMotionCommands(gi: GcodeInterpreter): void {
  const p = gi.printer;
  gi.register('G1', (g) => cmdG1(p, g));
  gi.register('G0', (g) => cmdG1(p, g));
  gi.register('G28', (g) => cmdG28(p, g));
  gi.register('G90', () => void (p.gcodeMove.absoluteCoord = true));
  gi.register('G91', () => void (p.gcodeMove.absoluteCoord = false));
  gi.register('M82', () => void (p.gcodeMove.absoluteExtrude = true));
  gi.register('M83', () => void (p.gcodeMove.absoluteExtrude = false));
  gi.register('G92', (g) => cmdG92(p, g));
  gi.register('G4', (g) => schedule(p, g.getFloat('P', 0, { minval: 0 }) / 1000));
  gi.register('M400', () => waitMoves(p));
  gi.register('M114', () => {
    const pos = p.gcodeMove.gcodePosition();
    p.respond(`X:${pos[0].toFixed(3)} Y:${pos[1].toFixed(3)} Z:${pos[2].toFixed(3)} E:${pos[3].toFixed(3)}`);
  });
  gi.register('GET_POSITION', () => {
    const th = p.toolhead.position;
    const gp = p.gcodeMove.gcodePosition();
    const f = (v: readonly number[]): string => v.map((x, i) => `${'XYZE'[i]}:${x.toFixed(6)}`).join(' ');
    p.respondInfo(`toolhead: ${f(th)}\ngcode: ${f(p.gcodeMove.lastPosition)}\ngcode base: ${f(p.gcodeMove.basePosition)}\ngcode homing: ${f(p.gcodeMove.homingPosition)}\ngcode position: ${f(gp)}`);
  }, { help: 'Return information on the current location of the toolhead' });
  gi.register('M220', (g) => void (p.gcodeMove.speedFactor = g.getFloat('S', 100, { above: 0 }) / 100));
  gi.register('M221', (g) => {
    const gm = p.gcodeMove;
    const factor = g.getFloat('S', 100, { above: 0 }) / 100;
    const lastE = gm.lastPosition[3];
    const eValue = (lastE - gm.basePosition[3]) / gm.extrudeFactor;
    gm.basePosition[3] = lastE - eValue * factor;
    gm.extrudeFactor = factor;
  });
  const motorsOff = (): void => p.toolhead.homed.clear();
  gi.register('M84', motorsOff);
  gi.register('M18', motorsOff);
  gi.register('SET_GCODE_OFFSET', (g) => cmdSetGcodeOffset(p, g), { help: 'Set a virtual offset to g-code positions' });
  gi.register('SAVE_GCODE_STATE', (g) => {
    const gm = p.gcodeMove;
    gm.saved.set(g.get('NAME', 'default'), {
      absoluteCoord: gm.absoluteCoord, absoluteExtrude: gm.absoluteExtrude,
      base: [...gm.basePosition], last: [...gm.lastPosition], speed: gm.speed,
    });
  }, { help: 'Save G-Code coordinate state' });
  gi.register('RESTORE_GCODE_STATE', (g) => {
    const gm = p.gcodeMove;
    const name = g.get('NAME', 'default');
    const s = gm.saved.get(name);
    if (!s) throw new CommandError(`Unknown g-code state: ${name}`);
    gm.absoluteCoord = s.absoluteCoord;
    gm.absoluteExtrude = s.absoluteExtrude;
    gm.speed = s.speed;
    // Klipper keeps the current E position; only the E base shifts.
    gm.basePosition = [...s.base];
    gm.basePosition[3] = s.base[3] + (gm.lastPosition[3] - s.last[3]);
    if (g.getInt('MOVE', 0) && p.toolhead.homed.size === 3) {
      const end: Vec4 = [s.last[0], s.last[1], s.last[2], gm.lastPosition[3]];
      queueMove(p, end, g.getFloat('MOVE_SPEED', gm.speed, { above: 0 }));
    }
  }, { help: 'Restore a previously saved G-Code state' });
  gi.register('SET_VELOCITY_LIMIT', (g) => {
    const th = p.toolhead;
    th.maxVelocity = g.getFloat('VELOCITY', th.maxVelocity, { above: 0 });
    th.maxAccel = g.getFloat('ACCEL', th.maxAccel, { above: 0 });
    th.squareCornerVelocity = g.getFloat('SQUARE_CORNER_VELOCITY', th.squareCornerVelocity, { minval: 0 });
    th.minimumCruiseRatio = g.getFloat('MINIMUM_CRUISE_RATIO', th.minimumCruiseRatio, { minval: 0, below: 1 });
    if (!Object.keys(g.params).length) {
      p.respondInfo(`max_velocity: ${th.maxVelocity.toFixed(6)}\nmax_accel: ${th.maxAccel.toFixed(6)}\nminimum_cruise_ratio: ${th.minimumCruiseRatio.toFixed(6)}\nsquare_corner_velocity: ${th.squareCornerVelocity.toFixed(6)}`);
    }
  }, { help: 'Set printer velocity limits' });
  gi.register('ACTIVATE_EXTRUDER', (g) => {
    const name = g.get('EXTRUDER');
    if (!name.startsWith('extruder') || !p.heater(name)) throw new CommandError(`'${name}' is not a valid extruder.`);
    if (p.toolhead.activeExtruder === name) {
      p.respondInfo(`Extruder ${name} already active`);
      return;
    }
    p.respondInfo(`Activating extruder ${name}`);
    p.toolhead.activeExtruder = name;
  }, { help: 'Change the active extruder' });
  if (p.heater('extruder1')) {
    gi.register('T0', () => gi.runScriptFromCommand('ACTIVATE_EXTRUDER EXTRUDER=extruder', { fromSd: false }));
    gi.register('T1', () => gi.runScriptFromCommand('ACTIVATE_EXTRUDER EXTRUDER=extruder1', { fromSd: false }));
  }
}
