// The printer objects the simulated Klipper reports (objects.list/query/
// subscribe), shaped like Moonraker's docs/printer_objects.md.
import type { KlipperPrinter } from './klipper-printer.js';

export type ObjectStatus = Record<string, unknown>;

export const MACROS = ['CANCEL_PRINT', 'PAUSE', 'RESUME', 'M600'];

/** Objects present while Klippy is starting up or stuck in a config error. */
const EARLY_OBJECTS = ['webhooks', 'configfile', 'gcode'];

export function objectNames(p: KlipperPrinter): string[] {
  if (p.state === 'startup' || p.state === 'error') return [...EARLY_OBJECTS];
  const heaterNames = p.heaters.map((h) => h.name);
  return [
    'webhooks', 'configfile', 'mcu', 'gcode_move', 'print_stats', 'virtual_sdcard', 'pause_resume',
    'display_status', 'exclude_object', ...MACROS.map((m) => `gcode_macro ${m}`), 'heaters',
    ...heaterNames.filter((n) => n.startsWith('heater_')), 'fan', 'idle_timeout', 'system_stats',
    'motion_report', 'stepper_enable', 'toolhead', ...heaterNames.filter((n) => n.startsWith('extruder')), 'gcode',
    ...p.filamentSensors.objectNames(),
  ];
}

function round(v: number, digits = 6): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

function vec(v: readonly number[]): number[] {
  return v.map((x) => round(x));
}

export function objectStatus(p: KlipperPrinter, name: string): ObjectStatus | undefined {
  if (!objectNames(p).includes(name)) return undefined;
  const now = p.sim.now();
  const heater = p.heater(name);
  if (heater) {
    if (!name.startsWith('extruder')) return heater.baseStatus();
    return {
      ...heater.baseStatus(),
      can_extrude: heater.canExtrude,
      pressure_advance: 0.04,
      smooth_time: 0.04,
      motion_queue: null,
    };
  }
  if (name.startsWith('gcode_macro ')) return {};
  if (name.startsWith('filament_')) return p.filamentSensors.status(name);
  const th = p.toolhead;
  const gm = p.gcodeMove;
  switch (name) {
    case 'webhooks':
      return { state: p.state, state_message: p.stateMessage };
    case 'configfile':
      return configfileStatus(p);
    case 'mcu':
      return {
        mcu_version: 'v0.12.0-400-gsimulated',
        mcu_build_versions: 'gcc: (GCC) 12.2.0 binutils: (GNU Binutils) 2.40',
        mcu_constants: { CLOCK_FREQ: 72000000, MCU: 'stm32f103xe', ADC_MAX: 4095, PWM_MAX: 255 },
        last_stats: { mcu_awake: 0.002, mcu_task_avg: 0.00001, mcu_task_stddev: 0.00001, bytes_write: 0, bytes_read: 0, freq: 72000000 },
      };
    case 'gcode_move':
      return {
        speed_factor: gm.speedFactor,
        speed: round(gm.speed * 60),
        extrude_factor: gm.extrudeFactor,
        absolute_coordinates: gm.absoluteCoord,
        absolute_extrude: gm.absoluteExtrude,
        homing_origin: vec(gm.homingPosition),
        position: vec(gm.lastPosition),
        gcode_position: vec(gm.gcodePosition()),
      };
    case 'toolhead':
      return {
        homed_axes: th.homedAxes,
        axis_minimum: [...th.axisMinimum],
        axis_maximum: [...th.axisMaximum],
        print_time: round(th.printTime, 3),
        stalls: th.stalls,
        // Klipper: the MCU clock's estimate of now, so it changes on every status tick.
        estimated_print_time: round(now, 3),
        extruder: th.activeExtruder,
        position: vec(th.position),
        max_velocity: th.maxVelocity,
        max_accel: th.maxAccel,
        minimum_cruise_ratio: th.minimumCruiseRatio,
        square_corner_velocity: th.squareCornerVelocity,
      };
    case 'print_stats':
      return { ...p.printStats.snapshot() };
    case 'virtual_sdcard':
      return { ...p.vsdStatus() };
    case 'pause_resume':
      return { is_paused: p.isPaused };
    case 'display_status': {
      let progress = p.m73Progress;
      if (progress !== null && now > p.m73Expire && p.idleState !== 'Printing') {
        p.m73Progress = progress = null;
      }
      return { progress: progress ?? p.vsdStatus().progress, message: p.displayMessage };
    }
    case 'heaters':
      return {
        available_heaters: p.heaters.map((h) => h.name),
        available_sensors: p.heaters.map((h) => h.name),
        available_monitors: [],
      };
    case 'fan':
      return { speed: p.fanSpeed, rpm: null };
    case 'idle_timeout':
      return p.idleStatus(now);
    case 'system_stats':
      return { sysload: 0.2, cputime: round(process.cpuUsage().user / 1e6, 3), memavail: 3_500_000 };
    case 'motion_report': {
      const moving = th.busyUntil > now;
      return {
        live_position: vec(th.position),
        live_velocity: moving ? round(gm.speed) : 0,
        live_extruder_velocity: 0,
        steppers: ['extruder', 'stepper_x', 'stepper_y', 'stepper_z'],
        trapq: ['extruder', 'toolhead'],
      };
    }
    case 'stepper_enable': {
      const on = th.homed.size > 0;
      return { steppers: { stepper_x: on, stepper_y: on, stepper_z: on, extruder: on } };
    }
    case 'exclude_object':
      return { objects: [], excluded_objects: [], current_object: null };
    case 'gcode':
      return { commands: {} };
    default:
      return undefined;
  }
}

