// Composition root: builds the simulated Klipper + Moonraker, runs the physics
// tick, and implements the lifecycle (start, stop, Moonraker restart, reset).
import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/log.js';
import { OneshotTokens } from './auth.js';
import { Connections } from './connections.js';
import { delay, type SimContext, type SimSettings } from './context.js';
import { createControl, handleControlHttp, type SimulatorControl } from './control-api.js';
import { Extensions } from './extensions.js';
import { registerFileApi } from './file-api.js';
import { FileManager } from './file-manager.js';
import { GcodeInterpreter } from './gcode-interpreter.js';
import { GcodeRunner } from './gcode-runner.js';
import { History } from './history.js';
import { HttpRoutes } from './http-routes.js';
import { JobQueue } from './job-queue.js';
import { JobState } from './job-state.js';
import { RpcRouter } from './jsonrpc-router.js';
import { KlipperPrinter } from './klipper-printer.js';
import { KlippyConnection } from './klippy-connection.js';
import { MoonrakerServer } from './moonraker-server.js';
import { VirtualSdcard } from './print-executor.js';
import { registerPrinterApi } from './printer-api.js';
import { PowerDevices } from './power-devices.js';
import { ServerApi } from './server-api.js';
import { SimClock } from './sim-clock.js';
import { TrackedClock } from './tracked-clock.js';
import { UpdateManager } from './update-manager.js';
import { Webcams } from './webcams.js';

const TICK_MS = 50;

export interface SimulatorConfig {
  host: string;
  port: number;
  apiKey: string | null;
  speedFactor: number;
  extruders: 1 | 2;
  chamber: boolean;
  gcodesDir: string | null;
  log: Logger;
  clock: Clock;
  klippyStartupMs: number;
  queueGcodeUploads: boolean;
  temperatureNoise: boolean;
  idleTimeoutSec: number;
}

export class Simulator {
  private ctx!: SimContext;
  private serverApi!: ServerApi;
  private tickTimer: ReturnType<Clock['setTimeout']> | undefined;
  private clock!: TrackedClock;
  private stopped = false;
  port = 0;
  control!: SimulatorControl;

  constructor(private readonly cfg: SimulatorConfig) {}

  get url(): string {
    return `http://${this.cfg.host}:${this.port}`;
  }

  async start(): Promise<void> {
    const cfg = this.cfg;
    const dataDir = await fs.mkdtemp(join(tmpdir(), 'moonraker-sim-'));
    const gcodesDir = cfg.gcodesDir ?? join(dataDir, 'gcodes');
    await fs.mkdir(gcodesDir, { recursive: true });
    this.clock = new TrackedClock(cfg.clock);
    const settings: SimSettings = {
      host: cfg.host,
      apiKey: cfg.apiKey,
      klippyStartupMs: cfg.klippyStartupMs,
      queueGcodeUploads: cfg.queueGcodeUploads,
      moonrakerVersion: 'v0.9.3-simulated',
      klipperVersion: 'v0.12.0-simulated',
      replyDelayMs: 0,
      jobQueueLoadDelayMs: 0,
      refuseUploads: null,
      diskFree: null,
    };
    const sim = new SimClock(this.clock, cfg.speedFactor);
    const ctx = { log: cfg.log.child('simulator'), clock: this.clock, sim, settings, gcodesDir, dataDir, rpcLog: [] } as unknown as SimContext;
    ctx.baseUrl = () => this.url;
    ctx.router = new RpcRouter();
    ctx.printer = new KlipperPrinter(sim, { extruders: cfg.extruders, chamber: cfg.chamber, gcodesDir });
    for (const h of ctx.printer.heaters) h.noise = cfg.temperatureNoise;
    ctx.printer.idleTimeout = cfg.idleTimeoutSec;
    ctx.klippy = new KlippyConnection(ctx);
    ctx.interp = new GcodeInterpreter(ctx.printer, {
      sd: {
        get isActive() { return ctx.sd.isActive; },
        get hasFile() { return ctx.sd.hasFile; },
        get cmdFromSd() { return ctx.sd.cmdFromSd; },
        printFile: (f) => ctx.sd.printFile(f),
        resetFile: () => ctx.sd.resetFile(),
        pause: () => ctx.sd.pause(),
        resume: () => ctx.sd.resume(),
        cancel: () => ctx.sd.cancel(),
        positionReport: () => ctx.sd.positionReport(),
      },
      restart: (kind) => void ctx.klippy.restartHost(kind),
      shutdown: (msg) => void ctx.klippy.shutdown(msg),
      softwareVersion: settings.klipperVersion,
    });
    ctx.runner = new GcodeRunner(ctx.interp, () => this.clock.now());
    ctx.sd = new VirtualSdcard(ctx.printer, () => ctx.interp, ctx.runner.mutex, gcodesDir);
    ctx.printer.gcodeBusy = () => ctx.runner.mutex.isLocked;
    ctx.printer.vsdStatus = () => ctx.sd.status();
    ctx.connections = new Connections(ctx);
    ctx.extensions = new Extensions(ctx);
    ctx.oneshot = new OneshotTokens(() => this.clock.now());
    ctx.files = new FileManager(ctx);
    ctx.history = new History(ctx);
    ctx.queue = new JobQueue(ctx);
    ctx.jobState = new JobState(ctx);
    ctx.webcams = new Webcams(ctx);
    ctx.updates = new UpdateManager(ctx);
    ctx.power = new PowerDevices(ctx);
    this.control = createControl(ctx, { restartMoonraker: (ms) => this.restartMoonraker(ms), reset: () => this.reset() });
    const routes = new HttpRoutes(ctx, (req, res, url, body) => handleControlHttp(this.control, req, res, url, body));
    ctx.server = new MoonrakerServer(cfg.host, ctx.log, (req, res) => routes.handle(req, res), ctx.connections);
    this.serverApi = new ServerApi(ctx);
    this.serverApi.restartMoonraker = () => void this.restartMoonraker(1000);
    this.ctx = ctx;

    this.serverApi.register();
    ctx.extensions.register();
    registerPrinterApi(ctx);
    registerFileApi(ctx);
    ctx.history.register();
    ctx.queue.register();
    ctx.webcams.register();
    ctx.updates.register();
    ctx.power.register();
    ctx.printer.on('runout', ({ script }) => {
      void ctx.runner.runInternal(script, () => ctx.klippy.generation).catch(() => undefined);
    });
    ctx.printer.on('idleTimeout', () => {
      void ctx.runner.runInternal('TURN_OFF_HEATERS\nM84', () => ctx.klippy.generation).catch(() => undefined);
    });
    ctx.jobState.start();
    this.serverApi.start();

    await ctx.files.start();
    this.port = await ctx.server.start(cfg.port);
    ctx.connections.start();
    this.tick();
    ctx.klippy.linked = true;
    ctx.log.info(`Moonraker simulator listening on ${this.url} (gcodes: ${gcodesDir}, speed factor ${cfg.speedFactor})`);
    await ctx.klippy.startHost();
    ctx.jobState.resync();
  }

