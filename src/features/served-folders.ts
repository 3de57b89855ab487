// data_dir holds the printer's private key: it must never be a folder Moonraker
// serves (any LAN client could download the key), nor contain one. The config
// check (config.ts) can only guess from folder names; here Moonraker itself
// says which folders it serves (server.files.roots), after every connect. A
// data_dir inside a root, or one that contains a root, keeps the bridge off
// Polar Cloud until it is moved.
import { realpathSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';
import type { FileRoot } from '../../moonraker-bridge/index.js';
import { errText } from '../util/log.js';
import type { Feature, FeatureContext } from './feature-context.js';

/** What is wrong with `dataDir` given Moonraker's roots, or undefined when it is private. */
export function servedFolderProblem(dataDir: string, roots: readonly FileRoot[]): string | undefined {
  const data = realPath(dataDir);
  for (const root of roots) {
    if (!isAbsolute(root.path)) continue;
    const r = realPath(root.path);
    if (within(data, r)) return `data_dir ${dataDir} is inside Moonraker's served '${root.name}' folder (${root.path})`;
    if (within(r, data)) return `data_dir ${dataDir} contains Moonraker's served '${root.name}' folder (${root.path})`;
  }
  return undefined;
}

/** `inner` is `outer` or below it. */
function within(inner: string, outer: string): boolean {
  const rel = relative(outer, inner);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

/** Resolves symlinks as far as the path exists (a data_dir may not be created yet). */
function realPath(p: string): string {
  const abs = resolve(p);
  try {
    return realpathSync(abs);
  } catch {
    const parent = dirname(abs);
    return parent === abs ? abs : join(realPath(parent), basename(abs));
  }
}

export class ServedFolderGuard implements Feature {
  private offs: (() => void)[] = [];
  private checkedOnce = false;
  private waiters: (() => void)[] = [];
  /** The reason the bridge stays off Polar Cloud, once Moonraker said so. */
  problem: string | undefined;

  constructor(private readonly ctx: FeatureContext) {}

  start(): void {
    this.offs.push(this.ctx.moonraker.on('ready', () => void this.check()));
  }

  stop(): void {
    for (const off of this.offs.splice(0)) off();
    this.settle();
  }

  /** Resolves after the first answer from Moonraker, or after `timeoutMs` (Moonraker may be down). */
  firstCheck(timeoutMs: number): Promise<void> {
    if (this.checkedOnce) return Promise.resolve();
    return new Promise((resolvePromise) => {
      const t = this.ctx.clock.setTimeout(resolvePromise, timeoutMs);
      this.waiters.push(() => {
        this.ctx.clock.clearTimeout(t);
        resolvePromise();
      });
    });
  }

  private async check(): Promise<void> {
    const { api, config, log, polar } = this.ctx;
    try {
      const roots = await api.fileRoots();
      const problem = servedFolderProblem(config.data_dir, roots);
      if (problem && problem !== this.problem) {
        log.error(`${problem}: any web client could download the printer's private key. Not connecting to Polar Cloud; move it (e.g. data_dir: ~/printer_data/polarcloud) and restart the service`);
        polar.stop();
      }
      this.problem = problem;
    } catch (err) {
      log.debug(`Moonraker's file roots not available (${errText(err)}); only the folder-name check applies`);
    } finally {
      this.settle();
    }
  }

  private settle(): void {
    this.checkedOnce = true;
    for (const w of this.waiters.splice(0)) w();
  }
}
