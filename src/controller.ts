// The composition root: builds every part from the config and wires them
// together. Constructors elsewhere only store dependencies; start()/stop()
// here bring the whole bridge up and down in order.
import type { Config } from './config.js';
import type { Logger } from './util/log.js';
import { monoNow, type Clock } from './util/clock.js';
import { Backoff, FailureLog } from './util/backoff.js';
import { IdentityStore } from './identity/identity-store.js';
import { chooseNetInterface, systemNetSource, type NetInfo, type NetSource } from './identity/mac.js';
import { printerNetInfo } from './identity/instance-mac.js';
import { DataDirLock } from './identity/data-dir-lock.js';
import { PolarClient, type HelloInfo } from './polar/polar-client.js';
import { registerPrinter, type RegistrationResult } from './polar/registration.js';
import type { TransportFactory } from './polar/transport.js';
import { buildHelloInfo } from './features/hello-info.js';
import { MoonrakerApi, MoonrakerClient, PrinterModel } from '../moonraker-bridge/index.js';
import { VERSION } from './version.js';
import { JobService } from './jobs/job-service.js';
import { StatusReporter } from './status/status-reporter.js';
import type { Feature, FeatureContext } from './features/feature-context.js';
import { JobReportSender } from './features/job-reports.js';
import { PrintControl } from './features/print-control.js';
import { CloudPrint } from './features/cloud-print.js';
import { RemoteGcode } from './features/remote-gcode.js';
import { CustomCommands } from './features/custom-commands.js';
import { PowerDevices } from './features/power-devices.js';
import { CloudSession, NEXT_PRINT_METHOD } from './features/cloud-session.js';
import { SelfUpdate } from './features/self-update.js';
import { Camera } from './features/camera.js';
import { Timelapse } from './features/timelapse.js';
import { ConsoleCommands, REMOTE_METHODS } from './features/console-commands.js';
import { BuildPlate, PLATE_CLEAR_METHOD } from './features/build-plate.js';
import { QueuedCloudJobs } from './features/queued-cloud-jobs.js';
import { ServedFolderGuard } from './features/served-folders.js';
import { Diagnostics, DIAG_METHOD } from './features/diagnostics.js';

export interface ControllerDeps {
  config: Config;
  log: Logger;
  clock: Clock;
  transportFactory: TransportFactory;
  netSource?: NetSource;
  /** Test hooks: faster reconnects. */
  polarBackoff?: Backoff;
  moonrakerBackoff?: Backoff;
  failedHelloDelayMs?: number;
  identityPollMs?: number;
  /** false: cloud side only (the register/unregister commands). Default true. */
  withMoonraker?: boolean;
  /** Status coalescing (ms between messages); tests and benches shorten it. */
  statusSpacingMs?: number;
  /** Test hook: the clock of power.off_after_idle's timers (default: clock). */
  powerClock?: Clock;
}

export class Controller {
  readonly identity: IdentityStore;
  /** One process per data folder (one printer); held from start()/register() to stop(). */
  readonly lock: DataDirLock;
  readonly polar: PolarClient;
  readonly printer: PrinterModel;
  readonly moonraker: MoonrakerClient;
  readonly moonrakerApi: MoonrakerApi;
  readonly jobs: JobService;
  readonly status: StatusReporter;
  readonly session: CloudSession;
  readonly customCommands: CustomCommands;
  readonly power: PowerDevices;
  readonly cloudPrint: CloudPrint;
  readonly plate: BuildPlate;
  readonly camera: Camera;
  readonly console: ConsoleCommands;
  readonly servedFolders: ServedFolderGuard;
  private readonly selfUpdate: SelfUpdate;
  private readonly features: Feature[];
  private net: NetInfo | undefined;
  private readonly offs: (() => void)[] = [];

