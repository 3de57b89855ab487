// Moonraker's [power <name>] component (docs/external_api/devices.md and
// components/power.py): the device list, single and batch on/off/status, and
// notify_power_changed with the Power Device Status object. Without devices
// the component is not loaded and its methods do not exist (-32601).
// A device can feed the printer's board (`powers_printer`): switching it off
// shuts Klippy down ("Lost communication with MCU"), a (re)start without power
// ends in Klipper's "Unable to connect" error, and with
// restart_klipper_when_powered Moonraker sends FIRMWARE_RESTART once it is on.
import type { SimContext } from './context.js';
import { delay } from './context.js';
import { MoonrakerError } from './errors.js';
import type { Params } from './params.js';

export interface PowerDeviceSpec {
  name: string;
  /** Moonraker device type; default "gpio". */
  type?: string;
  locked_while_printing?: boolean;
  /** Default "on". */
  initial_state?: 'on' | 'off';
  /** The printer's board runs from this device. */
  powers_printer?: boolean;
  restart_klipper_when_powered?: boolean;
}

interface Device {
  device: string;
  status: 'on' | 'off';
  locked_while_printing: boolean;
  type: string;
  powersPrinter: boolean;
  restartKlipper: boolean;
}

export const MCU_LOST = "Lost communication with MCU 'mcu'";
export const MCU_UNPOWERED =
  "mcu 'mcu': Unable to connect\nOnce the underlying issue is corrected, use the\n\"FIRMWARE_RESTART\" command to reset the firmware, reload the\nconfig, and restart the host software.\nError configuring printer\n";
/** Moonraker's restart_delay default (s): FIRMWARE_RESTART this long after power comes on. */
const RESTART_DELAY_MS = 1000;

export class PowerDevices {
  private devices: Device[] = [];

  constructor(private readonly ctx: SimContext) {}

  get configured(): boolean {
    return this.devices.length > 0;
  }

  /** False while a device that powers the printer is off. */
  get mcuPowered(): boolean {
    return !this.devices.some((d) => d.powersPrinter && d.status === 'off');
  }

  /** control.setPowerDevices: as if moonraker.conf changed (no notification); a printer device that is off takes the board down. */
  configure(list: readonly PowerDeviceSpec[]): void {
    const names = new Set<string>();
    this.devices = list.map((s) => {
      if (!s.name || names.has(s.name)) throw new MoonrakerError(`Invalid or duplicate power device name '${s.name}'`);
      names.add(s.name);
      return {
        device: s.name,
        status: s.initial_state ?? 'on',
        locked_while_printing: s.locked_while_printing ?? false,
        type: s.type ?? 'gpio',
        powersPrinter: s.powers_printer ?? false,
        restartKlipper: s.restart_klipper_when_powered ?? false,
      };
    });
    if (!this.mcuPowered) void this.ctx.klippy.shutdown(MCU_LOST);
  }

  list(): Array<{ device: string; status: string; locked_while_printing: boolean; type: string }> {
    return this.devices.map((d) => this.info(d));
  }

  private info(d: Device): { device: string; status: string; locked_while_printing: boolean; type: string } {
    return { device: d.device, status: d.status, locked_while_printing: d.locked_while_printing, type: d.type };
  }

  private loaded(): void {
    if (!this.configured) throw new MoonrakerError('Method not found', 404);
  }

  /** Moonraker's KlippyConnection.is_printing(): Klippy ready and print_stats printing (paused is not). */
  private isPrinting(): boolean {
    return this.ctx.klippy.state === 'ready' && this.ctx.printer.printStats.state === 'printing';
  }

  private async request(d: Device, req: string): Promise<string> {
    const action = req === 'toggle' ? (d.status === 'off' ? 'on' : 'off') : req;
    if (action === 'status' || action === d.status) return d.status;
    if (action !== 'on' && action !== 'off') throw new MoonrakerError(`Invalid requested action '${req}'`);
    if (d.locked_while_printing && this.isPrinting()) throw new MoonrakerError(`Unable to change power for ${d.device} while printing`);
    d.status = action;
    this.ctx.connections.notify('notify_power_changed', [this.info(d)]);
    if (d.powersPrinter) this.printerPower(d, action);
    return d.status;
  }

  private printerPower(d: Device, action: 'on' | 'off'): void {
    const k = this.ctx.klippy;
    if (action === 'off') {
      if (k.hostRunning) void k.shutdown(MCU_LOST);
      return;
    }
    if (!d.restartKlipper || !this.mcuPowered) return;
    void delay(this.ctx, RESTART_DELAY_MS).then(async () => {
      if (d.status !== 'on' || k.state === 'ready') return;
      this.ctx.log.info(`Power Device ${d.device}: Sending FIRMWARE_RESTART command to Klippy`);
      await k.restartHost();
    });
  }

  private find(name: string): Device {
    const d = this.devices.find((x) => x.device === name);
    if (!d) throw new MoonrakerError(`No valid device named ${name}`);
    return d;
  }

  private async batch(p: Params, req: string): Promise<Record<string, string>> {
    this.loaded();
    const names = Object.keys(p.args);
    if (names.length === 0) throw new MoonrakerError('No arguments provided');
    const out: Record<string, string> = {};
    for (const name of names) {
      const d = this.devices.find((x) => x.device === name);
      out[name] = d ? await this.request(d, req) : 'device_not_found';
    }
    return out;
  }

  register(): void {
    const r = this.ctx.router;
    r.register('machine.device_power.devices', () => {
      this.loaded();
      return { devices: this.list() };
    }, { http: ['GET', '/machine/device_power/devices'] });
    r.register('machine.device_power.get_device', async (p) => {
      this.loaded();
      const d = this.find(p.str('device'));
      return { [d.device]: await this.request(d, 'status') };
    }, { http: ['GET', '/machine/device_power/device'] });
    r.register('machine.device_power.post_device', async (p) => {
      this.loaded();
      const d = this.find(p.str('device'));
      return { [d.device]: await this.request(d, p.str('action').toLowerCase()) };
    }, { http: ['POST', '/machine/device_power/device'] });
    r.register('machine.device_power.status', (p) => this.batch(p, 'status'), { http: ['GET', '/machine/device_power/status'] });
    r.register('machine.device_power.on', (p) => this.batch(p, 'on'), { http: ['POST', '/machine/device_power/on'] });
    r.register('machine.device_power.off', (p) => this.batch(p, 'off'), { http: ['POST', '/machine/device_power/off'] });
  }
}
