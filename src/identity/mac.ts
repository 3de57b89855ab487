// Picks the MAC address that identifies this printer to Polar. It must be the
// same on every boot because Polar recovers a lost serial number by MAC:
// the configured interface, else the default-route interface, else the
// lowest-named physical interface.
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { networkInterfaces } from 'node:os';

export interface NetInfo {
  iface: string;
  mac: string;
  /** IPv4 address of that interface, if any. */
  ip: string | undefined;
}

/** What the chooser needs from the system; injectable for tests. */
export interface NetSource {
  /** Contents of /proc/net/route, or undefined when not available. */
  routeTable(): string | undefined;
  /** Interface names known to the kernel (/sys/class/net), or undefined. */
  sysInterfaces(): string[] | undefined;
  /** MAC from /sys/class/net/<if>/address. */
  sysMac(iface: string): string | undefined;
  /** True when the interface is backed by a device (not virtual). */
  isPhysical(iface: string): boolean;
  /** os.networkInterfaces() */
  osInterfaces(): ReturnType<typeof networkInterfaces>;
}

const VIRTUAL = /^(lo|docker|veth|br-|virbr|vnet|tun|tap|wg|zt|tailscale|dummy|bond|team|sit|ip6tnl|can|usb\d*$)/;
const ZERO_MAC = '00:00:00:00:00:00';

export const systemNetSource: NetSource = {
  routeTable: () => readText('/proc/net/route'),
  sysInterfaces: () => {
    try {
      return readdirSync('/sys/class/net');
    } catch {
      return undefined;
    }
  },
  sysMac: (iface) => readText(`/sys/class/net/${iface}/address`)?.trim(),
  isPhysical: (iface) => existsSync(`/sys/class/net/${iface}/device`),
  osInterfaces: () => networkInterfaces(),
};

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** Interface of the IPv4 default route (destination 00000000) with the lowest metric. */
export function defaultRouteInterface(routeTable: string | undefined): string | undefined {
  if (!routeTable) return undefined;
  let best: { iface: string; metric: number } | undefined;
  for (const line of routeTable.split('\n').slice(1)) {
    const cols = line.trim().split(/\s+/);
    if (cols.length < 8 || cols[1] !== '00000000') continue;
    const metric = Number(cols[6]);
    if (!best || metric < best.metric) best = { iface: cols[0]!, metric };
  }
  return best?.iface;
}

export function chooseNetInterface(src: NetSource = systemNetSource, preferred?: string): NetInfo | undefined {
  const os = src.osInterfaces();
  const macOf = (iface: string): string | undefined => {
    const fromSys = src.sysMac(iface);
    const fromOs = os[iface]?.find((a) => a.mac && a.mac !== ZERO_MAC)?.mac;
    const mac = (fromSys ?? fromOs)?.toLowerCase();
    return mac && mac !== ZERO_MAC && /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/.test(mac) ? mac : undefined;
  };
  const ipOf = (iface: string): string | undefined => os[iface]?.find((a) => a.family === 'IPv4' && !a.internal)?.address;
  const pick = (iface: string | undefined): NetInfo | undefined => {
    if (!iface) return undefined;
    const mac = macOf(iface);
    return mac ? { iface, mac, ip: ipOf(iface) } : undefined;
  };

  if (preferred) return pick(preferred);
  const viaRoute = pick(defaultRouteInterface(src.routeTable()));
  if (viaRoute) return viaRoute;
  const names = (src.sysInterfaces() ?? Object.keys(os)).filter((n) => !VIRTUAL.test(n)).sort();
  const physical = names.filter((n) => src.isPhysical(n));
  for (const n of [...physical, ...names]) {
    const info = pick(n);
    if (info) return info;
  }
  return undefined;
}
