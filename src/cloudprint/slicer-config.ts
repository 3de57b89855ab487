// Pure: the cloud's slicer config (an INI handed to slicer.command as {config})
// made safe before the slicer reads it. PrusaSlicer/SuperSlicer/OrcaSlicer run
// `post_process` scripts from their config, so a cloud-supplied INI could run
// any program on the printer's host. Every key whose name suggests a script,
// command, program, hook or a path is dropped (generously: a few harmless keys
// go too, such as a `description`); a file that is not plain INI is refused.

/**
 * Parts of a key name that get it removed, compared on the key lower-cased with
 * separators (space . - _) removed. Documented in docs/security.md.
 */
export const STRIPPED_KEY_PARTS = [
  'script', // post-processing scripts, any *_script
  'command', // *_command, commands
  'cmd',
  'postprocess', // post_process (PrusaSlicer, SuperSlicer, OrcaSlicer, Slic3r)
  'exec',
  'shell',
  'program',
  'binary',
  'hook',
  'plugin',
  'outputfilename', // output_filename_format: where the slicer writes
  'outputdir',
  'directory',
  'path',
] as const;

export interface SanitizedIni {
  text: string;
  /** Keys removed, in file order (as written). */
  removed: string[];
}

export class SlicerConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SlicerConfigError';
  }
}

const SECTION = /^\[[^\]\r\n]{1,200}\]$/;
const KEY_VALUE = /^([A-Za-z0-9_.\- ]{1,200}?)\s*[=:]\s?(.*)$/;

export function isStrippedKey(key: string): boolean {
  const squashed = key.toLowerCase().replace(/[\s._-]+/g, '');
  return STRIPPED_KEY_PARTS.some((p) => squashed.includes(p));
}

/** The config without script/command/path keys; throws SlicerConfigError when it is not plain INI text. */
export function sanitizeSlicerIni(raw: Buffer | string): SanitizedIni {
  const text = typeof raw === 'string' ? raw : raw.toString('utf8');
  if (typeof raw !== 'string' && !Buffer.from(text, 'utf8').equals(raw)) throw new SlicerConfigError('the slicer config is not UTF-8 text');
  if (/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/.test(text)) throw new SlicerConfigError('the slicer config contains control characters');
  const out: string[] = [];
  const removed: string[] = [];
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  for (const [i, line] of lines.entries()) {
    const t = line.trim();
    if (t === '' || t.startsWith('#') || t.startsWith(';') || SECTION.test(t)) {
      out.push(line);
      continue;
    }
    const m = KEY_VALUE.exec(t);
    if (!m) throw new SlicerConfigError(`the slicer config is not an INI file (line ${i + 1} is not "key = value")`);
    const key = m[1]!.trim();
    if (isStrippedKey(key)) {
      removed.push(key);
      continue;
    }
    out.push(line);
  }
  return { text: out.join('\n'), removed };
}
