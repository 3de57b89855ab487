// Everything the emulator's parts share: stores, settings changed through the
// control API, the S3 credentials, and the public base URL once listening.
import { randomBytes } from 'node:crypto';
import type { Logger } from '../util/log.js';
import { EventLog } from './event-log.js';
import { JobStore } from './job-store.js';
import { FileStore } from './print-files.js';
import { PrinterRegistry } from './printer-registry.js';
import type { S3Credentials } from './s3-post-policy.js';
import type { KeyPairBehavior, RegisterFailureReason, UploadFault, UrlOptions } from './types.js';
import { UploadStore } from './upload-store.js';

export const DEFAULT_MANUFACTURERS = ['kl', 'test', 'op'];

export interface EmulatorSettings {
  /** hellos still to be answered FAILED. */
  failHellos: number;
  /** hellos still to be left unanswered (an overloaded cloud). */
  ignoreHellos: number;
  /** Reason for the next register to fail with (one-shot). */
  failRegister?: RegisterFailureReason;
  keyPairBehavior: KeyPairBehavior;
  urlOptions: UrlOptions;
  /** S3 outage: uploads answered with this error, `times` more times (Infinity: until cleared). */
  uploadFault?: { fault: UploadFault; times: number };
}

export interface EmulatorContext {
  readonly log: Logger;
  readonly now: () => number;
  readonly events: EventLog;
  readonly printers: PrinterRegistry;
  readonly files: FileStore;
  readonly jobs: JobStore;
  readonly uploads: UploadStore;
  readonly s3: S3Credentials & { bucket: string };
  /** undefined = any email/PIN is accepted. */
  readonly accounts?: readonly { email: string; pin: string }[];
  readonly manufacturers: ReadonlySet<string>;
  settings: EmulatorSettings;
  /** http://host:port of the emulator as printers reach it (set once listening). */
  baseUrl: string;
}

export function defaultSettings(): EmulatorSettings {
  return { failHellos: 0, ignoreHellos: 0, keyPairBehavior: 'normal', urlOptions: {} };
}

export interface ContextOptions {
  log: Logger;
  now: () => number;
  serialPrefix: string;
  accounts?: readonly { email: string; pin: string }[];
  manufacturers?: readonly string[];
  bucket?: string;
}

export function createContext(opts: ContextOptions): EmulatorContext {
  const files = new FileStore(() => ctx.baseUrl);
  const ctx: EmulatorContext = {
    log: opts.log,
    now: opts.now,
    events: new EventLog(opts.now),
    printers: new PrinterRegistry(opts.serialPrefix),
    files,
    jobs: new JobStore(files),
    uploads: new UploadStore(),
    s3: {
      bucket: opts.bucket ?? 'polar-emulator',
      accessKeyId: 'AKIAEMULATOR' + randomBytes(4).toString('hex').toUpperCase(),
      // Random per run: an upload can only pass with fields this emulator signed.
      secretAccessKey: randomBytes(30).toString('base64'),
      region: 'us-east-1',
    },
    accounts: opts.accounts,
    manufacturers: new Set([...DEFAULT_MANUFACTURERS, ...(opts.manufacturers ?? [])].map((m) => m.toLowerCase())),
    settings: defaultSettings(),
    baseUrl: 'http://127.0.0.1',
  };
  return ctx;
}
