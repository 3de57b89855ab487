// The soak's hands on the emulator and the simulator in the other process:
// their HTTP control APIs (emulator /control/..., simulator /_sim/...) and
// Moonraker's own HTTP API for print_stats. One connection per request
// (agent: false), so no pooled sockets blur the open-descriptor count.
import { request } from 'node:http';
import { z } from 'zod';

const TIMEOUT_MS = 30_000;

export function httpJson(method: 'GET' | 'POST', url: string, body?: unknown): Promise<unknown> {
  const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body), 'utf8');
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method,
        agent: false,
        timeout: TIMEOUT_MS,
        headers: data ? { 'Content-Type': 'application/json', 'Content-Length': data.length } : {},
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          if ((res.statusCode ?? 500) >= 300) return reject(new Error(`${method} ${url}: HTTP ${res.statusCode ?? '?'} ${text.slice(0, 300)}`));
          try {
            const parsed: unknown = text ? JSON.parse(text) : null;
            resolve(parsed);
          } catch {
            reject(new Error(`${method} ${url}: reply is not JSON: ${text.slice(0, 200)}`));
          }
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${url}: no reply within ${TIMEOUT_MS} ms`)));
    req.on('error', reject);
    req.end(data);
  });
}

const jobInfo = z.object({ jobId: z.string(), jobName: z.string().optional(), gcodeUrl: z.string() });
const report = z.object({ jobId: z.string(), state: z.string() }).loose();
const printerInfo = z
  .object({ authenticated: z.boolean(), connections: z.number(), jobReports: z.array(report), statusCount: z.number() })
  .loose();
const sentReply = z.object({ sent: z.number() });
const droppedReply = z.object({ dropped: z.number() });
const eventList = z.array(z.object({ reason: z.string().optional(), name: z.string().optional() }).loose());
const uploadList = z.array(z.object({ type: z.string().optional(), size: z.number() }).loose());

export type JobInfo = z.output<typeof jobInfo>;
export type PrinterInfo = z.output<typeof printerInfo>;

/** The Polar Cloud emulator's /control API. */
export class CloudControl {
  constructor(readonly url: string) {}

  async addJob(serialNumber: string, jobName: string, content: string): Promise<JobInfo> {
    return jobInfo.parse(await httpJson('POST', `${this.url}/control/jobs`, { serialNumber, job: { jobName, content } }));
  }

  /** Sends a cloud command; returns the sockets it reached (0 while the bridge is offline). */
  async send(serialNumber: string, command: string, payload: Record<string, unknown> = {}): Promise<number> {
    const r = await httpJson('POST', `${this.url}/control/send`, { serialNumber, command, payload: { serialNumber, ...payload } });
    return sentReply.parse(r).sent;
  }

  async drop(serialNumber: string): Promise<number> {
    return droppedReply.parse(await httpJson('POST', `${this.url}/control/drop`, { serialNumber })).dropped;
  }

  /** Drops every connection and refuses new ones for `realMs` (the emulator times this in real ms). */
  async refuse(realMs: number): Promise<void> {
    await httpJson('POST', `${this.url}/control/refuse`, { ms: Math.round(realMs) });
  }

  async printer(serialNumber: string): Promise<PrinterInfo> {
    return printerInfo.parse(await httpJson('GET', `${this.url}/control/printer?serialNumber=${encodeURIComponent(serialNumber)}`));
  }

  async violations(): Promise<string[]> {
    return eventList.parse(await httpJson('GET', `${this.url}/control/violations`)).map((e) => `${e.name ?? '?'}: ${e.reason ?? '?'}`);
  }

  /** Upload counts by type (the emulator keeps the newest 1000 records). */
  async uploadsByType(): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    for (const u of uploadList.parse(await httpJson('GET', `${this.url}/control/uploads`))) out[u.type ?? '?'] = (out[u.type ?? '?'] ?? 0) + 1;
    return out;
  }
}

const printStatsReply = z.object({
  result: z.object({ status: z.object({ print_stats: z.object({ state: z.string(), filename: z.string().nullable().optional() }).loose() }) }),
});

/** The Moonraker simulator's /_sim control API, plus print_stats from Moonraker's HTTP API. */
export class PrinterControl {
  constructor(readonly url: string) {}

  private sim(action: string, body: Record<string, unknown> = {}): Promise<unknown> {
    return httpJson('POST', `${this.url}/_sim/${action}`, body);
  }

  async addFile(path: string, content: string): Promise<void> {
    await this.sim('add_file', { path, content });
  }

  /** A print started by another client (Mainsail), not by the bridge. */
  async startLocalPrint(filename: string): Promise<void> {
    await this.sim('start_local_print', { filename });
  }

  /** Every Moonraker websocket terminated without a close frame (a network drop). */
  async dropWebsockets(): Promise<void> {
    await this.sim('drop_websockets');
  }

  /** Moonraker goes away for `downMs` (simulator clock, i.e. simulated ms) and comes back; Klipper keeps printing. */
  async restartMoonraker(downMs: number): Promise<void> {
    await this.sim('restart_moonraker', { down_ms: downMs });
  }

  async printStats(): Promise<{ state: string; filename: string }> {
    const r = printStatsReply.parse(await httpJson('GET', `${this.url}/printer/objects/query?print_stats=state,filename`));
    const ps = r.result.status.print_stats;
    return { state: ps.state, filename: ps.filename ?? '' };
  }
}
