// The "clear build plate" gate (issue 18.2, status 15). After a print ends
// (completed, canceled or failed) the plate is assumed occupied; while it is and
// control.require_clear_plate is on, no cloud job starts: it waits at the hand-off
// (cloud-print pipeline) and Polar shows 15 until someone confirms the plate is
// empty — POLAR_PLATE_CLEAR, the front-end method `plate_clear`, or
// `polarcloud plate-clear`. A print started at the printer implies a cleared plate.
// The state lives in data_dir/plate.json so a restart keeps it.
import { join } from 'node:path';
import { z } from 'zod';
import { readFileIfExists, writeJsonAtomic } from '../util/atomic-file.js';
import { errText } from '../util/log.js';
import { TypedEmitter } from '../util/typed-emitter.js';
import { announce, type Feature, type FeatureContext } from './feature-context.js';

export const PLATE_FILE = 'plate.json';
export const PLATE_CLEAR_METHOD = 'polarcloud_plate_clear';

const fileSchema = z.object({ occupied: z.boolean(), since: z.number().optional() });
const ENDED = new Set(['complete', 'cancelled', 'error']);

/** Whether the gate is on: control.require_clear_plate, by default on with control.auto_next_print. */
export function clearPlateRequired(control: { require_clear_plate?: boolean | undefined; auto_next_print: boolean }): boolean {
  return control.require_clear_plate ?? control.auto_next_print;
}

export class BuildPlate implements Feature {
  private offs: (() => void)[] = [];
  private occupiedNow = false;
  /** This print's end already marked the plate (a clear after it must not be undone by the other signal). */
  private endMarked = false;
  /** The print run the tracker last saw start (filename@start). */
  private runKey = '';
  private loaded: Promise<void> = Promise.resolve();
  private saving: Promise<void> = Promise.resolve();
  readonly events = new TypedEmitter<{ changed: { occupied: boolean } }>();
  readonly required: boolean;

  constructor(private readonly ctx: FeatureContext) {
    this.required = clearPlateRequired(ctx.config.control);
  }

  start(): void {
    const { printer, moonraker } = this.ctx;
    this.loaded = this.load();
    this.offs.push(
      printer.on('printStateChanged', ({ from, to }) => {
        // Only a real end of a print (not the state seen on connecting) leaves a part on the plate.
        if (ENDED.has(to) && (from === 'printing' || from === 'paused')) this.printEnded(`the print ended (${to})`);
        else if (to === 'printing' && from !== 'paused') {
          this.endMarked = false;
          // Printing with the plate marked occupied: started at the printer (cloud jobs wait for a clear plate).
          if (this.occupiedNow) this.set(false, 'a print started at the printer');
        }
      }),
      // The tracker's decision can come before print_stats' end (history first): no Ready flash before 15.
      // A cloud job aborted before it printed (`abort:` report) left nothing on the plate.
      // The tracker seeing a new print run (also when a print_stats transition was missed).
      this.ctx.jobs.events.on('changed', () => {
        const j = this.ctx.jobs.job;
        if (!j?.running) return;
        const key = `${j.filename}@${j.startedAt}`;
        if (key === this.runKey) return;
        this.runKey = key;
        this.endMarked = false;
        if (!j.cloud && this.occupiedNow) this.set(false, 'a print started at the printer');
      }),
      this.ctx.jobs.events.on('finished', ({ reports }) => {
        const printed = reports.find((r) => !r.key.startsWith('abort:'));
        if (printed) this.printEnded(`job ${printed.jobId} ended (${printed.state})`);
      }),
      moonraker.on('remoteMethod', ({ method }) => {
        if (method === PLATE_CLEAR_METHOD) this.clear('POLAR_PLATE_CLEAR');
      }),
      moonraker.registerExtensionMethod('plate_clear', async () => this.clear('a front-end')),
    );
  }

  stop(): void {
    for (const off of this.offs.splice(0)) off();
  }

  /** The plate holds the last print's part (whether or not the gate is on). */
  get occupied(): boolean {
    return this.occupiedNow;
  }

  /** A cloud job may not start now: the gate is on and the plate is occupied. */
  get blocking(): boolean {
    return this.required && this.occupiedNow;
  }

  /** Someone confirmed the plate is empty. */
  clear(by: string): { cleared: boolean; wasOccupied: boolean; message: string } {
    const was = this.occupiedNow;
    this.set(false, `cleared by ${by}`);
    const message = was ? 'build plate marked clear' : 'build plate was already marked clear';
    announce(this.ctx, message, 'info');
    return { cleared: true, wasOccupied: was, message };
  }

  /** Resolves once the plate is clear (or the gate is off); rejects when `signal` aborts. */
  async waitClear(signal: AbortSignal): Promise<void> {
    await this.loaded;
    await new Promise<void>((resolve, reject) => {
      const done = (): void => {
        off();
        signal.removeEventListener('abort', onAbort);
      };
      const onAbort = (): void => {
        done();
        reject(new Error('aborted'));
      };
      const off = this.events.on('changed', () => {
        if (!this.blocking) {
          done();
          resolve();
        }
      });
      signal.addEventListener('abort', onAbort);
      if (signal.aborted) onAbort();
      else if (!this.blocking) {
        done();
        resolve();
      }
    });
  }

  /** Resolves when the state from a previous run is loaded (tests, start-up). */
  ready(): Promise<void> {
    return this.loaded;
  }

  /** One end of a print (print_stats or the tracker, whichever comes first) marks the plate once. */
  private printEnded(why: string): void {
    if (this.endMarked) return;
    this.endMarked = true;
    this.set(true, why);
  }

  private set(occupied: boolean, why: string): void {
    if (occupied === this.occupiedNow) return;
    this.occupiedNow = occupied;
    this.ctx.log.info(`build plate ${occupied ? 'occupied' : 'clear'}: ${why}`);
    const file = join(this.ctx.config.data_dir, PLATE_FILE);
    const value = { occupied, since: this.ctx.clock.now() };
    this.saving = this.saving
      .then(() => writeJsonAtomic(file, value))
      .catch((err) => this.ctx.log.warn(`could not save ${file}: ${errText(err)}`));
    this.events.emit('changed', { occupied });
    this.ctx.status.setPlateBlocking(this.blocking);
  }

  private async load(): Promise<void> {
    const file = join(this.ctx.config.data_dir, PLATE_FILE);
    try {
      const text = await readFileIfExists(file);
      if (text === undefined) return;
      const parsed = fileSchema.safeParse(JSON.parse(text));
      if (!parsed.success) {
        this.ctx.log.warn(`${file} is not a build-plate state; assuming the plate is clear`);
        return;
      }
      if (parsed.data.occupied && !this.occupiedNow) {
        this.occupiedNow = true;
        this.events.emit('changed', { occupied: true });
        this.ctx.status.setPlateBlocking(this.blocking);
      }
    } catch (err) {
      this.ctx.log.warn(`could not read ${file}: ${errText(err)}; assuming the plate is clear`);
    }
  }

  /** Resolves once every change is on disk (tests). */
  flushed(): Promise<void> {
    return this.saving;
  }
}
