// Seeded pseudo-random generators for the fuzz suites: a small PRNG
// (mulberry32), hostile strings and numbers, random JSON values (including huge
// strings, long arrays and deep nesting) and one-field mutations of a valid
// payload. Same seed, same sequence: a failure names its seed to replay it.

/** Iteration multiplier: POLARCLOUD_FUZZ_LONG=1 runs 20× as many cases. */
export function fuzzScale(): number {
  return process.env.POLARCLOUD_FUZZ_LONG === '1' ? 20 : 1;
}

/**
 * POLARCLOUD_FUZZ_SEED when set; otherwise a fixed seed in the normal (CI) run,
 * so it is reproducible, and a fresh one in long runs, so they explore.
 */
export function fuzzSeed(fixed: number): number {
  const env = process.env.POLARCLOUD_FUZZ_SEED;
  if (env !== undefined && env !== '') {
    const n = Number(env);
    if (!Number.isSafeInteger(n)) throw new Error(`POLARCLOUD_FUZZ_SEED must be an integer, got '${env}'`);
    return n >>> 0;
  }
  return fuzzScale() > 1 ? Date.now() >>> 0 : fixed >>> 0;
}

export class Rng {
  private s: number;

  constructor(readonly seed: number) {
    this.s = seed >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    // mulberry32
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  bool(p = 0.5): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('pick from an empty list');
    return items[this.int(0, items.length - 1)] as T;
  }

  /** Runs one of the weighted alternatives. */
  oneOf<T>(choices: ReadonlyArray<readonly [number, () => T]>): T {
    const total = choices.reduce((s, [w]) => s + w, 0);
    let r = this.next() * total;
    for (const [w, f] of choices) {
      if ((r -= w) < 0) return f();
    }
    return choices[choices.length - 1]![1]();
  }
}

// ------------------------------------------------------------------ atoms

/** G-code and macro injection attempts. */
export const INJECTIONS: readonly string[] = [
  'M112',
  '\nM112',
  ';M112',
  'G28\nM112',
  '\r\nM112\r\n',
  'M104 S200\nM112',
  'M140 S60 ; M112',
  'M104 S200\nFIRMWARE_RESTART',
  'FIRMWARE_RESTART',
  'SAVE_CONFIG',
  'RESTART',
  '"\nM112\n"',
  '" MSG="x"\nM112',
  'RESPOND TYPE=command MSG="action:cancel"',
  '{action_call_remote_method("polarcloud_next_print")}',
  '{action_emergency_stop()}',
  '{action_respond_info("x")}',
  '{% for i in range(3) %}M112\n{% endfor %}',
  '{printer.configfile}',
  'SET_HEATER_TEMPERATURE HEATER=extruder TARGET=999',
  'M104 T0 S300\nSAVE_CONFIG',
  '// action:cancel',
  'N1 M112*33',
  'CANCEL_PRINT\nM112',
  'G1 X99999 F99999',
  '${7*7}',
  '<script>alert(1)</script>',
  "'; DROP TABLE jobs; --",
];

export const PATH_TRAVERSALS: readonly string[] = [
  '../../printer.cfg',
  '..\\..\\printer.cfg',
  '/home/pi/printer_data/config/printer.cfg',
  'polarcloud/../../printer.cfg',
  '%2e%2e%2f%2e%2e%2fprinter.cfg',
  '....//....//printer.cfg',
  '.hidden',
  'con.gcode',
  'a/b/c.gcode',
  '~/printer.cfg',
  '\u0000../printer.cfg',
  '..',
  '.',
  '/',
];

export const UNICODE: readonly string[] = [
  '\u202egcode.cfg', // right-to-left override
  '\u200b\u200c\u200d\u2060\ufeff', // zero-width
  'שלום עולם', // Hebrew (RTL)
  'مرحبا بالعالم', // Arabic (RTL)
  '🔥🖨️👩‍👩‍👧‍👦🏳️‍🌈',
  'e\u0301\u0301\u0301', // combining marks
  'ﬁle™①',
  '\ud800', // lone high surrogate
  '\udfff', // lone low surrogate
  '\u0000',
  'a\u0000b',
  '\u001b[31mred\u001b[0m',
  '\u2028\u2029',
  '𝔘𝔫𝔦𝔠𝔬𝔡𝔢',
  'Ω≈ç√∫˜µ≤≥÷',
  '\t\v\f\r',
];

export const NUMERIC_STRINGS: readonly string[] = [
  'NaN', 'Infinity', '-Infinity', '1e309', '-1e309', '0x10', '1_000', ' 60 ', '60.', '.5', '-0', '9999', '99999',
  '-273.15', '1e3', '٣٠', '60\n', '60;M112', '', ' ', '+60', '0060',
];

export const NUMBERS: readonly number[] = [
  0, -0, 1, -1, 0.1 + 0.2, 5e-324, -5e-324, 1e-9, 299.99, 300, 301, -273.15, -1e6, 1e6, 1e308, -1e308,
  Number.MAX_SAFE_INTEGER + 2, Number.MIN_SAFE_INTEGER - 2, 2 ** 31, -(2 ** 31), 2 ** 53,
  // Not representable in JSON: socket.io sends them as null (like JSON.stringify(1e309)).
  NaN, Infinity, -Infinity,
];

