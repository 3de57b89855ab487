// `polarcloud` command line: parses arguments and dispatches to a command.
// Exit codes: 0 success, 1 failure, 2 usage or config error.
// Each command is imported when it runs: the bundle is split (scripts/build.mjs),
// so `run` never loads the emulator, the simulator, the demo or their packages,
// and --version/--help load none of the service.
import { parseArgs } from 'node:util';
import { VERSION } from '../version.js';
import { errText } from '../util/log.js';
import { loadConfigOrExit, makeLogger, UsageError } from './common.js';
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
      return (await import('./run-command.js')).runCommand(config, log);
    case 'register': {
      const pin = values.pin ?? process.env.POLARCLOUD_PIN;
      if (!values.email || !pin) throw new UsageError('register needs --email and --pin (or POLARCLOUD_PIN)');
      return (await import('./identity-commands.js')).registerCommand(config, log, values.email, pin);
    }
    case 'unregister':
      return (await import('./identity-commands.js')).unregisterCommand(config, log);
    case 'status':
      return (await import('./identity-commands.js')).statusCommand(config, values.json ?? false);
    case 'queue':
      return (await import('./queue-command.js')).queueCommand(config, log, values.json ?? false);
    case 'next':
      return (await import('./next-command.js')).nextCommand(config, positionals[1]);
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
