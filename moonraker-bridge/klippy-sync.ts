// Keeps the PrinterModel in step with Klippy over one open Moonraker
// connection: server.info until klippy_state is ready (every 2 s while
// startup/error/shutdown/disconnected; Moonraker only notifies ready, shutdown
// and disconnected), then printer.objects.list, one query for heaters and
// configfile settings, and ONE printer.objects.subscribe. Starts over on every
// notify_klippy_ready / shutdown / disconnected. One instance per connection.
// Then, while the printer is idle, IdleStream (idle-stream.ts) swaps that
// subscription for a quiet one (temperatures polled) and back.
import { z } from 'zod';
import type { BridgeClock, BridgeLogger } from './deps.js';
import { errorText } from './deps.js';
import { RpcClosedError, parseReply, type CallOptions, type RpcParams } from './json-rpc.js';
import { BASE_SUBSCRIPTION, filamentSensorName } from './printer-objects.js';
import { mergeDeep, type ConnectionState, type PrinterModel } from './printer-model.js';
import { IdleStream, type StreamMode, type Subscription } from './idle-stream.js';

export interface KlippySyncOptions {
  call(method: string, params?: RpcParams, options?: CallOptions): Promise<unknown>;
  model: PrinterModel;
  log: BridgeLogger;
  clock: BridgeClock;
  pollMs: number;
  /** server.info answered: Moonraker accepts this connection. */
  onServerAnswered(): void;
  /** Klippy is ready and subscribed. */
  onReady(e: { objects: string[]; heaters: string[] }): void;
  /** An error the connection owner must handle (timeout, unauthorized). Return true if handled. */
  onConnectionError(err: unknown): boolean;
  /** Quiet stream at idle (idle-stream.ts): temperature poll period; 0 keeps the full stream always. */
  idlePollMs?: number;
  /** How long the printer must stay idle before the stream goes quiet. */
  quietAfterMs?: number;
  /** The owner wants the full stream (a cloud job is on its way). */
  holdFullStream?(): boolean;
  onStreamMode?(mode: StreamMode): void;
}

/** Defaults: a temperature drift at idle reaches the model within 5 s; 10 s of idle before going quiet. */
export const IDLE_POLL_MS = 5_000;
export const QUIET_AFTER_MS = 10_000;

const serverInfoSchema = z.looseObject({
  klippy_connected: z.boolean().optional(),
  klippy_state: z.enum(['disconnected', 'startup', 'ready', 'error', 'shutdown']),
});
const printerInfoSchema = z.looseObject({ state: z.string().optional(), state_message: z.string().optional() });
const objectsListSchema = z.looseObject({ objects: z.array(z.string()) });
const statusReplySchema = z.looseObject({
  eventtime: z.number(),
  status: z.record(z.string(), z.record(z.string(), z.unknown())),
});

export class KlippySync {
  private run = 0;
  private stopped = false;
  private pollTimer: unknown;
  private pollWake: (() => void) | undefined;
  /** While a subscribe is in flight: deltas that arrived after its reply, applied after the reply. */
  private subscribeBuffer: { afterReply: boolean; updates: unknown[] } | undefined;
  private idle: IdleStream | undefined;

  constructor(private readonly opts: KlippySyncOptions) {}

  /** (Re)starts the cycle from server.info. */
  start(): void {
    this.cancel();
    if (this.stopped) return;
    const run = this.run;
    void this.cycle(run).catch((err: unknown) => this.onError(run, err));
  }

  stop(): void {
    this.stopped = true;
    this.cancel();
  }

  /** Handles Klippy-related notifications; returns false for anything else. */
  handleNotification(method: string, params: unknown): boolean {
    switch (method) {
      case 'notify_status_update': {
        const buffer = this.subscribeBuffer;
        if (!buffer) this.opts.model.applyUpdate(params);
        else if (buffer.afterReply) buffer.updates.push(params);
        return true;
      }
      case 'notify_klippy_ready':
        this.start();
        return true;
      case 'notify_klippy_shutdown':
        // The state (with printer.info's state_message) follows from server.info at once.
        this.start();
        return true;
      case 'notify_klippy_disconnected':
        this.setState('klippy_disconnected', 'Klippy disconnected from Moonraker');
        this.start();
        return true;
      default:
        return false;
    }
  }

  /** 'quiet' while the idle stream polls temperatures (idle-stream.ts). */
  get streamMode(): StreamMode {
    return this.idle?.currentMode ?? 'full';
  }

