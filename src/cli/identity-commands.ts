// `polarcloud register | unregister | status`: managing the printer's Polar
// identity from a shell (macros and front-ends use the running service).
import type { Config } from '../config.js';
import type { Logger } from '../util/log.js';
import { systemClock } from '../util/clock.js';
import { Controller } from '../controller.js';
import { socketIoTransportFactory } from '../polar/socketio-transport.js';
import { RegistrationError } from '../polar/registration.js';
import { chooseNetInterface, systemNetSource } from '../identity/mac.js';
import { IdentityStore } from '../identity/identity-store.js';
import { failureLine } from './failure.js';

export function controllerFor(config: Config, log: Logger): Controller {
  return new Controller({ config, log, clock: systemClock, transportFactory: socketIoTransportFactory, withMoonraker: false });
}

/** Waits until the client is online, deleted or unregistered, or the deadline passes. */
export async function waitForHello(c: Controller, timeoutMs: number): Promise<'online' | 'deleted' | 'unregistered' | 'timeout'> {
  return new Promise((resolve) => {
    const check = (): boolean => {
      const s = c.polar.state;
      if (s === 'online' || s === 'deleted' || s === 'unregistered') {
        off();
        clearTimeout(t);
        resolve(s);
        return true;
      }
      return false;
    };
    const off = c.polar.events.on('state', () => void check());
    const t = setTimeout(() => {
      off();
      resolve('timeout');
    }, timeoutMs);
    check();
  });
}

export async function registerCommand(config: Config, log: Logger, email: string, pin: string): Promise<number> {
  const c = controllerFor(config, log);
  try {
    const res = await c.register(email, pin);
    process.stdout.write(`Registered with Polar Cloud: serial number ${res.serialNumber}\n`);
    if (res.keyGenerationMs !== undefined) log.info(`key generation took ${res.keyGenerationMs.toFixed(0)} ms`);
    // Confirm the new identity works (protocol: reconnect and hello).
    await c.start();
    const outcome = await waitForHello(c, config.polar.reply_timeout * 1000);
    if (outcome === 'online') process.stdout.write('Signed hello accepted: the printer is online in Polar Cloud.\n');
    else log.warn(`registered, but the first hello did not succeed (${outcome}); the service will keep trying`);
    return 0;
  } catch (err) {
    if (err instanceof RegistrationError) {
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
  const c = controllerFor(config, log);
  try {
    await c.start();
    const outcome = await waitForHello(c, config.polar.reply_timeout * 1000);
    if (outcome === 'unregistered') {
      process.stdout.write('This printer is not registered; nothing to do.\n');
      return 0;
    }
    if (outcome === 'deleted') {
      process.stdout.write('Polar Cloud had already deleted this printer; the local serial number was removed.\n');
      return 0;
    }
    if (outcome === 'timeout') {
      process.stderr.write('Could not connect to Polar Cloud to unregister; try again later.\n');
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
  const identity = new IdentityStore(config.data_dir);
  await identity.load();
  const net = chooseNetInterface(systemNetSource, config.polar.interface);
  const info = {
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
