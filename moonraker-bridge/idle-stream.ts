// Quiet status stream at idle. Klipper pushes a notify_status_update on every
// 250 ms tick in which a subscribed field changed; at idle that is only the
// thermistors' noise (temperatures carry 2 decimals), 4 wake-ups a second and
// the whole idle CPU of the bridge. While the printer is idle the subscription
// drops the heaters' and sensors' temperatures (targets, print_stats and every
// other object stay pushed) and the temperatures are polled with
// printer.objects.query every `pollMs` instead. The moment the printer stops
// being idle (a target set, a print started, the toolhead busy, the owner
// holding the full stream for a cloud job) the full subscription comes back.
//
// Idle means ALL of: Klippy ready; print_stats.state neither printing nor
// paused; idle_timeout.state not "Printing" (the toolhead is not running
// G-code); every heater's target 0 (or unknown) and its temperature below
// 50 °C (a hot nozzle cooling after a print is followed live, as the status
// reporter treats it as active); no hold from the owner. Quiet
// mode starts only after that held for `quietAfterMs` (no flapping between
// the commands of a macro, cooling after a print is still followed live for a while).
//
// printer.objects.subscribe replaces the connection's whole subscription and
// its reply carries the current value of every requested field, so a switch
// loses no transition: the reply is merged into the model, and deltas that
// follow the reply are applied after it (KlippySync buffers them).
import type { BridgeClock, BridgeLogger } from './deps.js';
import { errorText } from './deps.js';
import type { PrinterModel, PrinterSnapshot } from './printer-model.js';

export type Subscription = Readonly<Record<string, readonly string[] | null>>;
export type StreamMode = 'full' | 'quiet';

export interface IdleStreamOptions {
  model: PrinterModel;
  clock: BridgeClock;
  log: BridgeLogger;
  /** The subscription made at connect (everything the bridge follows). */
  full: Subscription;
  /** Heaters and sensors (available_heaters + available_sensors). */
  heaters: readonly string[];
  /** Temperature poll period in quiet mode. */
  pollMs: number;
  /** How long the printer must stay idle before the stream goes quiet. */
  quietAfterMs: number;
  /** Replaces the subscription and merges the reply into the model; false if the connection moved on. */
  resubscribe(objects: Subscription): Promise<boolean>;
  /** printer.objects.query; the result is merged into the model by the caller of `poll`. */
  query(objects: Subscription): Promise<{ status: Record<string, Record<string, unknown>>; eventtime: number }>;
  /** The owner wants every field pushed (e.g. a cloud job is on its way). */
  held(): boolean;
  /** A resubscribe failed (not a closed connection): the owner restarts the setup. */
  onFailure(err: unknown): void;
  onModeChange?(mode: StreamMode): void;
}

/** Above this a heater is still hot (cooling after a print): the full stream stays (the reporter's isActive uses the same 50 °C). */
export const HOT_C = 50;

/** The idle rule above, on one snapshot. */
export function isIdle(s: PrinterSnapshot): boolean {
  if (s.klippyState !== 'ready') return false;
  const state = s.print_stats.state;
  if (state === 'printing' || state === 'paused') return false;
  if (s.idle_timeout.state === 'Printing') return false;
  for (const h of s.heaters) {
    if (h.kind !== 'heater') continue;
    if (h.target !== null && h.target !== 0) return false;
    if (h.temperature !== null && h.temperature > HOT_C) return false;
  }
  return true;
}

/** The quiet subscription: heaters keep only `target`, plain sensors are polled, temperature_fan (has a target) stays full. */
export function quietSubscription(full: Subscription, heaterNames: ReadonlySet<string>, polled: ReadonlySet<string>): Record<string, readonly string[] | null> {
  const out: Record<string, readonly string[] | null> = {};
  for (const [name, fields] of Object.entries(full)) {
    if (!polled.has(name)) out[name] = fields;
    else if (heaterNames.has(name)) out[name] = ['target'];
  }
  return out;
}

export class IdleStream {
  private mode: StreamMode = 'full';
  private stopped = true;
  private switching = false;
  private quietTimer: unknown;
  private pollTimer: unknown;
  private polls = 0;
  private unsubscribe: (() => void) | undefined;

  constructor(private readonly opts: IdleStreamOptions) {}

