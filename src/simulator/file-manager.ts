// Moonraker's file_manager for the simulator's roots: gcodes (the printer's
// files, with metadata), config and logs. Emits notify_filelist_changed.
import { promises as fs } from 'node:fs';
import { dirname, join, relative, resolve, sep, extname } from 'node:path';
import type { SimContext } from './context.js';
import { MoonrakerError } from './errors.js';
import { extractMetadata } from './metadata.js';

export const VALID_GCODE_EXTS = ['.gcode', '.g', '.gco', '.ufp', '.nc'];
const WRITABLE = new Set(['gcodes', 'config']);

export interface ItemInfo {
  path: string;
  root: string;
  modified: number;
  size: number;
  permissions: string;
}

async function pathInfo(full: string, root: string): Promise<{ modified: number; size: number; permissions: string }> {
  const st = await fs.stat(full);
  return { modified: st.mtimeMs / 1000, size: st.size, permissions: WRITABLE.has(root) ? 'rw' : 'r' };
}

export class FileManager {
  private readonly metadata = new Map<string, Record<string, unknown>>();

  constructor(private readonly ctx: SimContext) {}

  roots(): Record<string, string> {
    return { config: join(this.ctx.dataDir, 'config'), logs: join(this.ctx.dataDir, 'logs'), gcodes: this.ctx.gcodesDir };
  }

  async start(): Promise<void> {
    const roots = this.roots();
    for (const dir of Object.values(roots)) await fs.mkdir(dir, { recursive: true });
    const cfg = join(roots.config, 'printer.cfg');
    if (!(await fs.stat(cfg).catch(() => null))) {
      await fs.writeFile(cfg, '# Simulated printer\n[virtual_sdcard]\npath: ~/printer_data/gcodes\n[pause_resume]\n[display_status]\n');
    }
    await fs.writeFile(join(roots.logs, 'moonraker.log'), 'Moonraker simulator\n').catch(() => undefined);
    for (const f of await this.listFiles('gcodes')) await this.scanMetadata(f.path).catch(() => undefined);
  }

  /** Splits "root/rel/path" and resolves it on disk (Moonraker's _convert_request_path). */
  resolvePath(requestPath: string): { root: string; full: string; rel: string } {
    const parts = requestPath.replace(/^\/+|\/+$/g, '').split('/');
    const root = parts.shift() ?? '';
    const base = this.roots()[root as 'gcodes'];
    if (!root || base === undefined) throw new MoonrakerError(`Invalid root path (${root})`);
    const full = resolve(base, parts.join('/'));
    if (full !== resolve(base) && !full.startsWith(resolve(base) + sep)) {
      throw new MoonrakerError(`Invalid path request, '${requestPath}'' is outside root '${root}'`);
    }
    return { root, full, rel: relative(resolve(base), full).split(sep).join('/') };
  }

  gcodePath(rel: string): string {
    return this.resolvePath(`gcodes/${rel}`).full;
  }

  async itemInfo(root: string, full: string): Promise<ItemInfo> {
    const rel = relative(resolve(this.roots()[root as 'gcodes']), full).split(sep).join('/');
    const info = await pathInfo(full, root).catch(() => ({ modified: 0, size: 0, permissions: '' }));
    return { path: rel, root, ...info };
  }

  /** Queues notify_filelist_changed shortly after the change, like Moonraker's file observer. */
  notifyChanged(action: string, item: ItemInfo, source?: { path: string; root: string }): { action: string; item: ItemInfo; source_item?: { path: string; root: string } } {
    const info = source ? { action, item, source_item: source } : { action, item };
    this.ctx.clock.setTimeout(() => this.ctx.connections.notify('notify_filelist_changed', [info]), 10);
    return info;
  }

