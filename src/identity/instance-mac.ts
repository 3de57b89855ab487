// One host, several Klipper instances, each its own Polar printer. Polar hands
// out serial numbers per MAC, so two instances that both sent the host's MAC
// got the same serial and the second key replaced the first. Each data folder
// therefore gets its own MAC: a locally administered unicast address derived
// from the host's MAC and the data folder's path (the same on every boot and
// after a reinstall into the same folder), stored in identity.json the first
// time it is used. A printer registered before this change keeps the MAC it
// registered with (identity.json has it), so its serial and key stay valid.
import { createHash } from 'node:crypto';
import { resolve } from 'node:path';
import type { IdentityStore } from './identity-store.js';
import type { NetInfo } from './mac.js';

/** A locally administered (bit 1 set), unicast (bit 0 clear) MAC for this host + data folder. */
export function deriveInstanceMac(hostMac: string, dataDir: string): string {
  const digest = createHash('sha256').update(`moonraker-polarcloud\0${hostMac.toLowerCase()}\0${resolve(dataDir)}`).digest();
  const bytes = [...digest.subarray(0, 6)];
  bytes[0] = (bytes[0]! & 0xfc) | 0x02;
  return bytes.map((b) => b.toString(16).padStart(2, '0')).join(':');
}

export function isLocallyAdministered(mac: string): boolean {
  const first = Number.parseInt(mac.slice(0, 2), 16);
  return (first & 0x02) === 0x02 && (first & 0x01) === 0;
}

/**
 * The network identity this printer shows Polar: the host interface (for its IP)
 * with the printer's own MAC. Stores a newly derived MAC in the identity file (unless store: false,
 * for read-only commands).
 */
export async function printerNetInfo(identity: IdentityStore, host: NetInfo | undefined, o: { store?: boolean } = {}): Promise<NetInfo | undefined> {
  const stored = identity.file.mac;
  if (stored) return { iface: host?.iface ?? '', mac: stored, ip: host?.ip };
  if (!host) return undefined;
  // Registered without a stored MAC (never written that way, but be safe): it registered with the host's.
  const mac = identity.file.serialNumber ? host.mac : deriveInstanceMac(host.mac, identity.dataDir);
  if (o.store !== false) await identity.saveMac(mac);
  return { ...host, mac };
}