  get currentMode(): StreamMode {
    return this.mode;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.unsubscribe = this.opts.model.on('objectsChanged', ({ changed }) => {
      if (relevant(changed)) this.evaluate();
    });
    this.evaluate();
  }

  stop(): void {
    this.stopped = true;
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    this.clearQuietTimer();
    this.clearPollTimer();
  }

  /** Re-reads the rule now (e.g. the owner's hold changed). */
  evaluate(): void {
    if (this.stopped || this.switching) return;
    const idle = isIdle(this.opts.model.snapshot()) && !this.opts.held();
    if (this.mode === 'quiet') {
      if (!idle) void this.switchTo('full');
      return;
    }
    if (!idle) {
      this.clearQuietTimer();
      return;
    }
    if (this.quietTimer !== undefined || this.polledNames().polled.size === 0) return;
    this.quietTimer = this.opts.clock.setTimeout(() => {
      this.quietTimer = undefined;
      if (this.stopped || this.switching || this.mode !== 'full') return;
      if (isIdle(this.opts.model.snapshot()) && !this.opts.held()) void this.switchTo('quiet');
    }, this.opts.quietAfterMs);
  }

  private polledNames(): { heaters: Set<string>; polled: Set<string> } {
    const snap = this.opts.model.snapshot();
    const heaters = new Set(snap.heaters.filter((h) => h.kind === 'heater').map((h) => h.name));
    const polled = new Set(this.opts.heaters.filter((n) => Object.hasOwn(this.opts.full, n) && !n.startsWith('temperature_fan ')));
    return { heaters, polled };
  }

  private async switchTo(mode: StreamMode): Promise<void> {
    this.switching = true;
    this.clearQuietTimer();
    this.clearPollTimer();
    this.polls++; // a poll in flight belongs to the old mode: its answer is dropped
    const { heaters, polled } = this.polledNames();
    const objects = mode === 'full' ? this.opts.full : quietSubscription(this.opts.full, heaters, polled);
    let ok: boolean;
    try {
      ok = await this.opts.resubscribe(objects);
    } catch (err) {
      this.switching = false;
      if (!this.stopped) this.opts.onFailure(err);
      return;
    }
    this.switching = false;
    if (!ok || this.stopped) return;
    this.mode = mode;
    this.opts.log.debug(`status stream: ${mode}${mode === 'quiet' ? ` (temperatures polled every ${this.opts.pollMs} ms)` : ''}`);
    this.opts.onModeChange?.(mode);
    if (mode === 'quiet') this.schedulePoll();
    // The rule may have changed while the subscribe was in flight.
    this.evaluate();
  }

  private schedulePoll(): void {
    this.clearPollTimer();
    this.pollTimer = this.opts.clock.setTimeout(() => {
      this.pollTimer = undefined;
      void this.poll();
    }, this.opts.pollMs);
  }

  private async poll(): Promise<void> {
    if (this.stopped || this.mode !== 'quiet') return;
    const seq = ++this.polls;
    const objects: Record<string, null> = {};
    for (const name of this.polledNames().polled) objects[name] = null;
    try {
      const reply = await this.opts.query(objects);
      if (this.stopped || seq !== this.polls || this.mode !== 'quiet') return;
      this.opts.model.applyUpdate([reply.status, reply.eventtime]);
    } catch (err) {
      if (this.stopped || seq !== this.polls) return;
      this.opts.log.debug(`temperature poll failed: ${errorText(err)}`);
    }
    if (!this.stopped && seq === this.polls && this.mode === 'quiet') this.schedulePoll();
  }

  private clearQuietTimer(): void {
    if (this.quietTimer === undefined) return;
    this.opts.clock.clearTimeout(this.quietTimer);
    this.quietTimer = undefined;
  }

  private clearPollTimer(): void {
    if (this.pollTimer === undefined) return;
    this.opts.clock.clearTimeout(this.pollTimer);
    this.pollTimer = undefined;
  }
}

/** Changes that can move the idle rule: print state, toolhead activity, Klippy state, any target. */
function relevant(changed: Record<string, Record<string, unknown>>): boolean {
  for (const name in changed) {
    if (name === 'print_stats' || name === 'idle_timeout' || name === 'webhooks') return true;
    // Objects the bridge does not interpret are passed through unchecked: any value can come here.
    const fields: unknown = changed[name];
    if (typeof fields === 'object' && fields !== null && 'target' in fields) return true;
  }
  return false;
}
