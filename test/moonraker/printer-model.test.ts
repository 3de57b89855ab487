import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PrinterModel, mergeDeep, type PrinterModelEvents } from '../../moonraker-bridge/index.js';
import { captureLog } from './helpers.js';

const BASE = {
  webhooks: { state: 'ready', state_message: 'Printer is ready' },
  heaters: { available_heaters: ['extruder', 'heater_bed', 'heater_generic chamber'], available_sensors: ['temperature_sensor mcu'] },
  print_stats: { state: 'standby', filename: '', info: { total_layer: null, current_layer: null }, print_duration: 0 },
  virtual_sdcard: { file_path: null, progress: 0, is_active: false },
  toolhead: { position: [0, 0, 0, 0], homed_axes: '' },
  extruder: { temperature: 21.5, target: 0, power: 0 },
  heater_bed: { temperature: 20, target: 0, power: 0 },
  'heater_generic chamber': { temperature: 19, target: 0, power: 0 },
  'temperature_sensor mcu': { temperature: 40 },
};

interface Case {
  name: string;
  updates: unknown[];
  expect: Record<string, Record<string, unknown> | undefined>;
  changedEvents: number;
  warns?: number;
}

const cases: Case[] = [
  {
    name: 'flat field update merges into the object',
    updates: [[{ extruder: { temperature: 200.1 } }, 101]],
    expect: { extruder: { temperature: 200.1, target: 0, power: 0 } },
    changedEvents: 1,
  },
  {
    name: 'nested objects deep-merge (print_stats.info)',
    updates: [
      [{ print_stats: { info: { total_layer: 10, current_layer: 1 } } }, 101],
      [{ print_stats: { info: { current_layer: 2 } } }, 102],
    ],
    expect: { print_stats: { state: 'standby', filename: '', info: { total_layer: 10, current_layer: 2 }, print_duration: 0 } },
    changedEvents: 2,
  },
  {
    name: 'arrays are replaced, not merged',
    updates: [[{ toolhead: { position: [10, 20] } }, 101]],
    expect: { toolhead: { position: [10, 20], homed_axes: '' } },
    changedEvents: 1,
  },
  {
    name: 'null replaces a value',
    updates: [
      [{ virtual_sdcard: { file_path: '/gcodes/a.gcode' } }, 101],
      [{ virtual_sdcard: { file_path: null, progress: 1 } }, 102],
    ],
    expect: { virtual_sdcard: { file_path: null, progress: 1, is_active: false } },
    changedEvents: 2,
  },
  {
    name: 'several objects in one update give one event',
    updates: [[{ extruder: { target: 210 }, heater_bed: { target: 60 }, idle_timeout: { state: 'Printing' } }, 101]],
    expect: { extruder: { temperature: 21.5, target: 210, power: 0 }, heater_bed: { temperature: 20, target: 60, power: 0 }, idle_timeout: { state: 'Printing' } },
    changedEvents: 1,
  },
  {
    name: 'unknown objects are stored as sent',
    updates: [[{ 'gcode_macro FOO': { var_x: [1, { a: 2 }] } }, 101]],
    expect: { 'gcode_macro FOO': { var_x: [1, { a: 2 }] } },
    changedEvents: 1,
  },
  {
    name: 'a badly typed object is dropped, the rest applied',
    updates: [[{ print_stats: { state: 5 }, extruder: { temperature: 30 } }, 101]],
    expect: { print_stats: BASE.print_stats, extruder: { temperature: 30, target: 0, power: 0 } },
    changedEvents: 1,
    warns: 1,
  },
  {
    name: 'heater and sensor temperatures must be numbers',
    updates: [[{ 'temperature_sensor mcu': { temperature: 'hot' } }, 101]],
    expect: { 'temperature_sensor mcu': { temperature: 40 } },
    changedEvents: 0,
    warns: 1,
  },
  {
    name: 'malformed params are dropped whole',
    updates: [
      'nope',
      [],
      [{ extruder: { temperature: 1 } }],
      [{ extruder: { temperature: 1 } }, 'not a time'],
      [{ extruder: 'not an object' }, 1],
      [[1, 2], 1],
      null,
    ],
    expect: { extruder: BASE.extruder },
    changedEvents: 0,
    warns: 7,
  },
];