  /** The owner's hold on the full stream changed: apply it now. */
  reevaluateStream(): void {
    this.idle?.evaluate();
  }

  private cancel(): void {
    this.run++;
    this.idle?.stop();
    this.idle = undefined;
    this.subscribeBuffer = undefined;
    this.opts.clock.clearTimeout(this.pollTimer);
    this.pollTimer = undefined;
    const wake = this.pollWake;
    this.pollWake = undefined;
    wake?.();
  }

  private current(run: number): boolean {
    return !this.stopped && run === this.run;
  }

  private async parsed<T>(schema: z.ZodType<T>, method: string, params?: RpcParams, options?: CallOptions): Promise<T> {
    return parseReply(schema, method, await this.opts.call(method, params, options));
  }

  private async cycle(run: number): Promise<void> {
    for (;;) {
      const info = await this.parsed(serverInfoSchema, 'server.info');
      if (!this.current(run)) return;
      this.opts.onServerAnswered();
      const state = info.klippy_state;
      if (state === 'ready') {
        const ok = await this.subscribe(run);
        if (ok || !this.current(run)) return;
      } else {
        const message = state === 'disconnected' ? 'Klippy is not connected to Moonraker' : await this.stateMessage(state);
        if (!this.current(run)) return;
        this.setState(`klippy_${state}`, message);
      }
      await this.sleep(this.opts.pollMs);
      if (!this.current(run)) return;
    }
  }

  private onError(run: number, err: unknown): void {
    if (!this.current(run) || err instanceof RpcClosedError) return;
    if (this.opts.onConnectionError(err)) return;
    // Klippy went away mid-sequence, or a reply had an unexpected shape: try again shortly.
    this.opts.log.warn(`printer setup failed: ${errorText(err)}; retrying`);
    void this.sleep(this.opts.pollMs).then(() => {
      if (this.current(run)) this.start();
    });
  }

  private async stateMessage(state: string): Promise<string> {
    try {
      const info = await this.parsed(printerInfoSchema, 'printer.info');
      return info.state_message ?? '';
    } catch (err) {
      if (err instanceof RpcClosedError) throw err;
      return `Klippy state: ${state}`;
    }
  }

  private setState(state: ConnectionState, message: string): void {
    if (this.opts.model.connectionState !== state) this.opts.log.info(`Klippy: ${state.replace('klippy_', '')}${message ? ` (${message.trim()})` : ''}`);
    this.opts.model.setConnection(state, message);
  }

  /** Lists objects, queries heaters + configfile once, subscribes once. Returns false if Klippy is not ready after all. */
  private async subscribe(run: number): Promise<boolean> {
    const list = await this.parsed(objectsListSchema, 'printer.objects.list');
    if (!this.current(run)) return true;
    const loaded = new Set(list.objects);
    this.opts.model.setObjectList(list.objects);
    // configfile is big and (nearly) static: query it once instead of subscribing.
    const queryObjects: Record<string, string[] | null> = { heaters: null };
    if (loaded.has('configfile')) queryObjects.configfile = ['settings'];
    const query = await this.parsed(statusReplySchema, 'printer.objects.query', { objects: queryObjects });
    if (!this.current(run)) return true;
    const heaters = heaterNames(query.status.heaters);
    const objects: Record<string, readonly string[] | null> = {};
    for (const [name, fields] of Object.entries(BASE_SUBSCRIPTION)) {
      if (loaded.size === 0 || loaded.has(name)) objects[name] = fields;
    }
    for (const name of heaters) objects[name] = null;
    // Runout sensors: a pause for runout is shown as "Changing filament".
    for (const name of list.objects) if (filamentSensorName(name) !== undefined) objects[name] = null;
    // Deltas before the reply are already in it; deltas after it (possibly in the
    // same tick, before this continuation runs) must be applied on top of it.
    const buffer: { afterReply: boolean; updates: unknown[] } = { afterReply: false, updates: [] };
    this.subscribeBuffer = buffer;
    let sub: z.infer<typeof statusReplySchema>;
    try {
      sub = await this.parsed(statusReplySchema, 'printer.objects.subscribe', { objects }, { onReplyFrame: () => (buffer.afterReply = true) });
    } finally {
      if (this.subscribeBuffer === buffer) this.subscribeBuffer = undefined;
    }
    if (!this.current(run)) return true;
    const status: Record<string, Record<string, unknown>> = { ...query.status };
    for (const [name, fields] of Object.entries(sub.status)) status[name] = mergeDeep(status[name] ?? {}, fields);
    if (query.status.configfile) status.configfile = trimConfigfile(query.status.configfile, heaters);
    this.opts.model.replaceAll(status, sub.eventtime);
    for (const update of buffer.updates) this.opts.model.applyUpdate(update);
    const webhooks = sub.status.webhooks;
    const whState = typeof webhooks?.state === 'string' ? webhooks.state : 'ready';
    const whMessage = typeof webhooks?.state_message === 'string' ? webhooks.state_message : '';
    if (whState !== 'ready') {
      this.setState(whState === 'shutdown' || whState === 'error' || whState === 'startup' ? `klippy_${whState}` : 'klippy_disconnected', whMessage);
      return false;
    }
    this.setState('klippy_ready', whMessage);
    this.opts.onReady({ objects: Object.keys(objects), heaters });
    this.startIdleStream(run, objects, heaters);
    return true;
  }

