// Moonraker's [power] devices in Polar's custom-command menu ("Turn <device>
// on/off"), and power.off_after_idle. Power goes through Moonraker, so the
// entries are offered and work while Klippy is off, shut down or in error —
// turning the printer on from Polar is the point. Refused while printing: any
// "off", and anything on a device with locked_while_printing (Moonraker would
// refuse that too, but only while print_stats says printing).
// off_after_idle: after N minutes with no print (nor a cloud job on its way)
// and every heater below 50 °C with no target set, the console is told and,
// a minute later, if still idle, the device is switched off.
import { PowerDevicesApi, type PowerAction, type PowerDevice } from '../../moonraker-bridge/index.js';
import type { Clock, TimerHandle } from '../util/clock.js';
import { errText } from '../util/log.js';
import { TypedEmitter } from '../util/typed-emitter.js';
import { announce, isPrinting, type Feature, type FeatureContext } from './feature-context.js';

/** A custom-command entry as sent to Polar. */
export interface MenuEntry {
  label: string;
  command: string;
  helpText?: string;
  confirmText?: string;
}

/** Extra entries for the custom-command menu, with their own runner. */
export interface MenuSource {
  entries(): MenuEntry[];
  /** Runs `command` if it is one of this source's; resolves with the console answer. undefined: not ours. */
  run(command: string): Promise<string> | undefined;
  /** The entries changed (fires `changed`). */
  readonly events: TypedEmitter<{ changed: void }>;
}

const COMMAND = /^power:(on|off):(.+)$/;
/** Every heater must be below this (°C) for the printer to count as idle. */
export const IDLE_MAX_CELSIUS = 50;
const CHECK_MS = 15_000;
/** Between the console announcement and switching off. */
export const OFF_WARNING_MS = 60_000;

export function powerCommand(action: PowerAction, device: string): string {
  return `power:${action}:${device}`;
}

export class PowerDevices implements Feature, MenuSource {
  readonly events = new TypedEmitter<{ changed: void }>();
  private readonly api: PowerDevicesApi;
  private devices: PowerDevice[] = [];
  private offs: (() => void)[] = [];
  private timer: TimerHandle | undefined;
  private idleSince: number | null = null;
  private warnedAt: number | null = null;
  private switchingOff = false;

  /** `clock`: timers of off_after_idle (tests pass a fake one). */
  constructor(
    private readonly ctx: FeatureContext,
    private readonly clock: Clock = ctx.clock,
  ) {
    this.api = new PowerDevicesApi({ rpc: ctx.moonraker, log: ctx.log });
  }

  start(): void {
    this.api.start();
    this.offs.push(
      // The list is Moonraker's config: read it whenever a Moonraker connection is (re)established.
      this.ctx.printer.on('connectionChanged', ({ from, to }) => {
        if (to.startsWith('klippy_') && !from.startsWith('klippy_')) void this.refresh();
      }),
      this.api.on('changed', (dev) => {
        const i = this.devices.findIndex((d) => d.device === dev.device);
        if (i < 0) return void this.refresh();
        this.devices[i] = dev;
        this.ctx.log.info(`power device ${dev.device}: ${dev.status}`);
      }),
    );
    if (this.ctx.printer.connectionState.startsWith('klippy_')) void this.refresh();
    if (this.ctx.config.power.off_after_idle) this.schedule();
  }

