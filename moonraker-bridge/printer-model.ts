// The printer as last reported by Moonraker: the subscribe reply plus every
// notify_status_update delta, deep-merged per object (copy-on-write, so a
// snapshot someone holds never changes under them), and the connection state
// (Moonraker unreachable and Klippy shutdown/error/disconnected are states of
// the model). Emits one typed event per change.
import { z } from 'zod';
import type { BridgeLogger } from './deps.js';
import { Emitter } from './emitter.js';
import { plainStatusUpdate, plainTemperatureFields } from './fast-checks.js';
import {
  filamentSensorName,
  schemaFor,
  type FilamentSensorStatus,
  temperatureObjectSchema,
  type DisplayStatus,
  type HeatersStatus,
  type IdleTimeoutStatus,
  type PauseResumeStatus,
  type PrintStatsStatus,
  type ToolheadStatus,
  type VirtualSdcardStatus,
  type WebhooksStatus,
} from './printer-objects.js';

export type ConnectionState =
  | 'disconnected'
  | 'connecting'
  | 'unauthorized'
  | 'klippy_startup'
  | 'klippy_ready'
  | 'klippy_shutdown'
  | 'klippy_error'
  | 'klippy_disconnected';

/** Klippy's state as far as the bridge knows; `unknown` while Moonraker is not connected. */
export type KlippyState = 'unknown' | 'startup' | 'ready' | 'shutdown' | 'error' | 'disconnected';

export type ObjectStatus = Readonly<Record<string, unknown>>;

export interface PrinterModelEvents {
  /** Fields that changed, per printer object. */
  objectsChanged: { changed: Record<string, Record<string, unknown>>; eventtime: number };
  /** print_stats.state changed (`from` is null the first time a state is seen). */
  printStateChanged: { from: string | null; to: string; filename: string };
  klippyStateChanged: { from: KlippyState; to: KlippyState; message: string };
  /** The connection state or its message changed (from === to for a new message). */
  connectionChanged: { from: ConnectionState; to: ConnectionState; message: string };
}

export interface HeaterView {
  readonly name: string;
  readonly kind: 'heater' | 'sensor';
  readonly temperature: number | null;
  /** null for sensors. */
  readonly target: number | null;
  readonly power: number | null;
  /** From configfile settings; null until known. */
  readonly max_temp: number | null;
  readonly min_temp: number | null;
}

export interface PrinterSnapshot {
  readonly connection: ConnectionState;
  readonly klippyState: KlippyState;
  /** Klipper's state_message (or the reason Moonraker is unreachable). */
  readonly stateMessage: string;
  readonly eventtime: number;
  readonly webhooks: Readonly<WebhooksStatus>;
  readonly print_stats: Readonly<PrintStatsStatus>;
  readonly virtual_sdcard: Readonly<VirtualSdcardStatus>;
  readonly display_status: Readonly<DisplayStatus>;
  readonly pause_resume: Readonly<PauseResumeStatus>;
  readonly idle_timeout: Readonly<IdleTimeoutStatus>;
  readonly toolhead: Readonly<ToolheadStatus>;
  /** Heaters first (available_heaters order), then sensors. */
  readonly heaters: readonly HeaterView[];
  /** Every loaded Klipper object (printer.objects.list). */
  readonly objectNames: readonly string[];
  /** gcode_macro names, e.g. ['PAUSE', 'CANCEL_PRINT']. */
  readonly macros: readonly string[];
  /** Raw status of any subscribed/queried object. */
  object(name: string): ObjectStatus | undefined;
}

export interface PrinterModelOptions {
  log: BridgeLogger;
}

const statusSchema = z.record(z.string(), z.record(z.string(), z.unknown()));
const updateParamsSchema = z.tuple([statusSchema, z.number()]).rest(z.unknown());

export function klippyStateOf(connection: ConnectionState): KlippyState {
  return connection.startsWith('klippy_') ? (connection.slice('klippy_'.length) as KlippyState) : 'unknown';
}

export class PrinterModel {
  private readonly emitter: Emitter<PrinterModelEvents>;
  private objects = new Map<string, ObjectStatus>();
  private objectNames: readonly string[] = [];
  private macros: readonly string[] = [];
  private connection: ConnectionState = 'disconnected';
  private stateMessage = '';
  private eventtime = 0;
  private printState: string | null = null;
  private cached: PrinterSnapshot | undefined;

  constructor(private readonly opts: PrinterModelOptions) {
    this.emitter = new Emitter<PrinterModelEvents>((event, err) =>
      opts.log.error(`printer model '${event}' listener failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}`),
    );
  }

  on<K extends keyof PrinterModelEvents & string>(event: K, listener: (payload: PrinterModelEvents[K]) => void): () => void {
    return this.emitter.on(event, listener);
  }

  once<K extends keyof PrinterModelEvents & string>(event: K, listener: (payload: PrinterModelEvents[K]) => void): () => void {
    return this.emitter.once(event, listener);
  }

  get connectionState(): ConnectionState {
    return this.connection;
  }