function heaterSettings(p: KlipperPrinter, name: string): Record<string, unknown> | undefined {
  const h = p.heater(name);
  if (!h) return undefined;
  const base: Record<string, unknown> = {
    sensor_type: 'EPCOS 100K B57560G104F', pullup_resistor: 4700, inline_resistor: 0,
    min_temp: h.cfg.minTemp, max_temp: h.cfg.maxTemp, max_power: 1, smooth_time: 1,
    control: 'pid', pid_kp: 22.2, pid_ki: 1.08, pid_kd: 114, pwm_cycle_time: 0.1,
  };
  if (name.startsWith('extruder')) {
    Object.assign(base, {
      min_extrude_temp: h.cfg.minExtrudeTemp ?? 170, nozzle_diameter: 0.4, filament_diameter: 1.75,
      max_extrude_only_distance: 50, max_extrude_cross_section: 0.64, pressure_advance: 0.04,
      pressure_advance_smooth_time: 0.04, rotation_distance: 22.68, microsteps: 16,
    });
  }
  if (name.startsWith('heater_generic')) base['gcode_id'] = h.cfg.gcodeId;
  return base;
}

function configfileStatus(p: KlipperPrinter): ObjectStatus {
  const settings: Record<string, unknown> = {
    mcu: { serial: '/dev/serial/by-id/usb-Klipper_simulated', baud: 250000, max_stepper_error: 0.000025 },
    printer: {
      kinematics: 'cartesian', max_velocity: p.toolhead.maxVelocity, max_accel: p.toolhead.maxAccel,
      minimum_cruise_ratio: 0.5, square_corner_velocity: 5, max_z_velocity: 15, max_z_accel: 100,
    },
    stepper_x: { position_endstop: 0, position_min: 0, position_max: 235, homing_speed: 50 },
    stepper_y: { position_endstop: 0, position_min: 0, position_max: 235, homing_speed: 50 },
    stepper_z: { position_endstop: 0, position_min: 0, position_max: 250, homing_speed: 5 },
    virtual_sdcard: { path: p.opts.gcodesDir, on_error_gcode: '\n{% if \'heaters\' in printer %}\n   TURN_OFF_HEATERS\n{% endif %}\n' },
    pause_resume: { recover_velocity: 50 },
    display_status: {},
    respond: { default_type: 'echo', default_prefix: 'echo:' },
    idle_timeout: { timeout: p.idleTimeout, gcode: '\n{% if \'heaters\' in printer %}\n   TURN_OFF_HEATERS\n{% endif %}\nM84\n' },
    fan: { max_power: 1, kick_start_time: 0.1, off_below: 0, cycle_time: 0.01, hardware_pwm: false, shutdown_speed: 0 },
  };
  for (const h of p.heaters) settings[h.name] = heaterSettings(p, h.name);
  Object.assign(settings, p.filamentSensors.configSections());
  for (const m of MACROS) settings[`gcode_macro ${m.toLowerCase()}`] = { description: 'G-Code macro' };
  // `config` holds the raw strings as written in printer.cfg.
  const config: Record<string, Record<string, string>> = {};
  for (const [section, opts] of Object.entries(settings)) {
    const raw: Record<string, string> = {};
    if (opts && typeof opts === 'object') {
      for (const [k, v] of Object.entries(opts as Record<string, unknown>)) raw[k] = String(v);
    }
    config[section.replace(/^gcode_macro (.*)$/, (_m, n: string) => `gcode_macro ${n.toUpperCase()}`)] = raw;
  }
  return { config, settings, warnings: [], save_config_pending: false, save_config_pending_items: {} };
}
