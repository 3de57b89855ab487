// Shared CLI plumbing: loading the config with readable errors, the logger,
// and waiting for events with a deadline.
import type { Config } from '../config.js';
import { Logger, type LogLevel } from '../util/log.js';

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export async function loadConfigOrExit(file: string | undefined, log: Logger): Promise<Config> {
  if (!file) throw new UsageError('--config FILE is required');
  // Imported here so --help/--version load neither the schema library nor the YAML parser.
  const { ConfigError, loadConfig } = await import('../config.js');
  try {
    const { config, warnings } = await loadConfig(file);
    for (const w of warnings) log.warn(w);
    return config;
  } catch (err) {
    if (err instanceof ConfigError) {
      for (const p of err.problems) process.stderr.write(p + '\n');
      process.exit(2);
    }
    throw err;
  }
}

export function makeLogger(level: string | undefined): Logger {
  const lv = (level ?? 'info') as LogLevel;
  return Logger.create(['error', 'warn', 'info', 'debug', 'trace'].includes(lv) ? lv : 'info');
}

/** Resolves when `signal` arrives (SIGINT/SIGTERM). */
export function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const on = (sig: NodeJS.Signals): void => {
      process.off('SIGINT', on);
      process.off('SIGTERM', on);
      resolve(sig);
    };
    process.on('SIGINT', on);
    process.on('SIGTERM', on);
  });
}
