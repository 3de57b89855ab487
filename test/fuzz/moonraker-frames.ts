// Random Moonraker → bridge websocket frames for the fuzz suites: status
// deltas with hostile values for the objects the bridge reads, history /
// gcode-response / klippy / other notifications with garbage, remote-method
// calls, inbound requests, stray and malformed replies, text that is not JSON,
// and huge frames. Plus a checker that a PrinterSnapshot is still well-typed.
import type { PrinterSnapshot } from '../../moonraker-bridge/index.js';
import { PROTOTYPE_OBJECT_NAMES } from './known-issues.js';
import { Rng, INJECTIONS, PATH_TRAVERSALS, UNICODE, hugeString, jsonObject, jsonValue, number, shortString } from './gen.js';

export interface FrameContext {
  /** Ids of the bridge's calls still waiting for a reply (the next frame may answer one). */
  inflight: Array<number | string>;
  /** Remote methods the bridge registered (called with random params). */
  remoteMethods: readonly string[];
  /** Extension methods Moonraker may relay as inbound requests. */
  extensionMethods: readonly string[];
  /** Inbound request ids sent so far, to check that each one got an answer. */
  inboundIds: Array<number | string>;
  /** Whether frames larger than a few MB may be made. */
  huge: boolean;
  /** Whether status updates may name objects 'constructor', 'toString'… (once the bridge handles them). */
  prototypeNames?: boolean;
  /** Whether 20 000-level nesting may be sent (once the model bounds its recursion; findings.test.ts). */
  veryDeep?: boolean;
  /** Whether durations/start times past Date's range may be sent (once the bridge copes; findings.test.ts). */
  hugeDurations?: boolean;
}

export interface Frame {
  kind: string;
  text: string;
}

const OBJECTS = ['extruder', 'extruder1', 'heater_bed', 'heater_generic chamber', 'temperature_sensor mcu', 'print_stats', 'virtual_sdcard', 'display_status', 'pause_resume', 'idle_timeout', 'toolhead', 'webhooks', 'heaters', 'configfile', 'gcode_move', 'gcode_macro PAUSE', 'exclude_object', '__proto__', ''];

const STATES = ['standby', 'printing', 'paused', 'complete', 'cancelled', 'error', 'ready', 'shutdown', 'startup', 'disconnected', 'PRINTING', ''];

function hostileNumberish(r: Rng): unknown {
  return r.oneOf<unknown>([
    [5, () => number(r)],
    [1, () => r.pick(['NaN', 'Infinity', '1e309', '-0', '25.0', '', '0x10'])],
    [1, () => null],
    [1, () => r.bool()],
    [1, () => [number(r)]],
    [1, () => ({ value: number(r) })],
  ]);
}

/**
 * Hostile values for fields the job tracker turns into timestamps (total_duration,
 * start_time). Unless `huge`, numbers stay within ±1e12 s so `Date` can hold
 * them: larger ones crash a bridge with the known issue (findings.test.ts).
 */
function hostileDuration(r: Rng, huge: boolean): unknown {
  const v = hostileNumberish(r);
  return !huge && typeof v === 'number' && Math.abs(v) > 1e12 ? Math.sign(v) * 1e12 : v;
}

function hostileStringish(r: Rng): unknown {
  return r.oneOf<unknown>([
    [4, () => shortString(r)],
    [2, () => r.pick(PATH_TRAVERSALS)],
    [2, () => r.pick(INJECTIONS)],
    [1, () => r.pick(UNICODE)],
    [1, () => hugeString(r)],
    [1, () => number(r)],
    [1, () => null],
  ]);
}

