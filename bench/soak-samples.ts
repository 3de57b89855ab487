// What the soak measures of its own process (the bridge): RSS, heap after a
// full GC, open file descriptors, the log files' total size; and the trend
// (least-squares slope per simulated hour) over the part after warm-up.
import { existsSync, readdirSync, statSync } from 'node:fs';

const MIB = 1048576;

export interface Sample {
  /** Simulated hours since the start. */
  h: number;
  rssMiB: number;
  heapMiB: number;
  /** external + arrayBuffers (Buffers live there). */
  extMiB: number;
  fds: number;
  logBytes: number;
  /** Timers armed on the bridge's clock. */
  timers: number;
  /** What the printer was doing (print_stats.state). */
  state: string;
  prints: number;
}

/** Full GC (twice: the first may only schedule finalizers), then the heap in use. */
export function heapAfterGc(): number {
  if (typeof gc !== 'function') throw new Error('run with node --expose-gc');
  gc();
  gc();
  return process.memoryUsage().heapUsed / MIB;
}

export function openFds(): number {
  return readdirSync('/proc/self/fd').length;
}

/** Descriptors at rest: the least of a few readings (an image upload or ffmpeg run holds a few briefly). */
export async function restingFds(readings = 5, gapMs = 250): Promise<number> {
  let least = Infinity;
  for (let i = 0; i < readings; i++) {
    least = Math.min(least, openFds());
    if (i < readings - 1) await new Promise((r) => setTimeout(r, gapMs));
  }
  return least;
}

/** Total bytes of the log file and its rotations (file, file.1, …). */
export function logBytes(file: string, keep: number): number {
  let total = 0;
  for (let i = 0; i < keep + 2; i++) {
    try {
      total += statSync(i === 0 ? file : `${file}.${i}`).size;
    } catch {
      // not there (yet)
    }
  }
  return total;
}

/** How many of the log file and its rotations exist. */
export function logFileCount(file: string, keep: number): number {
  let n = 0;
  for (let i = 0; i < keep + 2; i++) if (existsSync(i === 0 ? file : `${file}.${i}`)) n++;
  return n;
}

export function takeSample(h: number, logFile: string, keep: number, timers: number, state: string, prints: number): Sample {
  const heapMiB = heapAfterGc();
  const m = process.memoryUsage();
  return {
    h,
    rssMiB: m.rss / MIB,
    heapMiB,
    extMiB: (m.external + m.arrayBuffers) / MIB,
    fds: openFds(),
    logBytes: logBytes(logFile, keep),
    timers,
    state,
    prints,
  };
}

/** Least-squares slope of y over x (per unit of x); NaN with fewer than 3 points. */
export function slope(xs: number[], ys: number[]): number {
  const n = xs.length;
  if (n < 3) return NaN;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i]! - mx) * (ys[i]! - my);
    den += (xs[i]! - mx) ** 2;
  }
  return den === 0 ? NaN : num / den;
}

/** The samples after warm-up: the second half of the run. */
export function secondHalf(samples: Sample[]): Sample[] {
  return samples.slice(Math.floor(samples.length / 2));
}

export function trend(samples: Sample[], pick: (s: Sample) => number): { perHour: number; per24h: number } {
  const half = secondHalf(samples);
  const perHour = slope(
    half.map((s) => s.h),
    half.map(pick),
  );
  return { perHour, per24h: perHour * 24 };
}

export function printTable(samples: Sample[]): void {
  const head = `${'sim h'.padStart(6)} ${'RSS'.padStart(6)} ${'heap'.padStart(6)} ${'ext'.padStart(6)} ${'fds'.padStart(4)} ${'log KiB'.padStart(8)} ${'timers'.padStart(6)} ${'prints'.padStart(6)}  printer`;
  process.stdout.write(`${head}\n`);
  for (const s of samples) {
    process.stdout.write(
      `${s.h.toFixed(2).padStart(6)} ${s.rssMiB.toFixed(1).padStart(6)} ${s.heapMiB.toFixed(2).padStart(6)} ${s.extMiB.toFixed(2).padStart(6)} ` +
        `${String(s.fds).padStart(4)} ${(s.logBytes / 1024).toFixed(0).padStart(8)} ${String(s.timers).padStart(6)} ${String(s.prints).padStart(6)}  ${s.state}\n`,
    );
  }
}
