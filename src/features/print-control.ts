// Cloud commands that drive the running print and the machine: pause (plain,
// cold, filament change), resume, cancel, connectPrinter and jogPrinter.
// Each acts through Moonraker and then answers with a status message.
import type { CloudToPrinter } from '../polar/messages.js';
import { errText } from '../util/log.js';
import { announce, isPrinting, type Feature, type FeatureContext } from './feature-context.js';
import { shortHeaterName } from './temperature-gcode.js';
import { printRunning } from './gcode-policy.js';

/** Largest single jog move accepted (mm); anything larger is a typo or an attack. */
const MAX_JOG_MM = 500;
const MAX_EXTRUDE_MM = 200;

/** Optional hook for a cloud job still being downloaded/uploaded/started (cloud-print feature). */
export interface CloudPrintAborter {
  /** Aborts the preparing job; true if there was one. */
  abortPreparing(reason: string): Promise<boolean>;
  /** Takes the cloud job waiting in the printer's job queue out of it (reported canceled); true if there was one. */
  cancelQueued?(): Promise<boolean>;
  /** The cloud job whose start Klipper accepted last (null: none since this process started). */
  startedJobId?(): string | null;
}

export class PrintControl implements Feature {
  private offs: (() => void)[] = [];
  /** Heater targets switched off by a cold pause, restored on resume. */
  private coldTargets: Map<string, number> | null = null;

  constructor(
    private readonly ctx: FeatureContext,
    private readonly aborter?: CloudPrintAborter,
  ) {}

  start(): void {
    const { polar, printer, status } = this.ctx;
    this.offs.push(
      polar.onCommand('pause', (m) => void this.act('pause', () => this.pause(m.type))),
      polar.onCommand('resume', () => void this.act('resume', () => this.resume())),
      polar.onCommand('cancel', () => void this.act('cancel', () => this.cancel())),
      polar.onCommand('connectPrinter', () => void this.act('connectPrinter', () => this.connectPrinter())),
      polar.onCommand('jogPrinter', (m) => void this.act('jogPrinter', () => this.jog(m.jogPrinter))),
      printer.on('printStateChanged', ({ to }) => {
        if (to !== 'paused' && status.currentPauseKind !== null) status.setPauseKind(null);
        if (to !== 'paused' && to !== 'printing') this.coldTargets = null;
      }),
    );
  }

  stop(): void {
    for (const off of this.offs.splice(0)) off();
  }

  private async act(name: string, fn: () => Promise<void>): Promise<void> {
    try {
      await fn();
    } catch (err) {
      announce(this.ctx, `${name} failed: ${errText(err)}`);
    }
    this.ctx.status.sendNow();
  }

  private async pause(type: 'pause' | 'cold' | 'filament'): Promise<void> {
    const { api, printer, status, config } = this.ctx;
    const s = printer.snapshot();
    if (s.print_stats.state !== 'printing') {
      announce(this.ctx, `pause ignored: the printer is ${s.print_stats.state ?? 'not printing'}`, 'info');
      return;
    }
    if (type === 'filament') {
      const macro = config.control.filament_change_macro;
      const exists = s.macros.some((m) => m.toUpperCase() === macro.toUpperCase());
      if (exists) await api.gcodeScript(macro);
      else {
        announce(this.ctx, `no ${macro} macro in the Klipper config; pausing instead (change the filament, then resume)`, 'info');
        await api.printPause();
      }
      status.setPauseKind('filament');
      return;
    }
    if (type === 'cold') {
      const targets = new Map<string, number>();
      for (const h of s.heaters) if (h.kind === 'heater' && (h.target ?? 0) > 0) targets.set(h.name, h.target!);
      await api.printPause();
      this.coldTargets = targets;
      const off = [...targets.keys()].filter((n) => /^[A-Za-z0-9_]+$/.test(shortHeaterName(n)));
      if (off.length) await api.gcodeScript(off.map((n) => `SET_HEATER_TEMPERATURE HEATER=${shortHeaterName(n)} TARGET=0`).join('\n'));
      this.ctx.log.info(`cold pause: heaters off (${[...targets].map(([n, t]) => `${n} ${t}`).join(', ') || 'none were on'})`);
      status.setPauseKind('cold');
      return;
    }
    await api.printPause();
    status.setPauseKind('pause');
  }

  private async resume(): Promise<void> {
    const { api, printer, status } = this.ctx;
    const s = printer.snapshot();
    if (s.print_stats.state !== 'paused' && !s.pause_resume.is_paused) {
      announce(this.ctx, `resume ignored: the printer is ${s.print_stats.state ?? 'not paused'}`, 'info');
      return;
    }
    const cold = this.coldTargets;
    if (cold && cold.size) {
      // Heat back up and wait before moving, or the first extrusion would be cold.
      const lines: string[] = [];
      for (const [name, t] of cold) lines.push(`SET_HEATER_TEMPERATURE HEATER=${shortHeaterName(name)} TARGET=${t}`);
      for (const [name, t] of cold) if (/^(extruder\d*|heater_bed)$/.test(name)) lines.push(`TEMPERATURE_WAIT SENSOR=${name} MINIMUM=${Math.max(0, t - 2)}`);
      this.ctx.log.info('resuming after a cold pause: reheating first');
      await api.gcodeScript(lines.join('\n'), { timeoutMs: 0 });
    }
    this.coldTargets = null;
    await api.printResume();
    status.setPauseKind(null);
  }

