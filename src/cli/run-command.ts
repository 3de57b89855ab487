// `polarcloud run`: the service. Runs until SIGINT/SIGTERM.
//
// A start that fails on something the user fixes on disk (data folder not
// writable, read-only, corrupt identity/key file) prints one line with the fix.
// From a terminal the command then exits with that line's exit code. Under
// systemd (INVOCATION_ID is set) exiting would only make systemd restart us
// every RestartSec, logging the same failure each time; instead the service
// stays up and retries the start with capped exponential backoff (30 s doubling
// to 10 min, POLARCLOUD_START_RETRY_MS overrides the first delay), repeating
// the line only when the cause changes, so fixing the permissions is picked up
// without a restart.
import type { Config } from '../config.js';
import { stderrSink, type Logger } from '../util/log.js';
import { RotatingFile, atLeast, fileSink } from '../util/rotating-file.js';
import { systemClock } from '../util/clock.js';
import { Backoff } from '../util/backoff.js';
import { Controller } from '../controller.js';
import { socketIoTransportFactory } from '../polar/socketio-transport.js';
import { VERSION, refineVersionFromGit } from '../version.js';
import { untilSignal } from './common.js';
import { DataDirLockedError } from '../identity/data-dir-lock.js';
import { ControlServer } from '../local-control/control-server.js';
import { serviceMethods } from '../local-control/service-methods.js';
import { BundleWatch, digest } from './bundle-watch.js';
import { describeFailure, failureLine } from './failure.js';

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`;
}

function underSystemd(): boolean {
  return Boolean(process.env.INVOCATION_ID);
}

export async function runCommand(config: Config, log: Logger): Promise<number> {
  let file: RotatingFile | undefined;
  if (config.log.file) {
    const path = config.log.file;
    file = new RotatingFile(path, config.log.max_size * 1048576, config.log.files, (err) => {
      // Reported once per failure spell (the file retries every minute), to the journal.
      const f = failureLine(err, { dataDir: config.data_dir });
      stderrSink({ time: new Date(), level: 'error', ns: 'polarcloud', msg: `log.file ${path} cannot be written; logging to the journal only until it can: ${f.message}` });
    });
    // Details go to the file (Mainsail/Fluidd show the logs folder); the journal keeps warnings and errors.
    // While the file cannot be written every line goes to the journal instead.
    const f = file;
    log.setSinks([fileSink(f, stderrSink), atLeast('warn', (rec) => f.healthy && stderrSink(rec))]);
  }
  refineVersionFromGit();
  log.info(`moonraker-polarcloud ${VERSION} starting (node ${process.version}, data dir ${config.data_dir})`);

  // The bundle as this process loaded it: an update during the start is still noticed.
  const loadedBundle = await digest(process.argv[1] ?? '');
  const stopped = untilSignal();
  let signal: NodeJS.Signals | undefined;
  void stopped.then((s) => (signal = s));
  const backoff = new Backoff({ initialMs: Number(process.env.POLARCLOUD_START_RETRY_MS) || 30_000, maxMs: 600_000 });
  let lastLine = '';
  for (;;) {
    const c = new Controller({ config, log, clock: systemClock, transportFactory: socketIoTransportFactory });
    try {
      await c.start();
    } catch (err) {
      await c.stop().catch(() => undefined);
      if (err instanceof DataDirLockedError) {
        // Another process serves this data folder: one line naming its PID (no retry, nothing to fix on disk).
        log.error(err.message);
        file?.close();
        return 1;
      }
      const f = describeFailure(err, { dataDir: config.data_dir });
      if (!f || !f.fixable || !underSystemd()) throw err; // main prints the one line and exits with its code
      const delay = backoff.next();
      if (f.message !== lastLine) log.error(`cannot start: ${f.message}`);
      else log.debug(`still cannot start; next try in ${seconds(delay)}`);
      if (f.message !== lastLine) log.warn(`waiting and retrying the start (in ${seconds(delay)}, growing to 10 min); fix the problem above and it is picked up without a restart`);
      lastLine = f.message;
      const t = new Promise<void>((resolve) => setTimeout(resolve, delay));
      await Promise.race([t, stopped]);
      if (signal) {
        log.info(`${signal} received, stopping`);
        file?.close();
        return 0;
      }
      continue;
    }
    if (lastLine) log.info('started after the earlier failure was fixed');
    // The CLI on this host asks the service through this socket instead of opening a second cloud connection.
    const control = new ControlServer(config.data_dir, serviceMethods(c, config), log.child('control'));
    await control.start();
    // Another printer's update replaced the shared bundle: restart (systemd brings us back) when idle.
    let restartForUpdate!: () => void;
    const updated = new Promise<'update'>((resolve) => (restartForUpdate = () => resolve('update')));
    const watch = new BundleWatch(process.argv[1] ?? '', c, log.child('update'), restartForUpdate);
    await watch.start(loadedBundle);
    const why = signal ?? (await Promise.race([stopped, updated]));
    if (why !== 'update') log.info(`${why} received, stopping`);
    watch.stop();
    await control.stop();
    await c.stop();
    file?.close();
    return 0;
  }
}