  get klippyState(): KlippyState {
    return klippyStateOf(this.connection);
  }

  setConnection(to: ConnectionState, message = ''): void {
    const from = this.connection;
    if (from === to && message === this.stateMessage) return;
    this.connection = to;
    this.stateMessage = message;
    this.cached = undefined;
    // Also on a new message in the same state (e.g. Klipper's startup or error text).
    this.emitter.emit('connectionChanged', { from, to, message });
    const kFrom = klippyStateOf(from);
    const kTo = klippyStateOf(to);
    if (kFrom !== kTo) this.emitter.emit('klippyStateChanged', { from: kFrom, to: kTo, message });
  }

  /** Result of printer.objects.list. */
  setObjectList(names: readonly string[]): void {
    this.objectNames = [...names];
    this.macros = names.filter((n) => n.startsWith('gcode_macro ')).map((n) => n.slice('gcode_macro '.length));
    this.cached = undefined;
  }

  /**
   * A full status (subscribe reply merged with the one-off query): objects in it
   * replace what was known, objects not in it are forgotten (Klippy restarted).
   */
  replaceAll(status: unknown, eventtime: unknown): void {
    const parsed = z.tuple([statusSchema, z.number()]).safeParse([status, eventtime]);
    if (!parsed.success) {
      this.opts.log.warn(`dropped invalid subscribe reply: ${issueText(parsed.error)}`);
      return;
    }
    const [incoming, time] = parsed.data;
    const temperatureNames = this.temperatureNamesFrom(incoming);
    const next = new Map<string, ObjectStatus>();
    const changed: Record<string, Record<string, unknown>> = {};
    for (const [name, fields] of Object.entries(incoming)) {
      const valid = this.validate(name, fields, temperatureNames);
      if (!valid) continue;
      next.set(name, valid);
      const diff = diffFields(this.objects.get(name), valid);
      if (diff) changed[name] = diff;
    }
    this.objects = next;
    this.commit(changed, time);
  }

  /** notify_status_update params: [status, eventtime]. */
  applyUpdate(params: unknown): void {
    let update = plainStatusUpdate(params);
    if (!update) {
      const parsed = updateParamsSchema.safeParse(params);
      if (!parsed.success) {
        this.opts.log.warn(`dropped invalid notify_status_update: ${issueText(parsed.error)}`);
        return;
      }
      update = [parsed.data[0], parsed.data[1]];
    }
    const [delta, time] = update;
    const temperatureNames = this.temperatureNamesFrom(delta);
    const changed: Record<string, Record<string, unknown>> = {};
    for (const [name, fields] of Object.entries(delta)) {
      const valid = this.validate(name, fields, temperatureNames);
      if (!valid) continue;
      this.objects.set(name, mergeDeep(this.objects.get(name) ?? {}, valid));
      changed[name] = valid;
    }
    this.commit(changed, time);
  }

  snapshot(): PrinterSnapshot {
    this.cached ??= this.buildSnapshot();
    return this.cached;
  }

  /** Forgets printer objects (not the connection state). */
  clearObjects(): void {
    this.objects.clear();
    this.cached = undefined;
  }

  private commit(changed: Record<string, Record<string, unknown>>, time: number): void {
    this.eventtime = time;
    this.cached = undefined;
    if (Object.keys(changed).length === 0) return;
    this.emitter.emit('objectsChanged', { changed, eventtime: time });
    const ps = changed.print_stats;
    if (ps && typeof ps.state === 'string' && ps.state !== this.printState) {
      const from = this.printState;
      this.printState = ps.state;
      const filename = this.objects.get('print_stats')?.filename;
      this.emitter.emit('printStateChanged', { from, to: ps.state, filename: typeof filename === 'string' ? filename : '' });
    }
    const wh = changed.webhooks;
    if (wh && typeof wh.state === 'string' && this.connection.startsWith('klippy_')) {
      // Klippy can report shutdown/error through webhooks before (or without) a
      // notify_klippy_shutdown; 'ready' is left to the client, which must resubscribe first.
      if (wh.state === 'shutdown' || wh.state === 'error') {
        const msg = this.objects.get('webhooks')?.state_message;
        this.setConnection(`klippy_${wh.state}`, typeof msg === 'string' ? msg : '');
      }
    }
  }

  private validate(name: string, fields: Record<string, unknown>, temperatureNames: ReadonlySet<string>): Record<string, unknown> | undefined {
    const schema = schemaFor(name, temperatureNames);
    if (!schema) return fields;
    // Temperatures arrive several times a second: a hand check first (same rule as the schema).
    if (schema === temperatureObjectSchema && plainTemperatureFields(fields)) return fields;
    const r = schema.safeParse(fields);
    if (r.success) return r.data;
    this.opts.log.warn(`dropped invalid status of '${name}': ${issueText(r.error)}`);
    return undefined;
  }

