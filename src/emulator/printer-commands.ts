// Commands from an authenticated printer: validated against the protocol
// schemas, checked to name the socket's own serial, then applied to the
// emulator's state and answered where the protocol says so.
import type { z } from 'zod';
import { validatePrinterCommand, type PrinterCommandName, type printerToCloudSchemas } from '../polar/messages.js';
import type { EmulatorContext } from './context.js';
import { queueEntry } from './job-store.js';
import type { Session, SocketHub } from './socket-hub.js';
import { isRecord } from './socket-hub.js';
import { buildGetUrlResponse } from './upload-urls.js';

type AuthedCommand = Exclude<PrinterCommandName, 'register' | 'hello' | 'makeKeyPair'>;
type Msg<K extends PrinterCommandName> = z.output<(typeof printerToCloudSchemas)[K]>;
type Handler<K extends AuthedCommand> = (
  ctx: EmulatorContext,
  hub: SocketHub,
  session: Session,
  serial: string,
  msg: Msg<K>,
  raw: unknown,
) => void;

/** A jobId as the cloud makes them (e.g. KL000001-100001); anything else is INVALID_JOBID. */
const JOB_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,255}$/;

const handlers: { [K in AuthedCommand]: Handler<K> } = {
  unregister(ctx, hub, session, serial) {
    const rec = ctx.printers.get(serial);
    if (rec) rec.deleted = true;
    hub.emitTo(session, 'unregisterResponse', { serialNumber: serial, status: 'SUCCESS', message: 'Printer unregister successful' });
    hub.deauthenticate(serial);
    ctx.log.info(`unregistered ${serial}`);
  },
  capabilities(_ctx, hub, session, serial) {
    hub.emitTo(session, 'capabilitiesResponse', { serialNumber: serial, capabilities: ['sendNextPrint'] });
  },
  commandResponse(ctx, _hub, _session, serial, msg) {
    ctx.printers.get(serial)?.commandResponses.push(msg.response);
  },
  customCommandList(ctx, _hub, _session, serial, msg) {
    const rec = ctx.printers.get(serial);
    if (!rec) return;
    rec.customCommandList = msg.customCommandList;
    rec.commandList = msg.commandList;
  },
  getQueue(ctx, hub, session, serial, msg) {
    const ready = ctx.jobs.ready(serial);
    const skip = msg.skip ?? 0;
    const limit = msg.limit ?? 0; // 0 = unlimited
    const page = ready.slice(skip, limit === 0 ? undefined : skip + limit);
    hub.emitTo(session, 'getQueueResponse', {
      serialNumber: serial,
      totalCount: ready.length,
      skip,
      limit,
      jobCount: page.length,
      jobs: page.map(queueEntry),
    });
  },
  getUrl(ctx, hub, session, serial, msg) {
    hub.emitTo(session, 'getUrlResponse', buildGetUrlResponse(ctx, serial, msg));
  },
  job(ctx, _hub, _session, serial, msg) {
    ctx.printers.get(serial)?.jobReports.push({ ...msg });
    // completed: out of the queue into history; canceled: stays queued.
    if (msg.state === 'completed') ctx.jobs.complete(serial, msg.jobId);
    ctx.log.info(`job ${msg.jobId} ${msg.state} on ${serial}`);
  },
  sendNextPrint(ctx, hub, session, serial, msg) {
    const none = (): void => void hub.emitTo(session, 'sendNextPrintResponse', { serialNumber: serial, status: 'NONE', message: 'NO_QUEUED_JOBS' });
    if (msg.jobId !== undefined && !JOB_ID.test(msg.jobId)) {
      hub.emitTo(session, 'sendNextPrintResponse', { serialNumber: serial, status: 'FAILED', message: 'INVALID_JOBID' });
      return;
    }
    const job = msg.jobId === undefined ? ctx.jobs.ready(serial)[0] : ctx.jobs.ready(serial).find((j) => j.jobId === msg.jobId);
    if (!job) return none();
    job.printsSent++;
    hub.emitTo(session, 'print', ctx.jobs.printPayload(serial, job));
  },
  setVersion(ctx, _hub, _session, serial, msg) {
    const rec = ctx.printers.get(serial);
    if (rec) rec.version = { runningVersion: msg.runningVersion, latestVersion: msg.latestVersion };
  },
  status(ctx, _hub, _session, serial, _msg, raw) {
    const rec = ctx.printers.get(serial);
    if (!rec) return;
    // Kept as received (the validated copy would drop unknown fields).
    rec.lastStatus = raw;
    rec.statusCount++;
  },
};

export function isPrinterCommand(name: string): name is AuthedCommand {
  return Object.hasOwn(handlers, name);
}

export function handlePrinterCommand<K extends AuthedCommand>(ctx: EmulatorContext, hub: SocketHub, session: Session, name: K, payload: unknown): void {
  const serial = session.serialNumber as string;
  const v = validatePrinterCommand(name, payload);
  if (!v.ok) {
    hub.violation(session, name, v.reason, payload);
    answerInvalid(hub, session, serial, name, payload, v.reason);
    return;
  }
  const claimed = (v.value as { serialNumber: string }).serialNumber;
  if (claimed !== serial) {
    hub.violation(session, name, `serialNumber '${claimed}' is not this connection's (${serial})`, payload);
    return;
  }
  const handler = handlers[name] as Handler<K>;
  handler(ctx, hub, session, serial, v.value as Msg<K>, payload);
}

/** Commands with a documented failure answer get it when their payload is invalid. */
function answerInvalid(hub: SocketHub, session: Session, serial: string, name: AuthedCommand, payload: unknown, reason: string): void {
  if (isRecord(payload) && payload.serialNumber !== serial) return; // not ours to answer
  if (name === 'getUrl') {
    const type = isRecord(payload) && typeof payload.type === 'string' ? payload.type : undefined;
    hub.emitTo(session, 'getUrlResponse', { status: 'FAILED', serialNumber: serial, type, message: reason });
  } else if (name === 'sendNextPrint' && /(^|; )jobId\b/.test(reason)) {
    hub.emitTo(session, 'sendNextPrintResponse', { serialNumber: serial, status: 'FAILED', message: 'INVALID_JOBID' });
  }
}