  private async cancel(): Promise<void> {
    const { api, printer, jobs } = this.ctx;
    if (this.aborter && (await this.aborter.abortPreparing('canceled from Polar Cloud'))) return;
    const pending = jobs.pendingCloud;
    const state = printer.snapshot().print_stats.state;
    // A tracked job whose start print_stats has not shown yet counts as printing.
    const tracked = jobs.job !== null && state !== 'complete' && state !== 'cancelled' && state !== 'error';
    // So does a cloud job whose start Klipper has answered but which Moonraker has not shown yet
    // (print_stats and the history entry come in later notifications, up to a status batch after
    // the reply): it is printing, and dropping it as pending would leave the print running.
    const startedUnseen = pending !== null && this.aborter?.startedJobId?.() === pending.jobId;
    if (state === 'printing' || state === 'paused' || tracked || startedUnseen) {
      await api.printCancel();
      return;
    }
    if (pending) {
      jobs.cloudAbort(pending.jobId);
      return;
    }
    if (this.aborter?.cancelQueued && (await this.aborter.cancelQueued())) return;
    announce(this.ctx, 'cancel ignored: nothing is printing', 'info');
  }

  private async connectPrinter(): Promise<void> {
    const { printer, api, moonraker } = this.ctx;
    const conn = printer.connectionState;
    if (conn === 'klippy_shutdown' || conn === 'klippy_error') {
      if (printRunning(this.ctx)) {
        // A cloud job is being downloaded/started: a restart now would lose it (gcode-policy.ts).
        announce(this.ctx, 'connectPrinter: FIRMWARE_RESTART refused while a cloud job is being prepared; restart from the printer when it is done');
        return;
      }
      this.ctx.log.info('connectPrinter: Klipper is in shutdown/error, sending FIRMWARE_RESTART');
      await api.firmwareRestart();
    } else if (!moonraker.connected) {
      this.ctx.log.info(`connectPrinter: reconnecting to Moonraker now`);
      moonraker.reconnectNow();
    } else {
      this.ctx.log.info(`connectPrinter: printer already connected (${conn})`);
    }
  }

  private async jog(body: CloudToPrinter['jogPrinter']['jogPrinter']): Promise<void> {
    if (isPrinting(this.ctx)) {
      announce(this.ctx, 'jog refused: a print is running', 'info');
      return;
    }
    const gcode = jogGcode(body, this.ctx.config.control.jog_feedrate_xy, this.ctx.config.control.jog_feedrate_z);
    if ('error' in gcode) {
      announce(this.ctx, `jog refused: ${gcode.error}`, 'info');
      return;
    }
    try {
      await this.ctx.api.gcodeScript(gcode.script);
    } catch (err) {
      // Klipper stops a script at the failing line: the trailing G90 never ran.
      if (gcode.script.startsWith('G91')) await this.ctx.api.gcodeScript('G90').catch(() => undefined);
      throw err;
    }
  }
}

/** OctoPrint printhead/tool command → G-code, built from checked numbers only. */
export function jogGcode(
  body: CloudToPrinter['jogPrinter']['jogPrinter'],
  feedXY: number,
  feedZ: number,
): { script: string } | { error: string } {
  const fmt = (n: number): string => String(Math.round(n * 1000) / 1000);
  switch (body.command) {
    case 'jog': {
      const parts: string[] = [];
      for (const axis of ['x', 'y', 'z'] as const) {
        const v = body[axis];
        // 0 is a move only as an absolute target.
        if (v === undefined || (v === 0 && !body.absolute)) continue;
        if (Math.abs(v) > MAX_JOG_MM) return { error: `${axis} move of ${v} mm is too large` };
        parts.push(`${axis.toUpperCase()}${fmt(v)}`);
      }
      if (!parts.length) return { error: 'no axis to move' };
      const onlyZ = parts.every((p) => p.startsWith('Z'));
      const feed = body.speed !== undefined && body.speed > 0 ? Math.min(body.speed, 60000) : onlyZ ? feedZ : feedXY;
      const mode = body.absolute ? 'G90' : 'G91';
      return { script: `${mode}\nG1 ${parts.join(' ')} F${fmt(feed)}\nG90` };
    }
    case 'home': {
      const axes = (body.axes ?? ['x', 'y', 'z']).map((a) => a.toLowerCase());
      if (!axes.length || axes.some((a) => !['x', 'y', 'z'].includes(a))) return { error: `bad axes ${JSON.stringify(body.axes)}` };
      return { script: `G28 ${[...new Set(axes)].map((a) => a.toUpperCase()).join(' ')}` };
    }
    case 'extrude': {
      const amount = body.amount;
      if (amount === undefined || amount === 0) return { error: 'no extrusion amount' };
      if (Math.abs(amount) > MAX_EXTRUDE_MM) return { error: `extrusion of ${amount} mm is too large` };
      return { script: `G91\nG1 E${fmt(amount)} F${fmt(body.speed !== undefined && body.speed > 0 ? Math.min(body.speed, 6000) : 300)}\nG90` };
    }
    default:
      return { error: `unknown jog command '${body.command}'` };
  }
}
