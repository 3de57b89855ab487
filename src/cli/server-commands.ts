// `polarcloud emulator | simulator | demo`: the shipped stand-ins for the
// Polar Cloud and for Moonraker, and the embedded end-to-end demo.
import type { Logger } from '../util/log.js';
import { UsageError } from './common.js';

type Values = Record<string, string | boolean | string[] | undefined>;

const help = `  polarcloud emulator [--port N] [--account EMAIL:PIN ...]
                                                     run the Polar Cloud emulator on 127.0.0.1
`;

async function run(command: string, _values: Values, _log: Logger): Promise<number> {
  throw new UsageError(`'${command}' is not available in this build`);
}

export const serverCommands = { names: ['emulator', 'simulator', 'demo'], help, run };
