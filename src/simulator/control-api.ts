// Fault injection and inspection for tests, programmatic and over HTTP:
// POST /_sim/<name> with a JSON body (names in snake_case or camelCase),
// GET /_sim/printer_objects | gcode_log | rpc_log | webcam_snapshots | state. Replies {"result": ...}.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { SimContext } from './context.js';
import { MoonrakerError, errorMessage } from './errors.js';
import { queryObjects } from './connections.js';
import { Params, type Args } from './params.js';
import { objectNames } from './printer-status.js';
import type { WebcamEntry } from './webcams.js';
import type { PowerDeviceSpec } from './power-devices.js';

/**
 * Test control of a running simulator. Every fault is observable through the
 * Moonraker API exactly as the real failure would be.
 */
export interface SimulatorControl {
  /** Terminates every websocket abruptly (no close frame), like a network drop. */
  dropWebsockets(): void;
  /** Moonraker restarts: sockets close (1001), connections are refused for `downMs`, then klippy goes startup → ready. Resolves when ready. The print (Klipper) keeps running. */
  restartMoonraker(downMs: number): Promise<void>;
  /** Klippy enters "shutdown" with `message` (a print in progress ends in error; history status klippy_shutdown). */
  klippyShutdown(message: string): Promise<void>;
  /** Klippy restarts into the "error" state (config error) with `message`. */
  klippyError(message: string): Promise<void>;
  /** The Klippy process goes away (klippy_state "disconnected") until klippyReady(). */
  klippyDisconnect(): Promise<void>;
  /** (Re)starts Klippy into "ready" if it is not ready (startup → ready); resolves when ready. */
  klippyReady(): Promise<void>;
  /** Extra delay before every reply (websocket responses and HTTP), ms. */
  setReplyDelay(ms: number): void;
  /** Websocket replies to `method` ('*': every method) wait from now until holdReplies(null), then go out in order (notifications and other replies do not wait). */
  holdReplies(method: string | null): void;
  /** Notifications and status batches wait from now until holdNotifications(false), then go out in order (replies do not wait). */
  holdNotifications(on: boolean): void;
  /** Moonraker's queue stays "loading" this long after job_queue.start before it starts the job (a slow load). */
  setJobQueueLoadDelay(ms: number): void;
  /** Makes uploads fail with this HTTP status and Moonraker's error body; null accepts them again. */
  refuseUploads(status: number | null): void;
  /** Reports this many free bytes in get_directory's disk_usage (a nearly full SD card); null: the real disk's. */
  setDiskFree(bytes: number | null): void;
  /** Requires this API key from now on (null: trusted mode). Open sockets keep their authentication state. */
  requireApiKey(key: string | null): void;
  /** Starts a print as another client (Mainsail) would: printer.print.start. */
  startLocalPrint(filename: string): Promise<void>;
  /** Writes a file into the gcodes root (metadata parsed, notify_filelist_changed sent). */
  addFile(relPath: string, content: string | Buffer): Promise<void>;
  /** Simulated-time multiplier for heating, moves and print timing. */
  setSpeedFactor(n: number): void;
  /** Replaces the webcam list (missing fields get defaults); sends notify_webcams_changed. */
  setWebcams(list: Array<Partial<WebcamEntry>>): void;
  /** Snapshots served so far per webcam path ("/webcam/", "/webcam2/", …). */
  webcamSnapshots(): Record<string, number>;
  /** Configures Moonraker's [power] devices (as if moonraker.conf changed; restart Moonraker for clients to re-read the list). Empty: no power component. */
  setPowerDevices(list: PowerDeviceSpec[]): void;
  /** Each power device's current status. */
  powerDevices(): Array<{ device: string; status: string; locked_while_printing: boolean; type: string }>;
  /** Status of every printer object right now. */
  printerObjects(): Record<string, Record<string, unknown>>;
  /** Every G-code script received through the API, in order. */
  gcodeLog(): string[];
  /** Every API method received (websocket and HTTP), with receive time (ms since epoch). */
  rpcLog(): Array<{ time: number; method: string; transport: 'websocket' | 'http' }>;
  /** Back to defaults: Klippy ready and idle, no faults, empty history/queue/logs; files stay. */
  reset(): Promise<void>;
  /** Klipper calls an agent's remote method (action_call_remote_method); false if none registered it. */
  callRemoteMethod(name: string, params?: Record<string, unknown>): boolean;
  /** Makes an updater (e.g. 'moonraker-polarcloud') report a newer remote version. */
  setUpdateAvailable(name: string, remoteVersion: string): void;
  /** Sets a heater's current temperature (e.g. skip a warm-up); `name` is the object name. */
  setHeaterTemperature(name: string, celsius: number): void;
  /** A filament sensor (short or object name) sees filament or not; a runout while printing pauses (pause_on_runout). */
  setFilamentDetected(sensor: string, detected: boolean): void;
  /** Moonraker's klippy_state right now ('disconnected' also while Moonraker itself is down): the truth tests compare 12/13 against. */
  klippyState(): string;
  /** The files in Moonraker's job queue right now (the status-stream checker samples it). */
  queuedFiles(): string[];
  /** Resolves when print_stats.state equals `state`. */
  waitForPrintState(state: string, timeoutMs?: number): Promise<void>;
}

