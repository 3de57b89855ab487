// The cloud's `update`: asks Moonraker's update_manager to update this service
// (refused while printing), reports status 8 while it runs, and persists the
// intent so the restarted service can confirm which version it came back as.
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { readFileIfExists, writeJsonAtomic } from '../util/atomic-file.js';
import { errText } from '../util/log.js';
import { VERSION } from '../version.js';
import { UPDATE_MANAGER_NAME, type CloudSession } from './cloud-session.js';
import { announce, isPrinting, type Feature, type FeatureContext } from './feature-context.js';

export const UPDATE_INTENT_FILE = 'update-intent.json';
const intentSchema = z.object({ fromVersion: z.string(), requestedAt: z.number() });
/** An update is allowed this long before it counts as failed. */
const UPDATE_TIMEOUT_MS = 20 * 60_000;

export class SelfUpdate implements Feature {
  private offs: (() => void)[] = [];
  private busy = false;
  /** Intent found at start: confirmed after the first hello. */
  private pendingConfirm: z.infer<typeof intentSchema> | null = null;

  constructor(
    private readonly ctx: FeatureContext,
    private readonly session: CloudSession,
  ) {}

  private get intentPath(): string {
    return join(this.ctx.config.data_dir, UPDATE_INTENT_FILE);
  }

  /** Reads a leftover intent (call before start). */
  async load(): Promise<void> {
    const text = await readFileIfExists(this.intentPath);
    if (text === undefined) return;
    try {
      this.pendingConfirm = intentSchema.parse(JSON.parse(text));
    } catch (err) {
      this.ctx.log.warn(`ignoring unreadable ${this.intentPath}: ${errText(err)}`);
      await rm(this.intentPath, { force: true });
    }
  }

  start(): void {
    this.offs.push(
      this.ctx.polar.onCommand('update', () => void this.update()),
      this.ctx.polar.events.on('online', () => void this.confirm()),
    );
  }

  stop(): void {
    for (const off of this.offs.splice(0)) off();
  }

  private async confirm(): Promise<void> {
    const intent = this.pendingConfirm;
    if (!intent) return;
    this.pendingConfirm = null;
    const msg =
      intent.fromVersion === VERSION
        ? `update finished, still running ${VERSION} (no newer version was installed)`
        : `updated from ${intent.fromVersion} to ${VERSION}`;
    announce(this.ctx, msg, 'info');
    await rm(this.intentPath, { force: true }).catch(() => undefined);
  }

  private async update(): Promise<void> {
    if (this.busy) return;
    if (isPrinting(this.ctx)) {
      announce(this.ctx, 'update refused: a print is running; update again when it has finished');
      this.ctx.status.sendNow();
      return;
    }
    this.busy = true;
    try {
      await writeJsonAtomic(this.intentPath, { fromVersion: VERSION, requestedAt: this.ctx.clock.now() });
      this.ctx.status.setUpdating(true);
      this.ctx.status.sendNow();
      this.ctx.log.info(`updating ${UPDATE_MANAGER_NAME} through Moonraker's update_manager`);
      // Moonraker restarts this service when the update changed it; if we are still here, nothing changed.
      await withTimeout(this.ctx.api.updateUpgrade(UPDATE_MANAGER_NAME), UPDATE_TIMEOUT_MS, 'update timed out');
      announce(this.ctx, `update_manager finished; this service is still running ${VERSION}`, 'info');
      await rm(this.intentPath, { force: true });
      await this.session.sendVersion();
    } catch (err) {
      announce(this.ctx, `update failed: ${errText(err)}`);
      await rm(this.intentPath, { force: true }).catch(() => undefined);
    } finally {
      this.busy = false;
      this.ctx.status.setUpdating(false);
      this.ctx.status.sendNow();
    }
  }
}

function withTimeout<T>(p: Promise<T>, ms: number, msg: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(msg)), ms);
      timer.unref?.();
    }),
  ]).finally(() => clearTimeout(timer));
}
