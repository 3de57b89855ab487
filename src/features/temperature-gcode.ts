// Pure: turns a Polar temperature request (or an M104/M140 line from the
// console) into G-code built only from validated numbers and known heater
// names, each target clamped to the heater's max_temp from Klipper's config.
import type { HeaterView } from '../../moonraker-bridge/index.js';

export interface TemperatureRequest {
  bed?: number | undefined;
  chamber?: number | undefined;
  /** tool index → target °C */
  tools: Readonly<Record<number, number>>;
}

export interface TemperaturePlan {
  gcode: string[];
  /** Human-readable notes: clamped values, unknown heaters. */
  notes: string[];
}

function toolHeaterName(index: number): string {
  return index === 0 ? 'extruder' : `extruder${index}`;
}

/** Clamps to [0, max_temp], rounds to 0.1 °C; null when the heater's limits are unknown. */
function clampTarget(heater: HeaterView, value: number, label: string, notes: string[]): number | null {
  if (heater.max_temp === null) {
    notes.push(`${label}: max_temp of ${heater.name} unknown; not changed`);
    return null;
  }
  let t = Math.round(value * 10) / 10;
  if (t < 0) t = 0;
  if (t > heater.max_temp) {
    notes.push(`${label}: ${value} °C is above ${heater.name}'s max_temp, set to ${heater.max_temp} °C`);
    t = Math.floor(heater.max_temp * 10) / 10;
  }
  return t;
}

/** The name SET_HEATER_TEMPERATURE takes: `heater_generic chamber` → `chamber`. */
export function shortHeaterName(name: string): string {
  const i = name.indexOf(' ');
  return i >= 0 ? name.slice(i + 1) : name;
}

export function planTemperatures(heaters: readonly HeaterView[], req: TemperatureRequest, chamberObject: string | null): TemperaturePlan {
  const gcode: string[] = [];
  const notes: string[] = [];
  const byName = new Map(heaters.filter((h) => h.kind === 'heater').map((h) => [h.name, h]));
  for (const [key, value] of Object.entries(req.tools).sort(([a], [b]) => Number(a) - Number(b))) {
    const index = Number(key);
    const heater = byName.get(toolHeaterName(index));
    if (!heater) {
      notes.push(`tool${index}: this printer has no ${toolHeaterName(index)}`);
      continue;
    }
    const t = clampTarget(heater, value, `tool${index}`, notes);
    if (t !== null) gcode.push(`M104 T${index} S${t}`);
  }
  if (req.bed !== undefined) {
    const heater = byName.get('heater_bed');
    if (!heater) notes.push('bed: this printer has no heater_bed');
    else {
      const t = clampTarget(heater, req.bed, 'bed', notes);
      if (t !== null) gcode.push(`M140 S${t}`);
    }
  }
  if (req.chamber !== undefined) {
    const heater = chamberObject ? byName.get(chamberObject) : undefined;
    if (!heater) notes.push('chamber: this printer has no chamber heater');
    else if (!/^[A-Za-z0-9_]+$/.test(shortHeaterName(heater.name))) notes.push(`chamber: heater name '${heater.name}' cannot be used in G-code`);
    else {
      const t = clampTarget(heater, req.chamber, 'chamber', notes);
      if (t !== null) gcode.push(`SET_HEATER_TEMPERATURE HEATER=${shortHeaterName(heater.name)} TARGET=${t}`);
    }
  }
  return { gcode, notes };
}

const TEMP_LINE = /^\s*(M104|M140)((?:\s+[A-Za-z][^\s;]*)*)\s*(?:;.*)?$/i;

/**
 * Reads an M104/M140 console line as a temperature request (S = target, T = tool).
 * Returns undefined for other lines, and an error text for a malformed one.
 */
export function parseTemperatureLine(line: string): TemperatureRequest | { error: string } | undefined {
  const m = TEMP_LINE.exec(line);
  if (!m) return /^\s*(M104|M140)\b/i.test(line) ? { error: `malformed temperature command: ${line.trim()}` } : undefined;
  const code = m[1]!.toUpperCase();
  const params = new Map<string, number>();
  for (const word of (m[2] ?? '').trim().split(/\s+/).filter(Boolean)) {
    const letter = word[0]!.toUpperCase();
    const n = Number(word.slice(1));
    if (!Number.isFinite(n) || word.length < 2) return { error: `malformed parameter '${word}' in ${code}` };
    params.set(letter, n);
  }
  const s = params.get('S') ?? 0;
  if (code === 'M140') return { bed: s, tools: {} };
  const tool = params.get('T') ?? 0;
  if (!Number.isInteger(tool) || tool < 0 || tool > 15) return { error: `bad tool number T${tool}` };
  return { tools: { [tool]: s } };
}
