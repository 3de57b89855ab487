// `polarcloud queue`: lists this printer's cloud print queue (getQueue). Asks
// the running service of this data folder (control socket), so the printer
// keeps one cloud connection; only when no service runs does it open its own
// short authenticated connection.
import type { Config } from '../config.js';
import { errText, type Logger } from '../util/log.js';
import { getQueueResponseSchema, type CloudToPrinter } from '../polar/messages.js';
import { askService } from '../local-control/control-client.js';
import { DataDirLockedError } from '../identity/data-dir-lock.js';
import { controllerFor, serviceTimeoutMs, waitForHello } from './identity-commands.js';

async function queueFromOwnConnection(config: Config, log: Logger): Promise<CloudToPrinter['getQueueResponse'] | string> {
  const c = controllerFor(config, log);
  try {
    await c.start();
    const { outcome, reason } = await waitForHello(c, config.polar.reply_timeout * 1000);
    if (outcome === 'unregistered') return 'this printer is not registered with Polar Cloud (polarcloud register, or POLAR_REGISTER in the console)';
    if (outcome !== 'online') return `not connected to Polar Cloud (${reason})`;
    return await c.session.getQueue(0, 100);
  } catch (err) {
    return err instanceof DataDirLockedError ? err.message : errText(err);
  } finally {
    await c.stop();
  }
}

export async function queueCommand(config: Config, log: Logger, json: boolean): Promise<number> {
  let q: CloudToPrinter['getQueueResponse'] | string;
  const asked = await askService(config.data_dir, 'queue', {}, serviceTimeoutMs(config));
  if (asked.kind === 'not-running') q = await queueFromOwnConnection(config, log);
  else if (asked.kind === 'error') q = `${asked.message} (asked the running service)`;
  else {
    const parsed = getQueueResponseSchema.safeParse(asked.result);
    q = parsed.success ? parsed.data : 'the service sent a queue this version cannot read';
  }
  if (typeof q === 'string') {
    process.stderr.write(`Could not read the queue: ${q}\n`);
    return 1;
  }
  if (json) {
    process.stdout.write(`${JSON.stringify(q, null, 2)}\n`);
    return 0;
  }
  process.stdout.write(`${q.totalCount} job(s) in the Polar Cloud queue of ${q.serialNumber}\n`);
  for (const [i, j] of q.jobs.entries()) process.stdout.write(`${String(i + 1).padStart(3)}. ${j.jobName ?? '(unnamed)'}  [${j.jobId}]${j.owner ? `  by ${j.owner}` : ''}\n`);
  return 0;
}
