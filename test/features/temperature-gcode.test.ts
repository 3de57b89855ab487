import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { HeaterView } from '../../moonraker-bridge/index.js';
import {
  parseTemperatureLine,
  planTemperatures,
  shortHeaterName,
  type TemperatureRequest,
} from '../../src/features/temperature-gcode.js';

function heater(name: string, max_temp: number | null = 300, kind: HeaterView['kind'] = 'heater'): HeaterView {
  return { name, kind, temperature: 20, target: kind === 'heater' ? 0 : null, power: kind === 'heater' ? 0 : null, max_temp, min_temp: 0 };
}

const CHAMBER = 'heater_generic chamber';
const FULL: HeaterView[] = [heater('extruder', 300), heater('extruder1', 280), heater('heater_bed', 120), heater(CHAMBER, 70)];

const SAFE_LINE = /^(M104 T\d+ S-?\d+(\.\d)?|M140 S\d+(\.\d)?|SET_HEATER_TEMPERATURE HEATER=[A-Za-z0-9_]+ TARGET=\d+(\.\d)?)$/;

test('shortHeaterName drops the object type prefix', () => {
  const cases: [string, string][] = [
    ['heater_generic chamber', 'chamber'],
    ['heater_bed', 'heater_bed'],
    ['extruder1', 'extruder1'],
    ['temperature_fan my fan', 'my fan'],
  ];
  for (const [input, want] of cases) assert.equal(shortHeaterName(input), want, input);
});

