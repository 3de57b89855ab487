// What the running service answers on its control socket: the same actions the
// console macros and front-ends reach through Moonraker, on the service's own
// cloud connection. Answers carry the reason when something cannot be done.
import type { Controller } from '../controller.js';
import type { Config } from '../config.js';
import { errText } from '../util/log.js';
import type { ControlHandler } from './control-server.js';

const JOB_ID = /^[\w.-]{1,256}$/;

export interface ServiceStatus {
  connection: string;
  detail: string;
  problem: string | null;
  serialNumber: string | null;
  serverUrl: string;
  mac: string | null;
  dataDir: string;
  printerLink: string;
  currentJob: { jobId: string; cloud: boolean; filename: string } | null;
  pendingReports: number;
  version: string;
  pid: number;
}

export function serviceMethods(c: Controller, config: Config): Record<string, ControlHandler> {
  const timeoutMs = config.polar.reply_timeout * 1000;
  return {
    status: async (): Promise<ServiceStatus> => {
      const s = c.console.status();
      return {
        connection: s.connection,
        detail: s.detail,
        problem: c.polar.lastProblem ?? s.lastError,
        serialNumber: s.serialNumber,
        serverUrl: s.serverUrl,
        mac: c.identity.file.mac ?? null,
        dataDir: config.data_dir,
        printerLink: s.printerLink,
        currentJob: s.currentJob,
        pendingReports: s.pendingReports,
        version: s.version,
        pid: process.pid,
      };
    },
    queue: async () => c.session.getQueue(0, 100),
    plate_clear: async () => c.plate.clear('polarcloud plate-clear'),
    next_print: async (params) => {
      const job = params.job;
      if (job !== undefined && (typeof job !== 'string' || !JOB_ID.test(job))) return { outcome: 'failed', message: 'job must be a Polar job id' };
      return c.session.requestNextPrint(job).catch((err: unknown) => ({ outcome: 'failed', message: `could not ask Polar Cloud for the next print: ${errText(err)}` }));
    },
    unregister: async () => {
      const serial = c.polar.serialNumber;
      if (!serial) return { unregistered: false, message: 'This printer is not registered; nothing to do.' };
      // Stops the service's cloud traffic for the serial at once (PolarClient.forgetSerial).
      await c.polar.unregister(timeoutMs);
      return { unregistered: true, serialNumber: serial };
    },
    register: async (params) => {
      const email = typeof params.email === 'string' ? params.email : '';
      const pin = typeof params.pin === 'string' ? params.pin : '';
      if (!email || !pin) throw new Error('register needs an e-mail and a PIN');
      const r = await c.register(email, pin);
      return { serialNumber: r.serialNumber };
    },
  };
}