export const KEYS: readonly string[] = [
  'serialNumber', 'command', 'customCommand', 'jobId', 'jobName', 'gcodeFile', 'stlFile', 'fileToPrint', 'type', 'status',
  'bed', 'chamber', 'tool0', 'tool1', 'tool15', 'tool99', 'tool-1', 'tool00', 'jogPrinter', 'x', 'y', 'z', 'speed', 'axes',
  'amount', 'absolute', 'capabilities', 'jobs', 'url', 'fields', 'message', '__proto__', 'constructor', 'prototype',
  'toString', 'hasOwnProperty', '', ' ', 'SerialNumber', 'serialnumber', '\u200bserialNumber',
];

/** Print-file URLs that must never be fetched (`server` is the Polar server's base URL). */
export function hostileUrls(server: string): string[] {
  const host = new URL(server).host;
  return [
    'file:///etc/passwd',
    'file:///home/pi/printer_data/config/printer.cfg',
    'data:text/plain;base64,TTExMgo=',
    'data:,M112',
    'ftp://example.com/a.gcode',
    'javascript:alert(1)',
    'gopher://127.0.0.1:7125/_M112',
    'ws://127.0.0.1:7125/websocket',
    'http://evil.example/a.gcode',
    'http://127.0.0.1.evil.example/a.gcode',
    `http://evil.example/@${host}/a.gcode`,
    `http://user:pass@${host}/files/a.gcode`,
    'http://localhost:1/a.gcode',
    'http://[::1]:1/a.gcode',
    'http://0x7f000001/a.gcode',
    '//evil.example/a.gcode',
    '/files/a.gcode',
    'a.gcode',
    ' ',
    'http://',
    `${server}/files/${'../'.repeat(8)}etc/passwd`,
    `${server}/files/no-such-file.gcode`,
    `${server}/files/a.gcode#${'x'.repeat(100)}`,
    `https://127.0.0.1:1/${'a'.repeat(4000)}`,
  ];
}

// ------------------------------------------------------------------ generators

const ALPHABET = 'abcXYZ019 _-./\\:;#*"\'{}[]()%$\n\t';

export function shortString(r: Rng): string {
  return r.oneOf<string>([
    [4, () => Array.from({ length: r.int(0, 12) }, () => r.pick([...ALPHABET])).join('')],
    [3, () => r.pick(INJECTIONS)],
    [2, () => r.pick(PATH_TRAVERSALS)],
    [3, () => r.pick(UNICODE)],
    [2, () => r.pick(NUMERIC_STRINGS)],
    [1, () => r.pick(KEYS)],
    [1, () => String.fromCodePoint(...Array.from({ length: r.int(1, 8) }, () => r.int(0, 0x10ffff)).filter((c) => c < 0xd800 || c > 0xdfff))],
  ]);
}

/** Large strings: 100 kB of one character, of injections, of multi-byte text. */
export function hugeString(r: Rng): string {
  const n = r.pick([1025, 4097, 65537, 100_000, 100_001]);
  const unit = r.pick(['A', '9', '\n', '\nM112', '🔥', '\u200b', '../', ';M112\n', ' ']);
  return unit.repeat(Math.ceil(n / unit.length)).slice(0, n);
}

export function number(r: Rng): number {
  return r.oneOf<number>([
    [3, () => r.pick(NUMBERS)],
    [2, () => r.int(-1000, 1000)],
    [2, () => (r.next() - 0.5) * 10 ** r.int(0, 12)],
    [1, () => r.next()],
  ]);
}

/** 10k-element array (occasionally 20k) of one kind of small value. */
export function bigArray(r: Rng): unknown[] {
  const n = r.bool(0.8) ? 10_000 : 20_000;
  const kind = r.int(0, 3);
  return Array.from({ length: n }, (_, i) => (kind === 0 ? i : kind === 1 ? 'x' : kind === 2 ? null : { a: i }));
}

/** `depth` levels of nested arrays/objects around `leaf`. */
export function deepNest(r: Rng, depth: number, leaf: unknown = 'M112'): unknown {
  let v: unknown = leaf;
  const asArray = r.bool();
  for (let i = 0; i < depth; i++) v = asArray ? [v] : { [r.pick(['a', 'serialNumber', 'command', 'jogPrinter'])]: v };
  return v;
}

/** Any JSON-ish value; `big` allows the huge kinds (string, array, nesting). */
export function jsonValue(r: Rng, depth = 0, big = true): unknown {
  const leafOnly = depth >= 4;
  return r.oneOf<unknown>([
    [2, () => null],
    [1, () => undefined],
    [2, () => r.bool()],
    [4, () => number(r)],
    [6, () => shortString(r)],
    [leafOnly ? 0 : 3, () => Array.from({ length: r.int(0, 5) }, () => jsonValue(r, depth + 1, false))],
    [leafOnly ? 0 : 4, () => jsonObject(r, depth + 1)],
    [big ? 0.4 : 0, () => hugeString(r)],
    [big ? 0.3 : 0, () => bigArray(r)],
    [big ? 0.3 : 0, () => deepNest(r, r.pick([200, 200, 500]))],
  ]);
}

