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
 * The command Klipper runs for a line, found the way klippy/gcode.py does it:
 * stripped, comment cut at ';', upper-cased, split on /([A-Z_]+|[A-Z*])/, then
 * the first three parts joined (or parts 3-4 after a line number N…). '' for a
 * blank line.
 */
export function commandWord(line: string): string {
  let l = line.trim();
  const semi = l.indexOf(';');
  if (semi >= 0) l = l.slice(0, semi);
  const parts = l.toUpperCase().split(/([A-Z_]+|[A-Z*])/);
  if (parts.slice(0, 2).join('') === 'N') return parts.slice(3, 5).join('').trim();
  return parts.slice(0, 3).join('').trim();
}

/**
 * The same line read loosely: the first run of letters/underscores after any
 * line number and junk. Checked too, so a parser difference (another Klipper
 * version, a fork) cannot turn "1POLAR_X" into POLAR_X behind our back.
 */
function looseWord(line: string): string {
  let l = line.trim();
  const semi = l.indexOf(';');
  if (semi >= 0) l = l.slice(0, semi);
  const m = /^[^A-Z_]*(?:N\d+[^A-Z_]*)?([A-Z_]+)/.exec(l.toUpperCase());
  return m ? m[1]! : '';
}

function matches(word: string, pattern: string): boolean {
  return pattern.endsWith('*') ? word.startsWith(pattern.slice(0, -1)) : word === pattern;
}

/** Why `line` must not run now, or null when it may. */
export function refusal(line: string, policy: GcodePolicy, printing: boolean): string | null {
  const words = [commandWord(line), looseWord(line)].filter(Boolean);
  for (const word of words) {
    const shown = word.replace(/[^\x21-\x7e]/g, '?').slice(0, 64);
    if (policy.deny.some((p) => matches(word, p))) return `${shown} is not allowed from Polar Cloud on this printer`;
    if (printing && policy.denyWhilePrinting.some((p) => matches(word, p))) return `${shown} is refused while a print is running`;
  }
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
