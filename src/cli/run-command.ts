// `polarcloud run`: the service. Runs until SIGINT/SIGTERM.
import type { Config } from '../config.js';
import type { Logger } from '../util/log.js';
import { systemClock } from '../util/clock.js';
import { Controller } from '../controller.js';
import { socketIoTransportFactory } from '../polar/socketio-transport.js';
import { VERSION } from '../version.js';
import { untilSignal } from './common.js';

export async function runCommand(config: Config, log: Logger): Promise<number> {
  log.info(`moonraker-polarcloud ${VERSION} starting (node ${process.version}, data dir ${config.data_dir})`);
  const c = new Controller({ config, log, clock: systemClock, transportFactory: socketIoTransportFactory });
  await c.start();
  const sig = await untilSignal();
  log.info(`${sig} received, stopping`);
  await c.stop();
  return 0;
}