export interface ControlHost {
  restartMoonraker(downMs: number): Promise<void>;
  reset(): Promise<void>;
}

export function createControl(ctx: SimContext, host: ControlHost): SimulatorControl {
  return {
    dropWebsockets: () => ctx.server.dropWebsockets(),
    restartMoonraker: (downMs) => host.restartMoonraker(downMs),
    klippyShutdown: (message) => ctx.klippy.shutdown(message),
    klippyError: async (message) => {
      await ctx.klippy.disconnect();
      await ctx.klippy.startHost(message);
    },
    klippyDisconnect: () => ctx.klippy.disconnect(),
    klippyReady: async () => {
      if (ctx.klippy.hostRunning && ctx.printer.state === 'ready') return;
      ctx.klippy.mcuShutdown = false; // as a FIRMWARE_RESTART would
      await ctx.klippy.disconnect();
      await ctx.klippy.startHost();
    },
    setJobQueueLoadDelay: (ms) => {
      ctx.settings.jobQueueLoadDelayMs = Math.max(0, ms);
    },
    setReplyDelay: (ms) => {
      ctx.settings.replyDelayMs = Math.max(0, ms);
    },
    holdReplies: (method) => ctx.connections.holdReplies(method),
    holdNotifications: (on) => ctx.connections.holdNotifications(on),
    refuseUploads: (status) => {
      ctx.settings.refuseUploads = status;
    },
    setDiskFree: (bytes) => {
      ctx.settings.diskFree = bytes;
    },
    requireApiKey: (key) => {
      ctx.settings.apiKey = key;
    },
    startLocalPrint: async (filename) => {
      ctx.history.noteJobRequested('_TRUSTED_USER_');
      await ctx.router.call('printer.print.start', { filename }, { transport: 'http' });
    },
    addFile: async (relPath, content) => {
      await ctx.files.addFile(relPath, content);
    },
    setSpeedFactor: (n) => ctx.sim.setSpeedFactor(n),
    setWebcams: (list) => void ctx.webcams.set(list),
    webcamSnapshots: () => Object.fromEntries(ctx.webcams.snapshotCounts),
    setPowerDevices: (list) => ctx.power.configure(list),
    powerDevices: () => ctx.power.list(),
    printerObjects: () => queryObjects(ctx, Object.fromEntries(objectNames(ctx.printer).map((n) => [n, null]))),
    gcodeLog: () => ctx.runner.scriptLog.map((s) => s.script),
    rpcLog: () => ctx.rpcLog.map((e) => ({ ...e })),
    reset: () => host.reset(),
    callRemoteMethod: (name, params) => ctx.connections.callRemoteMethod(name, params),
    setUpdateAvailable: (name, remoteVersion) => ctx.updates.setUpdateAvailable(name, remoteVersion),
    klippyState: () => ctx.klippy.state,
    queuedFiles: () => ctx.queue.status().queued_jobs.map((j) => String(j.filename)),
    setHeaterTemperature: (name, celsius) => {
      const h = ctx.printer.heater(name);
      if (!h) throw new Error(`unknown heater ${name}`);
      h.temperature = celsius;
    },
    setFilamentDetected: (sensor, detected) => ctx.printer.setFilamentDetected(sensor, detected),
    waitForPrintState: (state, timeoutMs = 10_000) =>
      new Promise<void>((resolve, reject) => {
        if (ctx.printer.printStats.state === state) return resolve();
        const timer = ctx.clock.setTimeout(() => {
          off();
          reject(new Error(`timed out waiting for print_stats.state ${state} (now ${ctx.printer.printStats.state})`));
        }, timeoutMs);
        const off = ctx.printer.on('printState', ({ next }) => {
          if (next.state !== state) return;
          off();
          ctx.clock.clearTimeout(timer);
          resolve();
        });
      }),
  };
}

