// Moonraker's view of Klippy, plus the Klippy host process lifecycle.
// `hostRunning`: the Klipper process is alive. `linked`: Moonraker is up and
// connected to it. Requests that need Klippy fail the way Moonraker's
// klippy_connection does: 503 "Klippy Host not connected" when there is no
// link, 503 "Klippy Disconnected" for requests pending when the link drops.
import { MoonrakerError } from './errors.js';
import { delay, type SimContext } from './context.js';
import { MESSAGE_READY, MESSAGE_STARTUP } from './klipper-printer.js';
import { MCU_UNPOWERED } from './power-devices.js';

/** What Klipper says when RESTART meets an MCU that is still shut down. */
export const MESSAGE_MCU_SHUTDOWN = "Can not update MCU 'mcu' config as it is shutdown\nOnce the underlying issue is corrected, use the\n\"FIRMWARE_RESTART\" command to reset the firmware, reload the\nconfig, and restart the host software.\nPrinter is shutdown\n";

export type MoonrakerKlippyState = 'disconnected' | 'startup' | 'ready' | 'error' | 'shutdown';

export class KlippyConnection {
  hostRunning = false;
  linked = false;
  private initializing = false;
  /** The MCU went through an emergency stop: only FIRMWARE_RESTART resets it (RESTART comes back in error). */
  mcuShutdown = false;
  /** Increments whenever the Klippy process (re)starts or dies; stale work checks it. */
  generation = 0;
  private readonly pending = new Set<(err: Error) => void>();

  constructor(private readonly ctx: SimContext) {}

  get connected(): boolean {
    return this.hostRunning && this.linked;
  }

  /** server.info's klippy_state. */
  get state(): MoonrakerKlippyState {
    if (!this.connected) return 'disconnected';
    if (this.initializing) return 'startup';
    return this.ctx.printer.state;
  }

  /** True when Moonraker has a settled link (job tracking, notifications). */
  get tracking(): boolean {
    return this.connected && !this.initializing;
  }

  /** Runs something that needs Klippy, with Moonraker's failure modes. */
  request<T>(fn: () => Promise<T> | T): Promise<T> {
    if (!this.connected) return Promise.reject(new MoonrakerError('Klippy Host not connected', 503));
    return new Promise<T>((resolve, reject) => {
      const fail = (err: Error): void => reject(err);
      this.pending.add(fail);
      Promise.resolve()
        .then(fn)
        .then(resolve, reject)
        .finally(() => this.pending.delete(fail));
    });
  }

  private failPending(): void {
    for (const fail of [...this.pending]) fail(new MoonrakerError('Klippy Disconnected', 503));
    this.pending.clear();
  }

  /** Starts the Klippy host: "startup", then "ready" (or "error" with `errorMessage`). */
  async startHost(errorMessage?: string): Promise<void> {
    const p = this.ctx.printer;
    const gen = ++this.generation;
    p.resetHost();
    p.setState('startup', MESSAGE_STARTUP);
    this.hostRunning = true;
    await delay(this.ctx, this.ctx.settings.klippyStartupMs);
    if (gen !== this.generation || this.ctx.sim.isClosed) return;
    // The board has no power (a [power] device feeding it is off): Klipper cannot reach the MCU.
    if (errorMessage === undefined && !this.ctx.power.mcuPowered) errorMessage = MCU_UNPOWERED;
    if (errorMessage !== undefined) {
      this.ctx.log.info(`Klippy error: ${errorMessage}`);
      p.setState('error', errorMessage);
      return;
    }
    p.setState('ready', MESSAGE_READY);
    p.respondInfo('Klipper state: Ready');
    if (this.tracking) this.onReady();
  }

  private onReady(): void {
    this.ctx.connections.notify('notify_klippy_ready');
    this.ctx.queue.onKlippyReady();
  }

  /** Klipper's invoke_shutdown (emergency stop, M112, MCU errors). */
  async shutdown(message: string): Promise<void> {
    const p = this.ctx.printer;
    if (!this.hostRunning || p.state === 'shutdown') return;
    this.ctx.log.info(`Klippy shutdown: ${message}`);
    this.mcuShutdown = true;
    if (this.tracking) this.ctx.history.finishCurrent('klippy_shutdown');
    p.setState('shutdown', message);
    for (const h of p.heaters) h.target = 0;
    p.respondInfo('Klipper state: Shutdown');
    await this.ctx.sd.abort(message);
    if (this.tracking) {
      this.ctx.connections.notify('notify_klippy_shutdown');
      this.ctx.queue.onKlippyShutdown();
    }
  }

  /** The Klippy process goes away (crash, restart). */
  async disconnect(): Promise<void> {
    if (!this.hostRunning) return;
    const wasTracking = this.tracking;
    this.ctx.log.info('Klippy disconnected');
    this.ctx.printer.respondInfo('Klipper state: Disconnect');
    this.hostRunning = false;
    this.generation++;
    this.failPending();
    await this.ctx.sd.close();
    if (wasTracking) {
      this.ctx.history.finishCurrent('klippy_disconnect');
      this.ctx.jobState.onKlippyDisconnect();
      this.ctx.connections.onKlippyDisconnect();
      this.ctx.connections.notify('notify_klippy_disconnected');
    }
  }

  /**
   * RESTART / FIRMWARE_RESTART: Klippy exits and comes back. As on real Klipper, after a shutdown
   * (M112, MCU error) a plain RESTART cannot reconfigure the shut-down MCU and Klippy stays in error.
   */
  async restartHost(kind: 'RESTART' | 'FIRMWARE_RESTART' = 'FIRMWARE_RESTART'): Promise<void> {
    await this.disconnect();
    await delay(this.ctx, 50);
    if (kind === 'FIRMWARE_RESTART') this.mcuShutdown = false;
    await this.startHost(this.mcuShutdown ? MESSAGE_MCU_SHUTDOWN : undefined);
  }

  /** Moonraker came up: connect to Klippy ("startup" while identifying). */
  async linkMoonraker(): Promise<void> {
    this.linked = true;
    this.initializing = true;
    await delay(this.ctx, this.ctx.settings.klippyStartupMs);
    if (!this.linked) return;
    this.initializing = false;
    this.ctx.jobState.resync();
    if (this.connected && this.ctx.printer.state === 'ready') this.onReady();
  }

  /** Moonraker is going down. */
  unlinkMoonraker(): void {
    this.linked = false;
    this.initializing = false;
    this.failPending();
  }
}
