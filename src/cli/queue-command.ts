// `polarcloud queue`: lists this printer's cloud print queue (getQueue). Uses
// its own short authenticated connection; read-only, so it is safe beside the
// running service. (Asking for the next print goes through the service — the
// POLAR_NEXT macro / `polarcloud_next_print` remote method — so the cloud's
// `print` reply reaches the process that can act on it.)
import type { Config } from '../config.js';
import { errText, type Logger } from '../util/log.js';
import { controllerFor, waitForHello } from './identity-commands.js';

export async function queueCommand(config: Config, log: Logger, json: boolean): Promise<number> {
  const c = controllerFor(config, log);
  try {
    await c.start();
    const outcome = await waitForHello(c, config.polar.reply_timeout * 1000);
    if (outcome !== 'online') {
      process.stderr.write(`Not connected to Polar Cloud (${outcome === 'timeout' ? 'no answer' : outcome}).\n`);
      return 1;
    }
    const q = await c.session.getQueue(0, 100);
    if (json) {
      process.stdout.write(`${JSON.stringify(q, null, 2)}\n`);
      return 0;
    }
    process.stdout.write(`${q.totalCount} job(s) in the Polar Cloud queue of ${q.serialNumber}\n`);
    for (const [i, j] of q.jobs.entries()) process.stdout.write(`${String(i + 1).padStart(3)}. ${j.jobName ?? '(unnamed)'}  [${j.jobId}]${j.owner ? `  by ${j.owner}` : ''}\n`);
    return 0;
  } catch (err) {
    process.stderr.write(`Could not read the queue: ${errText(err)}\n`);
    return 1;
  } finally {
    await c.stop();
  }
}
