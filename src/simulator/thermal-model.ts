// First-order thermal model of a Klipper heater: the temperature approaches
// the target (or ambient when off) exponentially with time constant `tau`
// (simulated seconds). The reported `power` is a plausible PWM duty cycle.
import { CommandError } from './errors.js';

export const AMBIENT_C = 25;

export interface HeaterConfig {
  /** Printer object name: 'extruder', 'extruder1', 'heater_bed', 'heater_generic chamber'. */
  objectName: string;
  /** G-code sensor id for M105 reports ('T0', 'B', ...); null when not reported. */
  gcodeId: string | null;
  minTemp: number;
  maxTemp: number;
  /** Time constant of the exponential approach, simulated seconds. */
  tau: number;
  /** Duty cycle needed to hold 1 °C above ambient. */
  holdPowerPerDegree: number;
  minExtrudeTemp?: number;
}

export class Heater {
  temperature = AMBIENT_C;
  target = 0;
  power = 0;
  /** Adds ±0.05 °C sensor noise, as real thermistors do (so subscribers see steady deltas). */
  noise = true;

  constructor(readonly cfg: HeaterConfig) {}

  get name(): string {
    return this.cfg.objectName;
  }

  /** Klipper's Heater.set_temp, including its range check and message. */
  setTarget(degrees: number): void {
    if (degrees && (degrees < this.cfg.minTemp || degrees > this.cfg.maxTemp)) {
      throw new CommandError(
        `Requested temperature (${degrees.toFixed(1)}) out of range (${this.cfg.minTemp.toFixed(1)}:${this.cfg.maxTemp.toFixed(1)})`,
      );
    }
    this.target = degrees;
    this.updatePower();
  }

  /** Advances the model by `dt` simulated seconds. */
  step(dt: number): void {
    if (dt <= 0) return;
    const goal = this.target > 0 ? this.target : AMBIENT_C;
    const k = 1 - Math.exp(-dt / this.cfg.tau);
    this.temperature += (goal - this.temperature) * k;
    if (this.noise) this.temperature += (Math.random() - 0.5) * 0.1;
    this.updatePower();
  }

  private updatePower(): void {
    if (this.target > 0) {
      const hold = (this.target - AMBIENT_C) * this.cfg.holdPowerPerDegree;
      const drive = (this.target - this.temperature) / 10;
      this.power = Math.min(1, Math.max(0, hold + drive));
    } else {
      this.power = 0;
    }
  }

  /** Klipper's PID check_busy: still settling while more than 1 °C away from target. */
  isBusy(): boolean {
    return this.target > 0 && Math.abs(this.target - this.temperature) > 1;
  }

  get canExtrude(): boolean {
    return this.temperature >= (this.cfg.minExtrudeTemp ?? 170);
  }

  /** Status fields shared by every heater (heater_bed, heater_generic). */
  baseStatus(): { temperature: number; target: number; power: number } {
    return { temperature: Math.round(this.temperature * 100) / 100, target: this.target, power: Math.round(this.power * 1000) / 1000 };
  }

  /** "T0:24.9 /0.0" fragment for M105-style reports. */
  report(): string | null {
    if (this.cfg.gcodeId === null) return null;
    return `${this.cfg.gcodeId}:${this.temperature.toFixed(1)} /${this.target.toFixed(1)}`;
  }
}

export function extruderHeater(index: number): Heater {
  return new Heater({
    objectName: index === 0 ? 'extruder' : `extruder${index}`,
    gcodeId: `T${index}`,
    minTemp: 0,
    maxTemp: 300,
    tau: 12,
    holdPowerPerDegree: 0.0016,
    minExtrudeTemp: 170,
  });
}

export function bedHeater(): Heater {
  return new Heater({ objectName: 'heater_bed', gcodeId: 'B', minTemp: 0, maxTemp: 120, tau: 25, holdPowerPerDegree: 0.006 });
}

export function chamberHeater(): Heater {
  return new Heater({ objectName: 'heater_generic chamber', gcodeId: 'C', minTemp: 0, maxTemp: 70, tau: 60, holdPowerPerDegree: 0.02 });
}