/** Fields of one Klipper object, in its real shape but with hostile values. */
function objectFields(r: Rng, name: string, hugeDurations: boolean): Record<string, unknown> {
  const pick = <T>(entries: Array<[string, () => T]>): Record<string, unknown> => {
    const o: Record<string, unknown> = {};
    for (const [k, f] of entries) if (r.bool(0.6)) o[k] = f();
    if (r.bool(0.2)) Object.assign(o, jsonObject(r, 1));
    return o;
  };
  switch (name) {
    case 'print_stats':
      return pick([
        ['state', () => (r.bool(0.7) ? r.pick(STATES) : hostileStringish(r))],
        ['filename', () => hostileStringish(r)],
        ['message', () => hostileStringish(r)],
        ['print_duration', () => hostileNumberish(r)],
        ['total_duration', () => hostileDuration(r, hugeDurations)],
        ['filament_used', () => hostileNumberish(r)],
        ['info', () => (r.bool() ? { total_layer: hostileNumberish(r), current_layer: hostileNumberish(r) } : jsonValue(r, 2))],
      ]);
    case 'virtual_sdcard':
      return pick([
        ['progress', () => hostileNumberish(r)],
        ['file_position', () => hostileNumberish(r)],
        ['file_size', () => hostileNumberish(r)],
        ['is_active', () => (r.bool(0.7) ? r.bool() : jsonValue(r, 2))],
        ['file_path', () => hostileStringish(r)],
      ]);
    case 'display_status':
      return pick([['progress', () => hostileNumberish(r)], ['message', () => hostileStringish(r)]]);
    case 'pause_resume':
      return pick([['is_paused', () => (r.bool(0.7) ? r.bool() : jsonValue(r, 2))]]);
    case 'idle_timeout':
      return pick([['state', () => hostileStringish(r)], ['printing_time', () => hostileNumberish(r)]]);
    case 'toolhead':
      return pick([
        ['homed_axes', () => hostileStringish(r)],
        ['position', () => (r.bool() ? Array.from({ length: r.int(0, 5) }, () => hostileNumberish(r)) : jsonValue(r, 2))],
        ['extruder', () => hostileStringish(r)],
        ['max_velocity', () => hostileNumberish(r)],
      ]);
    case 'webhooks':
      return pick([['state', () => (r.bool(0.8) ? r.pick(STATES) : hostileStringish(r))], ['state_message', () => hostileStringish(r)]]);
    case 'heaters':
      return pick([
        ['available_heaters', () => r.oneOf<unknown>([[3, () => r.pick([['extruder', 'heater_bed'], ['extruder', 'extruder1', 'heater_bed', 'heater_generic chamber'], []])], [1, () => Array.from({ length: r.int(1, 4) }, () => hostileStringish(r))], [1, () => Array.from({ length: 10_000 }, (_, i) => `heater_generic h${i}`)], [1, () => jsonValue(r, 2)]])],
        ['available_sensors', () => (r.bool() ? ['temperature_sensor mcu', r.pick(UNICODE)] : jsonValue(r, 2))],
      ]);
    case 'configfile':
      return pick([
        ['settings', () => (r.bool() ? { extruder: { max_temp: hostileNumberish(r), min_temp: hostileNumberish(r) }, heater_bed: { max_temp: hostileNumberish(r) } } : jsonValue(r, 2))],
        ['save_config_pending', () => (r.bool() ? r.bool() : jsonValue(r, 2))],
      ]);
    default:
      if (/^(extruder\d*|heater_bed|heater_generic |temperature_sensor )/.test(name)) {
        return pick([['temperature', () => hostileNumberish(r)], ['target', () => hostileNumberish(r)], ['power', () => hostileNumberish(r)]]);
      }
      return jsonObject(r, 1);
  }
}

function statusDelta(r: Rng, ctx: FrameContext): Record<string, unknown> {
  const delta: Record<string, unknown> = {};
  for (let i = r.int(1, 4); i > 0; i--) {
    const name = r.pick(ctx.prototypeNames ? [...OBJECTS, ...PROTOTYPE_OBJECT_NAMES] : OBJECTS);
    Object.defineProperty(delta, name, { value: r.bool(0.9) ? objectFields(r, name, ctx.hugeDurations ?? false) : jsonValue(r, 2), enumerable: true, writable: true, configurable: true });
  }
  return delta;
}

function historyJob(r: Rng, hugeDurations: boolean): Record<string, unknown> {
  const job: Record<string, unknown> = {
    job_id: r.bool(0.8) ? `${r.int(0, 0xffffff).toString(16).padStart(6, '0')}` : hostileStringish(r),
    filename: r.bool(0.5) ? r.pick(['a.gcode', 'polarcloud/job-1.gcode', '']) : hostileStringish(r),
    status: r.bool(0.7) ? r.pick(['in_progress', 'completed', 'cancelled', 'error', 'klippy_shutdown', 'klippy_disconnect', 'server_exit', 'interrupted']) : hostileStringish(r),
    start_time: r.bool(0.7) ? Date.now() / 1000 - r.int(0, 1000) : hostileDuration(r, hugeDurations),
    end_time: r.bool(0.7) ? (r.bool() ? null : Date.now() / 1000) : hostileDuration(r, hugeDurations),
    print_duration: r.bool(0.6) ? r.int(0, 5000) : hostileNumberish(r),
    total_duration: r.bool(0.6) ? r.int(0, 5000) : hostileNumberish(r),
    filament_used: r.bool(0.6) ? r.int(0, 5000) : hostileNumberish(r),
    exists: r.bool(0.8) ? r.bool() : jsonValue(r, 2),
    metadata: r.bool(0.7) ? { size: number(r), estimated_time: hostileNumberish(r) } : jsonValue(r, 2),
  };
  if (r.bool(0.3)) delete job[r.pick(Object.keys(job))];
  return job;
}

