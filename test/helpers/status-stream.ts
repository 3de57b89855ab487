// The status-stream checker (issue 14): every status message the emulated cloud
// received, checked per job against the grammar of an exact mirror.
//
//   cloud job:  (2|15)* (3|4|9|10)* 5* (6|7)* — 15: waiting for a free printer and a cleared
//               build plate (issue 18), only before it prints; a refusal (12 with its jobId) may end a
//               try, the cloud may send the job again; 6/7 agree with the job's report
//   local job:  only 1/11 and 4/9/10 (jobId "123"), from its first status to its last
//   no 0 between a job's first and last status (a local job ends with its job report)
//   no local status (1/11 with "123") inside a cloud job's run
//   15 without a jobId (plate occupied, nothing waiting) never inside a cloud job's run: a job
//   waiting for the plate shows itself (15 or 2 with its jobId)
//   12/13 without a jobId only while Klipper/Moonraker really are in error/away
//   (sampled from the simulator), or while a new session has not reached Moonraker yet.
//   no 0 while a cloud job's file (`…-<jobId>.gcode`) sits in Moonraker's job queue (issue 18.4):
//   flagged only when the samples right before and right after that 0 both show it queued.
import type { PolarEmulator } from '../../src/emulator/index.js';
import type { MoonrakerSimulator } from '../../src/simulator/index.js';

export interface StreamStatus {
  seq: number;
  status: number;
  jobId?: string | undefined;
  progressDetail?: string | undefined;
}

/** What the simulator really was at a moment (klippy_state; 'disconnected' also when Moonraker is down). */
export interface HealthSample {
  /** Emulator event seq when sampled: statuses with a larger seq arrived after it. */
  seq: number;
  time: number;
  ok: boolean;
  /** Files in Moonraker's job queue when sampled (absent: not sampled). */
  queued?: string[];
}

export interface StreamInput {
  statuses: StreamStatus[];
  /** Seqs of `job` reports for the local job id (they end a local run). */
  localReportSeqs: number[];
  /** Every job report the cloud received. */
  reports?: Array<{ jobId: string; state: string }>;
  /** Seqs of `hello` messages (a new session: 13 until it reaches Moonraker is honest). */
  helloSeqs: number[];
  /** Null: no truth available, 12/13 are not checked. */
  health: HealthSample[] | null;
  /** How long after Klipper/Moonraker was last seen away a 12/13 is still honest (reconnect backoff). */
  awaySlackMs?: number;
}

const LOCAL = '123';
const CLOUD_RUN = /^[2F]*[349T]*5*[67]*$/;

function token(code: number): string {
  return code === 10 ? 'T' : code === 15 ? 'F' : String(code);
}

