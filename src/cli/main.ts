// `polarcloud` command line: parses arguments and dispatches to a command.
// Exit codes: 0 success, 1 failure, 2 usage or config error; 65, 69, 73 see failure.ts.
// Each command is imported when it runs: the bundle is split (scripts/build.mjs),
// so `run` never loads the emulator, the simulator, the demo or their packages,
// and --version/--help load none of the service.
import { parseArgs } from 'node:util';
import { VERSION } from '../version.js';
import { errText, LOG_LEVELS } from '../util/log.js';
import { loadConfigOrExit, makeLogger, UsageError } from './common.js';
import { serverCommands } from './server-commands.js';
import { COMMANDS, commandHelp, commandList, mainHelp } from './help.js';
import { EXIT, failureLine } from './failure.js';

/** The configured data folder, once known: the chown fix in an error line names it. */
let dataDir: string | undefined;

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
      out: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
      version: { type: 'boolean', short: 'V' },
    },
  });
  if (values.version) {
    process.stdout.write(`${VERSION}\n`);
    return 0;
  }
  const command = positionals[0];
  if (!command) {
    process.stdout.write(mainHelp());
    return values.help ? 0 : EXIT.usage;
  }
  if (!Object.hasOwn(COMMANDS, command)) throw new UsageError(`unknown command '${command}'. Commands:\n${commandList()}`);
  if (command === 'help') {
    const topic = positionals[1];
    if (topic === undefined) process.stdout.write(mainHelp());
    else if (Object.hasOwn(COMMANDS, topic)) process.stdout.write(commandHelp(topic));
    else throw new UsageError(`unknown command '${topic}'. Commands:\n${commandList()}`);
    return 0;
  }
  if (values.help) {
    process.stdout.write(commandHelp(command));
    return 0;
  }
  const maxPositionals = command === 'next' ? 2 : 1;
  if (positionals.length > maxPositionals) throw new UsageError(`unexpected argument '${positionals[maxPositionals]}'`);
  const level = values['log-level'];
  if (level !== undefined && !(LOG_LEVELS as string[]).includes(level)) throw new UsageError(`--log-level must be one of ${LOG_LEVELS.join(', ')}, got '${level}'`);
  const log = makeLogger(level);

  if (serverCommands.names.includes(command)) return serverCommands.run(command, values, log);

  const config = await loadConfigOrExit(values.config, log);
  dataDir = config.data_dir;
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
    case 'diagnose':
      return (await import('./diagnose-command.js')).diagnoseCommand(config, log, values.out);
    case 'plate-clear':
      return (await import('./plate-clear-command.js')).plateClearCommand(config);
    default:
      throw new UsageError(`unknown command '${command}'`);
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`polarcloud: ${errText(err)}\nRun 'polarcloud --help' for usage.\n`);
      process.exit(EXIT.usage);
    }
    // Never a stack trace: one line with the file/port, the cause and the fix.
    const f = failureLine(err, { dataDir });
    process.stderr.write(`polarcloud: ${f.message}\n`);
    process.exit(f.exitCode);
  },
);
