// POLAR_DIAG (console macro) and the `diagnose` extension method (front-ends):
// the running service writes the diagnostics archive into printer_data/logs,
// with its own live state instead of opening a second Polar Cloud connection,
// and answers with the file name and the failed checks.
import { basename } from 'node:path';
import { writeDiagnostics } from '../diagnostics/bundle.js';
import { errText } from '../util/log.js';
import { respondText, type Feature, type FeatureContext } from './feature-context.js';

export const DIAG_METHOD = 'polarcloud_diag';
export const DIAG_EXTENSION = 'diagnose';

export class Diagnostics implements Feature {
  private offs: (() => void)[] = [];
  private running: Promise<{ path: string; failed: string[] }> | undefined;

  constructor(
    private readonly ctx: FeatureContext,
    /** The service's own view (connection, serial, current job, last error). */
    private readonly serviceStatus: () => object,
  ) {}

  start(): void {
    this.offs.push(
      this.ctx.moonraker.registerExtensionMethod(DIAG_EXTENSION, async () => this.write()),
      this.ctx.moonraker.on('remoteMethod', ({ method }) => {
        if (method === DIAG_METHOD) void this.fromConsole();
      }),
    );
  }

  stop(): void {
    for (const off of this.offs.splice(0)) off();
  }

  /** One archive at a time: a second request while one is being written gets the same result. */
  write(): Promise<{ path: string; failed: string[] }> {
    this.running ??= (async () => {
      try {
        const { polar } = this.ctx;
        const r = await writeDiagnostics(this.ctx.config, {
          polarState: { state: polar.state, detail: '' },
          service: { ...this.serviceStatus(), pid: process.pid, uptimeS: Math.round(process.uptime()), rssMb: Math.round(process.memoryUsage().rss / 1048576) },
        });
        this.ctx.log.info(`diagnostics written to ${r.path}`);
        return { path: r.path, failed: r.failed.map((c) => `${c.name}: ${c.detail}`) };
      } finally {
        this.running = undefined;
      }
    })();
    return this.running;
  }

  private async fromConsole(): Promise<void> {
    await this.respond('writing diagnostics (up to 10 s)…');
    try {
      const r = await this.write();
      await this.respond(`diagnostics written to logs/${basename(r.path)} (download it from the Logs list in Mainsail/Fluidd)`);
      for (const f of r.failed.slice(0, 5)) await this.respond(`check failed: ${f}`, true);
      if (r.failed.length === 0) await this.respond('all checks passed');
    } catch (err) {
      this.ctx.log.warn(`POLAR_DIAG: ${errText(err)}`);
      await this.respond(`diagnostics failed: ${errText(err)}`, true);
    }
  }

  private async respond(msg: string, error = false): Promise<void> {
    if (this.ctx.printer.connectionState !== 'klippy_ready') return;
    await this.ctx.api
      .gcodeScript(`RESPOND TYPE=${error ? 'error' : 'echo'} MSG="Polar Cloud: ${respondText(msg)}"`, { timeoutMs: 10_000 })
      .catch((err) => this.ctx.log.debug(`console answer not shown: ${errText(err)}`));
  }
}
