// `polarcloud register | unregister | status`: managing the printer's Polar
// identity from a shell. When the service of this data folder runs, they ask
// it (control socket) so the printer keeps one cloud connection; otherwise
// they open their own (and hold the data folder's lock while they do).
import type { Config } from '../config.js';
import type { Logger } from '../util/log.js';
import { systemClock } from '../util/clock.js';
import { Controller } from '../controller.js';
import { socketIoTransportFactory } from '../polar/socketio-transport.js';
import { RegistrationError } from '../polar/registration.js';
import { chooseNetInterface, systemNetSource } from '../identity/mac.js';
import { IdentityStore } from '../identity/identity-store.js';
import { printerNetInfo } from '../identity/instance-mac.js';
import { DataDirLockedError } from '../identity/data-dir-lock.js';
import { askService } from '../local-control/control-client.js';
import type { ServiceStatus } from '../local-control/service-methods.js';

/** How long the CLI waits for the service: its own cloud round trip plus a margin. */
export function serviceTimeoutMs(config: Config): number {
  return (config.polar.reply_timeout + 10) * 1000;
}
import { failureLine } from './failure.js';

export function controllerFor(config: Config, log: Logger): Controller {
  return new Controller({ config, log, clock: systemClock, transportFactory: socketIoTransportFactory, withMoonraker: false });
}

export type HelloOutcome = 'online' | 'deleted' | 'unregistered' | 'timeout' | 'failed';

/**
 * Waits until the client is online, deleted or unregistered, the first attempt
 * fails (hello rejected, cannot connect: `reason` says why), or the deadline passes.
 */
export async function waitForHello(c: Controller, timeoutMs: number): Promise<{ outcome: HelloOutcome; reason: string }> {
  return new Promise((resolve) => {
    let done = false;
    const finish = (outcome: HelloOutcome, reason: string): void => {
      if (done) return;
      done = true;
      offState();
      offProblem();
      clearTimeout(t);
      resolve({ outcome, reason });
    };
    const check = (): void => {
      const s = c.polar.state;
      if (s === 'online' || s === 'deleted' || s === 'unregistered') finish(s, s);
    };
    const offState = c.polar.events.on('state', check);
    const offProblem = c.polar.events.on('problem', ({ reason }) => finish('failed', reason));
    const t = setTimeout(() => finish('timeout', `no answer from ${'Polar Cloud'} within ${Math.round(timeoutMs / 1000)} s`), timeoutMs);
    check();
  });
}

/** Starts a cloud-only controller for a CLI command; a running service on the folder becomes one line. */
async function startOwnConnection(c: Controller): Promise<boolean> {
  try {
    await c.start();
    return true;
  } catch (err) {
    if (!(err instanceof DataDirLockedError)) throw err;
    process.stderr.write(`${err.message}\n`);
    return false;
  }
}

export async function registerCommand(config: Config, log: Logger, email: string, pin: string): Promise<number> {
  const asked = await askService(config.data_dir, 'register', { email, pin }, serviceTimeoutMs(config));
  if (asked.kind === 'result') {
    const serial = (asked.result as { serialNumber?: unknown } | null)?.serialNumber;
    process.stdout.write(`Registered with Polar Cloud through the running service: serial number ${String(serial)}\n`);
    return 0;
  }
  if (asked.kind === 'error') {
    process.stderr.write(`${asked.message}\n`);
    return 1;
  }
  const c = controllerFor(config, log);
  try {
    const res = await c.register(email, pin);
    process.stdout.write(`Registered with Polar Cloud: serial number ${res.serialNumber}\n`);
    if (res.keyGenerationMs !== undefined) log.info(`key generation took ${res.keyGenerationMs.toFixed(0)} ms`);
    // Confirm the new identity works (protocol: reconnect and hello).
    await c.start();
    const { outcome, reason } = await waitForHello(c, config.polar.reply_timeout * 1000);
    if (outcome === 'online') process.stdout.write('Signed hello accepted: the printer is online in Polar Cloud.\n');
    else log.warn(`registered, but the first hello did not succeed (${reason}); the service will keep trying`);
    return 0;
  } catch (err) {
    if (err instanceof RegistrationError || err instanceof DataDirLockedError) {
      process.stderr.write(err.message + '\n');
      return 1;
    }
    const f = failureLine(err, { dataDir: config.data_dir });
    process.stderr.write(`Registration failed: ${f.message}\n`);
    return f.exitCode;
  } finally {
    await c.stop();
  }
}

