// Print files the emulator serves under /files/<name>: inline bytes or
// generated G-code of a given size, each with an optional injected fault.
import type { FileFault, PrintFileInfo } from './types.js';

export interface FileEntry {
  name: string;
  size: number;
  /** Inline bytes; undefined = generated G-code of `size` bytes. */
  content?: Buffer;
  fault?: FileFault;
  faultTimes?: number;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;

export function isValidFileName(name: string): boolean {
  return NAME.test(name) && !name.includes('..');
}

/** Makes a file name from arbitrary text (e.g. a jobId). */
export function toFileName(text: string): string {
  const cleaned = text.replace(/[^A-Za-z0-9._-]/g, '_').replace(/\.{2,}/g, '_').replace(/^[^A-Za-z0-9]+/, '');
  return (cleaned || 'file').slice(0, 190);
}

export function checkFault(fault: FileFault): void {
  const nonNeg = (n: number, what: string): void => {
    if (!Number.isSafeInteger(n) || n < 0) throw new Error(`${what} must be a non-negative integer`);
  };
  if (fault.kind === 'truncate' || fault.kind === 'stall') nonNeg(fault.afterBytes, 'afterBytes');
  if (fault.kind === 'wrongLength') nonNeg(fault.contentLength, 'contentLength');
  if (fault.kind === 'status' && !(Number.isInteger(fault.status) && fault.status >= 400 && fault.status <= 599)) {
    throw new Error('status must be 400..599');
  }
}

export class FileStore {
  private readonly entries = new Map<string, FileEntry>();

  constructor(private readonly baseUrl: () => string) {}

  add(name: string, source: { content: string | Uint8Array } | { size: number }): FileEntry {
    if (!isValidFileName(name)) throw new Error(`invalid file name '${name}' (letters, digits, . _ -)`);
    let entry: FileEntry;
    if ('content' in source) {
      const content = typeof source.content === 'string' ? Buffer.from(source.content, 'utf8') : Buffer.from(source.content);
      entry = { name, size: content.length, content };
    } else {
      if (!Number.isSafeInteger(source.size) || source.size < 0) throw new Error('size must be a non-negative integer');
      entry = { name, size: source.size };
    }
    this.entries.set(name, entry);
    return entry;
  }

  get(name: string): FileEntry | undefined {
    return this.entries.get(name);
  }

  has(name: string): boolean {
    return this.entries.has(name);
  }

  remove(name: string): boolean {
    return this.entries.delete(name);
  }

  setFault(name: string, fault: FileFault | null, times?: number): void {
    const entry = this.entries.get(name);
    if (!entry) throw new Error(`no file '${name}'`);
    if (fault === null) {
      entry.fault = undefined;
      entry.faultTimes = undefined;
      return;
    }
    checkFault(fault);
    if (times !== undefined && !(Number.isSafeInteger(times) && times > 0)) throw new Error('times must be a positive integer');
    entry.fault = fault;
    entry.faultTimes = times;
  }

  /** The fault for this request, if any; counts down `times`. */
  takeFault(entry: FileEntry): FileFault | undefined {
    const fault = entry.fault;
    if (!fault) return undefined;
    if (entry.faultTimes !== undefined && --entry.faultTimes <= 0) {
      entry.fault = undefined;
      entry.faultTimes = undefined;
    }
    return fault;
  }

  url(name: string): string {
    return `${this.baseUrl()}/files/${encodeURIComponent(name)}`;
  }

  info(entry: FileEntry): PrintFileInfo {
    return {
      name: entry.name,
      size: entry.size,
      generated: entry.content === undefined,
      url: this.url(entry.name),
      fault: entry.fault,
      faultTimes: entry.faultTimes,
    };
  }

  list(): PrintFileInfo[] {
    return [...this.entries.values()].map((e) => this.info(e));
  }

  clear(): void {
    this.entries.clear();
  }
}
