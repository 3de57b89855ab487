// The hand checks on the status stream's hot path accept nothing the zod
// schemas would refuse (anything unusual falls through to the schemas).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { plainNotification, plainStatusUpdate, plainTemperatureFields } from '../../moonraker-bridge/fast-checks.js';
import { temperatureObjectSchema } from '../../moonraker-bridge/printer-objects.js';

test('plainNotification: notifications without id only; the rest goes to the schema', () => {
  assert.deepEqual(plainNotification({ jsonrpc: '2.0', method: 'notify_status_update', params: [{}, 1] }), { method: 'notify_status_update', params: [{}, 1] });
  assert.deepEqual(plainNotification({ jsonrpc: '2.0', method: 'notify_klippy_ready' }), { method: 'notify_klippy_ready', params: undefined });
  for (const raw of [
    { jsonrpc: '2.0', method: 'x', id: 1 },
    { jsonrpc: '2.0', method: 'x', id: null },
    { jsonrpc: '1.0', method: 'x' },
    { jsonrpc: '2.0', method: '' },
    { jsonrpc: '2.0', method: 5 },
    { jsonrpc: '2.0', method: 'x', params: 'text' },
    { jsonrpc: '2.0', method: 'x', params: null },
  ]) assert.equal(plainNotification(raw), undefined, JSON.stringify(raw));
});

test('plainStatusUpdate: [objects, eventtime] with object values only', () => {
  const ok = [{ extruder: { temperature: 21.3 } }, 123.4];
  assert.deepEqual(plainStatusUpdate(ok), [ok[0], 123.4]);
  assert.deepEqual(plainStatusUpdate([{}, 1, 'extra']), [{}, 1]);
  for (const bad of [[{ extruder: 5 }, 1], [{ extruder: [1] }, 1], [{ extruder: null }, 1], [{}, '1'], [{}], [[], 1], 'x', null])
    assert.equal(plainStatusUpdate(bad), undefined, JSON.stringify(bad));
});

test('plainTemperatureFields accepts only what temperatureObjectSchema accepts', () => {
  const cases: Record<string, unknown>[] = [
    { temperature: 21.5 }, { temperature: null, target: 0, power: 0.25 }, {}, { temperature: 20, extra: 'kept' },
    { temperature: '21' }, { target: true }, { power: [] }, { temperature: {} },
  ];
  for (const c of cases) {
    const fast = plainTemperatureFields(c);
    if (fast) assert.ok(temperatureObjectSchema.safeParse(c).success, `schema refuses ${JSON.stringify(c)}`);
    else assert.ok(!temperatureObjectSchema.safeParse(c).success, `fast check refuses a valid ${JSON.stringify(c)}`);
  }
});
