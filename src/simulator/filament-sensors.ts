// Klipper's filament_switch_sensor / filament_motion_sensor (RunoutHelper):
// status {filament_detected, enabled}; when filament goes missing while the
// printer is printing (idle_timeout "Printing") and the sensor is enabled,
// pause_on_runout runs PAUSE followed by runout_gcode, as Klipper does.
// QUERY_FILAMENT_SENSOR / SET_FILAMENT_SENSOR behave like Klipper's.
import { CommandError } from './errors.js';
import type { GCodeCommand } from './gcode-command.js';
import type { GcodeInterpreter } from './gcode-interpreter.js';

export type FilamentSensorKind = 'switch' | 'motion';

export interface FilamentSensor {
  kind: FilamentSensorKind;
  /** The name after the section prefix, e.g. "runout" of [filament_switch_sensor runout]. */
  name: string;
  detected: boolean;
  enabled: boolean;
  pauseOnRunout: boolean;
  runoutGcode: string;
}

export function sensorObjectName(s: FilamentSensor): string {
  return `filament_${s.kind}_sensor ${s.name}`;
}

export class FilamentSensors {
  /** One switch sensor by default, as on most printers that have one. */
  list: FilamentSensor[] = [defaultSensor()];

  objectNames(): string[] {
    return this.list.map(sensorObjectName);
  }

  /** By object name or short name. */
  find(name: string): FilamentSensor | undefined {
    return this.list.find((s) => s.name === name || sensorObjectName(s) === name);
  }

  status(objectName: string): Record<string, unknown> | undefined {
    const s = this.list.find((x) => sensorObjectName(x) === objectName);
    return s ? { filament_detected: s.detected, enabled: s.enabled } : undefined;
  }

  configSections(): Record<string, Record<string, unknown>> {
    const out: Record<string, Record<string, unknown>> = {};
    for (const s of this.list) {
      out[sensorObjectName(s)] = {
        pause_on_runout: s.pauseOnRunout,
        runout_gcode: s.runoutGcode,
        pause_delay: 0.5,
        event_delay: 3,
        ...(s.kind === 'switch' ? { switch_pin: '^PA4' } : { switch_pin: '^PA4', detection_length: 7, extruder: 'extruder' }),
      };
    }
    return out;
  }

  /**
   * The sensor sees filament or not. Returns the script Klipper would run for a
   * runout (PAUSE + runout_gcode), or null when nothing happens.
   */
  setDetected(name: string, detected: boolean, printing: boolean): string | null {
    const s = this.find(name);
    if (!s) throw new Error(`unknown filament sensor ${name}`);
    if (s.detected === detected) return null;
    s.detected = detected;
    if (detected || !s.enabled || !printing) return null;
    const script = [s.pauseOnRunout ? 'PAUSE' : '', s.runoutGcode].filter(Boolean).join('\n');
    return script || null;
  }

  reset(): void {
    this.list = [defaultSensor()];
  }

  register(gi: GcodeInterpreter): void {
    const p = gi.printer;
    const sensorOf = (g: GCodeCommand): FilamentSensor => {
      const name = g.get('SENSOR');
      const s = this.list.find((x) => x.name === name);
      if (!s) throw new CommandError(`Unknown filament sensor '${name}'`);
      return s;
    };
    gi.register('QUERY_FILAMENT_SENSOR', (g) => {
      const s = sensorOf(g);
      p.respondInfo(`Filament Sensor ${s.name}: ${s.detected ? 'filament detected' : 'filament not detected'}`);
    }, { help: 'Query the status of the Filament Sensor' });
    gi.register('SET_FILAMENT_SENSOR', (g) => {
      const s = sensorOf(g);
      s.enabled = g.getInt('ENABLE', 1) !== 0;
    }, { help: 'Sets the filament sensor on/off' });
  }
}

function defaultSensor(): FilamentSensor {
  return { kind: 'switch', name: 'runout', detected: true, enabled: true, pauseOnRunout: true, runoutGcode: '' };
}
