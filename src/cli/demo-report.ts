// The summary `polarcloud demo` prints: what the emulated Polar Cloud saw,
// read from the emulator's control surface and put into a few lines.
import type { EmulatorEvent, PrinterInfo, UploadRecord } from '../emulator/types.js';

/** Polar status codes in words (protocol 2.0). */
const STATUS_NAMES: Record<number, string> = {
  0: 'Ready',
  1: 'Serial (local job)',
  2: 'Preparing',
  3: 'Printing',
  4: 'Paused',
  5: 'Post-processing',
  6: 'Canceled',
  7: 'Complete',
  8: 'Updating',
  9: 'Cold pause',
  10: 'Changing filament',
  11: 'TCP/IP',
  12: 'Error',
  13: 'Disconnected',
  14: 'Door open',
  15: 'Clear build plate',
};

export function statusName(code: number): string {
  return `${code} ${STATUS_NAMES[code] ?? '?'}`;
}

export interface SeenStatus {
  status: number;
  jobId?: string;
}

/** Status messages the printer sent, in order. */
export function statusesSeen(events: EmulatorEvent[]): SeenStatus[] {
  const out: SeenStatus[] = [];
  for (const e of events) {
    if (e.kind !== 'in' || e.name !== 'status' || typeof e.payload !== 'object' || e.payload === null) continue;
    const p = e.payload as { status?: unknown; jobId?: unknown };
    if (typeof p.status !== 'number') continue;
    out.push(typeof p.jobId === 'string' ? { status: p.status, jobId: p.jobId } : { status: p.status });
  }
  return out;
}

/** The status codes with consecutive repeats merged: 0, 2, 3, 5, 7, 0. */
export function distinctRuns(codes: number[]): number[] {
  return codes.filter((c, i) => i === 0 || codes[i - 1] !== c);
}

/** "register ×1, hello ×1, status ×40" in order of first appearance. */
export function messageCounts(events: EmulatorEvent[]): string {
  const counts = new Map<string, number>();
  for (const e of events) if (e.kind === 'in') counts.set(e.name ?? '?', (counts.get(e.name ?? '?') ?? 0) + 1);
  return [...counts].map(([name, n]) => `${name} ×${n}`).join(', ');
}

export interface JobReportSeen {
  jobId?: string;
  state?: string;
  printSeconds?: number;
  filamentUsed?: number;
}

export function jobReportsOf(printer: PrinterInfo | undefined): JobReportSeen[] {
  return (printer?.jobReports ?? []).filter((r): r is JobReportSeen => typeof r === 'object' && r !== null);
}

const bytes = (n: number): string => `${n.toLocaleString('en-US')} B`;

function duration(seconds: number): string {
  const s = Math.round(seconds);
  return s >= 60 ? `${Math.floor(s / 60)} min ${s % 60} s` : `${s} s`;
}

/** "1 idle, 2 printing (21,304–23,980 B each)" */
export function imagesLine(uploads: UploadRecord[]): string {
  const images = uploads.filter((u) => u.type === 'idle' || u.type === 'printing');
  if (images.length === 0) return 'none';
  const byType = ['idle', 'printing'].map((t) => `${images.filter((u) => u.type === t).length} ${t}`).join(', ');
  const sizes = images.map((u) => u.size);
  const lo = Math.min(...sizes);
  const hi = Math.max(...sizes);
  return `${byType} (${lo === hi ? bytes(lo) : `${bytes(lo)}–${bytes(hi)}`} each, ${[...new Set(images.map((u) => u.contentType))].join('/')})`;
}

export function jobReportLine(r: JobReportSeen | undefined, speedFactor: number): string {
  if (!r) return 'none';
  const parts = [`job ${r.jobId ?? '?'} ${r.state ?? '?'}`];
  if (r.printSeconds !== undefined) parts.push(`print time ${duration(r.printSeconds)} (simulated at ×${speedFactor})`);
  if (r.filamentUsed !== undefined) parts.push(`filament ${r.filamentUsed} mm`);
  return parts.join(', ');
}

export interface TimelapseSeen {
  /** The upload, or why there is none. */
  upload: UploadRecord | { skipped: string } | null;
  /** Video length from ffprobe, when it could be measured. */
  durationSec?: number;
}

export function timelapseLine(t: TimelapseSeen): string {
  if (t.upload === null) return 'not uploaded';
  if ('skipped' in t.upload) return `skipped: ${t.upload.skipped}`;
  const len = t.durationSec !== undefined ? `, ${t.durationSec.toFixed(1)} s of video` : '';
  return `uploaded ${bytes(t.upload.size)} ${t.upload.contentType}${len}`;
}

export interface DemoSummaryInput {
  serialNumber: string;
  printer: PrinterInfo | undefined;
  events: EmulatorEvent[];
  uploads: UploadRecord[];
  jobId: string | undefined;
  speedFactor: number;
  timelapse: TimelapseSeen;
  violations: EmulatorEvent[];
}

/** The "What the emulated Polar Cloud saw" block. */
export function summaryLines(s: DemoSummaryInput): string[] {
  const p = s.printer;
  const seen = statusesSeen(s.events);
  const runs = distinctRuns(seen.map((x) => x.status));
  const report = jobReportsOf(p).find((r) => r.jobId === s.jobId) ?? jobReportsOf(p)[0];
  const lines = [
    'What the emulated Polar Cloud saw:',
    `  printer ${s.serialNumber}: MAC ${p?.mac ?? '?'}, version ${String(p?.hello?.version ?? '?')}, ${p?.authenticated ? 'authenticated (signed hello)' : 'NOT authenticated'}`,
    `  statuses: ${runs.map(statusName).join(' → ') || 'none'} (${seen.length} messages)`,
    `  job report: ${jobReportLine(report, s.speedFactor)}`,
    `  camera images: ${imagesLine(s.uploads)}`,
    `  timelapse: ${timelapseLine(s.timelapse)}`,
    `  messages from the printer: ${messageCounts(s.events)}`,
    `  protocol violations: ${s.violations.length}`,
  ];
  for (const v of s.violations.slice(0, 5)) lines.push(`    - ${v.name ?? ''}: ${v.reason ?? ''}`);
  return lines;
}