/** Violations of the grammar, one line each (empty: the stream is an exact mirror). */
export function checkStatusStream(input: StreamInput): string[] {
  const out: string[] = [];
  const s = input.statuses;
  const show = (from: number, to: number): string =>
    s
      .slice(Math.max(0, from - 2), to + 3)
      .map((x) => `${x.status}${x.jobId ? `/${x.jobId}` : ''}`)
      .join(' ');

  // ---- cloud jobs: split each job's statuses into tries (a 12 refusal ends one)
  const byJob = new Map<string, number[]>();
  s.forEach((x, i) => {
    if (!x.jobId || x.jobId === LOCAL) return;
    byJob.set(x.jobId, [...(byJob.get(x.jobId) ?? []), i]);
  });
  for (const [jobId, idx] of byJob) {
    const tries: number[][] = [[]];
    for (const i of idx) {
      const cur = tries[tries.length - 1]!;
      const prev = cur.length ? s[cur[cur.length - 1]!]!.status : null;
      if (prev === 12 && s[i]!.status !== 12) tries.push([i]);
      else cur.push(i);
    }
    for (const run of tries) {
      if (!run.length) continue;
      const codes = run.map((i) => s[i]!.status);
      const failed = codes[codes.length - 1] === 12;
      const body = failed ? codes.slice(0, codes.indexOf(12)) : codes;
      if (failed && !codes.slice(codes.indexOf(12)).every((c) => c === 12)) out.push(`cloud job ${jobId}: status after its refusal (12): ${codes.join(',')}`);
      if (!CLOUD_RUN.test(body.map(token).join(''))) out.push(`cloud job ${jobId}: ${codes.join(',')} breaks (2|15)* (3|4|9|10)* 5* (6|7)*  [${show(run[0]!, run[run.length - 1]!)}]`);
      // 6/7 say how the job ended: they must agree with its job report.
      const ends = new Set((input.reports ?? []).filter((r) => r.jobId === jobId).map((r) => r.state));
      if (codes.includes(7) && ends.size && !ends.has('completed')) out.push(`cloud job ${jobId}: 7 but reported ${[...ends].join('/')}: ${codes.join(',')}`);
      if (codes.includes(6) && ends.size && !ends.has('canceled')) out.push(`cloud job ${jobId}: 6 but reported ${[...ends].join('/')}: ${codes.join(',')}`);
      const from = run[0]!;
      const to = run[run.length - 1]!;
      for (let i = from + 1; i < to; i++) {
        const x = s[i]!;
        if (x.status === 0) out.push(`cloud job ${jobId}: 0 between its first and last status [${show(i, i)}]`);
        if (x.jobId === LOCAL && (x.status === 1 || x.status === 11)) out.push(`cloud job ${jobId}: local status ${x.status}/123 inside its run [${show(i, i)}]`);
        if (x.status === 15 && !x.jobId) out.push(`cloud job ${jobId}: 15 without its jobId inside its run [${show(i, i)}]`);
      }
    }
  }

  // ---- local jobs: 1/11 and 4/9/10 only; a run ends at its job report
  let runStart: number | null = null;
  let reportIdx = 0;
  const reports = [...input.localReportSeqs].sort((a, b) => a - b);
  s.forEach((x, i) => {
    while (reportIdx < reports.length && reports[reportIdx]! < x.seq) {
      runStart = null;
      reportIdx++;
    }
    if (x.jobId === LOCAL) {
      if (![1, 11, 4, 9, 10].includes(x.status)) out.push(`local job: status ${x.status} (only 1/11, 4/9/10) [${show(i, i)}]`);
      if (runStart === null) runStart = i;
      else for (let k = runStart + 1; k < i; k++) if (s[k]!.status === 0) out.push(`local job: 0 between its first and last status [${show(k, k)}]`);
      runStart = i;
    }
  });

  // ---- no 0 while a cloud job waits in Moonraker's queue (both neighbouring samples agree)
  if (input.health) {
    const samples = input.health;
    const cloudIds = [...byJob.keys()];
    const waitingIn = (sample: HealthSample | undefined): string | undefined =>
      sample?.queued === undefined ? undefined : cloudIds.find((id) => sample.queued!.some((f) => f.endsWith(`-${id}.gcode`)));
    s.forEach((x, i) => {
      if (x.status !== 0) return;
      let before: HealthSample | undefined;
      let after: HealthSample | undefined;
      for (const h of samples) {
        if (h.seq < x.seq) before = h;
        else {
          after = h;
          break;
        }
      }
      const id = waitingIn(before);
      if (id !== undefined && waitingIn(after) === id) out.push(`0 while cloud job ${id} waits in Moonraker's job queue [${show(i, i)}]`);
    });
  }

  // ---- 12/13 without a job: only while Klipper/Moonraker are really in error/away
  const health = input.health;
  if (health) {
    const slack = input.awaySlackMs ?? 6000;
    const hellos = [...input.helloSeqs].sort((a, b) => a - b);
    let sessionReachedPrinter = false;
    let inOutage = false;
    let h = 0;
    s.forEach((x, i) => {
      while (h < hellos.length && hellos[h]! < x.seq) {
        sessionReachedPrinter = false;
        h++;
      }
      const notReady = (x.status === 12 || x.status === 13) && !x.jobId;
      if (!notReady) {
        sessionReachedPrinter = true;
        inOutage = false;
        return;
      }
      if (x.status === 13 && !sessionReachedPrinter) return;
      // The tail of a real outage (the bridge reconnecting with its backoff) is honest too.
      if (inOutage) return;
      // Samples taken before this status arrived (and the one right after it).
      let last = -1;
      for (let k = 0; k < health.length && health[k]!.seq < x.seq; k++) last = k;
      const until = last + 1 < health.length ? last + 1 : last;
      const t0 = last >= 0 ? health[last]!.time - slack : -Infinity;
      let away = false;
      for (let k = until; k >= 0 && health[k]!.time >= t0; k--) if (!health[k]!.ok) away = true;
      if (!away) out.push(`status ${x.status} (${x.progressDetail ?? ''}) while Klipper and Moonraker were fine [${show(i, i)}]`);
      else inOutage = true;
    });
  }
  return [...new Set(out)];
}

