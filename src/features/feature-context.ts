// What every cloud-facing feature gets from the composition root.
import type { MoonrakerApi, MoonrakerClient, PrinterModel } from '../../moonraker-bridge/index.js';
import type { Config } from '../config.js';
import type { JobService } from '../jobs/job-service.js';
import type { PolarClient } from '../polar/polar-client.js';
import type { StatusReporter } from '../status/status-reporter.js';
import type { Clock } from '../util/clock.js';
import { errText, type Logger } from '../util/log.js';

export interface FeatureContext {
  config: Config;
  polar: PolarClient;
  printer: PrinterModel;
  moonraker: MoonrakerClient;
  api: MoonrakerApi;
  jobs: JobService;
  status: StatusReporter;
  clock: Clock;
  log: Logger;
}

/** A part of the bridge with its own lifecycle. */
export interface Feature {
  start(): void;
  stop(): void;
}

/** Text safe inside RESPOND MSG="…": no quotes, no newlines, bounded. */
export function respondText(msg: string): string {
  return msg.replace(/["\r\n]+/g, ' ').replace(/[^\x20-\x7e]/g, '?').slice(0, 200);
}

/**
 * Tells the people involved: the log, Polar's console (commandResponse) and
 * Klipper's console (RESPOND), e.g. why a cloud request was refused.
 */
export function announce(ctx: FeatureContext, msg: string, level: 'info' | 'warn' = 'warn'): void {
  ctx.log[level](msg);
  const serialNumber = ctx.polar.serialNumber;
  if (serialNumber) ctx.polar.send('commandResponse', { serialNumber, response: `Polar Cloud bridge: ${msg}` });
  if (ctx.printer.connectionState === 'klippy_ready') {
    ctx.api.gcodeScript(`RESPOND TYPE=echo MSG="Polar Cloud: ${respondText(msg)}"`, { timeoutMs: 10_000 }).catch((err) => ctx.log.debug(`console message not shown: ${errText(err)}`));
  }
}

/** Print states in which the toolhead must not be moved from the cloud. */
export function isPrinting(ctx: FeatureContext): boolean {
  const s = ctx.printer.snapshot().print_stats.state;
  // The tracker may know of a print (history 'added') before print_stats shows it.
  return s === 'printing' || s === 'paused' || ctx.jobs.pendingCloud !== null || (ctx.jobs.job !== null && ctx.jobs.job.filename !== '' && s !== 'complete' && s !== 'cancelled' && s !== 'error');
}
