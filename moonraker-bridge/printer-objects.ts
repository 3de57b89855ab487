// Shapes of the Klipper printer objects the bridge reads (Moonraker's
// docs/printer_objects.md). Every field is optional because notify_status_update
// carries only changed fields; unknown extra fields are kept (loose objects).
import { z } from 'zod';

const num = z.number();
const nullableNum = z.number().nullable();

export const webhooksSchema = z.looseObject({ state: z.string(), state_message: z.string() }).partial();

export const printStatsInfoSchema = z
  .looseObject({ total_layer: z.number().int().nullable(), current_layer: z.number().int().nullable() })
  .partial();

export const printStatsSchema = z
  .looseObject({
    filename: z.string(),
    total_duration: num,
    print_duration: num,
    filament_used: num,
    state: z.string(),
    message: z.string(),
    info: printStatsInfoSchema.nullable(),
  })
  .partial();

export const virtualSdcardSchema = z
  .looseObject({
    file_path: z.string().nullable(),
    progress: num,
    is_active: z.boolean(),
    file_position: num,
    file_size: num,
  })
  .partial();

export const displayStatusSchema = z.looseObject({ message: z.string().nullable(), progress: num }).partial();

export const pauseResumeSchema = z.looseObject({ is_paused: z.boolean() }).partial();

export const idleTimeoutSchema = z.looseObject({ state: z.string(), printing_time: num }).partial();

export const toolheadSchema = z
  .looseObject({
    homed_axes: z.string(),
    position: z.array(num),
    extruder: z.string(),
    print_time: num,
    estimated_print_time: num,
    max_velocity: num,
    max_accel: num,
    axis_minimum: z.array(num),
    axis_maximum: z.array(num),
  })
  .partial();

export const heatersSchema = z
  .looseObject({
    available_heaters: z.array(z.string()),
    available_sensors: z.array(z.string()),
    available_monitors: z.array(z.string()),
  })
  .partial();

/** extruder, heater_bed, heater_generic x, temperature_sensor x, temperature_fan x … */
export const temperatureObjectSchema = z
  .looseObject({ temperature: nullableNum, target: nullableNum, power: nullableNum })
  .partial();

export const configfileSchema = z
  .looseObject({
    settings: z.record(z.string(), z.record(z.string(), z.unknown())),
    save_config_pending: z.boolean(),
  })
  .partial();

/** filament_switch_sensor x / filament_motion_sensor x (Klipper's RunoutHelper.get_status). */
export const filamentSensorSchema = z.looseObject({ filament_detected: z.boolean(), enabled: z.boolean() }).partial();

export type WebhooksStatus = z.infer<typeof webhooksSchema>;
export type PrintStatsStatus = z.infer<typeof printStatsSchema>;
export type VirtualSdcardStatus = z.infer<typeof virtualSdcardSchema>;
export type DisplayStatus = z.infer<typeof displayStatusSchema>;
export type PauseResumeStatus = z.infer<typeof pauseResumeSchema>;
export type IdleTimeoutStatus = z.infer<typeof idleTimeoutSchema>;
export type ToolheadStatus = z.infer<typeof toolheadSchema>;
export type HeatersStatus = z.infer<typeof heatersSchema>;
export type TemperatureObjectStatus = z.infer<typeof temperatureObjectSchema>;
export type FilamentSensorStatus = z.infer<typeof filamentSensorSchema>;

/** Klipper's print_stats.state values (docs/printer_objects.md#print_stats). */
export type PrintState = 'standby' | 'printing' | 'paused' | 'complete' | 'cancelled' | 'error';
export const PRINT_STATES: readonly PrintState[] = ['standby', 'printing', 'paused', 'complete', 'cancelled', 'error'];

const FIXED_SCHEMAS: Record<string, z.ZodType<Record<string, unknown>>> = {
  webhooks: webhooksSchema,
  print_stats: printStatsSchema,
  virtual_sdcard: virtualSdcardSchema,
  display_status: displayStatusSchema,
  pause_resume: pauseResumeSchema,
  idle_timeout: idleTimeoutSchema,
  toolhead: toolheadSchema,
  heaters: heatersSchema,
  configfile: configfileSchema,
};

const TEMPERATURE_OBJECT = /^(extruder\d*|heater_bed|heater_generic .+|temperature_sensor .+|temperature_fan .+)$/;

/** True for names Klipper uses for heaters and temperature sensors. */
export function isTemperatureObject(name: string): boolean {
  return TEMPERATURE_OBJECT.test(name);
}

const FILAMENT_SENSOR_OBJECT = /^filament_(switch|motion)_sensor (.+)$/;

/** The sensor's name (after the section prefix) if `name` is a filament runout sensor object. */
export function filamentSensorName(name: string): string | undefined {
  return FILAMENT_SENSOR_OBJECT.exec(name)?.[2];
}

/** The schema an object's status must satisfy, or undefined if the bridge does not interpret it. */
export function schemaFor(name: string, temperatureNames: ReadonlySet<string>): z.ZodType<Record<string, unknown>> | undefined {
  const fixed = Object.hasOwn(FIXED_SCHEMAS, name) ? FIXED_SCHEMAS[name] : undefined;
  if (fixed) return fixed;
  if (temperatureNames.has(name) || isTemperatureObject(name)) return temperatureObjectSchema;
  if (filamentSensorName(name) !== undefined) return filamentSensorSchema;
  return undefined;
}

/** Subscribe request: objects the bridge always follows, with field filters where the object is large. */
export const BASE_SUBSCRIPTION: Readonly<Record<string, readonly string[] | null>> = {
  webhooks: null,
  print_stats: ['state', 'filename', 'message', 'total_duration', 'print_duration', 'filament_used', 'info'],
  virtual_sdcard: null,
  display_status: null,
  pause_resume: null,
  // Field filters keep Klipper's per-tick churn off the wire: toolhead.estimated_print_time
  // (and print_time while moving) and idle_timeout.printing_time change on every 250 ms
  // status tick, which at idle woke the bridge 4 times a second for nothing it reads.
  idle_timeout: ['state'],
  heaters: null,
  toolhead: ['homed_axes', 'position', 'extruder', 'axis_minimum', 'axis_maximum'],
};