function notify(method: string, params: unknown): string {
  const frame: Record<string, unknown> = { jsonrpc: '2.0', method };
  if (params !== undefined) frame.params = params;
  return JSON.stringify(frame);
}

/** Text that is not a JSON-RPC frame at all. */
function junkText(r: Rng, huge: boolean): string {
  return r.oneOf<string>([
    [3, () => r.pick(['', ' ', '{', '}', '[', 'null', 'true', '42', '"x"', '[]', '{}', 'NaN', 'undefined', '{"jsonrpc":"2.0"', '{"jsonrpc":"2.0","method":}', '\ufeff{"jsonrpc":"2.0","method":"notify_status_update","params":[{},1]}', '{"jsonrpc":"1.0","method":"notify_status_update","params":[{},1]}', '{"jsonrpc":"2.0","method":42}', '{"jsonrpc":"2.0","method":"","params":[]}', '{"jsonrpc":"2.0","method":"notify_status_update","params":"x"}', '{"jsonrpc":"2.0","id":{},"result":1}', '{"jsonrpc":"2.0","method":"notify_status_update","params":[{"extruder":{"temperature":1e309}},1e309]}'])],
    [2, () => shortString(r)],
    [1, () => JSON.stringify(jsonValue(r))?.slice(0, r.int(0, 50)) ?? ''],
    [huge ? 1 : 0, () => '['.repeat(r.pick([1000, 100_000]))],
    [huge ? 1 : 0, () => `${'['.repeat(5000)}${']'.repeat(5000)}`],
    [1, () => hugeString(r)],
  ]);
}

/** A reply frame: to a waiting call, to no call, or malformed. */
function replyFrame(r: Rng, ctx: FrameContext): string {
  // The same number of draws whatever `inflight` holds (it depends on timing): the frame stream stays reproducible.
  const answerWaiting = r.bool(0.6);
  const which = r.next();
  const stray = r.pick<unknown>([0, -1, 1e9, 2 ** 53, 'abc', null, 1.5, [], {}]);
  const id: unknown = answerWaiting && ctx.inflight.length ? ctx.inflight.splice(Math.floor(which * ctx.inflight.length), 1)[0] : stray;
  const body = r.oneOf<Record<string, unknown>>([
    [4, () => ({ result: jsonValue(r) })],
    [2, () => ({ error: { code: r.pick([-32601, -32602, -32000, 400, 404, 500, 503, 0]), message: String(shortString(r)) } })],
    [1, () => ({ error: jsonValue(r, 2) })],
    [1, () => ({ result: jsonValue(r, 2), error: { code: 1, message: 'both' } })],
    [1, () => ({})],
  ]);
  return JSON.stringify({ jsonrpc: r.bool(0.9) ? '2.0' : r.pick<unknown>(['1.0', 2, null]), id, ...body });
}