test('planTemperatures builds G-code for known heaters, clamps and notes', () => {
  interface Case {
    name: string;
    heaters?: HeaterView[];
    req: TemperatureRequest;
    chamber?: string | null;
    gcode: string[];
    notes: RegExp[];
  }
  const cases: Case[] = [
    { name: 'tool0', req: { tools: { 0: 200 } }, gcode: ['M104 T0 S200'], notes: [] },
    { name: 'tool1', req: { tools: { 1: 210 } }, gcode: ['M104 T1 S210'], notes: [] },
    { name: 'tools sorted', req: { tools: { 1: 210, 0: 200 } }, gcode: ['M104 T0 S200', 'M104 T1 S210'], notes: [] },
    { name: 'bed', req: { bed: 60, tools: {} }, gcode: ['M140 S60'], notes: [] },
    { name: 'chamber', req: { chamber: 45, tools: {} }, gcode: ['SET_HEATER_TEMPERATURE HEATER=chamber TARGET=45'], notes: [] },
    {
      name: 'all three',
      req: { bed: 60, chamber: 40, tools: { 0: 215 } },
      gcode: ['M104 T0 S215', 'M140 S60', 'SET_HEATER_TEMPERATURE HEATER=chamber TARGET=40'],
      notes: [],
    },
    { name: 'clamp above max_temp', req: { tools: { 0: 999 } }, gcode: ['M104 T0 S300'], notes: [/tool0: 999 °C is above extruder's max_temp, set to 300/] },
    { name: 'clamp bed', req: { bed: 150, tools: {} }, gcode: ['M140 S120'], notes: [/bed: 150 .*max_temp, set to 120/] },
    { name: 'clamp chamber', req: { chamber: 100, tools: {} }, gcode: ['SET_HEATER_TEMPERATURE HEATER=chamber TARGET=70'], notes: [/chamber: 100 .*max_temp/] },
    { name: 'exactly max_temp is not clamped', req: { tools: { 0: 300 } }, gcode: ['M104 T0 S300'], notes: [] },
    { name: 'negative becomes 0', req: { tools: { 0: -20 }, bed: -0.04 }, gcode: ['M104 T0 S0', 'M140 S0'], notes: [] },
    { name: 'rounds to 0.1', req: { tools: { 0: 200.26, 1: 199.94 }, bed: 60.04 }, gcode: ['M104 T0 S200.3', 'M104 T1 S199.9', 'M140 S60'], notes: [] },
    { name: '0 turns off', req: { bed: 0, chamber: 0, tools: { 0: 0 } }, gcode: ['M104 T0 S0', 'M140 S0', 'SET_HEATER_TEMPERATURE HEATER=chamber TARGET=0'], notes: [] },
    { name: 'unknown tool', req: { tools: { 2: 200 } }, gcode: [], notes: [/tool2: this printer has no extruder2/] },
    { name: 'no bed', heaters: [heater('extruder')], req: { bed: 60, tools: {} }, gcode: [], notes: [/bed: this printer has no heater_bed/] },
    { name: 'no chamber object', req: { chamber: 40, tools: {} }, chamber: null, gcode: [], notes: [/chamber: this printer has no chamber heater/] },
    {
      name: 'chamber object not among heaters',
      heaters: [heater('extruder')],
      req: { chamber: 40, tools: {} },
      gcode: [],
      notes: [/no chamber heater/],
    },
    {
      name: 'chamber is a sensor',
      heaters: [heater('extruder'), heater('temperature_sensor chamber', 100, 'sensor')],
      chamber: 'temperature_sensor chamber',
      req: { chamber: 40, tools: {} },
      gcode: [],
      notes: [/no chamber heater/],
    },
    {
      name: 'chamber name unusable in G-code',
      heaters: [heater('heater_generic my-chamber', 80)],
      chamber: 'heater_generic my-chamber',
      req: { chamber: 40, tools: {} },
      gcode: [],
      notes: [/cannot be used in G-code/],
    },
    {
      name: 'max_temp unknown',
      heaters: [heater('extruder', null), heater('heater_bed', null)],
      req: { bed: 60, tools: { 0: 200 } },
      gcode: [],
      notes: [/tool0: max_temp of extruder unknown/, /bed: max_temp of heater_bed unknown/],
    },
    {
      name: 'one unknown, others still applied',
      req: { bed: 70, tools: { 0: 200, 5: 200 } },
      gcode: ['M104 T0 S200', 'M140 S70'],
      notes: [/tool5: this printer has no extruder5/],
    },
    { name: 'empty request', req: { tools: {} }, gcode: [], notes: [] },
  ];
  for (const c of cases) {
    const plan = planTemperatures(c.heaters ?? FULL, c.req, c.chamber === undefined ? CHAMBER : c.chamber);
    assert.deepEqual(plan.gcode, c.gcode, `${c.name}: gcode`);
    assert.equal(plan.notes.length, c.notes.length, `${c.name}: notes ${JSON.stringify(plan.notes)}`);
    c.notes.forEach((re, i) => assert.match(plan.notes[i]!, re, `${c.name}: note ${i}`));
    for (const line of plan.gcode) assert.match(line, SAFE_LINE, `${c.name}: ${line}`);
  }
});

test('parseTemperatureLine reads M104/M140 and rejects malformed ones', () => {
  type Want = TemperatureRequest | 'error' | undefined;
  const cases: [string, Want][] = [
    ['M104 S200', { tools: { 0: 200 } }],
    ['m104 t1 s210', { tools: { 1: 210 } }],
    ['M104 T1 S210', { tools: { 1: 210 } }],
    ['  M104 S205.5  ', { tools: { 0: 205.5 } }],
    ['M140 S60 ; comment', { bed: 60, tools: {} }],
    ['M140 S60;comment', { bed: 60, tools: {} }],
    ['M140', { bed: 0, tools: {} }],
    ['M104', { tools: { 0: 0 } }],
    ['M104 S-5', { tools: { 0: -5 } }],
    ['M1040 S1', undefined],
    ['M1400 S1', undefined],
    ['G28', undefined],
    ['', undefined],
    ['SET_HEATER_TEMPERATURE HEATER=extruder TARGET=200', undefined],
    ['; M104 S200', undefined],
    ['M104 SABC', 'error'],
    ['M104 S', 'error'],
    ['M104 SInfinity', 'error'],
    ['M104 T99 S1', 'error'],
    ['M104 T16 S1', 'error'],
    ['M104 T1.5 S1', 'error'],
    ['M104 T-1 S1', 'error'],
    ['M104 S200 ;\nM112', 'error'],
    ['M104 S200 "x"', 'error'],
    ['M104 S200 *12', 'error'],
    ['M140 S60 M112\nG28', { bed: 60, tools: {} }],
  ];
  for (const [line, want] of cases) {
    const got = parseTemperatureLine(line);
    if (want === 'error') {
      assert.ok(got !== undefined && 'error' in got, `${JSON.stringify(line)} → ${JSON.stringify(got)}`);
      assert.equal(typeof got.error, 'string');
    } else assert.deepEqual(got, want, JSON.stringify(line));
  }
});

test('a console line cannot smuggle G-code through the temperature path', () => {
  const lines = ['M104 S200; M112', 'M104 S200 M112', 'M104 S200\nM112', 'M104 S200\rM112', 'M140 S60 ;\nM112', 'M104 S200;\nFIRMWARE_RESTART'];
  for (const line of lines) {
    const parsed = parseTemperatureLine(line);
    if (parsed === undefined || 'error' in parsed) continue;
    for (const v of [...Object.values(parsed.tools), parsed.bed ?? 0]) assert.equal(typeof v, 'number', line);
    const plan = planTemperatures(FULL, parsed, CHAMBER);
    assert.ok(plan.gcode.length > 0, `${JSON.stringify(line)} should still set a temperature`);
    for (const g of plan.gcode) {
      assert.match(g, SAFE_LINE, JSON.stringify(line));
      assert.doesNotMatch(g, /M112|RESTART|\n/);
    }
  }
  // The one the brief names: S is read as the number before the comment.
  assert.deepEqual(parseTemperatureLine('M104 S200; M112'), { tools: { 0: 200 } });
});

/** Small deterministic PRNG (mulberry32), so a failure is reproducible. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

test('property: random lines only ever produce safe temperature G-code', () => {
  const rand = rng(0xc0ffee);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const heads = ['M104', 'm104', 'M140', 'm140', ' M104', 'M1040', 'G28', ''];
  const pieces = [' ', '  ', '\t', ';', '\n', '\r', 'S', 's', 'T', 't', 'M112', 'X', 'e', '-', '.', '+', '"', 'Infinity', 'NaN', '0x1F', '1e3'];
  let produced = 0;
  let planned = 0;
  for (let i = 0; i < 200; i++) {
    let line = pick(heads);
    const n = Math.floor(rand() * 8);
    for (let j = 0; j < n; j++) {
      const r = rand();
      line += r < 0.4 ? pick([' S', ' T', ' s', ' t']) + String(Math.round((rand() * 800 - 200) * 100) / 100)
        : r < 0.8 ? pick(pieces)
        : String.fromCharCode(32 + Math.floor(rand() * 95));
    }
    const parsed = parseTemperatureLine(line);
    if (parsed === undefined) continue;
    if ('error' in parsed) {
      assert.equal(typeof parsed.error, 'string');
      continue;
    }
    planned++;
    const plan = planTemperatures(FULL, parsed, CHAMBER);
    for (const g of plan.gcode) {
      produced++;
      assert.match(g, SAFE_LINE, `from ${JSON.stringify(line)}`);
    }
  }
  // The generator must actually exercise the planner, or the property says nothing.
  assert.ok(planned >= 20, `only ${planned} lines parsed as temperature requests`);
  assert.ok(produced >= 20, `only ${produced} G-code lines produced`);
});
