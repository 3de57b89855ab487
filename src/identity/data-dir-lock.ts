// One process per data folder. Two bridges on one folder are one printer
// twice: both go online with the same serial and the cloud sees their
// statuses interleave. The lock is a file holding the holder's PID and the
// boot it ran in; a lock whose PID is gone, or which was written before the
// last reboot (PIDs repeat after a power cut), is taken over.
import { readFileSync } from 'node:fs';
import { open, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';

export const LOCK_FILE = 'polarcloud.lock';

export class DataDirLockedError extends Error {
  constructor(
    readonly dataDir: string,
    readonly pid: number,
  ) {
    super(
      `${dataDir} is in use by another moonraker-polarcloud process (PID ${pid}); ` +
        'one process per printer: stop it first (sudo systemctl stop moonraker-polarcloud…) or use the running service',
    );
    this.name = 'DataDirLockedError';
  }
}

function bootId(): string {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return '';
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

interface Holder {
  pid: number;
  boot: string;
}

function parseHolder(text: string): Holder | undefined {
  const [pidText, boot = ''] = text.trim().split(/\s+/);
  const pid = Number(pidText);
  return Number.isInteger(pid) && pid > 0 ? { pid, boot } : undefined;
}

export class DataDirLock {
  private held = false;

  constructor(readonly dataDir: string) {}

  get path(): string {
    return join(this.dataDir, LOCK_FILE);
  }

  get isHeld(): boolean {
    return this.held;
  }

  /** Takes the lock (no-op if this object holds it); throws DataDirLockedError if a live process has it. */
  async acquire(): Promise<void> {
    if (this.held) return;
    const me = `${process.pid} ${bootId()}\n`;
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        const fh = await open(this.path, 'wx', 0o600);
        try {
          await fh.writeFile(me);
        } finally {
          await fh.close();
        }
        this.held = true;
        return;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      const text = await readFile(this.path, 'utf8').catch(() => '');
      const holder = parseHolder(text);
      const boot = bootId();
      const live = holder !== undefined && (holder.boot === '' || boot === '' || holder.boot === boot) && alive(holder.pid);
      if (live) throw new DataDirLockedError(this.dataDir, holder.pid);
      // Stale (dead PID, an earlier boot, or unreadable): remove it and try again.
      await rm(this.path, { force: true });
    }
    throw new Error(`${this.path}: could not take the lock (another process keeps taking it)`);
  }

  /** Gives the lock up if this object holds it (and the file is still ours). */
  async release(): Promise<void> {
    if (!this.held) return;
    this.held = false;
    const holder = parseHolder(await readFile(this.path, 'utf8').catch(() => ''));
    if (holder?.pid === process.pid) await rm(this.path, { force: true });
  }
}
