// The configuration reference (docs/configuration.md, linked from the README)
// is the user's reference: every key the schema accepts must be documented
// there, with the schema's default, and the table must not list keys the
// schema does not know.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { configSchema, parseConfig } from '../../src/config.js';

function unwrap(s: z.ZodType): z.ZodType {
  let cur = s;
  for (let i = 0; i < 10; i++) {
    const def = (cur as unknown as { def?: { innerType?: z.ZodType; in?: z.ZodType } }).def;
    const next = def?.innerType ?? def?.in;
    if (!next || cur instanceof z.ZodObject) break;
    cur = next;
  }
  return cur;
}

function leafKeys(schema: z.ZodType, prefix = ''): string[] {
  const obj = unwrap(schema);
  if (!(obj instanceof z.ZodObject)) return [prefix];
  return Object.entries(obj.shape as Record<string, z.ZodType>).flatMap(([k, v]) => leafKeys(v, prefix ? `${prefix}.${k}` : k));
}

/** `a.b` and `a.b` / `c` rows of the README table, expanded (`camera.x` / `y` → camera.x, camera.y). */
function documentedKeys(): Map<string, string> {
  const doc = readFileSync(new URL('../../../docs/configuration.md', import.meta.url), 'utf8');
  const start = doc.indexOf('| key | default | meaning |');
  assert.ok(start >= 0, 'docs/configuration.md has the key table');
  const end = doc.indexOf('\n## ', start);
  const table = doc.slice(start, end === -1 ? undefined : end);
  const out = new Map<string, string>();
  for (const line of table.split('\n')) {
    const m = /^\| (`[^|]+) \| ([^|]*) \|/.exec(line);
    if (!m) continue;
    const names = [...m[1]!.matchAll(/`([^`]+)`/g)].map((x) => x[1]!);
    const first = names[0]!;
    const parent = first.includes('.') ? first.slice(0, first.lastIndexOf('.')) : '';
    for (const n of names) out.set(n.includes('.') || !parent ? n : `${parent}.${n}`, m[2]!.trim());
  }
  return out;
}

test('every config key is in the docs/configuration.md table, and the table has no unknown keys', () => {
  const schemaKeys = leafKeys(configSchema).sort();
  const documented = [...documentedKeys().keys()].sort();
  assert.deepEqual(schemaKeys.filter((k) => !documented.includes(k)), [], 'undocumented keys');
  assert.deepEqual(documented.filter((k) => !schemaKeys.includes(k)), [], 'documented keys the schema does not know');
});

test('defaults in the table match the schema', () => {
  const defaults = parseConfig('{}', undefined, { HOME: '/home/pi' }).config as unknown as Record<string, Record<string, unknown>>;
  const get = (key: string): unknown => key.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown> | undefined)?.[k], defaults);
  for (const [key, cell] of documentedKeys()) {
    const value = get(key);
    if (value === undefined || typeof value === 'object') continue; // optional, or a list/object
    const shown = [...cell.matchAll(/`([^`]+)`/g)].map((x) => x[1]!.replace(/^~/, '/home/pi'));
    if (shown.length === 0) continue;
    assert.ok(shown.some((sv) => sv === String(value) || sv.split(' / ').includes(String(value))), `${key}: README says ${cell}, schema default is ${String(value)}`);
  }
});
