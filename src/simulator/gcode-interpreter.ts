// Klipper's G-code dispatcher: looks up the handler for each line, enforces
// the "printer not ready" rules, and reports errors with Klipper's wording.
// Handlers are registered by gcode-motion.ts, gcode-temperature.ts and
// gcode-print-commands.ts.
import { CommandError } from './errors.js';
import { GCodeCommand, isTraditional, parseLine } from './gcode-command.js';
import type { KlipperPrinter } from './klipper-printer.js';
import { registerMotionCommands } from './gcode-motion.js';
import { registerTemperatureCommands } from './gcode-temperature.js';
import { registerPrintCommands } from './gcode-print-commands.js';

export interface LineContext {
  /** The line comes from the file being printed (virtual_sdcard). */
  fromSd: boolean;
}

/** What the G-code handlers need from the virtual SD card (print-executor.ts). */
export interface SdcardControl {
  readonly isActive: boolean;
  readonly hasFile: boolean;
  readonly cmdFromSd: boolean;
  /** SDCARD_PRINT_FILE: load and start; throws CommandError. */
  printFile(filename: string): Promise<void>;
  resetFile(): Promise<void>;
  pause(): Promise<void>;
  resume(): void;
  cancel(): Promise<void>;
  /** "SD printing byte x/y" or null when no file. */
  positionReport(): string | null;
}

export interface InterpreterHooks {
  sd: SdcardControl;
  /** RESTART / FIRMWARE_RESTART: the Klippy host goes away and comes back. */
  restart(kind: 'RESTART' | 'FIRMWARE_RESTART'): void;
  shutdown(message: string): void;
  softwareVersion: string;
}

export type Handler = (g: GCodeCommand, ctx: LineContext) => void | Promise<void>;

interface CommandDef {
  handler: Handler;
  whenNotReady: boolean;
  help: string | undefined;
}

export class GcodeInterpreter {
  private readonly commands = new Map<string, CommandDef>();

  constructor(
    readonly printer: KlipperPrinter,
    readonly hooks: InterpreterHooks,
  ) {
    registerMotionCommands(this);
    registerTemperatureCommands(this);
    registerPrintCommands(this);
    printer.filamentSensors.register(this);
  }

  register(name: string, handler: Handler, opts: { whenNotReady?: boolean; help?: string } = {}): void {
    this.commands.set(name, { handler, whenNotReady: opts.whenNotReady ?? false, help: opts.help });
  }

  /** printer.gcode.help: registered commands that have a description. */
  help(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [name, def] of this.commands) if (def.help !== undefined) out[name] = def.help;
    return out;
  }

  /** Names available in the current state (HELP output). */
  available(): string[] {
    const ready = this.printer.isReady;
    return [...this.commands.entries()].filter(([, d]) => ready || d.whenNotReady).map(([n]) => n).sort();
  }

  /** Runs one line; errors are reported as "!! ..." and rethrown as CommandError. */
  async runLine(origline: string, ctx: LineContext): Promise<void> {
    const parsed = parseLine(origline);
    if (!parsed) return;
    const g = new GCodeCommand(parsed.command, parsed.commandline, parsed.params);
    try {
      await this.dispatch(g, ctx);
    } catch (err) {
      // Moves are validated before they change any position, so nothing needs resetting here.
      if (err instanceof CommandError) this.printer.respondError(err.message);
      throw err;
    }
  }

  /** Runs a script from inside a command (Klipper's run_script_from_command). */
  async runScriptFromCommand(script: string, ctx: LineContext): Promise<void> {
    for (const line of script.split('\n')) {
      const parsed = parseLine(line);
      if (!parsed) continue;
      await this.dispatch(new GCodeCommand(parsed.command, parsed.commandline, parsed.params), ctx);
    }
  }

  private async dispatch(g: GCodeCommand, ctx: LineContext): Promise<void> {
    const def = this.commands.get(g.command);
    const usable = def && (this.printer.isReady || def.whenNotReady);
    if (!usable) {
      this.unknown(g);
      return;
    }
    if (!isTraditional(g.command)) g.useExtendedParams();
    await def.handler(g, ctx);
  }

  /** Klipper's cmd_default. */
  private unknown(g: GCodeCommand): void {
    const cmd = g.command;
    if (cmd === 'M105') {
      this.printer.respond('T:0');
      return;
    }
    if (cmd === 'M21') return;
    if (!this.printer.isReady) throw new CommandError(this.printer.stateMessage);
    if (!cmd) return;
    if ((cmd === 'M140' || cmd === 'M104') && !Number(g.params['S'] ?? 0)) return;
    if (cmd === 'M107' || (cmd === 'M106' && !Number(g.params['S'] ?? 1))) return;
    this.printer.respondInfo(`Unknown command:"${cmd}"`);
  }
}