for (const c of cases) {
  test(`model merge: ${c.name}`, () => {
    const log = captureLog();
    const model = new PrinterModel({ log });
    model.replaceAll(structuredClone(BASE), 100);
    const events: Array<PrinterModelEvents['objectsChanged']> = [];
    model.on('objectsChanged', (e) => events.push(e));
    for (const u of c.updates) assert.doesNotThrow(() => model.applyUpdate(u));
    const snap = model.snapshot();
    for (const [name, fields] of Object.entries(c.expect)) assert.deepEqual(snap.object(name), fields, name);
    assert.equal(events.length, c.changedEvents);
    assert.equal(log.count('warn'), c.warns ?? 0);
  });
}

test('objectsChanged carries the changed fields and eventtime', () => {
  const model = new PrinterModel({ log: captureLog() });
  model.replaceAll(structuredClone(BASE), 100);
  const events: Array<PrinterModelEvents['objectsChanged']> = [];
  model.on('objectsChanged', (e) => events.push(e));
  model.applyUpdate([{ extruder: { temperature: 50 }, print_stats: { print_duration: 3 } }, 123.5]);
  assert.deepEqual(events, [{ changed: { extruder: { temperature: 50 }, print_stats: { print_duration: 3 } }, eventtime: 123.5 }]);
  assert.equal(model.snapshot().eventtime, 123.5);
});

test('printStateChanged fires once per transition with the filename', () => {
  const model = new PrinterModel({ log: captureLog() });
  const events: Array<PrinterModelEvents['printStateChanged']> = [];
  model.on('printStateChanged', (e) => events.push(e));
  model.replaceAll(structuredClone(BASE), 100);
  model.applyUpdate([{ print_stats: { state: 'printing', filename: 'cube.gcode' } }, 101]);
  model.applyUpdate([{ print_stats: { print_duration: 5 } }, 102]);
  model.applyUpdate([{ print_stats: { state: 'paused' } }, 103]);
  model.replaceAll({ ...structuredClone(BASE), print_stats: { state: 'paused', filename: 'cube.gcode' } }, 104);
  model.applyUpdate([{ print_stats: { state: 'complete' } }, 105]);
  assert.deepEqual(events, [
    { from: null, to: 'standby', filename: '' },
    { from: 'standby', to: 'printing', filename: 'cube.gcode' },
    { from: 'printing', to: 'paused', filename: 'cube.gcode' },
    { from: 'paused', to: 'complete', filename: 'cube.gcode' },
  ]);
});

test('a snapshot already handed out never changes', () => {
  const model = new PrinterModel({ log: captureLog() });
  model.replaceAll(structuredClone(BASE), 100);
  const before = model.snapshot();
  assert.equal(model.snapshot(), before, 'cached until something changes');
  model.applyUpdate([{ print_stats: { info: { current_layer: 3 } }, extruder: { temperature: 99 } }, 101]);
  assert.deepEqual(before.print_stats.info, { total_layer: null, current_layer: null });
  assert.equal(before.heaters.find((h) => h.name === 'extruder')?.temperature, 21.5);
  const after = model.snapshot();
  assert.notEqual(after, before);
  assert.equal(after.print_stats.info?.current_layer, 3);
  assert.ok(Object.isFrozen(after));
});

test('replaceAll forgets objects that are gone and reports only real changes', () => {
  const model = new PrinterModel({ log: captureLog() });
  model.replaceAll(structuredClone(BASE), 100);
  const events: Array<PrinterModelEvents['objectsChanged']> = [];
  model.on('objectsChanged', (e) => events.push(e));
  const next: Record<string, unknown> = structuredClone(BASE);
  delete next['heater_generic chamber'];
  (next.extruder as Record<string, unknown>).target = 200;
  model.replaceAll(next, 200);
  assert.equal(model.snapshot().object('heater_generic chamber'), undefined);
  assert.deepEqual(events, [{ changed: { extruder: { target: 200 } }, eventtime: 200 }]);
  model.replaceAll(structuredClone(next), 201);
  assert.equal(events.length, 1, 'identical snapshot: no event');
});

