// The programmatic control surface: what tests (and /control/... over HTTP)
// use to drive the emulator and inspect what printers did.
import type { EmulatorContext } from './context.js';
import { defaultSettings } from './context.js';
import { jobInfo } from './job-store.js';
import { printerInfo } from './printer-registry.js';
import { checkPublicKey } from './rsa-keys.js';
import type { SocketHub } from './socket-hub.js';
import {
  REGISTER_FAILURE_REASONS,
  type AddJobSpec,
  type AddPrinterSpec,
  type EmulatorControl,
  type FileFault,
  type KeyPairBehavior,
  type PrinterInfo,
  type RefuseMode,
  type RegisterFailureReason,
  type UploadFault,
  type UrlOptions,
} from './types.js';

export function createControl(ctx: EmulatorContext, hub: SocketHub): EmulatorControl {
  const info = (serial: string): PrinterInfo | undefined => {
    const rec = ctx.printers.get(serial);
    return rec ? printerInfo(rec, hub.counts(serial)) : undefined;
  };
  const requirePrinter = (serial: string): void => {
    if (!ctx.printers.get(serial)) throw new Error(`no printer '${serial}'`);
  };

  const control: EmulatorControl = {
    send(serialNumber, event, payload) {
      return control.sendRaw(serialNumber, event, [payload === undefined ? { serialNumber } : payload]);
    },
    sendRaw(serialNumber, event, args) {
      let n = 0;
      for (const s of hub.sessionsFor(serialNumber)) if (hub.emitTo(s, event, ...args)) n++;
      return n;
    },
    dropConnections: (serialNumber) => hub.drop(serialNumber),
    disconnect: (serialNumber) => hub.disconnect(serialNumber),
    refuseConnections(ms?: number, mode: RefuseMode = 'http') {
      if (ms !== undefined && !(Number.isFinite(ms) && ms >= 0)) throw new Error('ms must be a non-negative number');
      hub.refuse(ms, mode);
    },
    acceptConnections: () => hub.accept(),
    failNextHellos(n) {
      if (!(Number.isSafeInteger(n) && n >= 0)) throw new Error('n must be a non-negative integer');
      ctx.settings.failHellos = n;
    },
    ignoreNextHellos(n) {
      if (!(Number.isSafeInteger(n) && n >= 0)) throw new Error('n must be a non-negative integer');
      ctx.settings.ignoreHellos = n;
    },
    failNextRegister(reason: RegisterFailureReason) {
      if (!REGISTER_FAILURE_REASONS.includes(reason)) throw new Error(`unknown register failure reason '${String(reason)}'`);
      ctx.settings.failRegister = reason;
    },
    setKeyPairBehavior(behavior: KeyPairBehavior) {
      if (!['normal', 'fail', 'mismatch'].includes(behavior)) throw new Error(`unknown key pair behavior '${String(behavior)}'`);
      ctx.settings.keyPairBehavior = behavior;
    },
    deletePrinter(serialNumber) {
      const rec = ctx.printers.get(serialNumber);
      if (!rec) return false;
      rec.deleted = true;
      for (const s of hub.sessionsFor(serialNumber)) hub.emitTo(s, 'delete', { serialNumber });
      hub.deauthenticate(serialNumber);
      ctx.log.info(`deleted ${serialNumber}`);
      return true;
    },
    addPrinter(spec: AddPrinterSpec) {
      const key = checkPublicKey(spec.publicKey);
      if (!key.ok) throw new Error(`invalid public key: ${key.reason}`);
      const rec = ctx.printers.register({
        publicKey: spec.publicKey,
        mac: spec.mac ?? `02:00:00:${Math.floor(Math.random() * 0xffffff).toString(16).padStart(6, '0')}`,
        email: spec.email ?? ctx.accounts?.[0]?.email ?? 'emulator@example.com',
        mfg: spec.mfg ?? 'kl',
      });
      return info(rec.serialNumber) as PrinterInfo;
    },
    printers: () => ctx.printers.list().map((r) => printerInfo(r, hub.counts(r.serialNumber))),
    printer: (serialNumber) => info(serialNumber),
    queue: (serialNumber) => ctx.jobs.queue(serialNumber).map(jobInfo),
    history: (serialNumber) => ctx.jobs.history(serialNumber).map(jobInfo),
    addJob(serialNumber, job: AddJobSpec = {}) {
      requirePrinter(serialNumber);
      return jobInfo(ctx.jobs.add(serialNumber, job));
    },
    removeJob: (serialNumber, jobId) => ctx.jobs.remove(serialNumber, jobId),
    addFile: (name, source) => ctx.files.info(ctx.files.add(name, source)),
    faultFile: (name, fault: FileFault | null, times?: number) => ctx.files.setFault(name, fault, times),
    files: () => ctx.files.list(),
    uploads: () => ctx.uploads.all(),
    setUrlOptions(options: UrlOptions) {
      const positive = (v: number | undefined, what: string): void => {
        if (v !== undefined && !(Number.isSafeInteger(v) && v > 0)) throw new Error(`${what} must be a positive integer`);
      };
      positive(options.expires, 'expires');
      positive(options.maxSize, 'maxSize');
      ctx.settings.urlOptions = { ...options };
    },
    faultUploads(fault: UploadFault | null, times?: number) {
      if (fault === null) {
        ctx.settings.uploadFault = undefined;
        return;
      }
      if (!(Number.isInteger(fault.status) && fault.status >= 400 && fault.status <= 599)) throw new Error('status must be an HTTP error status (400..599)');
      if (times !== undefined && !(Number.isSafeInteger(times) && times > 0)) throw new Error('times must be a positive integer');
      ctx.settings.uploadFault = { fault: { ...fault }, times: times ?? Infinity };
    },
    events: (since) => ctx.events.events(since),
    violations: (since) => ctx.events.violations(since),
    lastSeq: () => ctx.events.lastSeq(),
    waitFor: (predicate, timeoutMs, since) => ctx.events.waitFor(predicate, timeoutMs, since),
    reset() {
      hub.accept();
      hub.disconnect();
      ctx.printers.clear();
      ctx.jobs.clear();
      ctx.files.clear();
      ctx.uploads.clear();
      ctx.events.clear();
      ctx.settings = defaultSettings();
      ctx.log.info('reset');
    },
  };
  return control;
}
