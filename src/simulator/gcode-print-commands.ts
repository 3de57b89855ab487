// Print-job, display and host commands: pause_resume (with the PAUSE/RESUME/
// CANCEL_PRINT/M600 macros most configs carry), virtual_sdcard, print_stats,
// display_status, respond, and Klippy's base commands (STATUS, HELP, RESTART).
import { CommandError, MoonrakerError } from './errors.js';
import type { GcodeInterpreter, LineContext } from './gcode-interpreter.js';
import { waitMoves } from './gcode-motion.js';

const RESPOND_TYPES: Record<string, string> = { echo: 'echo:', command: '//', error: '!!' };

export function registerPrintCommands(gi: GcodeInterpreter): void {
  const p = gi.printer;
  const sd = gi.hooks.sd;
  let sdPaused = false;
  const run = (script: string, ctx: LineContext): Promise<void> => gi.runScriptFromCommand(script, ctx);

  // pause_resume builtins, renamed BASE_* by the macros below (as Klipper's rename_existing does).
  gi.register('BASE_PAUSE', async (_g, ctx) => {
    if (p.isPaused) {
      p.respondInfo('Print already paused');
      return;
    }
    if (sd.isActive) {
      sdPaused = true;
      await sd.pause();
    } else {
      sdPaused = false;
      p.respondInfo('action:paused');
    }
    await run('SAVE_GCODE_STATE NAME=PAUSE_STATE', ctx);
    p.isPaused = true;
  }, { help: "Renamed builtin of 'PAUSE'" });
  gi.register('BASE_RESUME', async (g, ctx) => {
    if (!p.isPaused) {
      p.respondInfo('Print is not paused, resume aborted');
      return;
    }
    const velocity = g.getFloat('VELOCITY', 50);
    await run(`RESTORE_GCODE_STATE NAME=PAUSE_STATE MOVE=1 MOVE_SPEED=${velocity.toFixed(4)}`, ctx);
    if (sdPaused) {
      sd.resume();
      sdPaused = false;
    } else {
      p.respondInfo('action:resumed');
    }
    p.isPaused = false;
  }, { help: "Renamed builtin of 'RESUME'" });
  gi.register('CLEAR_PAUSE', () => {
    p.isPaused = false;
  }, { help: 'Clears the current paused state without resuming the print' });
  gi.register('BASE_CANCEL_PRINT', async () => {
    if (sd.isActive || sdPaused) await sd.cancel();
    else p.respondInfo('action:cancel');
    p.isPaused = false;
    sdPaused = false;
  }, { help: "Renamed builtin of 'CANCEL_PRINT'" });
  // The common Mainsail/Fluidd-style macros.
  gi.register('PAUSE', (_g, ctx) => run('BASE_PAUSE', ctx), { help: 'G-Code macro' });
  gi.register('RESUME', (g, ctx) => run(g.has('VELOCITY') ? `BASE_RESUME VELOCITY=${g.get('VELOCITY')}` : 'BASE_RESUME', ctx), { help: 'G-Code macro' });
  gi.register('CANCEL_PRINT', (_g, ctx) => run('TURN_OFF_HEATERS\nM106 S0\nBASE_CANCEL_PRINT', ctx), { help: 'G-Code macro' });
  gi.register('M600', (_g, ctx) => run('RESPOND MSG="Filament change requested"\nPAUSE', ctx), { help: 'G-Code macro' });

  // virtual_sdcard
  gi.register('SDCARD_PRINT_FILE', (g) => sd.printFile(g.get('FILENAME')), {
    help: 'Loads a SD file and starts the print.  May include files in subdirectories.',
  });
  gi.register('SDCARD_RESET_FILE', () => {
    if (sd.cmdFromSd) throw new CommandError('SDCARD_RESET_FILE cannot be run from the sdcard');
    return sd.resetFile();
  }, { help: 'Clears a loaded SD File. Stops the print if necessary' });
  gi.register('M21', () => p.respond('SD card ok'));
  gi.register('M27', () => p.respond(sd.positionReport() ?? 'Not SD printing.'));
  gi.register('M24', () => {
    if (sd.isActive) throw new CommandError('SD busy');
    sd.resume();
  });
  gi.register('M25', () => sd.pause());

  // print_stats / display_status
  gi.register('SET_PRINT_STATS_INFO', (g) => {
    p.printStats.setInfo(
      g.has('TOTAL_LAYER') ? g.getInt('TOTAL_LAYER', 0, { minval: 0 }) : undefined,
      g.has('CURRENT_LAYER') ? g.getInt('CURRENT_LAYER', 0, { minval: 0 }) : undefined,
    );
  }, { help: 'Pass slicer info like layer act and total to klipper' });
  gi.register('M73', (g) => {
    const progress = g.getOptFloat('P');
    if (progress === null) return;
    p.m73Progress = Math.min(1, Math.max(0, progress / 100));
    p.m73Expire = p.sim.now() + 5;
  });
  gi.register('M117', (g) => {
    p.displayMessage = g.rawParams() || null;
  });
  gi.register('SET_DISPLAY_TEXT', (g) => {
    p.displayMessage = g.params['MSG'] ?? null;
  }, { help: 'Set or clear the display message' });
  gi.register('EXCLUDE_OBJECT_DEFINE', () => undefined, { help: 'Provides a summary of an object' });
  gi.register('EXCLUDE_OBJECT_START', () => undefined, { help: 'Marks the beginning the current object as labeled' });
  gi.register('EXCLUDE_OBJECT_END', () => undefined, { help: 'Marks the end the current object' });
  gi.register('EXCLUDE_OBJECT', () => undefined, { help: 'Cancel moves inside a specified objects' });
  gi.register('SET_IDLE_TIMEOUT', (g) => {
    p.idleTimeout = g.getFloat('TIMEOUT', p.idleTimeout, { above: 0 });
    p.respondInfo(`idle_timeout: Timeout set to ${p.idleTimeout.toFixed(2)} s`);
  }, { help: 'Set the idle timeout in seconds' });

  // respond
  gi.register('M118', (g) => p.respond(`echo: ${g.rawParams()}`), { whenNotReady: true });
  gi.register('RESPOND', (g) => {
    let prefix = 'echo:';
    const type = g.getOpt('TYPE');
    let noSpace = false;
    if (type !== null) {
      const t = type.toLowerCase();
      if (t === 'echo_no_space') {
        noSpace = true;
      } else if (RESPOND_TYPES[t] !== undefined) {
        prefix = RESPOND_TYPES[t] as string;
      } else {
        throw new CommandError(`RESPOND TYPE '${t}' is invalid. Must be one of 'echo', 'command', or 'error'`);
      }
    }
    prefix = g.get('PREFIX', prefix);
    const msg = g.get('MSG', '');
    p.respond(noSpace ? `${prefix}${msg}` : `${prefix} ${msg}`);
  }, { whenNotReady: true, help: 'Echo the message prepended with a prefix' });

  // Klippy base commands (available before "ready")
  gi.register('M110', () => undefined, { whenNotReady: true });
  gi.register('M112', () => gi.hooks.shutdown('Shutdown due to M112 command'), { whenNotReady: true });
  gi.register('M115', () => p.respondInfo(`FIRMWARE_NAME:Klipper FIRMWARE_VERSION:${gi.hooks.softwareVersion}`), { whenNotReady: true });
  gi.register('ECHO', (g) => p.respondInfo(g.commandline), { whenNotReady: true });
  gi.register('STATUS', () => {
    if (p.isReady) {
      p.respondInfo('Klipper state: Ready');
      return;
    }
    throw new CommandError(`${p.stateMessage.trimEnd()}\nKlipper state: Not ready`);
  }, { whenNotReady: true, help: 'Report the printer status' });
  gi.register('HELP', () => {
    const help = gi.help();
    const lines = p.isReady ? [] : ['Printer is not ready - not all commands available.'];
    lines.push('Available extended commands:');
    for (const name of gi.available()) if (help[name] !== undefined) lines.push(`${name.padEnd(10)}: ${help[name]}`);
    p.respondInfo(lines.join('\n'));
  }, { whenNotReady: true, help: 'Report the list of available extended G-Code commands' });
  const restart = (kind: 'RESTART' | 'FIRMWARE_RESTART') => async (): Promise<void> => {
    if (p.isReady) await waitMoves(p);
    gi.hooks.restart(kind);
    // Klippy exits without answering; Moonraker fails the pending request.
    throw new MoonrakerError('Klippy Disconnected', 503);
  };
  gi.register('RESTART', restart('RESTART'), { whenNotReady: true, help: 'Reload config file and restart host software' });
  gi.register('FIRMWARE_RESTART', restart('FIRMWARE_RESTART'), { whenNotReady: true, help: 'Restart firmware, host, and reload config' });
}