  private startIdleStream(run: number, full: Subscription, heaters: string[]): void {
    const pollMs = this.opts.idlePollMs ?? IDLE_POLL_MS;
    if (pollMs <= 0 || !this.current(run)) return;
    this.idle = new IdleStream({
      model: this.opts.model,
      clock: this.opts.clock,
      log: this.opts.log,
      full,
      heaters,
      pollMs,
      quietAfterMs: this.opts.quietAfterMs ?? QUIET_AFTER_MS,
      resubscribe: (objects) => this.resubscribe(run, objects),
      query: async (objects) => {
        const reply = await this.parsed(statusReplySchema, 'printer.objects.query', { objects: { ...objects } });
        return { status: reply.status, eventtime: reply.eventtime };
      },
      held: () => this.opts.holdFullStream?.() ?? false,
      onFailure: (err) => this.onError(run, err),
      onModeChange: this.opts.onStreamMode,
    });
    this.idle.start();
  }

  /** Replaces the subscription (same buffering as at connect) and merges the reply into the model. */
  private async resubscribe(run: number, objects: Subscription): Promise<boolean> {
    if (!this.current(run)) return false;
    const buffer: { afterReply: boolean; updates: unknown[] } = { afterReply: false, updates: [] };
    this.subscribeBuffer = buffer;
    let sub: z.infer<typeof statusReplySchema>;
    try {
      sub = await this.parsed(statusReplySchema, 'printer.objects.subscribe', { objects: { ...objects } }, { onReplyFrame: () => (buffer.afterReply = true) });
    } catch (err) {
      if (err instanceof RpcClosedError || !this.current(run)) return false;
      throw err;
    } finally {
      if (this.subscribeBuffer === buffer) this.subscribeBuffer = undefined;
    }
    if (!this.current(run)) return false;
    this.opts.model.applyUpdate([sub.status, sub.eventtime]);
    for (const update of buffer.updates) this.opts.model.applyUpdate(update);
    return true;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.opts.clock.clearTimeout(this.pollTimer);
      const previous = this.pollWake;
      this.pollWake = resolve;
      previous?.();
      this.pollTimer = this.opts.clock.setTimeout(() => {
        this.pollTimer = undefined;
        if (this.pollWake === resolve) this.pollWake = undefined;
        resolve();
      }, ms);
    });
  }
}

function heaterNames(heaters: Record<string, unknown> | undefined): string[] {
  const out: string[] = [];
  for (const key of ['available_heaters', 'available_sensors']) {
    const list = heaters?.[key];
    if (Array.isArray(list)) for (const n of list) if (typeof n === 'string' && !out.includes(n)) out.push(n);
  }
  return out;
}

/** configfile.settings can be large; keep the heater/sensor sections (max_temp) and [printer]. */
function trimConfigfile(configfile: Record<string, unknown>, heaters: readonly string[]): Record<string, unknown> {
  const settings = configfile.settings;
  if (typeof settings !== 'object' || settings === null || Array.isArray(settings)) return configfile;
  const all = settings as Record<string, unknown>;
  const kept: Record<string, unknown> = {};
  for (const name of ['printer', ...heaters]) {
    const key = name in all ? name : name.toLowerCase();
    if (key in all) kept[key] = all[key];
  }
  return { ...configfile, settings: kept };
}
