// A log file that can never fill the SD card: appended synchronously (lines
// are small and rare; no lines lost on a crash), rotated in-process when it
// passes maxBytes: file → file.1 → … → file.(keep-1), the oldest dropped.
import { closeSync, existsSync, fstatSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { formatRecord, type LogRecord, type LogSink } from './log.js';

export class RotatingFile {
  private fd: number | undefined;
  private size = 0;
  /** After a write error the file is left alone until this time (ms), so a full disk does not spin. */
  private retryAt = 0;

  constructor(
    readonly path: string,
    private readonly maxBytes: number,
    /** Files kept, including the current one. */
    private readonly keep: number,
    /** Called once when writing starts failing (again after a success): an unwritable log is reported, not silently dropped. */
    private readonly onError?: (err: unknown) => void,
  ) {}

  private failing = false;

  /** False while writes fail (the caller may send lines elsewhere). */
  get healthy(): boolean {
    return !this.failing;
  }

  /** Appends a line; false when it could not be written. */
  write(line: string): boolean {
    if (performance.now() < this.retryAt) return false;
    try {
      if (this.fd === undefined) this.open();
      const buf = Buffer.from(line, 'utf8');
      if (this.size > 0 && this.size + buf.length > this.maxBytes) this.rotate();
      writeSync(this.fd!, buf);
      this.size += buf.length;
      this.failing = false;
      return true;
    } catch (err) {
      this.close();
      this.retryAt = performance.now() + 60_000; // monotonic: a clock jump must not silence the log
      if (!this.failing) {
        this.failing = true;
        this.onError?.(err);
      }
      return false;
    }
  }

  close(): void {
    if (this.fd !== undefined) {
      try {
        closeSync(this.fd);
      } catch {
        // already gone
      }
    }
    this.fd = undefined;
  }

  private open(): void {
    mkdirSync(dirname(this.path), { recursive: true });
    this.fd = openSync(this.path, 'a', 0o644);
    this.size = fstatSync(this.fd).size;
  }

  private rotate(): void {
    this.close();
    rmSync(`${this.path}.${this.keep - 1}`, { force: true });
    for (let i = this.keep - 2; i >= 1; i--) {
      if (existsSync(`${this.path}.${i}`)) renameSync(`${this.path}.${i}`, `${this.path}.${i + 1}`);
    }
    if (this.keep > 1) renameSync(this.path, `${this.path}.1`);
    else rmSync(this.path, { force: true });
    this.open();
  }
}

/** Writes to the file; a line the file cannot take goes to `fallback` (the journal) instead of being lost. */
export function fileSink(file: RotatingFile, fallback?: LogSink): LogSink {
  return (rec: LogRecord) => {
    if (!file.write(formatRecord(rec) + '\n')) fallback?.(rec);
  };
}

/** Passes on only records at `min` or more severe (keeps the journal short when a file has the details). */
export function atLeast(min: 'error' | 'warn' | 'info', sink: LogSink): LogSink {
  const order = { error: 0, warn: 1, info: 2, debug: 3, trace: 4 } as const;
  return (rec) => {
    if (order[rec.level] <= order[min]) sink(rec);
  };
}