/**
 * Samples the simulator's real state every `everyMs` (stamped with the emulator's event seq)
 * so 12/13 can be checked against it. Stop it before the simulator stops.
 */
export class HealthRecorder {
  readonly samples: HealthSample[] = [];
  private timer: ReturnType<typeof setInterval> | undefined;

  constructor(
    private readonly emu: PolarEmulator,
    private readonly sim: MoonrakerSimulator,
  ) {}

  start(everyMs = 25): void {
    // A dropped websocket is the bridge losing Moonraker (away from where it stands), though
    // klippy_state never changes: record it as a moment Moonraker was away.
    const control = this.sim.control as { dropWebsockets(): void };
    const drop = control.dropWebsockets.bind(control);
    control.dropWebsockets = () => {
      this.samples.push({ seq: this.emu.control.lastSeq(), time: Date.now(), ok: false });
      drop();
    };
    this.sample();
    this.timer = setInterval(() => this.sample(), everyMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private sample(): void {
    const ok = this.sim.control.klippyState() === 'ready';
    const queued = this.sim.control.queuedFiles();
    const last = this.samples[this.samples.length - 1];
    const sameQueue = last?.queued !== undefined && last.queued.join('\n') === queued.join('\n');
    // Every change, and otherwise one sample per 250 ms, keeps the record small over long storms.
    if (last && last.ok === ok && sameQueue && Date.now() - last.time < 250) return;
    this.samples.push({ seq: this.emu.control.lastSeq(), time: Date.now(), ok, queued });
  }
}

/** The checker's input from an emulator's event log for one printer. */
export function streamFromEmulator(emu: PolarEmulator, serial: string, health: HealthSample[] | null): StreamInput {
  const events = emu.control.events(0).filter((e) => e.kind === 'in' && (e.serialNumber === undefined || e.serialNumber === serial || serialOf(e.payload) === serial));
  const statuses: StreamStatus[] = [];
  const localReportSeqs: number[] = [];
  const helloSeqs: number[] = [];
  const reports: Array<{ jobId: string; state: string }> = [];
  for (const e of events) {
    const p = (e.payload ?? {}) as Record<string, unknown>;
    if (e.name === 'status' && typeof p.status === 'number') {
      statuses.push({ seq: e.seq, status: p.status, jobId: typeof p.jobId === 'string' ? p.jobId : undefined, progressDetail: typeof p.progressDetail === 'string' ? p.progressDetail : undefined });
    } else if (e.name === 'job' && typeof p.jobId === 'string') {
      reports.push({ jobId: p.jobId, state: String(p.state) });
      if (p.jobId === LOCAL) localReportSeqs.push(e.seq);
    }
    else if (e.name === 'hello') helloSeqs.push(e.seq);
  }
  return { statuses, localReportSeqs, reports, helloSeqs, health };
}

function serialOf(payload: unknown): string | undefined {
  const v = (payload as { serialNumber?: unknown } | undefined)?.serialNumber;
  return typeof v === 'string' ? v : undefined;
}
