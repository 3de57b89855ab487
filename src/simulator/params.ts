// Typed access to request arguments, converting strings the way Moonraker's
// WebRequest getters do (HTTP query arguments always arrive as strings).
import { MoonrakerError } from './errors.js';

export type Args = Record<string, unknown>;

const MISSING = Symbol('missing');

export class Params {
  constructor(readonly args: Args) {}

  has(key: string): boolean {
    return Object.prototype.hasOwnProperty.call(this.args, key) && this.args[key] !== undefined;
  }

  private raw(key: string): unknown {
    if (!this.has(key)) throw new MoonrakerError(`No data for argument: ${key}`);
    return this.args[key];
  }

  private convError(key: string, type: string, val: unknown): MoonrakerError {
    return new MoonrakerError(`Unable to convert argument [${key}] to <class '${type}'>: value received: ${String(val)}`);
  }

  str(key: string, def: string | typeof MISSING = MISSING): string {
    if (!this.has(key)) {
      if (def === MISSING) return String(this.raw(key));
      return def;
    }
    const v = this.args[key];
    if (typeof v === 'string') return v;
    if (typeof v === 'number' || typeof v === 'boolean') return String(v);
    throw this.convError(key, 'str', JSON.stringify(v));
  }

  optStr(key: string): string | undefined {
    return this.has(key) && this.args[key] !== null ? this.str(key) : undefined;
  }

  float(key: string, def: number | typeof MISSING = MISSING): number {
    if (!this.has(key)) {
      if (def === MISSING) this.raw(key);
      return def as number;
    }
    const v = this.args[key];
    const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
    if (!Number.isFinite(n)) throw this.convError(key, 'float', v);
    return n;
  }

  int(key: string, def: number | typeof MISSING = MISSING): number {
    const n = this.float(key, def);
    if (!Number.isInteger(n)) throw this.convError(key, 'int', this.args[key]);
    return n;
  }

  bool(key: string, def: boolean | typeof MISSING = MISSING): boolean {
    if (!this.has(key)) {
      if (def === MISSING) this.raw(key);
      return def as boolean;
    }
    const v = this.args[key];
    if (typeof v === 'boolean') return v;
    if (typeof v === 'string' && (v.toLowerCase() === 'true' || v.toLowerCase() === 'false')) return v.toLowerCase() === 'true';
    throw this.convError(key, 'bool', v);
  }

  /** A list of strings: a JSON array, or a comma separated string (HTTP query form). */
  list(key: string, def: string[] | typeof MISSING = MISSING): string[] {
    if (!this.has(key)) {
      if (def === MISSING) this.raw(key);
      return def as string[];
    }
    const v = this.args[key];
    if (typeof v === 'string') return v.split(',').map((s) => s.trim()).filter((s) => s !== '');
    if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v as string[];
    throw new MoonrakerError(`Invalid list format received for argument '${key}', parsing failed.`);
  }

  object(key: string): Record<string, unknown> {
    const v = this.raw(key);
    if (v === null || typeof v !== 'object' || Array.isArray(v)) {
      throw new MoonrakerError(`Invalid argument type for '${key}': expected an object`);
    }
    return v as Record<string, unknown>;
  }
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}
