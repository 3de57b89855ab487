import type { Config } from '../config.js';
import type { Logger } from '../util/log.js';
export async function diagnoseCommand(_config: Config, _log: Logger, _out: string | undefined): Promise<number> {
  return 1;
}