export function jsonObject(r: Rng, depth = 0): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  for (let i = r.int(0, 5); i > 0; i--) {
    const k = r.bool(0.7) ? r.pick(KEYS) : shortString(r);
    // defineProperty: `__proto__` becomes an own key, as JSON.parse makes it.
    Object.defineProperty(o, k, { value: jsonValue(r, depth + 1, depth === 0), enumerable: true, writable: true, configurable: true });
  }
  return o;
}

// ------------------------------------------------------------------ mutation

export interface Mutation {
  value: unknown;
  /** What was changed, for failure messages. */
  what: string;
}

type Path = Array<string | number>;

function paths(v: unknown, prefix: Path = []): Path[] {
  if (typeof v !== 'object' || v === null) return [];
  const out: Path[] = [];
  for (const [k, child] of Object.entries(v)) {
    const p = [...prefix, Array.isArray(v) ? Number(k) : k];
    out.push(p, ...paths(child, p));
  }
  return out;
}

function clone<T>(v: T): T {
  return structuredClone(v);
}

function setAt(root: Record<string, unknown>, path: Path, value: unknown, remove: boolean): void {
  let cur = root as Record<string | number, unknown>;
  for (const k of path.slice(0, -1)) cur = cur[k] as Record<string | number, unknown>;
  const last = path[path.length - 1]!;
  if (remove) {
    if (Array.isArray(cur)) cur.splice(Number(last), 1);
    else delete cur[last];
  } else {
    Object.defineProperty(cur, last, { value, enumerable: true, writable: true, configurable: true });
  }
}

/**
 * A value of the field's kind that is hostile: strings become injections,
 * traversals, URLs, unicode or huge; numbers become extremes or numeric strings.
 */
export function hostileLike(r: Rng, old: unknown, urls: readonly string[]): unknown {
  if (typeof old === 'string') {
    return r.oneOf<unknown>([
      [3, () => r.pick(INJECTIONS)],
      [2, () => r.pick(PATH_TRAVERSALS)],
      [2, () => r.pick(urls)],
      [2, () => r.pick(UNICODE)],
      [1, () => old + r.pick(INJECTIONS)],
      [1, () => r.pick(UNICODE) + old],
      [1, () => hugeString(r)],
      [1, () => number(r)],
      [1, () => ''],
    ]);
  }
  if (typeof old === 'number') {
    return r.oneOf<unknown>([
      [4, () => number(r)],
      [2, () => r.pick(NUMERIC_STRINGS)],
      [1, () => String(old) + r.pick(INJECTIONS)],
      [1, () => [old]],
      [1, () => ({ value: old })],
    ]);
  }
  if (typeof old === 'boolean') return r.pick<unknown>(['true', 1, 0, null, !old]);
  if (Array.isArray(old)) return r.oneOf<unknown>([[1, () => bigArray(r)], [1, () => [...old, shortString(r)]], [1, () => []], [1, () => old.join(',')]]);
  return jsonValue(r, 1);
}

/** Changes one thing in a valid payload: a field replaced, removed or added, or the whole thing wrapped. */
export function mutate(r: Rng, valid: Record<string, unknown>, urls: readonly string[], wrongSerials: readonly string[]): Mutation {
  const v = clone(valid);
  const all = paths(v);
  return r.oneOf<Mutation>([
    [6, () => {
      const p = r.pick(all);
      const old = p.reduce<unknown>((o, k) => (o as Record<string | number, unknown>)[k], v);
      const value = hostileLike(r, old, urls);
      setAt(v, p, value, false);
      return { value: v, what: `set ${p.join('.')}` };
    }],
    [2, () => {
      const p = r.pick(all);
      setAt(v, p, jsonValue(r, 1), false);
      return { value: v, what: `retyped ${p.join('.')}` };
    }],
    [2, () => {
      const p = r.pick(all);
      setAt(v, p, undefined, true);
      return { value: v, what: `removed ${p.join('.')}` };
    }],
    [2, () => {
      const k = r.pick(KEYS);
      setAt(v, [k], r.bool() ? hostileLike(r, 'x', urls) : jsonValue(r, 1), false);
      return { value: v, what: `added ${k}` };
    }],
    [2, () => {
      setAt(v, ['serialNumber'], r.pick(wrongSerials), false);
      return { value: v, what: 'wrong serialNumber' };
    }],
    [1, () => ({ value: r.pick<unknown>([[v], JSON.stringify(v), { payload: v }, [v, v]]), what: 'wrapped' })],
  ]);
}

/** What the receiving side sees after socket.io's JSON encoding (NaN/Infinity → null, undefined dropped). */
export function throughJson(v: unknown): unknown {
  if (v === undefined) return undefined;
  const text = JSON.stringify(v);
  return text === undefined ? undefined : JSON.parse(text);
}