  constructor(private readonly d: ControllerDeps) {
    this.identity = new IdentityStore(d.config.data_dir);
    this.lock = new DataDirLock(d.config.data_dir);
    this.polar = new PolarClient({
      serverUrl: d.config.polar.server_url,
      identity: this.identity,
      transportFactory: d.transportFactory,
      clock: d.clock,
      log: d.log.child('polar'),
      helloInfo: () => this.helloInfo(),
      backoff: d.polarBackoff ?? new Backoff({ initialMs: 1000, maxMs: 120_000 }),
      wire: d.config.log.wire,
      handshakeTimeoutMs: d.config.polar.reply_timeout * 1000,
      ...(d.failedHelloDelayMs !== undefined ? { failedHelloDelayMs: d.failedHelloDelayMs } : {}),
      ...(d.identityPollMs !== undefined ? { identityPollMs: d.identityPollMs } : {}),
    });
    const mrLog = d.log.child('moonraker');
    this.printer = new PrinterModel({ log: mrLog });
    this.moonraker = new MoonrakerClient({
      url: d.config.moonraker.url,
      ...(d.config.moonraker.api_key ? { apiKey: d.config.moonraker.api_key } : {}),
      version: VERSION,
      model: this.printer,
      log: mrLog,
      clock: d.clock,
      // Moonraker is local: retry soon, but never faster than once a minute when it stays away.
      backoff: d.moonrakerBackoff ?? new Backoff({ initialMs: 1000, maxMs: 60_000 }),
      failureLog: new FailureLog(mrLog, `cannot reach Moonraker at ${d.config.moonraker.url}`, 5 * 60_000, () => monoNow(d.clock)),
      wire: d.config.log.wire,
      remoteMethods: [NEXT_PRINT_METHOD, PLATE_CLEAR_METHOD, ...REMOTE_METHODS, DIAG_METHOD],
    });
    this.moonrakerApi = new MoonrakerApi({ rpc: this.moonraker, log: mrLog });
    this.jobs = new JobService({
      dataDir: d.config.data_dir,
      printer: this.printer,
      api: this.moonrakerApi,
      moonraker: this.moonraker,
      clock: d.clock,
      log: d.log.child('jobs'),
    });
    this.status = new StatusReporter({
      polar: this.polar,
      printer: this.printer,
      jobs: this.jobs,
      clock: d.clock,
      log: d.log.child('status'),
      idleIntervalMs: d.config.status.idle_interval * 1000,
      activeIntervalMs: d.config.status.active_interval * 1000,
      chamber: d.config.status.chamber,
      ...(d.statusSpacingMs !== undefined ? { minSpacingMs: d.statusSpacingMs } : {}),
    });
    const ctx: FeatureContext = {
      config: d.config,
      polar: this.polar,
      printer: this.printer,
      moonraker: this.moonraker,
      api: this.moonrakerApi,
      jobs: this.jobs,
      status: this.status,
      clock: d.clock,
      log: d.log.child('cloud'),
    };
    this.session = new CloudSession(ctx);
    this.power = new PowerDevices(ctx, d.powerClock ?? d.clock);
    this.customCommands = new CustomCommands(ctx, [this.power]);
    this.selfUpdate = new SelfUpdate(ctx, this.session);
    this.plate = new BuildPlate(ctx);
    const queuedJobs = new QueuedCloudJobs(ctx, this.plate);
    this.cloudPrint = new CloudPrint(ctx, this.plate, queuedJobs);
    this.camera = new Camera({ ...ctx, log: d.log.child('camera') }, () => this.net?.ip);
    this.console = new ConsoleCommands(ctx, {
      register: (email, pin) => this.register(email, pin),
      unregister: () => this.polar.unregister(d.config.polar.reply_timeout * 1000),
    });
    this.servedFolders = new ServedFolderGuard(ctx);
    this.features = [
      this.servedFolders,
      new JobReportSender(this.polar, this.jobs, d.log.child('jobs')),
      this.plate,
      queuedJobs,
      new PrintControl(ctx, this.cloudPrint),
      this.cloudPrint,
      new RemoteGcode(ctx),
      this.power,
      this.customCommands,
      this.session,
      this.selfUpdate,
      this.camera,
      this.console,
      new Timelapse({ ...ctx, log: d.log.child('timelapse') }, this.camera),
      new Diagnostics({ ...ctx, log: d.log.child('diag') }, () => this.console.status()),
    ];
  }

  async start(): Promise<void> {
    await this.identity.load();
    await this.lock.acquire();
    this.net = await printerNetInfo(this.identity, chooseNetInterface(this.d.netSource ?? systemNetSource, this.d.config.polar.interface));
    if (!this.net) this.d.log.warn('no network interface with a MAC address found; set polar.interface in the config');
    const serial = this.identity.serialFor(this.d.config.polar.server_url);
    if (!serial) {
      this.d.log.info('not registered with Polar Cloud yet: run `polarcloud register --email ... --pin ...` (or POLAR_REGISTER in the console)');
    }
    if (this.d.withMoonraker !== false) {
      const log = this.d.log.child('moonraker');
      this.offs.push(
        this.printer.on('connectionChanged', ({ from, to, message }) => {
          if (from !== to) log.info(`printer link: ${to}${message ? ` (${message})` : ''}`);
        }),
      );
      this.moonrakerApi.start();
      await this.jobs.start();
      await this.selfUpdate.load();
      this.status.start();
      for (const f of this.features) f.start();
      this.moonraker.start();
      // The camera choice goes into hello; and never bring the private key online from a folder Moonraker serves.
      await Promise.all([this.camera.firstChoice(3000), this.servedFolders.firstCheck(3000)]);
    }
    if (!this.servedFolders.problem) this.polar.start();
  }

  async stop(): Promise<void> {
    this.polar.stop();
    for (const off of this.offs.splice(0)) off();
    if (this.d.withMoonraker !== false) {
      for (const f of [...this.features].reverse()) f.stop();
      this.status.stop();
      await this.jobs.stop();
      this.moonrakerApi.stop();
      await this.moonraker.stop();
    }
    await this.lock.release();
  }

  /** Registers this printer (used by the CLI and, later, by macros and front-ends). */
  async register(email: string, pin: string): Promise<RegistrationResult> {
    await this.identity.load();
    await this.lock.acquire();
    const net = this.net ?? (await printerNetInfo(this.identity, chooseNetInterface(this.d.netSource ?? systemNetSource, this.d.config.polar.interface)));
    if (!net) throw new Error('no network interface with a MAC address found; set polar.interface in the config');
    const result = await registerPrinter(
      {
        serverUrl: this.d.config.polar.server_url,
        identity: this.identity,
        transportFactory: this.d.transportFactory,
        clock: this.d.clock,
        log: this.d.log.child('register'),
        mfg: this.d.config.polar.mfg,
        mfgSn: this.d.config.polar.mfg_sn,
        mac: net.mac,
        replyTimeoutMs: this.d.config.polar.reply_timeout * 1000,
        wire: this.d.config.log.wire,
      },
      email,
      pin,
    );
    await this.polar.reloadIdentity();
    return result;
  }

  private helloInfo(): HelloInfo {
    const info = buildHelloInfo(this.d.config, this.net);
    return this.d.withMoonraker === false ? info : { ...info, ...this.camera.helloFields() };
  }
}
