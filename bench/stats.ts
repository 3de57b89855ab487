// Small helpers shared by the benchmarks: percentiles, a table printer, and the
// size/duration knobs (env, with a small default under BENCH_QUICK=1).
import { appendFileSync } from 'node:fs';

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

export function summarize(samples: number[]): { n: number; median: number; p99: number; min: number; max: number } {
  const s = [...samples].sort((a, b) => a - b);
  return { n: s.length, median: percentile(s, 50), p99: percentile(s, 99), min: s[0] ?? NaN, max: s[s.length - 1] ?? NaN };
}

/** BENCH_QUICK=1: a smoke run of every benchmark (about two minutes in all); its figures are indicative only. */
export const QUICK = process.env.BENCH_QUICK === '1';

/** A positive number from env `name`, else the full or the quick default. */
export function knob(name: string, full: number, quick: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return QUICK ? quick : full;
  const n = Number(raw);
  if (!(Number.isFinite(n) && n > 0)) throw new Error(`${name}=${raw}: expected a positive number`);
  return n;
}

/** Like knob, for list-valued settings (e.g. "100,1024"). */
export function knobText(name: string, full: string, quick: string): string {
  const raw = process.env[name];
  return raw === undefined || raw === '' ? (QUICK ? quick : full) : raw;
}

/** One row of a bench's results. With BENCH_ROWS set (run-all does), also appended there as a JSON line for the combined table. */
export function printRow(name: string, fields: Record<string, string | number>): void {
  const shown = Object.entries(fields).map(([k, v]): [string, string] => [k, typeof v === 'number' ? round(v) : v]);
  process.stdout.write(`${name.padEnd(36)} ${shown.map(([k, v]) => `${k}=${v}`).join('  ')}\n`);
  const rowsFile = process.env.BENCH_ROWS;
  if (rowsFile) appendFileSync(rowsFile, JSON.stringify({ name, fields: Object.fromEntries(shown) }) + '\n');
}

function round(v: number): string {
  if (!Number.isFinite(v) || Number.isInteger(v)) return String(v);
  return Math.abs(v) >= 100 ? v.toFixed(0) : v.toFixed(2);
}