/** One frame of any kind. */
export function moonrakerFrame(r: Rng, ctx: FrameContext): Frame {
  return r.oneOf<Frame>([
    [10, () => ({ kind: 'status', text: notify('notify_status_update', r.bool(0.85) ? [statusDelta(r, ctx), r.bool(0.8) ? r.next() * 1e5 : hostileNumberish(r), ...(r.bool(0.1) ? [jsonValue(r, 2)] : [])] : jsonValue(r)) })],
    [3, () => ({ kind: 'history', text: notify('notify_history_changed', r.bool(0.8) ? [{ action: r.bool(0.8) ? r.pick(['added', 'finished', 'deleted']) : hostileStringish(r), job: historyJob(r, ctx.hugeDurations ?? false) }] : jsonValue(r)) })],
    [3, () => ({ kind: 'gcode_response', text: notify('notify_gcode_response', r.oneOf<unknown>([[4, () => [r.pick(INJECTIONS)]], [2, () => [shortString(r)]], [1, () => [hugeString(r)]], [2, () => jsonValue(r)], [1, () => []]])) })],
    [2, () => ({ kind: 'klippy', text: notify(r.pick(['notify_klippy_ready', 'notify_klippy_shutdown', 'notify_klippy_disconnected']), r.bool(0.6) ? undefined : jsonValue(r, 2)) })],
    [3, () => ({ kind: 'other_notification', text: notify(r.pick(['notify_filelist_changed', 'notify_update_response', 'notify_update_refreshed', 'notify_job_queue_changed', 'notify_webcams_changed', 'notify_proc_stat_update', 'notify_service_state_changed', 'notify_power_changed', 'notify_user_created', 'notify_agent_event', 'notify_unknown', '__proto__', 'constructor', 'hasOwnProperty']), r.bool(0.5) ? [jsonObject(r)] : jsonValue(r)) })],
    [2, () => ({ kind: 'remote_method', text: notify(r.pick(ctx.remoteMethods), r.bool(0.7) ? jsonObject(r) : jsonValue(r)) })],
    [2, () => {
      const id = r.bool() ? 1_000_000_000 + ctx.inboundIds.length : `fuzz-${ctx.inboundIds.length}`;
      ctx.inboundIds.push(id);
      const method = r.bool(0.7) ? r.pick(ctx.extensionMethods) : String(shortString(r)) || 'x';
      return { kind: 'inbound_request', text: JSON.stringify({ jsonrpc: '2.0', id, method, ...(r.bool(0.8) ? { params: r.bool() ? jsonObject(r) : [jsonValue(r, 2)] } : {}) }) };
    }],
    [4, () => ({ kind: 'reply', text: replyFrame(r, ctx) })],
    [3, () => ({ kind: 'junk', text: junkText(r, ctx.huge) })],
    [ctx.huge ? 1 : 0, () => {
      // Built as text: JSON.stringify itself overflows the stack past ~10k levels.
      const depth = r.pick(ctx.veryDeep ? [200, 1000, 2000, 20_000] : [200, 1000, 2000]);
      const [open, close] = r.bool() ? ['[', ']'] : ['{"v":', '}'];
      const object = r.pick(['gcode_macro FUZZ', 'print_stats', 'extruder', 'toolhead']);
      const field = r.pick(['v', 'info', 'temperature', 'position']);
      return { kind: 'deep', text: `{"jsonrpc":"2.0","method":"notify_status_update","params":[{${JSON.stringify(object)}:{${JSON.stringify(field)}:${open.repeat(depth)}1${close.repeat(depth)}}},1]}` };
    }],
    [ctx.huge ? 0.5 : 0, () => ({ kind: 'huge', text: notify('notify_status_update', [{ print_stats: { message: 'M'.repeat(r.pick([1, 5]) * 1024 * 1024) } }, 1]) })],
  ]);
}

/**
 * A whole local print as Moonraker reports it — print_stats printing, history
 * added, print_stats ended, history finished — with hostile file names and odd
 * but finite durations (negative, fractional, up to 1e12 s), so the job tracker
 * produces a report from them.
 */
export function printLifecycle(r: Rng, n: number): string[] {
  const filename = r.oneOf<string>([[2, () => `fuzz-${n}.gcode`], [2, () => r.pick(PATH_TRAVERSALS)], [1, () => r.pick(UNICODE)], [1, () => r.pick(INJECTIONS)], [1, () => hugeString(r).slice(0, 5000)]]);
  const odd = (): number => r.pick([0, 1, 59.5, -1, -1e6, 1e9, 1e12, 3599.999]);
  const jobId = `fz${n.toString(16).padStart(6, '0')}`;
  const now = Date.now() / 1000;
  const ended = r.pick(['complete', 'cancelled', 'error']);
  const record = (status: string, end: number | null): Record<string, unknown> => ({ job_id: jobId, filename, status, start_time: now - 10, end_time: end, print_duration: odd(), total_duration: odd(), filament_used: odd(), exists: true, metadata: {} });
  return [
    notify('notify_status_update', [{ print_stats: { state: 'printing', filename, print_duration: 0, total_duration: 0, filament_used: 0 } }, now]),
    notify('notify_history_changed', [{ action: 'added', job: record('in_progress', null) }]),
    notify('notify_status_update', [{ print_stats: { state: 'printing', print_duration: odd(), total_duration: odd(), filament_used: odd() } }, now + 1]),
    notify('notify_status_update', [{ print_stats: { state: ended, print_duration: odd(), filament_used: odd() } }, now + 2]),
    notify('notify_history_changed', [{ action: 'finished', job: record(ended === 'complete' ? 'completed' : ended === 'cancelled' ? 'cancelled' : 'error', now + 2) }]),
    notify('notify_status_update', [{ print_stats: { state: 'standby', filename: '' } }, now + 3]),
  ];
}

