// `polarcloud plate-clear`: tells the RUNNING service (its control socket in the
// data folder) that the build plate is empty, so a cloud job held by
// control.require_clear_plate (status 15) may start. Same as POLAR_PLATE_CLEAR.
import { z } from 'zod';
import type { Config } from '../config.js';
import { askService } from '../local-control/control-client.js';

const answerSchema = z.object({ cleared: z.boolean(), message: z.string() }).loose();

export async function plateClearCommand(config: Config): Promise<number> {
  const asked = await askService(config.data_dir, 'plate_clear', {}, 10_000);
  if (asked.kind === 'not-running') {
    process.stderr.write(`The moonraker-polarcloud service for ${config.data_dir} is not running; start it, then run plate-clear again (or use POLAR_PLATE_CLEAR in the console).\n`);
    return 1;
  }
  if (asked.kind === 'error') {
    process.stderr.write(`The service could not mark the plate clear: ${asked.message}\n`);
    return 1;
  }
  const ok = answerSchema.safeParse(asked.result);
  if (!ok.success) {
    process.stderr.write('The service sent an answer this version cannot read (is the CLI older than the service?)\n');
    return 1;
  }
  process.stdout.write(`${ok.data.message}\n`);
  return 0;
}
