// `polarcloud next [JOB_ID]`: asks the RUNNING service (its control socket in
// the data folder; else Moonraker's server.extensions.request) to request the
// next cloud job, so the cloud's `print` reaches the process that prints it.
// Shows the cloud's answer, or why it could not ask, in words.
import * as http from 'node:http';
import * as https from 'node:https';
import { z } from 'zod';
import type { Config } from '../config.js';
import { errText } from '../util/log.js';
import { NEXT_PRINT_EXTENSION } from '../features/cloud-session.js';
import { askService } from '../local-control/control-client.js';

const AGENT = 'moonraker-polarcloud';
const replySchema = z.object({
  result: z.object({ outcome: z.enum(['printing', 'none', 'failed']), jobId: z.string().optional(), message: z.string() }),
});
const errorSchema = z.object({ error: z.object({ message: z.string() }).loose() }).loose();

function postJson(url: string, body: unknown, apiKey: string | undefined, timeoutMs: number): Promise<{ status: number; text: string }> {
  const u = new URL(url);
  const lib = u.protocol === 'https:' ? https : http;
  const data = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = lib.request(
      u,
      { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data), ...(apiKey ? { 'x-api-key': apiKey } : {}) }, timeout: timeoutMs },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('no answer from Moonraker')));
    req.on('error', reject);
    req.end(data);
  });
}

export async function nextCommand(config: Config, jobId: string | undefined): Promise<number> {
  if (jobId !== undefined && !/^[\w.-]{1,256}$/.test(jobId)) {
    process.stderr.write(`'${jobId}' is not a Polar job id\n`);
    return 2;
  }
  const args = jobId ? { job: jobId } : {};
  const asked = await askService(config.data_dir, NEXT_PRINT_EXTENSION, args, (config.polar.reply_timeout + 10) * 1000);
  if (asked.kind !== 'not-running') {
    const ok = replySchema.shape.result.safeParse(asked.kind === 'result' ? asked.result : undefined);
    const message = ok.success ? ok.data.message : asked.kind === 'error' ? asked.message : 'the service sent an answer this version cannot read';
    const failed = !ok.success || ok.data.outcome === 'failed';
    (failed ? process.stderr : process.stdout).write(`${message}\n`);
    return failed ? 1 : 0;
  }
  try {
    const res = await postJson(
      `${config.moonraker.url}/server/extensions/request`,
      { agent: AGENT, method: NEXT_PRINT_EXTENSION, arguments: args },
      config.moonraker.api_key,
      (config.polar.reply_timeout + 10) * 1000,
    );
    const ok = replySchema.safeParse(safeJson(res.text));
    if (res.status === 200 && ok.success) {
      const failed = ok.data.result.outcome === 'failed';
      (failed ? process.stderr : process.stdout).write(`${ok.data.result.message}\n`);
      return failed ? 1 : 0;
    }
    const err = errorSchema.safeParse(safeJson(res.text));
    const why = err.success ? err.data.error.message : `HTTP ${res.status}`;
    const hint = /not connected/i.test(why) ? ' (is the moonraker-polarcloud service running?)' : '';
    process.stderr.write(`The service could not ask for the next print: ${why}${hint}\n`);
    return 1;
  } catch (err) {
    process.stderr.write(`Cannot reach Moonraker at ${config.moonraker.url}: ${errText(err)}\n`);
    return 1;
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
