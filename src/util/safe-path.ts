// Names and deletes for anything on disk derived from cloud input. A cloud
// string never becomes a path segment as it is: it is used only when it is a
// plain token ([A-Za-z0-9_-]), otherwise it is replaced by a hash of itself.
// Every delete of such a path first checks that the resolved path lies
// strictly inside its parent folder ("..", "", "/x" and symlink-free escapes
// are refused), so a bad name can at worst fail, never remove the data folder.
import { createHash } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { isAbsolute, relative, resolve, sep } from 'node:path';

/** What Polar sends as a jobId: letters, digits, _ and -, bounded. */
export const JOB_ID_PATTERN = /^[A-Za-z0-9_-]{1,128}$/;

const TOKEN = /^[A-Za-z0-9_-]{1,64}$/;

/** A single path segment for `text`: the text itself when it is a plain token, else `h-<sha256 prefix>`. */
export function safeSegment(text: string): string {
  if (TOKEN.test(text)) return text;
  return `h-${createHash('sha256').update(text, 'utf8').digest('hex').slice(0, 24)}`;
}

export class PathEscapeError extends Error {
  constructor(
    readonly parent: string,
    readonly target: string,
  ) {
    super(`refused: ${target} is not strictly inside ${parent}`);
    this.name = 'PathEscapeError';
  }
}

/** True when `target` resolves to a path strictly below `parent` (not the parent itself). */
export function isStrictlyInside(parent: string, target: string): boolean {
  const rel = relative(resolve(parent), resolve(target));
  return rel !== '' && !isAbsolute(rel) && rel !== '..' && !rel.startsWith(`..${sep}`);
}

/** `parent/segment`, checked: throws PathEscapeError when it would not be strictly inside `parent`. */
export function childPath(parent: string, segment: string): string {
  const target = resolve(parent, segment);
  if (!isStrictlyInside(parent, target) || segment.includes('/') || segment.includes('\\')) throw new PathEscapeError(parent, target);
  return target;
}

/** rm (recursive, force) of `target`, only when it lies strictly inside `parent`; throws PathEscapeError otherwise. */
export async function removeInside(parent: string, target: string, opts: { recursive?: boolean } = {}): Promise<void> {
  if (!isStrictlyInside(parent, target)) throw new PathEscapeError(resolve(parent), resolve(target));
  await rm(target, { recursive: opts.recursive ?? false, force: true });
}
