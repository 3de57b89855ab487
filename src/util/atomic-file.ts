// Crash-safe file writes: temp file in the same directory, fsync, rename,
// fsync the directory. A reader sees the old file or the new one, never half.
import { promises as fs, constants as fsConstants } from 'node:fs';
import { dirname, basename, join } from 'node:path';
import { randomBytes } from 'node:crypto';

export interface WriteOptions {
  /** File mode, e.g. 0o600 for secrets. Applied before any byte is written. */
  mode?: number;
}

export async function writeFileAtomic(path: string, data: string | Uint8Array, opts: WriteOptions = {}): Promise<void> {
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  const mode = opts.mode ?? 0o644;
  const fh = await fs.open(tmp, fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL, mode);
  try {
    await fh.writeFile(data);
    // The umask may have narrowed the mode; secrets must be exactly `mode`.
    await fh.chmod(mode);
    await fh.sync();
  } catch (err) {
    await fh.close().catch(() => undefined);
    await fs.rm(tmp, { force: true });
    throw err;
  }
  await fh.close();
  try {
    await fs.rename(tmp, path);
  } catch (err) {
    await fs.rm(tmp, { force: true });
    throw err;
  }
  await fsyncDir(dir);
}

async function fsyncDir(dir: string): Promise<void> {
  let dh: fs.FileHandle | undefined;
  try {
    dh = await fs.open(dir, 'r');
    await dh.sync();
  } catch {
    // Some filesystems refuse fsync on directories; the rename is still atomic.
  } finally {
    await dh?.close().catch(() => undefined);
  }
}

export async function writeJsonAtomic(path: string, value: unknown, opts: WriteOptions = {}): Promise<void> {
  await writeFileAtomic(path, JSON.stringify(value, null, 2) + '\n', opts);
}

/** Reads a file, or returns undefined when it does not exist. */
export async function readFileIfExists(path: string): Promise<string | undefined> {
  try {
    return await fs.readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** Creates a private directory (0700) if missing; tightens an existing one. */
export async function ensurePrivateDir(dir: string): Promise<void> {
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  await fs.chmod(dir, 0o700);
}

/**
 * Removes leftover temp files from writes interrupted by a crash. Only files
 * older than `minAgeMs`: a younger one may belong to a write in progress in
 * another process (e.g. `polarcloud register` while the service runs).
 */
export async function removeStaleTempFiles(dir: string, minAgeMs = 60_000, now = Date.now()): Promise<number> {
  let removed = 0;
  for (const name of await fs.readdir(dir).catch(() => [] as string[])) {
    if (!(name.startsWith('.') && name.endsWith('.tmp'))) continue;
    const st = await fs.stat(join(dir, name)).catch(() => undefined);
    if (!st || now - st.mtimeMs < minAgeMs) continue;
    await fs.rm(join(dir, name), { force: true });
    removed++;
  }
  return removed;
}
