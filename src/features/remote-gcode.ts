// Cloud `temperature` and `command` (console G-code). Temperatures are built
// from validated numbers, clamped to each heater's max_temp; M104/M140 lines in
// a console command are treated the same way (as the protocol says) and run
// first; the other lines go through printer.gcode.script and the console output
// they produce comes back as one `commandResponse`. Temperature commands have a
// lane of their own (a console TEMPERATURE_WAIT may take 15 min) and are
// coalesced: while one is being sent, later ones merge, the latest target per
// heater winning — 20,000 commands become a few scripts, not 20,000.
import type { CloudToPrinter } from '../polar/messages.js';
import { GcodeError } from '../../moonraker-bridge/index.js';
import { errText } from '../util/log.js';
import { announce, type Feature, type FeatureContext } from './feature-context.js';
import { parseTemperatureLine, planTemperatures, type TemperatureRequest } from './temperature-gcode.js';
import { defaultChamberObject } from '../status/status-mapper.js';
import { gcodePolicy, printRunning, refusal } from './gcode-policy.js';

/** Longest console response sent back (Polar shows it in a small console). */
const MAX_RESPONSE_CHARS = 16_000;
/** A console command may wait for heating or homing, but not forever. */
const COMMAND_TIMEOUT_MS = 15 * 60_000;

export class RemoteGcode implements Feature {
  private offs: (() => void)[] = [];
  /** Console commands run one at a time, in arrival order. */
  private queue: Promise<void> = Promise.resolve();
  /** Temperature requests not sent yet, merged (latest target per heater wins). */
  private pendingTemps: (TemperatureRequest & { ignored: Set<string> }) | null = null;
  /** The temperature lane while it runs. */
  private tempLane: Promise<void> | null = null;

  constructor(private readonly ctx: FeatureContext) {}

  start(): void {
    this.offs.push(
      this.ctx.polar.onCommand('temperature', (m) => this.onTemperature(m)),
      this.ctx.polar.onCommand('command', (m) => this.enqueue(() => this.command(m))),
    );
  }

  stop(): void {
    for (const off of this.offs.splice(0)) off();
    this.pendingTemps = null;
  }

  private onTemperature(m: CloudToPrinter['temperature']): void {
    const p = (this.pendingTemps ??= { tools: {}, ignored: new Set() });
    if (m.bed !== undefined) p.bed = m.bed;
    if (m.chamber !== undefined) p.chamber = m.chamber;
    p.tools = { ...p.tools, ...m.tools };
    for (const k of m.ignored) if (p.ignored.size < 20) p.ignored.add(k);
    this.tempLane ??= this.runTemperatureLane();
  }

  private async runTemperatureLane(): Promise<void> {
    try {
      while (this.pendingTemps) {
        const req = this.pendingTemps;
        this.pendingTemps = null;
        await this.temperature(req);
      }
    } finally {
      this.tempLane = null;
    }
  }

  private enqueue(fn: () => Promise<void>): void {
    this.queue = this.queue.then(fn).catch((err) => this.ctx.log.error(`console command failed: ${errText(err)}`));
  }

  private chamber(): string | null {
    return this.ctx.config.status.chamber ?? defaultChamberObject(this.ctx.printer.snapshot().heaters.map((h) => h.name));
  }

  /** Runs a temperature request; returns the notes (clamping, unknown heaters). */
  private async applyTemperatures(req: TemperatureRequest): Promise<string[]> {
    const plan = planTemperatures(this.ctx.printer.snapshot().heaters, req, this.chamber());
    for (const note of plan.notes) this.ctx.log.info(`temperature: ${note}`);
    if (plan.gcode.length) {
      this.ctx.log.info(`temperature: ${plan.gcode.join('; ')}`);
      await this.ctx.api.gcodeScript(plan.gcode.join('\n'), { timeoutMs: 30_000 });
    }
    return plan.notes;
  }

  private async temperature(m: TemperatureRequest & { ignored: Set<string> }): Promise<void> {
    if (m.ignored.size) this.ctx.log.warn(`temperature: ignored invalid field(s) ${[...m.ignored].map((k) => JSON.stringify(k)).join(', ')}; the valid ones are applied`);
    const hasTarget = m.bed !== undefined || m.chamber !== undefined || Object.keys(m.tools).length > 0;
    if (!hasTarget) return;
    try {
      const notes = await this.applyTemperatures({ bed: m.bed, chamber: m.chamber, tools: m.tools });
      if (notes.length) announce(this.ctx, notes.join('; '), 'info');
    } catch (err) {
      announce(this.ctx, `temperature change failed: ${errText(err)}`);
    }
    this.ctx.status.sendNow();
  }

  private async command(m: CloudToPrinter['command']): Promise<void> {
    const serialNumber = this.ctx.polar.serialNumber;
    if (!serialNumber) return;
    if (!this.ctx.config.control.allow_remote_gcode) {
      announce(this.ctx, 'remote G-code is turned off on this printer (control.allow_remote_gcode: false)');
      return;
    }
    // A lone CR separates lines too: every piece is checked on its own.
    const lines = m.command.split(/\r\n|\r|\n/);
    const temps: TemperatureRequest[] = [];
    const rest: string[] = [];
    const out: string[] = [];
    // The deny list (gcode-policy.ts): one refused line refuses the whole command, so nothing half-runs.
    const policy = gcodePolicy(this.ctx.config.control);
    const printing = printRunning(this.ctx);
    const refused = lines.map((l) => refusal(l, policy, printing)).filter((r): r is string => r !== null);
    if (refused.length) {
      const shown = refused.slice(0, 10);
      const more = refused.length > shown.length ? [`… and ${refused.length - shown.length} more refused line(s)`] : [];
      this.ctx.log.warn(`console G-code from Polar Cloud refused: ${[...shown, ...more].join('; ')}`);
      this.ctx.polar.send('commandResponse', { serialNumber, response: [...shown.map((r) => `!! refused: ${r}`), ...more].join('\n') });
      return;
    }
    for (const line of lines) {
      const t = parseTemperatureLine(line);
      if (t === undefined) {
        if (line.trim()) rest.push(line);
      } else if ('error' in t) out.push(`!! ${t.error}`);
      else temps.push(t);
    }
    try {
      for (const t of temps) out.push(...(await this.applyTemperatures(t)).map((n) => `// ${n}`));
      if (rest.length) {
        this.ctx.log.info(`console G-code from Polar Cloud: ${rest.length} line(s)`);
        out.push(...(await this.ctx.api.gcodeScriptCollect(rest.join('\n'), { timeoutMs: COMMAND_TIMEOUT_MS })));
      }
      if (!rest.length && temps.length) out.push('ok');
    } catch (err) {
      if (err instanceof GcodeError) out.push(...err.lines, `!! ${err.message}`);
      else out.push(`!! ${errText(err)}`);
    }
    let response = out.join('\n');
    if (response.length > MAX_RESPONSE_CHARS) response = `${response.slice(0, MAX_RESPONSE_CHARS)}\n… (truncated)`;
    if (response) this.ctx.polar.send('commandResponse', { serialNumber, response });
    this.ctx.status.sendNow();
  }
}