const normalize = (name: string): string => name.replace(/[_-]/g, '').toLowerCase();

/** Dispatches /_sim/<name>; the reply goes out before disruptive actions take effect. */
export async function handleControlHttp(control: SimulatorControl, req: IncomingMessage, res: ServerResponse, url: URL, body: () => Promise<Args>): Promise<void> {
  const send = (status: number, payload: unknown): void => {
    const text = JSON.stringify(payload);
    res.writeHead(status, { 'Content-Type': 'application/json; charset=UTF-8', 'Content-Length': Buffer.byteLength(text) });
    res.end(text);
  };
  const name = normalize(url.pathname.slice('/_sim/'.length));
  try {
    const p = new Params(req.method === 'GET' ? Object.fromEntries(url.searchParams) : await body());
    const later = (fn: () => Promise<unknown> | void): void => {
      send(200, { result: 'ok' });
      setTimeout(() => void Promise.resolve().then(fn).catch(() => undefined), 10);
    };
    switch (name) {
      case 'printerobjects': return send(200, { result: control.printerObjects() });
      case 'gcodelog': return send(200, { result: control.gcodeLog() });
      case 'rpclog': return send(200, { result: control.rpcLog() });
      case 'webcamsnapshots': return send(200, { result: control.webcamSnapshots() });
      case 'powerdevices': return send(200, { result: control.powerDevices() });
      case 'dropwebsockets': return later(() => control.dropWebsockets());
      case 'restartmoonraker': return later(() => control.restartMoonraker(p.int('down_ms', p.int('downMs', 1000))));
      case 'klippyshutdown': await control.klippyShutdown(p.str('message', 'Simulated shutdown')); break;
      case 'klippyerror': await control.klippyError(p.str('message', 'Simulated config error')); break;
      case 'klippydisconnect': await control.klippyDisconnect(); break;
      case 'klippyready': await control.klippyReady(); break;
      case 'setreplydelay': control.setReplyDelay(p.int('ms')); break;
      case 'setdiskfree': control.setDiskFree(p.has('bytes') && p.args['bytes'] !== null ? p.int('bytes') : null); break;
      case 'refuseuploads': control.refuseUploads(p.has('status') && p.args['status'] !== null ? p.int('status') : null); break;
      case 'requireapikey': control.requireApiKey(p.has('key') && p.args['key'] !== null ? p.str('key') : null); break;
      case 'startlocalprint': await control.startLocalPrint(p.str('filename')); break;
      case 'addfile': {
        const content = p.has('content_base64') ? Buffer.from(p.str('content_base64'), 'base64') : p.str('content');
        await control.addFile(p.str('path'), content);
        break;
      }
      case 'setspeedfactor': control.setSpeedFactor(p.float('factor')); break;
      case 'setwebcams': {
        const list = p.args['webcams'];
        if (!Array.isArray(list)) throw new MoonrakerError('webcams must be a list');
        control.setWebcams(list as Array<Partial<WebcamEntry>>);
        break;
      }
      case 'setpowerdevices': {
        const list = p.args['devices'];
        if (!Array.isArray(list)) throw new MoonrakerError('devices must be a list');
        control.setPowerDevices(list as PowerDeviceSpec[]);
        break;
      }
      case 'reset': await control.reset(); break;
      case 'callremotemethod': {
        const params = p.has('params') ? p.object('params') : undefined;
        return send(200, { result: control.callRemoteMethod(p.str('method'), params) });
      }
      case 'setupdateavailable': control.setUpdateAvailable(p.str('name'), p.str('remote_version')); break;
      case 'setheatertemperature': control.setHeaterTemperature(p.str('name'), p.float('celsius')); break;
      case 'setfilamentdetected': control.setFilamentDetected(p.str('sensor'), p.bool('detected')); break;
      default: throw new MoonrakerError(`Unknown control '${name}'`, 404);
    }
    send(200, { result: 'ok' });
  } catch (err) {
    const status = err instanceof MoonrakerError ? err.status : 500;
    send(status, { error: { code: status, message: errorMessage(err) } });
  }
}