// ------------------------------------------------------------------ snapshot check

const CONNECTION_STATES = new Set(['disconnected', 'connecting', 'unauthorized', 'klippy_startup', 'klippy_ready', 'klippy_shutdown', 'klippy_error', 'klippy_disconnected']);
const KLIPPY_STATES = new Set(['unknown', 'startup', 'ready', 'shutdown', 'error', 'disconnected']);

const finite = (v: unknown): boolean => typeof v === 'number' && Number.isFinite(v);
const optFinite = (v: unknown): boolean => v === undefined || finite(v);
const numOrNull = (v: unknown): boolean => v === null || finite(v);
const optString = (v: unknown): boolean => v === undefined || typeof v === 'string';
const optBool = (v: unknown): boolean => v === undefined || typeof v === 'boolean';

/** What is wrong with a snapshot's types (empty when it is what the bridge's readers expect). */
export function snapshotProblems(s: PrinterSnapshot): string[] {
  const out: string[] = [];
  const need = (ok: boolean, what: string, v?: unknown): void => {
    if (!ok) out.push(`${what}: ${JSON.stringify(v)?.slice(0, 120)}`);
  };
  need(CONNECTION_STATES.has(s.connection), 'connection', s.connection);
  need(KLIPPY_STATES.has(s.klippyState), 'klippyState', s.klippyState);
  need(typeof s.stateMessage === 'string', 'stateMessage', s.stateMessage);
  need(finite(s.eventtime), 'eventtime', s.eventtime);
  need(Array.isArray(s.heaters), 'heaters');
  for (const h of s.heaters) {
    need(typeof h.name === 'string', 'heater name', h.name);
    need(h.kind === 'heater' || h.kind === 'sensor', `${h.name}.kind`, h.kind);
    for (const k of ['temperature', 'target', 'power', 'max_temp', 'min_temp'] as const) need(numOrNull(h[k]), `${h.name}.${k}`, h[k]);
    if (h.kind === 'sensor') need(h.target === null && h.power === null, `${h.name} sensor target/power`);
  }
  const ps = s.print_stats;
  need(optString(ps.state) && optString(ps.filename) && optString(ps.message), 'print_stats strings', ps);
  need(optFinite(ps.print_duration) && optFinite(ps.total_duration) && optFinite(ps.filament_used), 'print_stats numbers', ps);
  if (ps.info !== undefined && ps.info !== null) {
    need(typeof ps.info === 'object', 'print_stats.info', ps.info);
    for (const k of ['total_layer', 'current_layer'] as const) {
      const v = ps.info[k];
      need(v === undefined || v === null || (finite(v) && Number.isInteger(v)), `print_stats.info.${k}`, v);
    }
  }
  const vs = s.virtual_sdcard;
  need(optFinite(vs.progress) && optFinite(vs.file_position) && optFinite(vs.file_size) && optBool(vs.is_active), 'virtual_sdcard', vs);
  need(vs.file_path === undefined || vs.file_path === null || typeof vs.file_path === 'string', 'virtual_sdcard.file_path', vs.file_path);
  need(optFinite(s.display_status.progress), 'display_status.progress', s.display_status.progress);
  need(s.display_status.message === undefined || s.display_status.message === null || typeof s.display_status.message === 'string', 'display_status.message');
  need(optBool(s.pause_resume.is_paused), 'pause_resume.is_paused', s.pause_resume.is_paused);
  need(optString(s.idle_timeout.state) && optFinite(s.idle_timeout.printing_time), 'idle_timeout', s.idle_timeout);
  need(optString(s.toolhead.homed_axes), 'toolhead.homed_axes', s.toolhead.homed_axes);
  need(s.toolhead.position === undefined || (Array.isArray(s.toolhead.position) && s.toolhead.position.every(finite)), 'toolhead.position', s.toolhead.position);
  need(optString(s.webhooks.state) && optString(s.webhooks.state_message), 'webhooks', s.webhooks);
  need(s.objectNames.every((n) => typeof n === 'string') && s.macros.every((n) => typeof n === 'string'), 'objectNames/macros');
  return out;
}