  async listFiles(root: string): Promise<Array<{ path: string; modified: number; size: number; permissions: string }>> {
    const base = this.roots()[root as 'gcodes'];
    if (base === undefined) throw new MoonrakerError(`Root ${root} not available`);
    const out: Array<{ path: string; modified: number; size: number; permissions: string }> = [];
    const walk = async (dir: string): Promise<void> => {
      for (const ent of await fs.readdir(dir, { withFileTypes: true }).catch(() => [])) {
        if (ent.name.startsWith('.')) continue;
        const full = join(dir, ent.name);
        if (ent.isDirectory()) await walk(full);
        else if (ent.isFile() && (root !== 'gcodes' || VALID_GCODE_EXTS.includes(extname(ent.name).toLowerCase()))) {
          out.push({ path: relative(base, full).split(sep).join('/'), ...(await pathInfo(full, root)) });
        }
      }
    };
    await walk(base);
    return out;
  }

  async directory(path: string, extended: boolean): Promise<Record<string, unknown>> {
    const { root, full } = this.resolvePath(path);
    const st = await fs.stat(full).catch(() => null);
    if (!st?.isDirectory()) throw new MoonrakerError(`Directory does not exist (${full})`);
    const dirs: Array<Record<string, unknown>> = [];
    const files: Array<Record<string, unknown>> = [];
    for (const ent of await fs.readdir(full, { withFileTypes: true })) {
      if (ent.name.startsWith('.')) continue;
      const child = join(full, ent.name);
      const info = await pathInfo(child, root).catch(() => null);
      if (!info) continue;
      if (ent.isDirectory()) dirs.push({ ...info, dirname: ent.name });
      else if (ent.isFile()) {
        const entry: Record<string, unknown> = { ...info, filename: ent.name };
        if (extended && root === 'gcodes' && VALID_GCODE_EXTS.includes(extname(ent.name).toLowerCase())) {
          const md = this.metadata.get(relative(this.ctx.gcodesDir, child).split(sep).join('/'));
          if (md) Object.assign(entry, md, { filename: ent.name });
        }
        files.push(entry);
      }
    }
    return { dirs, files, disk_usage: await this.diskUsage(full), root_info: { name: root, permissions: WRITABLE.has(root) ? 'rw' : 'r' } };
  }

  private async diskUsage(path: string): Promise<{ total: number; used: number; free: number }> {
    try {
      const s = await fs.statfs(path);
      const total = s.blocks * s.bsize;
      const free = this.ctx.settings.diskFree ?? s.bavail * s.bsize;
      return { total, used: total - s.bfree * s.bsize, free };
    } catch {
      return { total: 32e9, used: 8e9, free: 24e9 };
    }
  }

  // ---- metadata ----

  async scanMetadata(rel: string): Promise<Record<string, unknown>> {
    // Like Moonraker, a (re)scan starts with no job association.
    const md = { ...(await extractMetadata(this.gcodePath(rel))), print_start_time: null, job_id: null };
    this.metadata.set(rel, md);
    return md;
  }

  getMetadata(rel: string): Record<string, unknown> | undefined {
    const md = this.metadata.get(rel.replace(/^\/+/, ''));
    return md ? { ...md } : undefined;
  }

  setJobInfo(rel: string, jobId: string, startTime: number): void {
    const md = this.metadata.get(rel);
    if (md) Object.assign(md, { print_start_time: startTime, job_id: jobId });
  }

  async fileExists(rel: string, mtime?: number): Promise<boolean> {
    const st = await fs.stat(this.gcodePath(rel)).catch(() => null);
    if (!st?.isFile()) return false;
    return mtime === undefined || Math.abs(st.mtimeMs / 1000 - mtime) < 0.001;
  }

  /** Moonraker's _handle_operation_check: the file loaded for a print in progress is locked. */
  checkNotInUse(full: string): boolean {
    const ps = this.ctx.printer.printStats.snapshot();
    const printing = this.ctx.klippy.connected && this.ctx.printer.isReady && (ps.state === 'printing' || ps.state === 'paused');
    if (ps.filename && printing) {
      const loaded = resolve(this.ctx.gcodesDir, ps.filename);
      if (loaded === full || loaded.startsWith(full + sep)) throw new MoonrakerError('File currently in use', 403);
    }
    return !printing;
  }

  // ---- mutations ----

