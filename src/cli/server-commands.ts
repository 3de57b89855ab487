// `polarcloud emulator | simulator | demo`: the shipped stand-ins for the Polar
// Cloud and for Moonraker + Klipper, and the embedded end-to-end demo. All of
// them listen on 127.0.0.1 only (their control APIs have no authentication).
// The stand-ins are imported lazily: the bundle's `run` never loads them, which
// keeps the service's memory down on a small Pi.
import type { Logger } from '../util/log.js';
import { UsageError, untilSignal } from './common.js';

type Values = Record<string, string | boolean | string[] | undefined>;

export const EMULATOR_DEFAULT_PORT = 8125;
export const SIMULATOR_DEFAULT_PORT = 7125;

function parsePort(v: Values['port'], fallback: number): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (typeof v !== 'string' || !Number.isInteger(n) || n < 0 || n > 65535) throw new UsageError(`--port must be 0..65535, got '${String(v)}'`);
  return n;
}

function parseAccounts(v: Values['account']): { email: string; pin: string }[] | undefined {
  if (v === undefined) return undefined;
  const list = Array.isArray(v) ? v : [String(v)];
  return list.map((a) => {
    const i = a.lastIndexOf(':');
    if (i <= 0 || i === a.length - 1) throw new UsageError(`--account must be EMAIL:PIN, got '${a}'`);
    return { email: a.slice(0, i), pin: a.slice(i + 1) };
  });
}

async function run(command: string, values: Values, log: Logger): Promise<number> {
  switch (command) {
    case 'emulator': {
      const accounts = parseAccounts(values.account);
      const { startPolarEmulator } = await import('../emulator/index.js');
      const emu = await startPolarEmulator({ port: parsePort(values.port, EMULATOR_DEFAULT_PORT), accounts, log });
      process.stdout.write(
        `Polar Cloud emulator on ${emu.url}\n` +
          `  printers connect with polar.server_url: ${emu.url}\n` +
          `  accounts: ${accounts ? accounts.map((a) => a.email).join(', ') : 'any e-mail/PIN accepted'}\n` +
          `  control API: ${emu.url}/control/ (events, printers, send, drop, ...)\n`,
      );
      await untilSignal();
      await emu.stop();
      return 0;
    }
    case 'simulator': {
      const speed = values['speed-factor'] === undefined ? 1 : Number(values['speed-factor']);
      if (!Number.isFinite(speed) || speed <= 0) throw new UsageError(`--speed-factor must be a positive number, got '${String(values['speed-factor'])}'`);
      const { startMoonrakerSimulator } = await import('../simulator/index.js');
      const sim = await startMoonrakerSimulator({ port: parsePort(values.port, SIMULATOR_DEFAULT_PORT), speedFactor: speed, log });
      process.stdout.write(
        `Moonraker simulator on ${sim.url} (websocket ${sim.url.replace(/^http/, 'ws')}/websocket), speed factor ${speed}\n` +
          `  bridges connect with moonraker.url: ${sim.url}\n` +
          `  control API: POST ${sim.url}/_sim/<action> (drop_websockets, restart_moonraker, klippy_shutdown, ...)\n`,
      );
      await untilSignal();
      await sim.stop();
      return 0;
    }
    case 'demo':
      // The demo prints its own summary; the log only speaks up about problems.
      if (values['log-level'] === undefined) log.setLevel('warn');
      if (values.printers !== undefined) {
        const n = Number(values.printers);
        if (typeof values.printers !== 'string' || !Number.isInteger(n) || n < 1 || n > 8) throw new UsageError(`--printers must be 1..8, got '${String(values.printers)}'`);
        if (n > 1) return (await import('./demo-two.js')).demoTwoCommand(log, n);
      }
      return (await import('./demo.js')).demoCommand(log);
    default:
      throw new UsageError(`unknown command '${command}'`);
  }
}

export const serverCommands = { names: ['emulator', 'simulator', 'demo'], run };