  stop(): void {
    for (const off of this.offs.splice(0)) off();
    this.api.stop();
    this.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** The devices as last reported by Moonraker. */
  get list(): readonly PowerDevice[] {
    return this.devices;
  }

  private async refresh(): Promise<void> {
    let list: PowerDevice[] | null;
    try {
      list = await this.api.list();
    } catch (err) {
      this.ctx.log.warn(`power devices not read: ${errText(err)}`);
      return;
    }
    const next = list ?? [];
    const changed = JSON.stringify(next.map((d) => d.device)) !== JSON.stringify(this.devices.map((d) => d.device));
    this.devices = next;
    const idle = this.ctx.config.power.off_after_idle;
    if (idle && list !== null && !next.some((d) => d.device === idle.device)) {
      this.ctx.log.warn(`power.off_after_idle: Moonraker has no power device '${idle.device}' (devices: ${next.map((d) => d.device).join(', ') || 'none'})`);
    }
    if (changed) this.ctx.log.info(`power devices: ${next.map((d) => `${d.device} (${d.status})`).join(', ') || 'none'}`);
    // Always: the menu may be waiting for the first list after a (re)connect.
    this.events.emit('changed', undefined);
  }

  entries(): MenuEntry[] {
    if (!this.ctx.config.control.builtin_commands) return [];
    return this.devices.flatMap((d) => [
      { label: `Turn ${d.device} on`, command: powerCommand('on', d.device), helpText: `Switches Moonraker power device '${d.device}' (${d.type}) on` },
      {
        label: `Turn ${d.device} off`,
        command: powerCommand('off', d.device),
        helpText: `Switches Moonraker power device '${d.device}' (${d.type}) off; refused while printing`,
        confirmText: `Turn ${d.device} off?`,
      },
    ]);
  }

  run(command: string): Promise<string> | undefined {
    const m = COMMAND.exec(command);
    if (!m) return undefined;
    return this.switch(m[2]!, m[1] as PowerAction);
  }

  /** A print is running or a cloud job is on its way (print_stats only counts while Klippy reports it). */
  private busy(): boolean {
    return this.ctx.jobs.pendingCloud !== null || (this.ctx.printer.connectionState === 'klippy_ready' && isPrinting(this.ctx));
  }

  private async switch(name: string, action: PowerAction): Promise<string> {
    const dev = this.devices.find((d) => d.device === name);
    if (!dev) return `!! no power device named '${name.slice(0, 64)}'`;
    if (this.busy()) {
      if (action === 'off') return this.refuse(`turning ${name} off refused: a print is running`);
      if (dev.locked_while_printing) return this.refuse(`power device ${name} is locked while printing (locked_while_printing)`);
    }
    this.ctx.log.info(`power device ${name}: ${action} (from Polar Cloud)`);
    try {
      const state = await this.api.set(name, action);
      return `${name} is ${state}`;
    } catch (err) {
      return `!! ${name} not switched ${action}: ${errText(err)}`;
    }
  }

  private refuse(msg: string): string {
    // The answer goes to Polar's console as the command's response.
    this.ctx.log.warn(msg);
    return `!! ${msg}`;
  }

  // ---- power.off_after_idle

  private schedule(): void {
    this.clock.clearTimeout(this.timer);
    this.timer = this.clock.setTimeout(() => {
      if (!this.offs.length) return; // stopped
      this.schedule();
      void this.checkIdle().catch((err: unknown) => this.ctx.log.warn(`power.off_after_idle check failed: ${errText(err)}`));
    }, CHECK_MS);
  }

  /** Idle: the device is on, Klipper ready and not printing, no cloud job coming, every heater cold and off. */
  private idleNow(device: string): boolean {
    const dev = this.devices.find((d) => d.device === device);
    if (dev?.status !== 'on' || this.busy()) return false;
    const s = this.ctx.printer.snapshot();
    if (s.connection !== 'klippy_ready') return false;
    return s.heaters.every((h) => h.kind !== 'heater' || ((h.temperature ?? Infinity) < IDLE_MAX_CELSIUS && !((h.target ?? 0) > 0)));
  }

  private async checkIdle(): Promise<void> {
    const cfg = this.ctx.config.power.off_after_idle;
    if (!cfg || this.switchingOff) return;
    const now = this.clock.now();
    if (!this.idleNow(cfg.device)) {
      if (this.warnedAt !== null) announce(this.ctx, `${cfg.device} stays on: the printer is in use again`, 'info');
      this.idleSince = null;
      this.warnedAt = null;
      return;
    }
    this.idleSince ??= now;
    if (this.warnedAt === null) {
      if (now - this.idleSince < cfg.minutes * 60_000) return;
      this.warnedAt = now;
      announce(this.ctx, `${cfg.device} switches off in ${Math.round(OFF_WARNING_MS / 1000)} s: idle for ${cfg.minutes} min with every heater below ${IDLE_MAX_CELSIUS} C (power.off_after_idle)`, 'info');
      return;
    }
    if (now - this.warnedAt < OFF_WARNING_MS) return;
    this.switchingOff = true;
    try {
      const state = await this.api.set(cfg.device, 'off');
      announce(this.ctx, `${cfg.device} switched ${state} after ${cfg.minutes} min idle (power.off_after_idle)`, 'info');
    } catch (err) {
      announce(this.ctx, `${cfg.device} not switched off after idling: ${errText(err)}`);
    } finally {
      this.switchingOff = false;
      this.idleSince = null;
      this.warnedAt = null;
    }
  }
}
