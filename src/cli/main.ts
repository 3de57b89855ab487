// `polarcloud` command line: parses arguments and dispatches to a command.
// Exit codes: 0 success, 1 failure, 2 usage or config error.
import { parseArgs } from 'node:util';
import { VERSION } from '../version.js';
import { errText } from '../util/log.js';
import { loadConfigOrExit, makeLogger, UsageError } from './common.js';
import { registerCommand, statusCommand, unregisterCommand } from './identity-commands.js';
import { runCommand } from './run-command.js';
import { queueCommand } from './queue-command.js';
import { nextCommand } from './next-command.js';
import { plateClearCommand } from './plate-clear-command.js';
import { serverCommands } from './server-commands.js';

const HELP = `polarcloud ${VERSION} — connects a Klipper printer (Moonraker) to the Polar Cloud

Usage:
  polarcloud run --config FILE                       run the bridge service
  polarcloud register --config FILE --email E --pin P
                                                     register this printer with a Polar account
                                                     (the PIN may also come from POLARCLOUD_PIN)
  polarcloud unregister --config FILE                remove this printer from Polar Cloud
  polarcloud status --config FILE [--json]           show registration and identity
  polarcloud queue --config FILE [--json]            list this printer's Polar Cloud print queue
  polarcloud next --config FILE [JOB_ID]             ask Polar Cloud for the next (or this) queued job
                                                     (through the running service)
  polarcloud plate-clear --config FILE               confirm the build plate is empty (status 15):
                                                     the next cloud job may start
${serverCommands.help}
Options:
  --log-level LEVEL   error | warn | info | debug | trace (overrides log.level)
  --version, --help
`;

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      config: { type: 'string', short: 'c' },
      email: { type: 'string' },
      pin: { type: 'string' },
      json: { type: 'boolean' },
      port: { type: 'string' },
      account: { type: 'string', multiple: true },
      'speed-factor': { type: 'string' },
      printers: { type: 'string' },
      'log-level': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
      version: { type: 'boolean', short: 'V' },
    },
  });
  if (values.version) {
    process.stdout.write(`${VERSION}\n`);
    return 0;
  }
  const command = positionals[0];
  if (values.help || !command) {
    process.stdout.write(HELP);
    return command || values.help ? 0 : 2;
  }
  const maxPositionals = command === 'next' ? 2 : 1;
  if (positionals.length > maxPositionals) throw new UsageError(`unexpected argument '${positionals[maxPositionals]}'`);
  const log = makeLogger(values['log-level']);

  if (serverCommands.names.includes(command)) return serverCommands.run(command, values, log);

  const config = await loadConfigOrExit(values.config, log);
  if (!values['log-level']) log.setLevel(config.log.level);
  switch (command) {
    case 'run':
      return runCommand(config, log);
    case 'register': {
      const pin = values.pin ?? process.env.POLARCLOUD_PIN;
      if (!values.email || !pin) throw new UsageError('register needs --email and --pin (or POLARCLOUD_PIN)');
      return registerCommand(config, log, values.email, pin);
    }
    case 'unregister':
      return unregisterCommand(config, log);
    case 'status':
      return statusCommand(config, values.json ?? false);
    case 'queue':
      return queueCommand(config, log, values.json ?? false);
    case 'next':
      return nextCommand(config, positionals[1]);
    case 'plate-clear':
      return plateClearCommand(config);
    default:
      throw new UsageError(`unknown command '${command}'`);
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`polarcloud: ${errText(err)}\nRun 'polarcloud --help' for usage.\n`);
      process.exit(2);
    }
    process.stderr.write(`polarcloud: ${(err as Error).stack ?? errText(err)}\n`);
    process.exit(1);
  },
);
