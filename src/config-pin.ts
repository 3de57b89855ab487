// polar.pin in the config file: read as the user wrote it, and taken out of
// the file after a successful registration without touching anything else.
//
// YAML reads `pin: 0123` as the number 123 (and `0x1F`, `1e3` as numbers too);
// a PIN is text, so the scalar's source text is used when it was not quoted.
// Removal deletes exactly the `pin:` line — re-serializing the document would
// move comments (the installed template's `# camera:` sections ended up under
// `log:`). The file is edited where it really lives (a symlinked config keeps
// its link), keeps its mode and owner, and is replaced atomically.
import { chown, readFile, realpath, stat, truncate, writeFile } from 'node:fs/promises';
import { isDeepStrictEqual } from 'node:util';
import { isMap, isScalar, parseDocument, type Document } from 'yaml';
import { writeFileAtomic } from './util/atomic-file.js';

/** The source text of polar.pin when YAML would read it as something other than the written string. */
export function pinSourceText(doc: Document, text: string): string | undefined {
  const node = doc.getIn(['polar', 'pin'], true);
  if (!isScalar(node) || typeof node.value === 'string' || !node.range) return undefined;
  if (node.type !== undefined && node.type !== 'PLAIN') return undefined;
  const src = text.slice(node.range[0], node.range[1]).trim();
  return src === '' ? undefined : src;
}

/** `text` without the polar.pin line, or undefined when that line holds anything else (flow style, …). */
export function withoutPinLine(text: string): string | undefined {
  const doc = parseDocument(text);
  if (doc.errors.length) return undefined;
  const polar = doc.get('polar', true);
  if (!isMap(polar)) return undefined;
  const pair = polar.items.find((p) => isScalar(p.key) && p.key.value === 'pin');
  if (!pair || !isScalar(pair.key) || !pair.key.range) return undefined;
  const keyStart = pair.key.range[0];
  const valueEnd = isScalar(pair.value) && pair.value.range ? pair.value.range[1] : pair.key.range[1];
  const lineStart = text.lastIndexOf('\n', keyStart - 1) + 1;
  if (text.slice(lineStart, keyStart).trim() !== '') return undefined;
  const nl = text.indexOf('\n', valueEnd);
  const lineEnd = nl === -1 ? text.length : nl + 1;
  // After the value: only blanks or a comment on the same line.
  if (!/^[ \t]*(#.*)?\r?$/.test(text.slice(valueEnd, nl === -1 ? text.length : nl))) return undefined;
  const next = text.slice(0, lineStart) + text.slice(lineEnd);
  // Proof: the result reads as the same config minus the PIN.
  const before = doc.toJS() as Record<string, Record<string, unknown>>;
  const { pin: _pin, ...polarRest } = before.polar!;
  const after = parseDocument(next);
  if (after.errors.length || !isDeepStrictEqual(after.toJS(), { ...before, polar: polarRest })) return undefined;
  return next;
}

const IN_PLACE_CODES = new Set(['EROFS', 'EACCES', 'EPERM', 'EBUSY']);

export type PinRemoval = { removed: true; file: string } | { removed: false; file: string; reason: string };

/** Removes the polar.pin line from the config (through symlinks, keeping mode and owner). */
export async function removePinFromConfig(file: string): Promise<PinRemoval> {
  const target = await realpath(file);
  const [text, st] = await Promise.all([readFile(target, 'utf8'), stat(target)]);
  if (!parseDocument(text).hasIn(['polar', 'pin'])) return { removed: false, file: target, reason: 'no polar.pin in the file' };
  const next = withoutPinLine(text);
  if (next === undefined) return { removed: false, file: target, reason: 'polar.pin is not on a line of its own; delete it by hand' };
  try {
    await writeFileAtomic(target, next, { mode: st.mode & 0o7777 });
  } catch (err) {
    // Under the systemd unit only the file itself is writable (ReadWritePaths=), not its
    // folder: no temp file beside it. Rewrite it in place then (a few hundred bytes).
    if (!IN_PLACE_CODES.has((err as NodeJS.ErrnoException).code ?? '')) throw err;
    await writeFile(target, next, { flag: 'r+' }).then(() => truncate(target, Buffer.byteLength(next)));
    return { removed: true, file: target };
  }
  // A root-run `polarcloud` must not hand the user's config to root.
  if (process.getuid?.() === 0 && (st.uid !== 0 || st.gid !== 0)) await chown(target, st.uid, st.gid).catch(() => undefined);
  return { removed: true, file: target };
}
