// The printer's persistent identity in data_dir: the private key (0600) and
// the serial number Polar assigned. The public key is always derived from the
// private key, so the two can never disagree. Nothing here is ever written
// under Moonraker's served folders (config.ts refuses such a data_dir).
import { join } from 'node:path';
import { z } from 'zod';
import { ensurePrivateDir, readFileIfExists, removeStaleTempFiles, writeFileAtomic, writeJsonAtomic } from '../util/atomic-file.js';
import { parsePrivateKey, publicKeyOf } from './keys.js';

const identitySchema = z.object({
  serialNumber: z.string().min(1).optional(),
  /** Cloud the serial belongs to; a serial from another server is not used. */
  serverUrl: z.string().optional(),
  mac: z.string().optional(),
  registeredAt: z.string().optional(),
});
export type IdentityFile = z.infer<typeof identitySchema>;

/** A file in the data folder that exists but cannot be used (the CLI suggests moving it aside). */
export class CorruptFileError extends Error {
  constructor(
    readonly path: string,
    readonly reason: string,
  ) {
    super(`${path}: ${reason}`);
    this.name = 'CorruptFileError';
  }
}

export const PRIVATE_KEY_FILE = 'private-key.pem';
export const IDENTITY_FILE = 'identity.json';

export class IdentityStore {
  private privateKey: string | undefined;
  private identity: IdentityFile = {};

  constructor(readonly dataDir: string) {}

  /** Creates the data dir (0700), clears interrupted temp files, reads what is there. */
  async load(): Promise<void> {
    await ensurePrivateDir(this.dataDir);
    await removeStaleTempFiles(this.dataDir);
    const pem = await readFileIfExists(join(this.dataDir, PRIVATE_KEY_FILE));
    if (pem !== undefined) {
      try {
        parsePrivateKey(pem);
      } catch (err) {
        throw new CorruptFileError(join(this.dataDir, PRIVATE_KEY_FILE), (err as Error).message);
      }
    }
    this.privateKey = pem;
    const text = await readFileIfExists(join(this.dataDir, IDENTITY_FILE));
    if (text === undefined) {
      this.identity = {};
      return;
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new CorruptFileError(join(this.dataDir, IDENTITY_FILE), 'corrupt identity file: not valid JSON');
    }
    const parsed = identitySchema.safeParse(json);
    if (!parsed.success) throw new CorruptFileError(join(this.dataDir, IDENTITY_FILE), 'corrupt identity file: unexpected content');
    this.identity = parsed.data;
  }

  get hasKey(): boolean {
    return this.privateKey !== undefined;
  }

  getPrivateKey(): string {
    if (!this.privateKey) throw new Error('no private key yet');
    return this.privateKey;
  }

  getPublicKey(): string {
    return publicKeyOf(this.getPrivateKey());
  }

  /** Stores the private key atomically with mode 0600. */
  async saveKey(privateKeyPem: string): Promise<void> {
    parsePrivateKey(privateKeyPem);
    await writeFileAtomic(join(this.dataDir, PRIVATE_KEY_FILE), privateKeyPem, { mode: 0o600 });
    this.privateKey = privateKeyPem;
  }

  /** The serial number for this server, if registered there. */
  serialFor(serverUrl: string): string | undefined {
    const id = this.identity;
    if (!id.serialNumber) return undefined;
    if (id.serverUrl && id.serverUrl !== serverUrl) return undefined;
    return id.serialNumber;
  }

  get file(): Readonly<IdentityFile> {
    return this.identity;
  }

  async saveSerial(serialNumber: string, serverUrl: string, mac: string, now = new Date()): Promise<void> {
    const next: IdentityFile = { serialNumber, serverUrl, mac, registeredAt: now.toISOString() };
    await writeJsonAtomic(join(this.dataDir, IDENTITY_FILE), next, { mode: 0o600 });
    this.identity = next;
  }

  /** Keeps this printer's MAC (instance-mac.ts) before it is registered. */
  async saveMac(mac: string): Promise<void> {
    const next: IdentityFile = { ...this.identity, mac };
    await writeJsonAtomic(join(this.dataDir, IDENTITY_FILE), next, { mode: 0o600 });
    this.identity = next;
  }

  /** Forgets the serial (deleted or unregistered); the key is kept for the next registration. */
  async clearSerial(): Promise<void> {
    const next: IdentityFile = { mac: this.identity.mac };
    await writeJsonAtomic(join(this.dataDir, IDENTITY_FILE), next, { mode: 0o600 });
    this.identity = next;
  }
}
