// Several printers on one host share one checkout. An update through one
// printer's Moonraker replaces dist/polarcloud.mjs and restarts that printer's
// service only; the others would keep running the old version until a reboot.
// So the service watches its own bundle: when it changes, it restarts once the
// printer is idle (no print, no cloud job on its way) by exiting — under
// systemd (Restart=always) that is a restart. Run by hand, it only says so.
import { watch, type FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { basename, dirname } from 'node:path';
import type { Controller } from '../controller.js';
import { errText, type Logger } from '../util/log.js';

/** Let a `git pull` finish writing before the file is read. */
const SETTLE_MS = 3000;
/** How often to look again while a print keeps the service from restarting. */
const IDLE_CHECK_MS = 10_000;

/** The bundle's content hash (undefined when it cannot be read). */
export async function digest(file: string): Promise<string | undefined> {
  try {
    return createHash('sha256').update(await readFile(file)).digest('hex');
  } catch {
    return undefined;
  }
}

export class BundleWatch {
  private watcher: FSWatcher | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private original: string | undefined;
  private announced = false;

  constructor(
    private readonly bundle: string,
    private readonly c: Pick<Controller, 'printer' | 'jobs'>,
    private readonly log: Logger,
    /** Called once the new bundle is there and the printer is idle. */
    private readonly restart: () => void,
    private readonly underSystemd = process.env.INVOCATION_ID !== undefined,
    /** Tests shorten the waits. */
    private readonly timing = { settleMs: SETTLE_MS, idleCheckMs: IDLE_CHECK_MS },
  ) {}

  /**
   * `loaded`: the digest taken when the process started, before the (slow) controller start, so a
   * change during that start is not missed.
   */
  async start(loaded?: string): Promise<void> {
    this.original = loaded ?? (await digest(this.bundle));
    if (this.original === undefined) return;
    try {
      // The folder, not the file: git replaces the file (a new inode) rather than writing into it.
      this.watcher = watch(dirname(this.bundle), (_event, name) => {
        if (name === null || name.toString() === basename(this.bundle)) this.schedule(this.timing.settleMs);
      });
      this.watcher.on('error', (err) => this.log.debug(`bundle watch: ${errText(err)}`));
    } catch (err) {
      this.log.debug(`cannot watch ${this.bundle}: ${errText(err)}`);
    }
    // Replaced while the service was starting: look now.
    if (loaded !== undefined) this.schedule(0);
  }

  stop(): void {
    this.watcher?.close();
    this.watcher = undefined;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(ms: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.check(), ms);
  }

  private idle(): boolean {
    const state = this.c.printer.snapshot().print_stats.state;
    return state !== 'printing' && state !== 'paused' && !this.c.jobs.pendingCloud;
  }

  private async check(): Promise<void> {
    this.timer = undefined;
    const now = await digest(this.bundle);
    if (now === undefined || now === this.original) return;
    if (!this.underSystemd) {
      if (!this.announced) this.log.warn(`${this.bundle} was updated; restart this bridge to run the new version`);
      this.announced = true;
      return;
    }
    if (!this.idle()) {
      if (!this.announced) this.log.info(`${this.bundle} was updated; restarting once the printer is idle`);
      this.announced = true;
      this.schedule(this.timing.idleCheckMs);
      return;
    }
    this.log.info(`${this.bundle} was updated (one checkout serves every printer on this host): restarting to run the new version`);
    this.stop();
    this.restart();
  }
}