  /** Writes a file into gcodes (control.addFile); returns the change notification info. */
  async addFile(rel: string, content: string | Buffer): Promise<ItemInfo> {
    const full = this.gcodePath(rel);
    const existed = !!(await fs.stat(full).catch(() => null));
    await fs.mkdir(dirname(full), { recursive: true });
    await fs.writeFile(full, content);
    await this.scanMetadata(this.resolvePath(`gcodes/${rel}`).rel);
    const item = await this.itemInfo('gcodes', full);
    this.notifyChanged(existed ? 'modify_file' : 'create_file', item);
    return item;
  }

  async deleteFile(path: string): Promise<{ item: ItemInfo; action: string }> {
    const { root, full, rel } = this.resolvePath(path);
    if (!WRITABLE.has(root)) throw new MoonrakerError(`Path not available for DELETE: ${path}`, 405);
    const st = await fs.stat(full).catch(() => null);
    if (!st?.isFile()) throw new MoonrakerError(`Invalid file path: ${path}`);
    this.checkNotInUse(full);
    await fs.rm(full);
    if (root === 'gcodes') this.metadata.delete(rel);
    const item: ItemInfo = { path: rel, root, size: 0, modified: 0, permissions: '' };
    return this.notifyChanged('delete_file', item) as { item: ItemInfo; action: string };
  }

  async makeDirectory(path: string): Promise<unknown> {
    const { root, full } = this.resolvePath(path);
    if (!WRITABLE.has(root)) throw new MoonrakerError(`Path not available for POST: ${path}`, 405);
    try {
      await fs.mkdir(full);
    } catch (err) {
      throw new MoonrakerError(err instanceof Error ? err.message : String(err));
    }
    return this.notifyChanged('create_dir', await this.itemInfo(root, full));
  }

  async removeDirectory(path: string, force: boolean): Promise<unknown> {
    const { root, full, rel } = this.resolvePath(path);
    if (!WRITABLE.has(root)) throw new MoonrakerError(`Path not available for DELETE: ${path}`, 405);
    if (!rel) throw new MoonrakerError('Cannot delete root directory');
    const st = await fs.stat(full).catch(() => null);
    if (!st?.isDirectory()) throw new MoonrakerError(`Directory does not exist (${path})`);
    if (force) {
      this.checkNotInUse(full);
      await fs.rm(full, { recursive: true });
      for (const key of [...this.metadata.keys()]) if (root === 'gcodes' && key.startsWith(rel + '/')) this.metadata.delete(key);
    } else {
      try {
        await fs.rmdir(full);
      } catch (err) {
        throw new MoonrakerError(err instanceof Error ? err.message : String(err));
      }
    }
    return this.notifyChanged('delete_dir', { path: rel, root, modified: 0, size: 0, permissions: '' });
  }

  async moveOrCopy(source: string, dest: string, copy: boolean): Promise<unknown> {
    const src = this.resolvePath(source);
    const dst = this.resolvePath(dest);
    if (!WRITABLE.has(dst.root)) throw new MoonrakerError(`Destination path is read-only: ${dst.root}`);
    const st = await fs.stat(src.full).catch(() => null);
    if (!st) throw new MoonrakerError(`File ${src.full} does not exist`);
    if (!copy) this.checkNotInUse(src.full);
    this.checkNotInUse(dst.full);
    const existed = !!(await fs.stat(dst.full).catch(() => null));
    await fs.mkdir(dirname(dst.full), { recursive: true });
    if (copy) await fs.cp(src.full, dst.full, { recursive: true });
    else await fs.rename(src.full, dst.full);
    if (dst.root === 'gcodes' && !st.isDirectory()) await this.scanMetadata(dst.rel).catch(() => undefined);
    if (!copy && src.root === 'gcodes') this.metadata.delete(src.rel);
    const item = await this.itemInfo(dst.root, dst.full);
    if (copy) return this.notifyChanged(st.isDirectory() ? 'create_dir' : existed ? 'modify_file' : 'create_file', item);
    return this.notifyChanged(st.isDirectory() ? 'move_dir' : 'move_file', item, { path: src.rel, root: src.root });
  }
}
