// Moonraker's [power <name>] devices (docs/external_api/devices.md): list,
// switch on/off, and notify_power_changed re-emitted as a typed event. Power
// goes through Moonraker, not Klipper, so all of this works while Klippy is
// off, starting, shut down or in error. Replies are validated like every
// other Moonraker reply (MoonrakerReplyError when they do not match the docs).
import { z } from 'zod';
import type { BridgeLogger } from './deps.js';
import { errorText } from './deps.js';
import { Emitter } from './emitter.js';
import { METHOD_NOT_FOUND, MoonrakerRpcError, parseReply } from './json-rpc.js';
import type { MoonrakerRpc } from './moonraker-api.js';

/** Power Device Status (devices.md#power-device-status-spec); status is on/off/init/error. */
export const powerDeviceSchema = z.looseObject({
  device: z.string().min(1).max(256),
  status: z.string(),
  locked_while_printing: z.boolean(),
  type: z.string(),
});
export const powerDeviceListSchema = z.looseObject({ devices: z.array(powerDeviceSchema) });
/** {"<device>": "<state>"} */
export const powerDeviceStateSchema = z.record(z.string(), z.string());
export const powerChangedParams = z.tuple([powerDeviceSchema]).rest(z.unknown());

export type PowerDevice = z.infer<typeof powerDeviceSchema>;
export type PowerAction = 'on' | 'off';

export interface PowerDevicesEvents {
  /** notify_power_changed: one device's new status. */
  changed: PowerDevice;
}

export class PowerDevicesApi {
  private readonly emitter: Emitter<PowerDevicesEvents>;
  private off: (() => void) | undefined;

  constructor(private readonly opts: { rpc: MoonrakerRpc; log: BridgeLogger }) {
    this.emitter = new Emitter<PowerDevicesEvents>((event, err) => opts.log.error(`'${event}' listener failed: ${errorText(err)}`));
  }

  on<K extends keyof PowerDevicesEvents & string>(event: K, listener: (p: PowerDevicesEvents[K]) => void): () => void {
    return this.emitter.on(event, listener);
  }

  start(): void {
    if (this.off) return;
    this.off = this.opts.rpc.on('notification', ({ method, params }) => {
      if (method !== 'notify_power_changed') return;
      const r = powerChangedParams.safeParse(params);
      if (!r.success) {
        this.opts.log.warn(`dropped invalid notify_power_changed: ${r.error.issues[0]?.message ?? 'invalid'}`);
        return;
      }
      this.emitter.emit('changed', r.data[0]);
    });
  }

  stop(): void {
    this.off?.();
    this.off = undefined;
  }

  /** machine.device_power.devices; null when Moonraker has no [power] section (the method does not exist). */
  async list(): Promise<PowerDevice[] | null> {
    try {
      const reply = await this.opts.rpc.call('machine.device_power.devices');
      return parseReply(powerDeviceListSchema, 'machine.device_power.devices', reply).devices;
    } catch (err) {
      if (err instanceof MoonrakerRpcError && err.code === METHOD_NOT_FOUND) return null;
      throw err;
    }
  }

  /** machine.device_power.post_device; resolves with the device's state afterwards. */
  async set(device: string, action: PowerAction): Promise<string> {
    const method = 'machine.device_power.post_device';
    const reply = parseReply(powerDeviceStateSchema, method, await this.opts.rpc.call(method, { device, action }));
    const state = reply[device];
    if (state === undefined) throw new MoonrakerRpcError(-32000, `reply does not name device '${device}'`, method);
    return state;
  }
}
