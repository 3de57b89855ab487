// Hand-written checks for the shapes Moonraker sends several times a second
// (notify_status_update with a few temperatures). They accept only values the
// zod schemas accept too, and anything else falls through to those schemas, so
// errors and log lines stay theirs; at idle they cut the bridge's CPU per
// status update by about a third (issue 15: most of idle CPU is this stream).

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A JSON-RPC notification (no id) with string method and array/object/absent params, else undefined. */
export function plainNotification(raw: object): { method: string; params: unknown } | undefined {
  const r = raw as Record<string, unknown>;
  if (r.jsonrpc !== '2.0' || r.id !== undefined) return undefined;
  const { method, params } = r;
  if (typeof method !== 'string' || method.length === 0) return undefined;
  if (params !== undefined && !Array.isArray(params) && !isRecord(params)) return undefined;
  return { method, params };
}

/** notify_status_update params `[{object: {field: value}}, eventtime, ...]`, else undefined. */
export function plainStatusUpdate(params: unknown): [Record<string, Record<string, unknown>>, number] | undefined {
  if (!Array.isArray(params) || params.length < 2) return undefined;
  const [status, time] = params as unknown[];
  if (typeof time !== 'number' || !Number.isFinite(time) || !isRecord(status)) return undefined;
  for (const key in status) if (Object.hasOwn(status, key) && !isRecord(status[key])) return undefined;
  return [status as Record<string, Record<string, unknown>>, time];
}

const TEMPERATURE_FIELDS = ['temperature', 'target', 'power'] as const;

/** True when a heater/sensor delta has only finite numbers or null in its known fields (temperatureObjectSchema's rule). */
export function plainTemperatureFields(fields: Record<string, unknown>): boolean {
  for (const f of TEMPERATURE_FIELDS) {
    const v = fields[f];
    if (v !== undefined && v !== null && !(typeof v === 'number' && Number.isFinite(v))) return false;
  }
  return true;
}
