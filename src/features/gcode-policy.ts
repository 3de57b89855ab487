// Which console G-code the cloud may run. A compromised cloud (or a stolen
// account) must not be able to use Klipper as a shell or wipe the printer's
// state: the bridge's own POLAR_* macros (e.g. POLAR_UNREGISTER) and
// RUN_SHELL_COMMAND are never run from the cloud; SAVE_CONFIG, RESTART and
// FIRMWARE_RESTART (which end a print) are refused while one is running.
// Both lists are extended by control.deny_gcode / deny_gcode_while_printing;
// the built-in entries cannot be removed. Pure, except printRunning().
import type { FeatureContext } from './feature-context.js';
import { isPrinting } from './feature-context.js';

/** Never run from the cloud. A trailing * matches any command starting with the rest. */
export const ALWAYS_DENIED = ['POLAR_*', 'RUN_SHELL_COMMAND'] as const;
/** Refused while a print runs (or a cloud job is being prepared): each ends the print. */
export const DENIED_WHILE_PRINTING = ['SAVE_CONFIG', 'RESTART', 'FIRMWARE_RESTART'] as const;

export interface GcodePolicy {
  deny: readonly string[];
  denyWhilePrinting: readonly string[];
}

export function gcodePolicy(control: { deny_gcode?: readonly string[]; deny_gcode_while_printing?: readonly string[] }): GcodePolicy {
  return {
    deny: [...new Set([...ALWAYS_DENIED, ...(control.deny_gcode ?? [])].map((s) => s.toUpperCase()))],
    denyWhilePrinting: [...new Set([...DENIED_WHILE_PRINTING, ...(control.deny_gcode_while_printing ?? [])].map((s) => s.toUpperCase()))],
  };
}

/**
 * The command word Klipper would run for a line: comments and a line number
 * (N123) dropped, upper-cased (Klipper is case-insensitive). '' for a blank line.
 */
export function commandWord(line: string): string {
  let l = line;
  const semi = l.indexOf(';');
  if (semi >= 0) l = l.slice(0, semi);
  l = l.trim().toUpperCase();
  l = l.replace(/^N\d+\s*/, '');
  const m = /^[^\s=]+/.exec(l);
  const token = m ? m[0] : '';
  // Klipper's traditional commands are a letter and a number (G1X10 is G1); extended ones are whole words.
  const classic = /^([A-Z])(\d+(?:\.\d+)?)/.exec(token);
  if (classic && !token.includes('_')) return `${classic[1]}${classic[2]}`;
  return token;
}

function matches(word: string, pattern: string): boolean {
  return pattern.endsWith('*') ? word.startsWith(pattern.slice(0, -1)) : word === pattern;
}

/** Why `line` must not run now, or null when it may. */
export function refusal(line: string, policy: GcodePolicy, printing: boolean): string | null {
  const word = commandWord(line);
  if (!word) return null;
  const shown = word.replace(/[^\x21-\x7e]/g, '?').slice(0, 64);
  if (policy.deny.some((p) => matches(word, p))) return `${shown} is not allowed from Polar Cloud on this printer`;
  if (printing && policy.denyWhilePrinting.some((p) => matches(word, p))) return `${shown} is refused while a print is running`;
  return null;
}

/**
 * A restart would end something alive: a running or paused print (Klippy ready),
 * or a cloud job being downloaded/started. After a shutdown Klipper has already
 * stopped the print, so a restart to recover is allowed then.
 */
export function printRunning(ctx: FeatureContext): boolean {
  if (ctx.jobs.pendingCloud !== null) return true;
  return ctx.printer.connectionState === 'klippy_ready' && isPrinting(ctx);
}