  private temperatureNamesFrom(incoming: Record<string, Record<string, unknown>>): Set<string> {
    const heaters = { ...(this.objects.get('heaters') ?? {}), ...(incoming.heaters ?? {}) };
    const names = new Set<string>();
    for (const key of ['available_heaters', 'available_sensors']) {
      const list = heaters[key];
      if (Array.isArray(list)) for (const n of list) if (typeof n === 'string') names.add(n);
    }
    return names;
  }

  private buildSnapshot(): PrinterSnapshot {
    const objects = this.objects;
    const get = <T>(name: string): Readonly<T> => (objects.get(name) ?? {}) as Readonly<T>;
    const heatersObj = get<HeatersStatus>('heaters');
    const settings = (objects.get('configfile')?.settings ?? {}) as Readonly<Record<string, Readonly<Record<string, unknown>>>>;
    const views: HeaterView[] = [];
    const seen = new Set<string>();
    const add = (name: string, kind: 'heater' | 'sensor'): void => {
      if (seen.has(name)) return;
      seen.add(name);
      const s = get<Record<string, unknown>>(name);
      const cfg = settings[name] ?? settings[name.toLowerCase()] ?? {};
      views.push({
        name,
        kind,
        temperature: numOrNull(s.temperature),
        target: kind === 'heater' ? numOrNull(s.target) : null,
        power: kind === 'heater' ? numOrNull(s.power) : null,
        max_temp: numOrNull(cfg.max_temp),
        min_temp: numOrNull(cfg.min_temp),
      });
    };
    for (const n of heatersObj.available_heaters ?? []) add(n, 'heater');
    for (const n of heatersObj.available_sensors ?? []) add(n, 'sensor');
    return Object.freeze({
      connection: this.connection,
      klippyState: klippyStateOf(this.connection),
      stateMessage: this.stateMessage,
      eventtime: this.eventtime,
      webhooks: get<WebhooksStatus>('webhooks'),
      print_stats: get<PrintStatsStatus>('print_stats'),
      virtual_sdcard: get<VirtualSdcardStatus>('virtual_sdcard'),
      display_status: get<DisplayStatus>('display_status'),
      pause_resume: get<PauseResumeStatus>('pause_resume'),
      idle_timeout: get<IdleTimeoutStatus>('idle_timeout'),
      toolhead: get<ToolheadStatus>('toolhead'),
      heaters: Object.freeze(views),
      objectNames: this.objectNames,
      macros: this.macros,
      object: (name: string) => objects.get(name),
    });
  }
}

export interface FilamentSensorView {
  /** Object name, e.g. "filament_switch_sensor runout". */
  readonly object: string;
  /** Name after the prefix, e.g. "runout". */
  readonly name: string;
  readonly enabled: boolean;
  /** null until reported. */
  readonly filamentDetected: boolean | null;
}

/** The printer's filament runout sensors (filament_switch_sensor / filament_motion_sensor), in object-list order. */
export function filamentSensorsOf(s: PrinterSnapshot): FilamentSensorView[] {
  const out: FilamentSensorView[] = [];
  for (const object of s.objectNames) {
    const name = filamentSensorName(object);
    if (name === undefined) continue;
    const st = (s.object(object) ?? {}) as Readonly<FilamentSensorStatus>;
    out.push({ object, name, enabled: st.enabled !== false, filamentDetected: typeof st.filament_detected === 'boolean' ? st.filament_detected : null });
  }
  return out;
}

function numOrNull(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** New object: `base` with `delta` merged in; nested plain objects merge, everything else replaces. */
/** Klipper's objects nest a few levels; anything deeper is replaced, not merged (no unbounded recursion on hostile input). */
const MAX_MERGE_DEPTH = 32;

export function mergeDeep(base: Readonly<Record<string, unknown>>, delta: Readonly<Record<string, unknown>>, depth = 0): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(delta)) {
    const old = out[k];
    out[k] = isPlainObject(v) && isPlainObject(old) && depth < MAX_MERGE_DEPTH ? mergeDeep(old, v, depth + 1) : v;
  }
  return out;
}

/** Fields of `next` that differ from `prev` (deep comparison), or undefined if none. */
export function diffFields(prev: ObjectStatus | undefined, next: ObjectStatus): Record<string, unknown> | undefined {
  if (!prev) return Object.keys(next).length ? { ...next } : undefined;
  let out: Record<string, unknown> | undefined;
  for (const [k, v] of Object.entries(next)) {
    if (!deepEqual(prev[k], v)) (out ??= {})[k] = v;
  }
  return out;
}

export function deepEqual(a: unknown, b: unknown, depth = 0): boolean {
  if (a === b) return true;
  // Past any real Klipper nesting: call it changed rather than recurse without bound.
  if (depth > MAX_MERGE_DEPTH) return false;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((x, i) => deepEqual(x, b[i], depth + 1));
  }
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  const ra = a as Record<string, unknown>;
  const rb = b as Record<string, unknown>;
  return ka.every((k) => Object.prototype.hasOwnProperty.call(rb, k) && deepEqual(ra[k], rb[k], depth + 1));
}

function issueText(err: z.ZodError): string {
  const i = err.issues[0];
  if (!i) return 'invalid';
  return `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`;
}
