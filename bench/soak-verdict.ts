// The soak's verdict: prints the summary rows and returns every reason to
// fail (empty = pass).
import { LOCAL_JOB_ID } from '../src/jobs/job-types.js';
import { printRow } from './stats.js';
import type { PrintRecord } from './soak-day.js';
import { trend, type Sample } from './soak-samples.js';

/** Heap growth over a projected day that counts as a leak. */
export const HEAP_GROWTH_LIMIT_MIB_PER_DAY = 5;
/** RSS is noisier (allocator, fragmentation): only a clear upward trend counts. */
export const RSS_GROWTH_LIMIT_MIB_PER_DAY = 20;
/** Shorter runs are still warming up (the heap settles over the first ~8 simulated hours): trends shown, not judged. */
export const MIN_HOURS_FOR_TREND = 12;
/** Descriptors the bridge may hold at the end beyond those at the start. */
export const FD_SLACK = 2;

export interface VerdictInput {
  samples: Sample[];
  fdsStart: number;
  fdsEnd: number;
  logBound: number;
  /** Largest total size of the log files seen (checked every 200 ms). */
  logPeak: number;
  logFiles: number;
  prints: PrintRecord[];
  reports: Array<{ jobId: string; state: string }>;
  online: boolean;
  onlineWhy: string;
  violations: string[];
  problems: string[];
}

function memRow(name: string, samples: Sample[], pick: (s: Sample) => number): { per24h: number } {
  const t = trend(samples, pick);
  const ys = samples.map(pick);
  printRow(name, {
    start: ys[0] ?? NaN,
    end: ys[ys.length - 1] ?? NaN,
    max: Math.max(...ys),
    'slope/h': t.perHour,
    'proj/24h': t.per24h,
  });
  return t;
}

/** Every cloud job reported exactly once with its state; one local report per local print; nothing else. */
function checkReports(prints: PrintRecord[], reports: Array<{ jobId: string; state: string }>): string[] {
  const why: string[] = [];
  const cloud = prints.filter((p) => p.jobId !== undefined);
  for (const p of cloud) {
    const mine = reports.filter((r) => r.jobId === p.jobId);
    const want = p.expected === 'completed' ? 'complete' : 'cancelled';
    if (p.end !== want) why.push(`print ${p.n} (${p.kind}, job ${p.jobId}) ended '${p.end ?? 'never'}', expected '${want}'`);
    if (mine.length === 0) why.push(`cloud job ${p.jobId} (print ${p.n}) has no job report`);
    else if (mine.length > 1) why.push(`cloud job ${p.jobId} (print ${p.n}) reported ${mine.length} times: ${mine.map((r) => r.state).join(', ')}`);
    else if (mine[0]!.state !== p.expected) why.push(`cloud job ${p.jobId} (print ${p.n}) reported '${mine[0]!.state}', expected '${p.expected}'`);
  }
  const local = prints.filter((p) => p.kind === 'local');
  const localRan = local.filter((p) => p.startedH !== undefined).length;
  const localReports = reports.filter((r) => r.jobId === LOCAL_JOB_ID);
  if (localRan !== local.length) why.push(`${local.length - localRan} local print(s) did not start`);
  if (localReports.length !== localRan) why.push(`${localRan} local prints ran but the cloud got ${localReports.length} local job reports`);
  const wrongLocal = localReports.filter((r) => r.state !== 'completed');
  if (wrongLocal.length) why.push(`local job reports not 'completed': ${wrongLocal.map((r) => r.state).join(', ')}`);
  const known = new Set([LOCAL_JOB_ID, ...cloud.map((p) => p.jobId)]);
  const stray = reports.filter((r) => !known.has(r.jobId));
  if (stray.length) why.push(`job reports for jobs the soak never sent: ${stray.map((r) => `${r.jobId}=${r.state}`).join(', ')}`);
  return why;
}

/** One line per print: what ran, when, how it ended, what the cloud was told. */
export function printPrints(prints: PrintRecord[], reports: Array<{ jobId: string; state: string }>): void {
  const h = (x: number | undefined): string => (x === undefined ? '  -  ' : x.toFixed(2).padStart(5));
  for (const p of prints) {
    const rep = p.jobId ? reports.filter((r) => r.jobId === p.jobId).map((r) => r.state).join('+') || 'none' : '(local)';
    process.stdout.write(
      `  #${String(p.n).padStart(2)} ${p.kind.padEnd(12)} ${(p.jobId ?? '').padEnd(16)} ${String(p.plannedMin).padStart(3)} min  ${h(p.startedH)} → ${h(p.endedH)} h  ${(p.end ?? '?').padEnd(9)} report ${rep}\n`,
    );
  }
}

export function judge(v: VerdictInput): string[] {
  const why: string[] = [];
  const hours = v.samples[v.samples.length - 1]?.h ?? 0;
  const rss = memRow('soak RSS (MiB)', v.samples, (s) => s.rssMiB);
  const heap = memRow('soak heap after GC (MiB)', v.samples, (s) => s.heapMiB);
  memRow('soak external+buffers (MiB)', v.samples, (s) => s.extMiB);
  printRow('soak open fds', { 'start (at rest)': v.fdsStart, 'end (at rest)': v.fdsEnd, max: Math.max(...v.samples.map((s) => s.fds)) });
  const timers = v.samples.map((s) => s.timers);
  printRow('soak bridge timers', { start: timers[0] ?? NaN, end: timers[timers.length - 1] ?? NaN, max: Math.max(...timers) });
  printRow('soak log bytes', { peak: v.logPeak, bound: v.logBound, 'files at end': v.logFiles });
  const cloud = v.prints.filter((p) => p.jobId !== undefined);
  printRow('soak jobs', {
    'sim h': hours,
    cloud: cloud.length,
    'cloud canceled': cloud.filter((p) => p.expected === 'canceled').length,
    local: v.prints.filter((p) => p.kind === 'local').length,
    reports: v.reports.length,
  });

  if (hours < MIN_HOURS_FOR_TREND) {
    process.stdout.write(`(memory trends not judged: ${hours.toFixed(1)} simulated h is shorter than the ${MIN_HOURS_FOR_TREND} h a trend needs)\n`);
  } else {
    if (heap.per24h > HEAP_GROWTH_LIMIT_MIB_PER_DAY) {
      why.push(`heap after GC grows ${heap.per24h.toFixed(2)} MiB per simulated day over the second half (limit ${HEAP_GROWTH_LIMIT_MIB_PER_DAY})`);
    }
    if (rss.per24h > RSS_GROWTH_LIMIT_MIB_PER_DAY) {
      why.push(`RSS grows ${rss.per24h.toFixed(1)} MiB per simulated day over the second half (limit ${RSS_GROWTH_LIMIT_MIB_PER_DAY})`);
    }
  }
  if (v.fdsEnd > v.fdsStart + FD_SLACK) why.push(`open descriptors at rest went from ${v.fdsStart} to ${v.fdsEnd}`);
  if (v.logPeak > v.logBound) why.push(`log files reached ${v.logPeak} bytes, over the rotation bound ${v.logBound}`);
  if (cloud.length === 0) why.push('no cloud print ran');
  why.push(...checkReports(v.prints, v.reports));
  if (!v.online) why.push(`the bridge is not online at the end: ${v.onlineWhy}`);
  if (v.violations.length) why.push(`${v.violations.length} protocol violations seen by the cloud: ${v.violations.slice(0, 5).join('; ')}`);
  why.push(...v.problems);
  return why;
}
