// `polarcloud run`: the service. Runs until SIGINT/SIGTERM.
import type { Config } from '../config.js';
import { stderrSink, type Logger } from '../util/log.js';
import { RotatingFile, atLeast, fileSink } from '../util/rotating-file.js';
import { systemClock } from '../util/clock.js';
import { Controller } from '../controller.js';
import { socketIoTransportFactory } from '../polar/socketio-transport.js';
import { VERSION, refineVersionFromGit } from '../version.js';
import { untilSignal } from './common.js';
import { DataDirLockedError } from '../identity/data-dir-lock.js';
import { ControlServer } from '../local-control/control-server.js';
import { serviceMethods } from '../local-control/service-methods.js';
import { BundleWatch } from './bundle-watch.js';

export async function runCommand(config: Config, log: Logger): Promise<number> {
  let file: RotatingFile | undefined;
  if (config.log.file) {
    file = new RotatingFile(config.log.file, config.log.max_size * 1048576, config.log.files);
    // Details go to the file (Mainsail/Fluidd show the logs folder); the journal keeps warnings and errors.
    log.setSinks([fileSink(file), atLeast('warn', stderrSink)]);
  }
  refineVersionFromGit();
  log.info(`moonraker-polarcloud ${VERSION} starting (node ${process.version}, data dir ${config.data_dir})`);
  const c = new Controller({ config, log, clock: systemClock, transportFactory: socketIoTransportFactory });
  try {
    await c.start();
  } catch (err) {
    if (!(err instanceof DataDirLockedError)) throw err;
    // Nothing was started yet (the lock comes right after reading the identity).
    log.error(err.message);
    file?.close();
    return 1;
  }
  // The CLI on this host asks the service through this socket instead of opening a second cloud connection.
  const control = new ControlServer(config.data_dir, serviceMethods(c, config), log.child('control'));
  await control.start();
  // Another printer's update replaced the shared bundle: restart (systemd brings us back) when idle.
  let restartForUpdate!: () => void;
  const updated = new Promise<'update'>((resolve) => (restartForUpdate = () => resolve('update')));
  const watch = new BundleWatch(process.argv[1] ?? '', c, log.child('update'), restartForUpdate);
  await watch.start();
  const why = await Promise.race([untilSignal(), updated]);
  if (why !== 'update') log.info(`${why} received, stopping`);
  watch.stop();
  await control.stop();
  await c.stop();
  file?.close();
  return 0;
}