test('heaters view: heaters then sensors, with max_temp from configfile settings', () => {
  const model = new PrinterModel({ log: captureLog() });
  model.replaceAll(
    {
      ...structuredClone(BASE),
      configfile: { settings: { extruder: { max_temp: 280, min_temp: 0 }, heater_bed: { max_temp: 120 }, 'heater_generic chamber': { max_temp: 70 } } },
    },
    100,
  );
  assert.deepEqual(model.snapshot().heaters, [
    { name: 'extruder', kind: 'heater', temperature: 21.5, target: 0, power: 0, max_temp: 280, min_temp: 0 },
    { name: 'heater_bed', kind: 'heater', temperature: 20, target: 0, power: 0, max_temp: 120, min_temp: null },
    { name: 'heater_generic chamber', kind: 'heater', temperature: 19, target: 0, power: 0, max_temp: 70, min_temp: null },
    { name: 'temperature_sensor mcu', kind: 'sensor', temperature: 40, target: null, power: null, max_temp: null, min_temp: null },
  ]);
});

test('connection and klippy state events; webhooks shutdown becomes klippy_shutdown', () => {
  const model = new PrinterModel({ log: captureLog() });
  const conn: Array<PrinterModelEvents['connectionChanged']> = [];
  const klippy: Array<PrinterModelEvents['klippyStateChanged']> = [];
  model.on('connectionChanged', (e) => conn.push(e));
  model.on('klippyStateChanged', (e) => klippy.push(e));
  model.setConnection('connecting');
  model.setConnection('connecting');
  model.setConnection('klippy_ready', 'Printer is ready');
  model.replaceAll(structuredClone(BASE), 100);
  model.applyUpdate([{ webhooks: { state: 'shutdown', state_message: 'MCU shutdown: Timer too close' } }, 101]);
  model.setConnection('disconnected', 'connection closed');
  assert.deepEqual(
    conn.map((e) => [e.from, e.to]),
    [
      ['disconnected', 'connecting'],
      ['connecting', 'klippy_ready'],
      ['klippy_ready', 'klippy_shutdown'],
      ['klippy_shutdown', 'disconnected'],
    ],
  );
  assert.deepEqual(klippy, [
    { from: 'unknown', to: 'ready', message: 'Printer is ready' },
    { from: 'ready', to: 'shutdown', message: 'MCU shutdown: Timer too close' },
    { from: 'shutdown', to: 'unknown', message: 'connection closed' },
  ]);
  assert.equal(model.snapshot().connection, 'disconnected');
  assert.equal(model.snapshot().stateMessage, 'connection closed');
});

test('object list gives macros', () => {
  const model = new PrinterModel({ log: captureLog() });
  model.setObjectList(['webhooks', 'gcode_macro PAUSE', 'gcode_macro CANCEL_PRINT', 'extruder']);
  assert.deepEqual(model.snapshot().macros, ['PAUSE', 'CANCEL_PRINT']);
  assert.deepEqual(model.snapshot().objectNames, ['webhooks', 'gcode_macro PAUSE', 'gcode_macro CANCEL_PRINT', 'extruder']);
});

test('a throwing listener does not break the model', () => {
  const log = captureLog();
  const model = new PrinterModel({ log });
  model.on('objectsChanged', () => {
    throw new Error('listener bug');
  });
  const seen: number[] = [];
  model.on('objectsChanged', (e) => seen.push(e.eventtime));
  assert.doesNotThrow(() => model.applyUpdate([{ extruder: { temperature: 1 } }, 5]));
  assert.deepEqual(seen, [5]);
  assert.equal(log.count('error', /listener bug/), 1);
});

test('mergeDeep does not mutate its inputs', () => {
  const base = { a: { b: 1, c: [1] }, d: 1 };
  const delta = { a: { b: 2 } };
  const out = mergeDeep(base, delta);
  assert.deepEqual(out, { a: { b: 2, c: [1] }, d: 1 });
  assert.deepEqual(base, { a: { b: 1, c: [1] }, d: 1 });
});
