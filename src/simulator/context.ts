// The simulator's composition root hands every component this context; they
// look collaborators up at call time, so construction order does not matter.
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/log.js';
import type { OneshotTokens } from './auth.js';
import type { PowerDevices } from './power-devices.js';
import type { Connections } from './connections.js';
import type { Extensions } from './extensions.js';
import type { FileManager } from './file-manager.js';
import type { GcodeInterpreter } from './gcode-interpreter.js';
import type { GcodeRunner } from './gcode-runner.js';
import type { History } from './history.js';
import type { JobQueue } from './job-queue.js';
import type { JobState } from './job-state.js';
import type { RpcRouter } from './jsonrpc-router.js';
import type { KlipperPrinter } from './klipper-printer.js';
import type { KlippyConnection } from './klippy-connection.js';
import type { MoonrakerServer } from './moonraker-server.js';
import type { VirtualSdcard } from './print-executor.js';
import type { SimClock } from './sim-clock.js';
import type { UpdateManager } from './update-manager.js';
import type { Webcams } from './webcams.js';

export interface SimSettings {
  host: string;
  /** API key required from untrusted clients; null = every client is trusted. */
  apiKey: string | null;
  /** How long Klippy stays in "startup" after a (re)start, real ms. */
  klippyStartupMs: number;
  /** Moonraker's [file_manager] queue_gcode_uploads. */
  queueGcodeUploads: boolean;
  moonrakerVersion: string;
  klipperVersion: string;
  /** Extra real delay before every reply (control.setReplyDelay). */
  replyDelayMs: number;
  /** Extra real ms Moonraker's job queue spends "loading" a job after job_queue.start (control.setJobQueueLoadDelay). */
  jobQueueLoadDelayMs: number;
  /** HTTP status to refuse uploads with (control.refuseUploads), or null. */
  refuseUploads: number | null;
  /** Free bytes reported in disk_usage instead of the real disk's (control.setDiskFree), or null. */
  diskFree: number | null;
}

export interface SimContext {
  log: Logger;
  clock: Clock;
  sim: SimClock;
  settings: SimSettings;
  /** http://127.0.0.1:PORT */
  baseUrl(): string;
  gcodesDir: string;
  /** Private data dir (config/logs roots); removed on stop. */
  dataDir: string;
  router: RpcRouter;
  server: MoonrakerServer;
  printer: KlipperPrinter;
  interp: GcodeInterpreter;
  runner: GcodeRunner;
  sd: VirtualSdcard;
  klippy: KlippyConnection;
  connections: Connections;
  extensions: Extensions;
  oneshot: OneshotTokens;
  files: FileManager;
  history: History;
  queue: JobQueue;
  jobState: JobState;
  webcams: Webcams;
  updates: UpdateManager;
  power: PowerDevices;
  /** Every JSON-RPC/HTTP API method received, in order. */
  rpcLog: Array<{ time: number; method: string; transport: 'websocket' | 'http' }>;
}

/** Sleeps real time on the context clock. */
export function delay(ctx: SimContext, ms: number): Promise<void> {
  return new Promise((resolve) => ctx.clock.setTimeout(resolve, ms));
}
