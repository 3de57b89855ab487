// Unit tests of the shape comparison the realism check uses.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compareShape, type ShapeOptions } from './shape.js';

test('compareShape: equal shapes, different values -> no differences', () => {
  assert.deepEqual(compareShape({ a: 1, b: 'x', c: [1, 2], d: { e: true } }, { a: 9, b: 'y', c: [], d: { e: false } }), []);
});

test('compareShape: reports type changes and missing keys with paths', () => {
  const diffs = compareShape({ a: 1, b: { c: 'x', d: null }, e: [{ f: 1 }] }, { a: '1', b: { d: 3 }, e: [{ f: 1 }, { f: false }] });
  assert.deepEqual(diffs, [
    'a: expected number, got string',
    'b.c: missing key',
    'b.d: expected null, got number',
    'e[1].f: expected number, got boolean',
  ]);
  assert.deepEqual(compareShape([1], {}), ['(root): expected array, got object']);
});

test('compareShape: extra keys allowed by default, reported when disallowed', () => {
  assert.deepEqual(compareShape({ a: 1 }, { a: 1, b: 2 }), []);
  assert.deepEqual(compareShape({ a: 1 }, { a: 1, b: 2 }, { allowExtraKeys: false }), ['b: unexpected key']);
});

test('compareShape: optional, nullable, any, maps and tuples options', () => {
  const exp = { jobs: [{ end: 1.5, user: 'u', aux: [{ value: 1 }] }], net: { wlan0: { ip: 'a' } }, t: [{ o: 1 }, 2.5] };
  const act = { jobs: [{ end: null, aux: [{ value: [1] }] }], net: { eth0: { ip: 'b' }, lo: { ip: 3 } }, t: [{}, 7] };
  assert.deepEqual(compareShape(exp, act), [
    'jobs[0].end: expected number, got null',
    'jobs[0].user: missing key',
    'jobs[0].aux[0].value: expected number, got array',
    'net.wlan0: missing key',
    't[0].o: missing key',
    't[1]: expected object, got number',
  ]);
  const opts: ShapeOptions = {
    nullable: ['jobs[].end'],
    optional: ['jobs[].user', 't[0].*'],
    any: ['jobs[].aux[].value'],
    maps: ['net'],
    tuples: ['t'],
  };
  assert.deepEqual(compareShape(exp, act, opts), ['net.lo.ip: expected string, got number']);
  assert.deepEqual(compareShape([{ a: 1 }, 2], [{ a: 1 }], { tuples: [''] }), ['[1]: missing element']);
});
