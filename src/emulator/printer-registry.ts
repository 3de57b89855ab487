// Registered printers: serial numbers are handed out per MAC address, so a
// printer that registers again gets its old serial back (with the new key).
import type { PrinterInfo } from './types.js';

/** A printer as stored: the public view minus the live-connection fields, plus sent jobIds. */
export interface PrinterRecord extends Omit<PrinterInfo, 'connected' | 'authenticated' | 'connections'> {
  /** jobIds this printer was sent in a `print` (getUrl printing/timelapse must name one). */
  printedJobIds: Set<string>;
}

export interface RegisterInput {
  mac: string;
  email: string;
  mfg: string;
  mfgSn?: string;
  publicKey: string;
}

/** MACs arrive as 12:34:de:.., 12.34.DE.., 1234de..; compare them by hex digits only. */
export function normalizeMac(mac: string): string {
  const hex = mac.toLowerCase().replace(/[^0-9a-f]/g, '');
  return hex.length > 0 ? hex : mac.trim().toLowerCase();
}

export class PrinterRegistry {
  private readonly bySerial = new Map<string, PrinterRecord>();
  private readonly byMac = new Map<string, string>();
  private counter = 0;

  constructor(private readonly serialPrefix: string) {}

  /** Same MAC -> same serial; key, email and mfg are replaced and the printer is undeleted. */
  register(input: RegisterInput): PrinterRecord {
    const mac = normalizeMac(input.mac);
    const existing = this.byMac.get(mac);
    const rec = existing === undefined ? undefined : this.bySerial.get(existing);
    if (rec) {
      rec.publicKey = input.publicKey;
      rec.email = input.email;
      rec.mfg = input.mfg;
      if (input.mfgSn !== undefined) rec.mfgSn = input.mfgSn;
      rec.deleted = false;
      return rec;
    }
    const serialNumber = this.nextSerial();
    const created: PrinterRecord = {
      serialNumber,
      mac: input.mac,
      email: input.email,
      mfg: input.mfg,
      mfgSn: input.mfgSn,
      publicKey: input.publicKey,
      deleted: false,
      statusCount: 0,
      jobReports: [],
      commandResponses: [],
      printedJobIds: new Set(),
    };
    this.bySerial.set(serialNumber, created);
    this.byMac.set(mac, serialNumber);
    return created;
  }

  get(serialNumber: string): PrinterRecord | undefined {
    return this.bySerial.get(serialNumber);
  }

  list(): PrinterRecord[] {
    return [...this.bySerial.values()];
  }

  /** Forgets every printer; serial numbers keep counting so old ones are never reused. */
  clear(): void {
    this.bySerial.clear();
    this.byMac.clear();
  }

  private nextSerial(): string {
    let serial: string;
    do serial = `${this.serialPrefix}${String(++this.counter).padStart(6, '0')}`;
    while (this.bySerial.has(serial));
    return serial;
  }
}

export function printerInfo(rec: PrinterRecord, sockets: { bound: number; authenticated: number }): PrinterInfo {
  return {
    serialNumber: rec.serialNumber,
    mac: rec.mac,
    email: rec.email,
    mfg: rec.mfg,
    mfgSn: rec.mfgSn,
    publicKey: rec.publicKey,
    deleted: rec.deleted,
    connected: sockets.bound > 0,
    authenticated: sockets.authenticated > 0,
    connections: sockets.authenticated,
    hello: rec.hello,
    lastStatus: rec.lastStatus,
    statusCount: rec.statusCount,
    customCommandList: rec.customCommandList,
    commandList: rec.commandList,
    version: rec.version,
    jobReports: [...rec.jobReports],
    commandResponses: [...rec.commandResponses],
  };
}