  private tick(): void {
    if (this.stopped) return;
    try {
      this.ctx.printer.tick();
    } catch (err) {
      this.ctx.log.warn(`simulator tick: ${String(err)}`);
    }
    this.tickTimer = this.clock.setTimeout(() => this.tick(), TICK_MS);
  }

  async restartMoonraker(downMs: number): Promise<void> {
    const ctx = this.ctx;
    ctx.log.info(`Moonraker restarting (down for ${downMs} ms)`);
    if (ctx.klippy.tracking) ctx.history.finishCurrent('server_exit');
    // Let the last notifications reach the sockets before they close.
    await delay(ctx, 20);
    ctx.klippy.unlinkMoonraker();
    ctx.webcams.closeStreams();
    ctx.server.closeWebsockets(1001, 'Server Shutdown');
    // Give the close frames a moment to go out before the sockets are destroyed.
    await delay(ctx, 50);
    await ctx.server.stop();
    ctx.connections.stop();
    ctx.queue.clear();
    ctx.oneshot.clear();
    await delay(ctx, Math.max(0, downMs));
    if (this.stopped) return;
    await ctx.server.start(this.port);
    ctx.connections.start();
    await ctx.klippy.linkMoonraker();
  }

  async reset(): Promise<void> {
    const ctx = this.ctx;
    ctx.settings.replyDelayMs = 0;
    ctx.connections.holdReplies(null);
    ctx.connections.holdNotifications(false);
    ctx.settings.jobQueueLoadDelayMs = 0;
    ctx.settings.refuseUploads = null;
    ctx.settings.diskFree = null;
    ctx.settings.apiKey = this.cfg.apiKey;
    ctx.sim.setSpeedFactor(this.cfg.speedFactor);
    await ctx.klippy.disconnect();
    ctx.history.clear();
    ctx.queue.clear();
    ctx.webcams.set([{}]);
    ctx.printer.filamentSensors.reset();
    ctx.power.configure([]);
    ctx.runner.scriptLog.length = 0;
    ctx.rpcLog.length = 0;
    for (const h of ctx.printer.heaters) h.temperature = 25;
    await ctx.klippy.startHost();
    ctx.jobState.resync();
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    const ctx = this.ctx;
    this.clock.clearTimeout(this.tickTimer);
    ctx.klippy.unlinkMoonraker();
    ctx.sim.close();
    await ctx.sd.close().catch(() => undefined);
    ctx.webcams.closeStreams();
    ctx.server.closeWebsockets(1001, 'Server Shutdown');
    await new Promise((resolve) => setTimeout(resolve, 20));
    ctx.connections.stop();
    this.serverApi.stop();
    await ctx.server.stop();
    this.clock.clearAll();
    ctx.printer.removeAllListeners();
    await fs.rm(ctx.dataDir, { recursive: true, force: true });
  }
}
