// The bridge from Klipper's console and from front-ends: the POLAR_* macros
// call remote methods (action_call_remote_method) and get their answer as a
// RESPOND line; front-ends call the same actions through Moonraker's
// server.extensions.request (agent `moonraker-polarcloud`) and always get a
// result or an error. Also registers at start from polar.email/polar.pin in the
// config, removing the PIN from the file after success.
import type { RegistrationResult } from '../polar/registration.js';
import { removePinFromConfig } from '../config-pin.js';
import { errText } from '../util/log.js';
import { VERSION } from '../version.js';
import { respondText, type Feature, type FeatureContext } from './feature-context.js';

export const REMOTE_METHODS = ['polarcloud_register', 'polarcloud_status', 'polarcloud_unregister'] as const;

export interface IdentityActions {
  register(email: string, pin: string): Promise<RegistrationResult>;
  unregister(): Promise<void>;
}

export interface BridgeStatus {
  connection: string;
  detail: string;
  registered: boolean;
  serialNumber: string | null;
  serverUrl: string;
  printerLink: string;
  currentJob: { jobId: string; cloud: boolean; filename: string } | null;
  pendingReports: number;
  lastError: string | null;
  version: string;
}

const EMAIL = /^[^\s@"]{1,64}@[^\s@"]{1,190}$/;
const PIN = /^[A-Za-z0-9]{1,32}$/;

export class ConsoleCommands implements Feature {
  private offs: (() => void)[] = [];
  private detail = '';
  private lastError: string | null = null;

  constructor(
    private readonly ctx: FeatureContext,
    private readonly identity: IdentityActions,
  ) {}

  start(): void {
    const { polar, moonraker } = this.ctx;
    this.offs.push(
      polar.events.on('state', ({ state, detail }) => {
        this.detail = detail;
        if (state === 'backoff' || state === 'deleted') this.lastError = detail;
        if (state === 'online') this.lastError = null;
      }),
      moonraker.on('remoteMethod', ({ method, params }) => void this.onRemoteMethod(method, params)),
      moonraker.registerExtensionMethod('status', async () => this.status()),
      // Any Moonraker client on the LAN can call these: a registered printer is only
      // re-registered with force, and unregistering needs an explicit confirmation.
      moonraker.registerExtensionMethod('register', async (params) => {
        const { email, pin } = credentials(params);
        this.refuseIfRegistered(params, 'pass "force": true');
        const r = await this.identity.register(email, pin);
        return { serialNumber: r.serialNumber };
      }),
      moonraker.registerExtensionMethod('unregister', async (params) => {
        requireConfirmation(params, 'pass "confirm": "yes"');
        await this.identity.unregister();
        return { unregistered: true };
      }),
    );
    void this.registerFromConfig();
  }

  stop(): void {
    for (const off of this.offs.splice(0)) off();
  }

  status(): BridgeStatus {
    const { polar, printer, jobs, config } = this.ctx;
    const job = jobs.job;
    return {
      connection: polar.state,
      detail: this.detail,
      registered: polar.serialNumber !== undefined,
      serialNumber: polar.serialNumber ?? null,
      serverUrl: config.polar.server_url,
      printerLink: printer.connectionState,
      currentJob: job ? { jobId: job.jobId, cloud: job.cloud, filename: job.filename } : null,
      pendingReports: jobs.store.outbox.length,
      lastError: this.lastError,
      version: VERSION,
    };
  }

  private async onRemoteMethod(method: string, params: Record<string, unknown>): Promise<void> {
    try {
      switch (method) {
        case 'polarcloud_status': {
          const s = this.status();
          const job = s.currentJob ? `, ${s.currentJob.cloud ? `cloud job ${s.currentJob.jobId}` : 'local job'} ${s.currentJob.filename}` : '';
          const who = s.serialNumber ? `printer ${s.serialNumber}` : 'not registered';
          await this.respond(`${who}, Polar Cloud ${s.connection}${s.lastError ? ` (${s.lastError})` : ''}${job}, version ${s.version}`);
          return;
        }
        case 'polarcloud_register': {
          const { email, pin } = credentials(params);
          this.refuseIfRegistered(params, 'add FORCE=yes');
          await this.respond(`registering with Polar Cloud as ${email}…`);
          const r = await this.identity.register(email, pin);
          await this.respond(`registered: serial number ${r.serialNumber}`);
          return;
        }
        case 'polarcloud_unregister':
          requireConfirmation(params, 'run POLAR_UNREGISTER CONFIRM=yes');
          await this.identity.unregister();
          await this.respond('unregistered from Polar Cloud');
          return;
      }
    } catch (err) {
      this.ctx.log.warn(`${method}: ${errText(err)}`);
      await this.respond(errText(err), true);
    }
  }

  /** Registering again replaces this printer's identity (a new serial number in Polar): only on purpose. */
  private refuseIfRegistered(params: unknown, how: string): void {
    const serial = this.ctx.polar.serialNumber;
    if (serial === undefined || yes(arg(params, 'force'))) return;
    throw new Error(`already registered as printer ${serial}; to register again (a new serial number), ${how}`);
  }

  private async respond(msg: string, error = false): Promise<void> {
    if (this.ctx.printer.connectionState !== 'klippy_ready') return;
    await this.ctx.api
      .gcodeScript(`RESPOND TYPE=${error ? 'error' : 'echo'} MSG="Polar Cloud: ${respondText(msg)}"`, { timeoutMs: 10_000 })
      .catch((err) => this.ctx.log.debug(`console answer not shown: ${errText(err)}`));
  }

  /** polar.email + polar.pin in the config and not registered yet: register, then take the PIN out of the file. */
  private async registerFromConfig(): Promise<void> {
    const { config, polar, log } = this.ctx;
    const { email, pin } = config.polar;
    if (!email || !pin || polar.serialNumber !== undefined || !config.configFile) return;
    try {
      log.info(`registering with Polar Cloud as ${email} (from the config file)`);
      const r = await this.identity.register(email, pin);
      log.info(`registered: serial number ${r.serialNumber}`);
      const removal = await removePinFromConfig(config.configFile);
      if (removal.removed) log.info(`removed the polar.pin line from ${removal.file}`);
      else log.warn(`polar.pin not removed from ${removal.file}: ${removal.reason}`);
    } catch (err) {
      log.error(`registration from the config file failed: ${errText(err)}`);
    }
  }
}

function arg(params: unknown, name: string): unknown {
  const p = (typeof params === 'object' && params !== null ? params : {}) as Record<string, unknown>;
  return p[name] ?? p[name.toUpperCase()];
}

/** true, 1, "yes", "true", "1" (any case): what a macro parameter or a JSON argument may carry. */
function yes(v: unknown): boolean {
  if (v === true || v === 1) return true;
  return typeof v === 'string' && ['yes', 'true', '1'].includes(v.trim().toLowerCase());
}

function requireConfirmation(params: unknown, how: string): void {
  if (!yes(arg(params, 'confirm'))) throw new Error(`unregistering removes this printer from Polar Cloud; to do it, ${how}`);
}

function credentials(params: unknown): { email: string; pin: string } {
  const p = (typeof params === 'object' && params !== null ? params : {}) as Record<string, unknown>;
  const email = String(p.email ?? p.EMAIL ?? '').trim();
  const pin = String(p.pin ?? p.PIN ?? '').trim();
  if (!EMAIL.test(email)) throw new Error('EMAIL must be the e-mail address of your Polar Cloud account');
  if (!PIN.test(pin)) throw new Error('PIN must be the PIN shown in your Polar Cloud account settings');
  return { email, pin };
}
