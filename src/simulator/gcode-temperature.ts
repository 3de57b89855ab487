// Heater and fan commands. M109/M190/TEMPERATURE_WAIT block the G-code queue
// until the heater settles (Klipper's PID check: within 1 °C), reporting
// "T0:.. /.. B:.. /.." about once per real second like Klipper's wait loop.
import { CommandError } from './errors.js';
import type { GCodeCommand } from './gcode-command.js';
import type { GcodeInterpreter } from './gcode-interpreter.js';
import type { KlipperPrinter } from './klipper-printer.js';
import type { Heater } from './thermal-model.js';

const REPORT_EVERY_MS = 1000;

/** Waits until `done()` holds, polling on every physics tick. Ends early if Klippy leaves "ready". */
async function waitFor(p: KlipperPrinter, done: () => boolean): Promise<void> {
  let lastReport = -Infinity;
  while (p.isReady && !done()) {
    const now = p.sim.real.now();
    if (now - lastReport >= REPORT_EVERY_MS) {
      p.respond(p.temperatureReport());
      lastReport = now;
    }
    await p.sim.sleepReal(25);
    if (p.sim.isClosed) return;
  }
}

async function setTemperature(p: KlipperPrinter, heater: Heater, temp: number, wait: boolean): Promise<void> {
  heater.setTarget(temp);
  if (wait && temp) await waitFor(p, () => !heater.isBusy());
}

function extruderFor(p: KlipperPrinter, g: GCodeCommand): Heater {
  const index = g.getOptInt('T', { minval: 0 });
  const name = index === null ? p.toolhead.activeExtruder : index === 0 ? 'extruder' : `extruder${index}`;
  const heater = p.heater(name);
  if (!heater) throw new CommandError('Extruder not configured');
  return heater;
}

/** SET_HEATER_TEMPERATURE takes the short name: extruder, heater_bed, chamber. */
function shortName(h: Heater): string {
  return h.name.split(' ').pop() as string;
}

export function registerTemperatureCommands(gi: GcodeInterpreter): void {
  const p = gi.printer;
  const bed = (): Heater => {
    const h = p.heater('heater_bed');
    if (!h) throw new CommandError('Heater bed not configured');
    return h;
  };
  gi.register('M104', (g) => setTemperature(p, extruderFor(p, g), g.getFloat('S', 0), false));
  gi.register('M109', (g) => setTemperature(p, extruderFor(p, g), g.getFloat('S', 0), true));
  gi.register('M140', (g) => setTemperature(p, bed(), g.getFloat('S', 0), false));
  gi.register('M190', (g) => setTemperature(p, bed(), g.getFloat('S', 0), true));
  gi.register('M105', () => p.respond(p.temperatureReport()));
  gi.register('SET_HEATER_TEMPERATURE', (g) => {
    const names = p.heaters.map(shortName);
    const key = g.get('HEATER');
    const heater = p.heaters.find((h) => shortName(h) === key);
    if (!heater) {
      const guess = names.find((n) => key.length > 0 && n.includes(key));
      const hint = guess ? `. Did you mean '${guess}'?` : `. Options: ${names.map((n) => `'${n}'`).join(', ')}`;
      throw new CommandError(`The value '${key}' is not valid for HEATER${hint}`);
    }
    return setTemperature(p, heater, g.getFloat('TARGET', 0), false);
  }, { help: 'Sets a heater temperature' });
  gi.register('TEMPERATURE_WAIT', async (g) => {
    const sensor = g.get('SENSOR');
    const min = g.getOptFloat('MINIMUM');
    const max = g.getOptFloat('MAXIMUM');
    if (min === null && max === null) throw new CommandError("Error on 'TEMPERATURE_WAIT': missing MINIMUM or MAXIMUM.");
    const heater = p.heater(sensor);
    if (!heater) throw new CommandError(`Unknown sensor '${sensor}'`);
    await waitFor(p, () => heater.temperature >= (min ?? -Infinity) && heater.temperature <= (max ?? Infinity));
  }, { help: 'Wait for a temperature on a sensor' });
  gi.register('TURN_OFF_HEATERS', () => {
    for (const h of p.heaters) h.target = 0;
  }, { help: 'Turn off all heaters' });
  gi.register('M106', (g) => {
    p.fanSpeed = Math.min(1, Math.max(0, g.getFloat('S', 255, { minval: 0 }) / 255));
  });
  gi.register('M107', () => void (p.fanSpeed = 0));
}
