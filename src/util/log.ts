// Leveled, namespaced logger. One sink per process; components take a child
// logger (`log.child('polar')`) so every line says where it came from.
// Every message passes `sanitizeLogText` before any sink sees it: secrets
// (PIN, API keys, tokens, private keys, signed URL queries and fields) are
// masked and control characters escaped, whatever part logged the line.
import { sanitizeLogText } from './log-redact.js';

export type LogLevel = 'error' | 'warn' | 'info' | 'debug' | 'trace';
const ORDER: Record<LogLevel, number> = { error: 0, warn: 1, info: 2, debug: 3, trace: 4 };
export const LOG_LEVELS = Object.keys(ORDER) as LogLevel[];

export interface LogRecord {
  time: Date;
  level: LogLevel;
  ns: string;
  msg: string;
}
export type LogSink = (rec: LogRecord) => void;

export function formatRecord(rec: LogRecord): string {
  return `${rec.time.toISOString()} ${rec.level.toUpperCase().padEnd(5)} [${rec.ns}] ${rec.msg}`;
}

export const stderrSink: LogSink = (rec) => {
  process.stderr.write(formatRecord(rec) + '\n');
};

export class Logger {
  constructor(
    readonly ns: string,
    private readonly root: { level: LogLevel; sinks: LogSink[] },
  ) {}

  static create(level: LogLevel = 'info', sinks: LogSink[] = [stderrSink]): Logger {
    return new Logger('polarcloud', { level, sinks });
  }

  /** A logger that drops everything (tests, library use). */
  static silent(): Logger {
    return new Logger('silent', { level: 'error', sinks: [] });
  }

  child(ns: string): Logger {
    return new Logger(this.ns === 'polarcloud' ? ns : `${this.ns}.${ns}`, this.root);
  }

  setLevel(level: LogLevel): void {
    this.root.level = level;
  }

  addSink(sink: LogSink): void {
    this.root.sinks.push(sink);
  }

  /** Replaces every sink (the CLI switches to the log file once the config is read). */
  setSinks(sinks: LogSink[]): void {
    this.root.sinks.splice(0, this.root.sinks.length, ...sinks);
  }

  enabled(level: LogLevel): boolean {
    return ORDER[level] <= ORDER[this.root.level];
  }

  log(level: LogLevel, msg: string): void {
    if (!this.enabled(level)) return;
    const rec: LogRecord = { time: new Date(), level, ns: this.ns, msg: sanitizeLogText(msg) };
    for (const sink of this.root.sinks) {
      try {
        sink(rec);
      } catch {
        // A broken sink must never take the bridge down.
      }
    }
  }

  error(msg: string): void { this.log('error', msg); }
  warn(msg: string): void { this.log('warn', msg); }
  info(msg: string): void { this.log('info', msg); }
  debug(msg: string): void { this.log('debug', msg); }
  trace(msg: string): void { this.log('trace', msg); }
}

/** Drops query string and fragment: pre-signed URLs carry credentials there. */
export function redactUrl(url: string): string {
  const cut = url.search(/[?#]/);
  return cut === -1 ? url : url.slice(0, cut) + '?…';
}

/** Error message without stack, for log lines. */
export function errText(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