export async function unregisterCommand(config: Config, log: Logger): Promise<number> {
  const asked = await askService(config.data_dir, 'unregister', {}, serviceTimeoutMs(config));
  if (asked.kind === 'result') {
    const r = (asked.result ?? {}) as { unregistered?: unknown; serialNumber?: unknown; message?: unknown };
    if (r.unregistered === true) process.stdout.write(`Unregistered ${String(r.serialNumber)} from Polar Cloud; the service stopped its cloud traffic. The key is kept for a later registration.\n`);
    else process.stdout.write(`${typeof r.message === 'string' ? r.message : 'Nothing to do.'}\n`);
    return 0;
  }
  if (asked.kind === 'error') {
    process.stderr.write(`Unregister failed (asked the running service): ${asked.message}\n`);
    return 1;
  }
  const c = controllerFor(config, log);
  try {
    if (!(await startOwnConnection(c))) return 1;
    const { outcome, reason } = await waitForHello(c, config.polar.reply_timeout * 1000);
    if (outcome === 'unregistered') {
      process.stdout.write('This printer is not registered; nothing to do.\n');
      return 0;
    }
    if (outcome === 'deleted') {
      process.stdout.write('Polar Cloud had already deleted this printer; the local serial number was removed.\n');
      return 0;
    }
    if (outcome === 'timeout' || outcome === 'failed') {
      process.stderr.write(`Could not connect to Polar Cloud to unregister (${reason}); try again later.\n`);
      return 1;
    }
    await c.polar.unregister(config.polar.reply_timeout * 1000);
    process.stdout.write('Unregistered from Polar Cloud. The key is kept for a later registration.\n');
    return 0;
  } catch (err) {
    const f = failureLine(err, { dataDir: config.data_dir });
    process.stderr.write(`Unregister failed: ${f.message}\n`);
    return f.exitCode;
  } finally {
    await c.stop();
  }
}

export async function statusCommand(config: Config, json: boolean): Promise<number> {
  const asked = await askService(config.data_dir, 'status', {}, serviceTimeoutMs(config));
  if (asked.kind === 'result') return printServiceStatus(asked.result as ServiceStatus, json);
  const identity = new IdentityStore(config.data_dir);
  await identity.load();
  const net = await printerNetInfo(identity, chooseNetInterface(systemNetSource, config.polar.interface), { store: false });
  const info = {
    service: asked.kind === 'error' ? `not answering (${asked.message})` : 'not running',
    server: config.polar.server_url,
    dataDir: config.data_dir,
    registered: identity.serialFor(config.polar.server_url) !== undefined,
    serialNumber: identity.serialFor(config.polar.server_url) ?? null,
    registeredAt: identity.file.registeredAt ?? null,
    hasKey: identity.hasKey,
    mac: net?.mac ?? null,
    interface: net?.iface ?? null,
    moonraker: config.moonraker.url,
  };
  if (json) {
    process.stdout.write(JSON.stringify(info, null, 2) + '\n');
  } else {
    process.stdout.write(
      [
        `Service:            ${info.service}`,
        `Polar Cloud server: ${info.server}`,
        `Registered:         ${info.registered ? `yes, serial ${info.serialNumber} (since ${info.registeredAt ?? 'unknown'})` : 'no'}`,
        `Key:                ${info.hasKey ? 'present' : 'not generated yet'}`,
        `MAC:                ${info.mac ?? 'none found'}${info.interface ? ` (${info.interface})` : ''}`,
        `Data directory:     ${info.dataDir}`,
        `Moonraker:          ${info.moonraker}`,
      ].join('\n') + '\n',
    );
  }
  return 0;
}

function printServiceStatus(s: ServiceStatus, json: boolean): number {
  if (json) {
    process.stdout.write(JSON.stringify({ service: 'running', ...s }, null, 2) + '\n');
    return 0;
  }
  const job = s.currentJob ? `${s.currentJob.cloud ? `cloud job ${s.currentJob.jobId}` : 'local job'} ${s.currentJob.filename}` : 'none';
  process.stdout.write(
    [
      `Service:            running (PID ${s.pid}, version ${s.version})`,
      `Polar Cloud server: ${s.serverUrl}`,
      `Connection:         ${s.connection}${s.detail && s.detail !== s.connection ? ` (${s.detail})` : ''}`,
      ...(s.problem && s.connection !== 'online' ? [`Last problem:       ${s.problem}`] : []),
      `Registered:         ${s.serialNumber ? `yes, serial ${s.serialNumber}` : 'no'}`,
      `MAC:                ${s.mac ?? 'none found'}`,
      `Printer link:       ${s.printerLink}`,
      `Current job:        ${job}`,
      `Pending reports:    ${s.pendingReports}`,
      `Data directory:     ${s.dataDir}`,
    ].join('\n') + '\n',
  );
  return 0;
}
