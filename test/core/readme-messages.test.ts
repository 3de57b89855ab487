// The README's troubleshooting table is keyed on messages users see: every
// message quoted in its first column must exist in the source (a message that
// is never printed sends people looking for the wrong thing).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('../../../', import.meta.url).pathname;

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = join(dir, name);
    if (statSync(full).isDirectory()) return sources(full);
    return /\.(ts|sh)$/.test(name) ? [full] : [];
  });
}

/** `quoted` pieces of the first column of the table under "## Troubleshooting". */
function quotedMessages(): string[] {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const start = readme.indexOf('\n## Troubleshooting');
  assert.ok(start >= 0, 'README has a Troubleshooting section');
  const section = readme.slice(start, readme.indexOf('\n## ', start + 5));
  const out: string[] = [];
  for (const line of section.split('\n')) {
    if (!line.startsWith('| ') || line.startsWith('| you see') || line.startsWith('|---')) continue;
    const firstCell = line.split(' | ')[0]!;
    for (const m of firstCell.matchAll(/`([^`]+)`/g)) {
      // An ellipsis stands for a variable part: each side must exist on its own.
      out.push(...m[1]!.split(/\s*…\s*/).filter((p) => p.trim().length > 3));
    }
  }
  return out;
}

test('every message quoted in the README troubleshooting table exists in the source', () => {
  const text = ['src', 'moonraker-bridge', 'camera'].flatMap((d) => sources(join(root, d))).map((f) => readFileSync(f, 'utf8')).join('\n');
  const messages = quotedMessages();
  assert.ok(messages.length >= 10, `found ${messages.length} quoted messages`);
  const missing = messages.filter((m) => !text.includes(m));
  assert.deepEqual(missing, [], 'quoted in the README but never printed');
});
