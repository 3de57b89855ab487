// The `polarcloud` command list and each command's own --help text.
import { VERSION } from '../version.js';

export interface CommandHelp {
  /** One-line usage after `polarcloud `. */
  usage: string;
  summary: string;
  /** Extra lines for `polarcloud CMD --help`. */
  details?: string;
}

const CONFIG = '  --config FILE, -c FILE   the bridge config (usually ~/printer_data/config/polarcloud.yaml)';

export const COMMANDS: Record<string, CommandHelp> = {
  run: { usage: 'run --config FILE', summary: 'run the bridge service', details: CONFIG },
  register: {
    usage: 'register --config FILE --email E --pin P',
    summary: 'register this printer with a Polar Cloud account',
    details: `${CONFIG}\n  --email E                your Polar Cloud account e-mail\n  --pin P                  the PIN from your Polar Cloud account (better from POLARCLOUD_PIN: a PIN on a command line lands in the shell history)`,
  },
  unregister: { usage: 'unregister --config FILE', summary: 'remove this printer from Polar Cloud (the key is kept)', details: CONFIG },
  status: {
    usage: 'status --config FILE [--json]',
    summary: 'show registration and identity',
    details: `${CONFIG}\n  --json                   machine-readable output`,
  },
  queue: {
    usage: 'queue --config FILE [--json]',
    summary: "list this printer's Polar Cloud print queue",
    details: `${CONFIG}\n  --json                   machine-readable output`,
  },
  next: {
    usage: 'next --config FILE [JOB_ID]',
    summary: 'ask Polar Cloud for the next (or this) queued job, through the running service',
    details: CONFIG,
  },
  'plate-clear': {
    usage: 'plate-clear --config FILE',
    summary: 'tell the running service the build plate is empty (status 15): the next cloud job may start',
    details: CONFIG,
  },
  diagnose: {
    usage: 'diagnose --config FILE [--out DIR]',
    summary: 'write a diagnostics archive (versions, masked config, live checks, log tail)',
    details: `${CONFIG}\n  --out DIR                where to write it (default: <printer_data>/logs, which Mainsail/Fluidd can download)`,
  },
  emulator: {
    usage: 'emulator [--port N] [--account EMAIL:PIN ...]',
    summary: 'Polar Cloud emulator on 127.0.0.1 (default port 8125)',
    details: '  --port N                 port to listen on (0 = any free port)\n  --account EMAIL:PIN      accept only these accounts (repeatable; default: any)',
  },
  simulator: {
    usage: 'simulator [--port N] [--speed-factor X]',
    summary: 'Moonraker + Klipper simulator on 127.0.0.1 (default port 7125)',
    details: '  --port N                 port to listen on (0 = any free port)\n  --speed-factor X         run prints and heating X times faster',
  },
  demo: {
    usage: 'demo [--printers N]',
    summary: 'emulator + simulator + bridge: a cloud print end to end',
    details: '  --printers N             N printers (2..8) on one host: N serials, a cloud print to each',
  },
  help: { usage: 'help [COMMAND]', summary: 'show this list, or one command\'s options' },
};

const COMMON = `Options for every command:
  --log-level LEVEL        error | warn | info | debug | trace (overrides log.level)
  --help, -h               help for the command
  --version, -V            print the version`;

export function commandList(): string {
  const width = Math.max(...Object.values(COMMANDS).map((c) => c.usage.length)) + 2;
  return Object.values(COMMANDS)
    .map((c) => `  polarcloud ${c.usage.padEnd(width)}${c.summary}`)
    .join('\n');
}

export function mainHelp(): string {
  return `polarcloud ${VERSION} — connects a Klipper printer (Moonraker) to the Polar Cloud

Commands:
${commandList()}

${COMMON}

Run 'polarcloud COMMAND --help' for a command's options.
`;
}

export function commandHelp(name: string): string {
  const c = COMMANDS[name]!;
  return `Usage: polarcloud ${c.usage}

${c.summary}
${c.details ? `\nOptions:\n${c.details}\n` : ''}
${COMMON}
`;
}
