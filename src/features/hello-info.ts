// The descriptive part of `hello`: which network identity, which software,
// which printer. Camera fields are added by the camera feature when present.
import type { Config } from '../config.js';
import type { HelloInfo } from '../polar/polar-client.js';
import type { NetInfo } from '../identity/mac.js';
import { VERSION } from '../version.js';

export function buildHelloInfo(config: Config, net: NetInfo | undefined): HelloInfo {
  const info: HelloInfo = { version: VERSION };
  if (net) {
    info.MAC = net.mac;
    if (net.ip) info.localIP = net.ip;
  }
  if (config.polar.printer_type) info.printerMake = config.polar.printer_type;
  if (config.polar.machine_type) info.machineType = config.polar.machine_type;
  if (config.polar.mfg_sn) info.mfgSn = config.polar.mfg_sn;
  return info;
}
