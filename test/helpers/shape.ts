// Compares the *shape* of two JSON values: types recursively, never values.
// Used by the realism test to hold the simulator against Moonraker's documented examples.
//
// Paths in messages are concrete (`jobs[2].end_time`, `(root)` for the top). Paths in options are
// patterns: keys joined by `.`, `[]` for any element of a list, `[0]` for a tuple position, `*` for
// one key (any name), `**` for anything below. Example: `jobs[].auxiliary_data[].value`.

export type ShapeType = 'null' | 'boolean' | 'number' | 'string' | 'array' | 'object' | 'undefined' | 'other';

export interface ShapeOptions {
  /** Keys in `actual` that `expected` lacks are fine (default true). */
  allowExtraKeys?: boolean;
  /** Paths that may be missing from `actual`; when present they are still compared. */
  optional?: string[];
  /** Paths where `null` stands in for the expected type (or the expected `null` for any type). */
  nullable?: string[];
  /** Paths whose value is not checked at all. */
  any?: string[];
  /** Objects keyed by variable names: every actual value is compared to the first expected value. */
  maps?: string[];
  /** Arrays compared position by position instead of against their first element. */
  tuples?: string[];
}

export function shapeType(v: unknown): ShapeType {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  switch (typeof v) {
    case 'boolean':
    case 'number':
    case 'string':
    case 'object':
    case 'undefined':
      return typeof v as ShapeType;
    default:
      return 'other';
  }
}

function patternToRegExp(pattern: string): RegExp {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*' && pattern[i + 1] === '*') {
      re += '.*';
      i++;
    } else if (c === '*') {
      re += '[^.\\[\\]]+';
    } else {
      re += c.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
    }
  }
  return new RegExp(`^${re}$`);
}

class Matcher {
  private readonly res: RegExp[];
  constructor(patterns: string[] | undefined) {
    this.res = (patterns ?? []).map(patternToRegExp);
  }
  has(path: string): boolean {
    return this.res.some((r) => r.test(path));
  }
}

function join(base: string, key: string): string {
  return base === '' ? key : `${base}.${key}`;
}

function show(path: string): string {
  return path === '' ? '(root)' : path;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return shapeType(v) === 'object';
}

/** Lists shape differences between `expected` and `actual`; empty when they match. */
export function compareShape(expected: unknown, actual: unknown, opts: ShapeOptions = {}): string[] {
  const allowExtra = opts.allowExtraKeys ?? true;
  const optional = new Matcher(opts.optional);
  const nullable = new Matcher(opts.nullable);
  const anyType = new Matcher(opts.any);
  const maps = new Matcher(opts.maps);
  const tuples = new Matcher(opts.tuples);
  const out: string[] = [];

  // `path` is concrete (for messages), `pat` has list indices as [] and map keys as the key itself.
  const walk = (exp: unknown, act: unknown, path: string, pat: string): void => {
    if (anyType.has(pat)) return;
    const te = shapeType(exp);
    const ta = shapeType(act);
    if (te !== ta) {
      if ((te === 'null' || ta === 'null') && nullable.has(pat)) return;
      out.push(`${show(path)}: expected ${te}, got ${ta}`);
      return;
    }
    if (Array.isArray(exp) && Array.isArray(act)) {
      if (tuples.has(pat)) {
        exp.forEach((e, i) => {
          const p = `${path}[${i}]`;
          const pp = `${pat}[${i}]`;
          if (i >= act.length) {
            if (!optional.has(pp)) out.push(`${p}: missing element`);
            return;
          }
          walk(e, act[i], p, pp);
        });
        if (!allowExtra && act.length > exp.length) out.push(`${show(path)}: ${act.length - exp.length} extra element(s)`);
        return;
      }
      if (exp.length === 0) return;
      act.forEach((a, i) => walk(exp[0], a, `${path}[${i}]`, `${pat}[]`));
      return;
    }
    if (isPlainObject(exp) && isPlainObject(act)) {
      if (maps.has(pat)) {
        const keys = Object.keys(exp);
        if (keys.length === 0) return;
        const proto = exp[keys[0]!];
        for (const k of Object.keys(act)) walk(proto, act[k], join(path, k), join(pat, k));
        return;
      }
      for (const k of Object.keys(exp)) {
        const p = join(path, k);
        const pp = join(pat, k);
        if (!Object.prototype.hasOwnProperty.call(act, k)) {
          if (!optional.has(pp) && !anyType.has(pp)) out.push(`${p}: missing key`);
          continue;
        }
        walk(exp[k], act[k], p, pp);
      }
      if (!allowExtra) {
        for (const k of Object.keys(act)) {
          if (!Object.prototype.hasOwnProperty.call(exp, k)) out.push(`${join(path, k)}: unexpected key`);
        }
      }
    }
  };

  walk(expected, actual, '', '');
  return out;
}
