// G-code line parsing the way Klipper's gcode.py does it, and GCodeCommand's
// parameter getters with Klipper's exact error texts.
import { CommandError } from './errors.js';

export interface ParsedLine {
  command: string;
  commandline: string;
  params: Record<string, string>;
}

/** Klipper's args_r split: keys are runs of letters/underscores (or a single letter/'*'). */
const ARGS_SPLIT = /([A-Z_]+|[A-Z*])/;

/** Parses one line; returns null for blank or comment-only lines. */
export function parseLine(origline: string): ParsedLine | null {
  const commandline = origline.trim();
  let line = commandline;
  const cpos = line.indexOf(';');
  if (cpos >= 0) line = line.slice(0, cpos);
  const parts = line.toUpperCase().split(ARGS_SPLIT);
  let command: string;
  if (parts.slice(0, 2).join('') === 'N') command = parts.slice(3, 5).join('').trim();
  else command = parts.slice(0, 3).join('').trim();
  const params: Record<string, string> = {};
  for (let i = 1; i < parts.length; i += 2) params[parts[i] ?? ''] = (parts[i + 1] ?? '').trim();
  if (!command && !commandline) return null;
  return { command, commandline, params };
}

/** A "traditional" command is a letter followed by a number (G1, M104, T0). */
export function isTraditional(cmd: string): boolean {
  const head = cmd.split(/\s/)[0] ?? '';
  return /^[A-Z]\d/.test(head) && Number.isFinite(Number(head.slice(1)));
}

/** Splits like Python's shlex in posix mode with '=' kept inside words. */
function shlexSplit(s: string): string[] | null {
  const out: string[] = [];
  let cur = '';
  let inWord = false;
  let quote: string | null = null;
  for (let i = 0; i < s.length; i++) {
    const c = s[i] as string;
    if (quote) {
      if (c === quote) quote = null;
      else if (c === '\\' && quote === '"' && i + 1 < s.length) cur += s[++i];
      else cur += c;
      continue;
    }
    if (c === '"' || c === "'") {
      quote = c;
      inWord = true;
    } else if (c === '#' || c === ';') {
      break;
    } else if (/\s/.test(c)) {
      if (inWord) out.push(cur);
      cur = '';
      inWord = false;
    } else {
      cur += c;
      inWord = true;
    }
  }
  if (quote) return null;
  if (inWord) out.push(cur);
  return out;
}

export class GCodeCommand {
  constructor(
    readonly command: string,
    readonly commandline: string,
    public params: Record<string, string>,
  ) {}

  /** Text after the command name (M117/M118/M23 use it verbatim). */
  rawParams(): string {
    const cmd = this.command;
    const origline = this.commandline;
    let start = cmd.length;
    let end = origline.length;
    if (origline.slice(0, start).toUpperCase() !== cmd) {
      start += origline.toUpperCase().indexOf(cmd);
      const star = origline.lastIndexOf('*');
      if (star >= 0 && /^\d+$/.test(origline.slice(star + 1))) end = star;
    }
    if (/\s/.test(origline.slice(start, start + 1))) start += 1;
    return origline.slice(start, end);
  }

  /** Re-parses parameters as Klipper does for extended commands (KEY=value, shell quoting). */
  useExtendedParams(): void {
    const words = shlexSplit(this.rawParams());
    if (words === null || words.some((w) => !w.includes('='))) {
      throw new CommandError(`Malformed command '${this.commandline}'`);
    }
    const params: Record<string, string> = {};
    for (const w of words) {
      const eq = w.indexOf('=');
      params[w.slice(0, eq).toUpperCase()] = w.slice(eq + 1);
    }
    this.params = params;
  }

  has(name: string): boolean {
    return this.params[name] !== undefined;
  }

  get(name: string, def?: string): string {
    const v = this.params[name];
    if (v === undefined) {
      if (def === undefined) throw new CommandError(`Error on '${this.commandline}': missing ${name}`);
      return def;
    }
    return v;
  }

  getOpt(name: string): string | null {
    return this.params[name] ?? null;
  }

  getFloat(name: string, def?: number, limits: { minval?: number; maxval?: number; above?: number; below?: number } = {}): number {
    const v = this.params[name];
    if (v === undefined) {
      if (def === undefined) throw new CommandError(`Error on '${this.commandline}': missing ${name}`);
      return def;
    }
    const n = v.trim() === '' ? NaN : Number(v);
    if (!Number.isFinite(n)) throw new CommandError(`Error on '${this.commandline}': unable to parse ${v}`);
    const { minval, maxval, above, below } = limits;
    if (minval !== undefined && n < minval) throw new CommandError(`Error on '${this.commandline}': ${name} must have minimum of ${minval}`);
    if (maxval !== undefined && n > maxval) throw new CommandError(`Error on '${this.commandline}': ${name} must have maximum of ${maxval}`);
    if (above !== undefined && n <= above) throw new CommandError(`Error on '${this.commandline}': ${name} must be above ${above}`);
    if (below !== undefined && n >= below) throw new CommandError(`Error on '${this.commandline}': ${name} must be below ${below}`);
    return n;
  }

  getOptFloat(name: string, limits: { minval?: number; maxval?: number; above?: number; below?: number } = {}): number | null {
    return this.has(name) ? this.getFloat(name, undefined, limits) : null;
  }

  getOptInt(name: string, limits: { minval?: number; maxval?: number } = {}): number | null {
    return this.has(name) ? this.getInt(name, undefined, limits) : null;
  }

  getInt(name: string, def?: number, limits: { minval?: number; maxval?: number } = {}): number {
    const v = this.params[name];
    if (v !== undefined && !/^\s*[-+]?\d+\s*$/.test(v)) throw new CommandError(`Error on '${this.commandline}': unable to parse ${v}`);
    return this.getFloat(name, def, limits);
  }
}
