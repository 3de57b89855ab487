// Turns the failures a Klipper user can actually meet (a data folder left to
// root by a `sudo` run, a read-only SD card, a corrupt identity file, a port
// already taken) into one line: what (file or port), why, and the fix — plus
// an exit code a script or systemd can act on. The CLI never prints a stack.
import { statSync } from 'node:fs';
import { dirname, resolve, sep } from 'node:path';
import { userInfo } from 'node:os';
import { errText } from '../util/log.js';
import { CorruptFileError } from '../identity/identity-store.js';

/**
 * Exit codes (sysexits.h where one fits). 0 ok, 1 other failure, 2 usage or
 * config error, 65 a corrupt data file, 69 a port already in use, 73 the data
 * folder (or another file we must write) cannot be written.
 */
export const EXIT = { ok: 0, failure: 1, usage: 2, corruptData: 65, unavailable: 69, cannotWrite: 73 } as const;

export interface Failure {
  /** One line: file or port, cause, fix. */
  message: string;
  exitCode: number;
  /** A problem the user fixes on disk; a service may wait and retry (see run-command). */
  fixable: boolean;
}

export interface FailureContext {
  /** The configured data folder: the chown fix names it rather than a single file. */
  dataDir?: string;
  /** The account the service runs as (default: this process's user). */
  user?: string;
}

function currentUser(): string {
  try {
    return userInfo().username;
  } catch {
    return String(process.getuid?.() ?? 'pi');
  }
}

/** The folder the chown fix should name: the data folder when the path is in it, else the nearest folder that exists. */
function ownerFixTarget(path: string, dataDir: string | undefined): string {
  const p = resolve(path);
  if (dataDir) {
    const d = resolve(dataDir);
    if (p === d || p.startsWith(d + sep)) {
      if (exists(d)) return d;
    }
  }
  let cur = p;
  while (!exists(cur) && dirname(cur) !== cur) cur = dirname(cur);
  return cur;
}

function exists(p: string): boolean {
  try {
    statSync(p);
    return true;
  } catch {
    return false;
  }
}

/** The first part of `path` that exists and is not a folder. */
function fileInPath(path: string): string | undefined {
  const parts: string[] = [];
  for (let cur = resolve(path); dirname(cur) !== cur; cur = dirname(cur)) parts.unshift(cur);
  for (const p of parts) {
    try {
      if (!statSync(p).isDirectory()) return p;
    } catch {
      return undefined;
    }
  }
  return undefined;
}

function shellQuote(p: string): string {
  return /^[A-Za-z0-9_./~:@%+-]+$/.test(p) ? p : `'${p.replace(/'/g, `'\\''`)}'`;
}

/** A readable one-line description of a known failure, or undefined for anything else. */
export function describeFailure(err: unknown, ctx: FailureContext = {}): Failure | undefined {
  if (err instanceof CorruptFileError) {
    return {
      message: `${err.path}: ${err.reason}. Fix: move it aside (mv ${shellQuote(err.path)} ${shellQuote(err.path + '.bad')}) and register the printer again (POLAR_REGISTER in the console, or polarcloud register)`,
      exitCode: EXIT.corruptData,
      fixable: true,
    };
  }
  const e = err as NodeJS.ErrnoException & { port?: number; address?: string; dest?: string };
  if (!(err instanceof Error) || typeof e.code !== 'string') return undefined;
  const path = e.path ?? e.dest;
  const user = ctx.user ?? currentUser();
  switch (e.code) {
    case 'EACCES':
    case 'EPERM':
      if (!path) break;
      return {
        message: `cannot access ${path}: permission denied for user ${user} (it belongs to another user, often after running polarcloud with sudo). Fix: sudo chown -R ${user}: ${shellQuote(ownerFixTarget(path, ctx.dataDir))}`,
        exitCode: EXIT.cannotWrite,
        fixable: true,
      };
    case 'EROFS':
      return {
        message: `cannot write ${path ?? 'the data folder'}: the file system is read-only. Fix: check the SD card/disk (dmesg; sudo mount -o remount,rw /) or set data_dir to a writable folder`,
        exitCode: EXIT.cannotWrite,
        fixable: true,
      };
    case 'ENOTDIR':
    case 'EEXIST':
      if (!path) break;
      return {
        message: `cannot create ${path}: ${fileInPath(path) ?? 'part of that path'} is a file, not a folder. Fix: remove or rename that file, or set data_dir (or log.file) to another folder`,
        exitCode: EXIT.cannotWrite,
        fixable: true,
      };
    case 'ENOSPC':
    case 'EDQUOT':
      return {
        message: `cannot write ${path ?? 'to the disk'}: no space left on the device. Fix: free some space (df -h; delete old G-code or timelapses)`,
        exitCode: EXIT.cannotWrite,
        fixable: true,
      };
    case 'EADDRINUSE':
      return {
        message: `port ${e.port ?? '?'} on ${e.address ?? '127.0.0.1'} is already in use (another emulator/simulator, or Moonraker itself). Fix: stop that program or choose another port with --port N`,
        exitCode: EXIT.unavailable,
        fixable: false,
      };
    case 'EADDRNOTAVAIL':
      return {
        message: `cannot listen on ${e.address ?? '?'}:${e.port ?? '?'}: address not available on this machine. Fix: use 127.0.0.1`,
        exitCode: EXIT.unavailable,
        fixable: false,
      };
    default:
      break;
  }
  return undefined;
}

/** The line and exit code for any error: a known failure, else its message (never a stack). */
export function failureLine(err: unknown, ctx: FailureContext = {}): Failure {
  return describeFailure(err, ctx) ?? { message: errText(err), exitCode: EXIT.failure, fixable: false };
}
