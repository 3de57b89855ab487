// One cloud job from the `print` command to a running (or queued) Klipper
// job. G-code: streamed from the download straight into Moonraker's upload
// (cloud-relay.ts, no copy on disk). A model: downloaded to a temp file →
// sliced → uploaded into the cloud folder with its checksum. Then start, or
// post to Moonraker's job queue when the printer is busy. Every step updates
// the Polar status; every failure throws a PrintJobError with words for the
// user; temp files never outlive it.
import { mkdir, readFile, statfs, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { sha256File, uploadFile, UploadError } from '../../moonraker-bridge/index.js';
import type { FeatureContext } from '../features/feature-context.js';
import type { PendingCloudJob } from '../jobs/job-types.js';
import { errText, redactUrl } from '../util/log.js';
import { announce } from '../features/feature-context.js';
import { removeInside } from '../util/safe-path.js';
import { addressGuardFor, type AddressGuard } from '../net/address-guard.js';
import { relayToMoonraker } from './cloud-relay.js';
import { downloadToFile, DownloadError, type DownloadOptions } from './http-download.js';
import { alternateFileName, cloudFileName } from './job-file-name.js';
import { runSlicer } from './slicer.js';
import { sanitizeSlicerIni } from './slicer-config.js';

export interface PrintSpec {
  jobId: string;
  jobName: string | undefined;
  /** The file to print and what it is. */
  url: string;
  kind: 'gcode' | 'model';
  configUrl: string | undefined;
}

/** A cloud job that could not be handed to the printer; `message` is for the Polar UI and the console. */
export class PrintJobError extends Error {
  constructor(
    message: string,
    readonly canceled = false,
  ) {
    super(message);
    this.name = 'PrintJobError';
  }
}

export type HandOff = 'started' | 'queued';

/** The "clear build plate" gate (features/build-plate.ts): a job waits while it is blocking. */
export interface StartGate {
  readonly required: boolean;
  readonly blocking: boolean;
  /** Resolves once the plate is clear; rejects when `signal` aborts. */
  waitClear(signal: AbortSignal): Promise<void>;
}

/** How often a job waiting for a free printer looks again (besides print-state changes). */
const WAIT_RECHECK_MS = 1000;

const MIB = 1048576;

export class PrintPipeline {
  private readonly tmpDir: string;
  private readonly guard: AddressGuard;
  private uploadedAs: string | null = null;
  /** The relay sent its last byte but Moonraker's answer never came: the file may be there. */
  private maybeUploadedAs: string | null = null;
  private handedOff = false;
  /** How the job left the pipeline (null while preparing or after a failure). */
  result: HandOff | null = null;

  constructor(
    private readonly ctx: FeatureContext,
    private readonly spec: PrintSpec,
    private readonly signal: AbortSignal,
    private readonly gate?: StartGate,
  ) {
    this.tmpDir = join(ctx.config.data_dir, 'downloads');
    this.guard = addressGuardFor(ctx.config, ctx.config.cloud_print.allow_http_hosts);
  }

  /** The file name (in the gcodes root) this job will have. */
  targetName(): string {
    const folder = this.ctx.config.cloud_print.folder;
    let name = `${folder}/${cloudFileName(this.spec.jobName, this.spec.jobId)}`;
    const loaded = this.ctx.printer.snapshot().print_stats.filename ?? '';
    for (let i = 2; name === loaded && i < 100; i++) name = `${folder}/${alternateFileName(cloudFileName(this.spec.jobName, this.spec.jobId), i)}`;
    return name;
  }

  async run(): Promise<HandOff> {
    const { ctx, spec } = this;
    const filename = this.targetName();
    const pending: PendingCloudJob = {
      jobId: spec.jobId,
      filename,
      since: ctx.clock.now(),
      ...(spec.jobName ? { jobName: spec.jobName } : {}),
      fileUrl: spec.url,
      ...(spec.configUrl ? { configUrl: spec.configUrl } : {}),
    };
    const base = cloudFileName(spec.jobName, spec.jobId).replace(/\.gcode$/, '');
    const download = join(this.tmpDir, `${base}.${spec.kind === 'gcode' ? 'gcode' : 'model'}.part`);
    const configPath = join(this.tmpDir, `${base}.ini.part`);
    const sliced = join(this.tmpDir, `${base}.sliced.gcode.part`);
    // Known to the tracker from the first byte, so a cancel at any step is reported as the cloud job;
    // and on disk before the first byte, so a crash during the download is reported after the restart.
    ctx.jobs.cloudStart(pending);
    try {
      // Shown at once: until the prepare step is set, a pending cloud job reads "Starting print",
      // and the store's flush can take a while on a busy SD card.
      ctx.status.setPrepare({ job: pending, step: 'downloading', percent: 0 });
      await ctx.jobs.store.flushed();
      await mkdir(this.tmpDir, { recursive: true, mode: 0o700 });
      ctx.log.info(`cloud job ${spec.jobId}: downloading ${redactUrl(spec.url)}`);
      if (spec.kind === 'gcode') {
        await this.relay(spec.url, filename, pending);
        this.result = await this.handOff(pending);
        return this.result;
      }
      const got = await this.download(spec.url, download, pending, true);
      let gcodeFile = download;
      let sha = got.sha256;
      if (spec.kind === 'model') {
        const command = ctx.config.slicer.command;
        if (!command) throw new PrintJobError(`Cannot print job ${spec.jobId}: it is a 3D model and no slicer is configured (slicer.command)`);
        let config: string | null = null;
        if (spec.configUrl) {
          await this.download(spec.configUrl, configPath, pending, false);
          await this.sanitizeConfig(configPath);
          config = configPath;
        }
        ctx.status.setPrepare({ job: pending, step: 'slicing' });
        ctx.log.info(`cloud job ${spec.jobId}: slicing`);
        try {
          await runSlicer({ command, input: download, config, output: sliced, timeoutMs: ctx.config.slicer.timeout * 1000, signal: this.signal });
        } catch (err) {
          this.throwIfCanceled();
          throw new PrintJobError(`Slicing job ${spec.jobId} failed: ${errText(err)}`);
        }
        gcodeFile = sliced;
        sha = await sha256File(sliced);
      }
      this.throwIfCanceled();
      await this.upload(gcodeFile, filename, sha, pending);
      this.result = await this.handOff(pending);
      return this.result;
    } catch (err) {
      if (this.uploadedAs && !this.handedOff) {
        await ctx.api.deleteFile(this.uploadedAs).catch((e) => ctx.log.warn(`could not delete ${this.uploadedAs}: ${errText(e)}`));
      } else if (this.maybeUploadedAs && !this.handedOff) {
        // Usually not there (Moonraker drops an upload whose connection closed): a failed delete is expected.
        await ctx.api.deleteFile(this.maybeUploadedAs).catch((e) => ctx.log.debug(`${this.maybeUploadedAs} not deleted: ${errText(e)}`));
      }
      if (this.signal.aborted) throw new PrintJobError(`Cloud job ${spec.jobId} canceled`, true);
      if (err instanceof PrintJobError) throw err;
      throw new PrintJobError(`Cloud job ${spec.jobId} failed: ${errText(err)}`);
    } finally {
      ctx.status.setPrepare(null);
      // Checked deletes: only files strictly inside the downloads folder.
      await Promise.all([download, configPath, sliced].map((f) => removeInside(this.tmpDir, f).catch((e) => ctx.log.warn(`temp file not removed: ${errText(e)}`))));
    }
  }

  private throwIfCanceled(): void {
    if (this.signal.aborted) throw new PrintJobError(`Cloud job ${this.spec.jobId} canceled`, true);
  }

  /** The cloud's INI without script/command keys (slicer-config.ts); a file that is not INI refuses the job. */
  private async sanitizeConfig(path: string): Promise<void> {
    let clean;
    try {
      clean = sanitizeSlicerIni(await readFile(path));
    } catch (err) {
      throw new PrintJobError(`Cannot slice job ${this.spec.jobId}: ${errText(err)}`);
    }
    if (clean.removed.length) this.ctx.log.warn(`cloud job ${this.spec.jobId}: removed from the slicer config (they can run programs): ${clean.removed.slice(0, 20).join(', ')}`);
    await writeFile(path, clean.text, { mode: 0o600 });
  }

  /** The details (addresses, ports, DNS answers) stay in the log: a cloud probing the LAN learns nothing. */
  private downloadFailed(url: string, err: unknown): never {
    const why = err instanceof DownloadError ? err.message : errText(err);
    this.ctx.log.warn(`cloud job ${this.spec.jobId}: download of ${redactUrl(url)} failed: ${why}`);
    throw new PrintJobError(`Download for job ${this.spec.jobId} failed: ${cloudSafeReason(why)}`);
  }

  private async download(url: string, dest: string, pending: PendingCloudJob, main: boolean): Promise<{ sha256: string }> {
    try {
      return await downloadToFile(url, dest, this.downloadOptions(pending, main, true));
    } catch (err) {
      this.throwIfCanceled();
      this.downloadFailed(url, err);
    }
  }

  /** G-code: download and upload at once, nothing on the bridge's disk. */
  private async relay(url: string, filename: string, pending: PendingCloudJob): Promise<void> {
    const { ctx } = this;
    const slash = filename.lastIndexOf('/');
    try {
      await relayToMoonraker(url, `cloud job ${this.spec.jobId}`, {
        ...this.downloadOptions(pending, true, false),
        upload: {
          url: ctx.config.moonraker.url,
          apiKey: ctx.config.moonraker.api_key,
          filename: filename.slice(slash + 1),
          path: filename.slice(0, slash),
        },
        onAllSent: () => {
          this.maybeUploadedAs = filename;
          ctx.status.setPrepare({ job: pending, step: 'uploading' });
        },
      });
      this.uploadedAs = filename;
    } catch (err) {
      this.throwIfCanceled();
      if (err instanceof UploadError) {
        const why = err.status ? `Moonraker refused the upload (HTTP ${err.status}: ${err.message})` : err.message;
        throw new PrintJobError(`Upload of job ${this.spec.jobId} to the printer failed: ${why}`);
      }
      this.downloadFailed(url, err);
    }
  }

  private downloadOptions(pending: PendingCloudJob, main: boolean, localCopy: boolean): Omit<DownloadOptions, 'sink'> {
    const { ctx } = this;
    const cp = ctx.config.cloud_print;
    let lastPct = -1;
    return {
        policy: { serverUrl: ctx.config.polar.server_url, allowHttpHosts: cp.allow_http_hosts },
        guard: this.guard,
        maxBytes: cp.max_file_size * MIB,
        stallMs: cp.stall_timeout * 1000,
        attempts: cp.download_attempts,
        deadlineMs: cp.download_deadline * 1000,
        minBytesPerSecond: cp.min_download_speed * 1024,
        clock: ctx.clock,
        signal: this.signal,
        log: ctx.log,
        checkSize: main ? (total) => this.checkDiskSpace(total, localCopy) : undefined,
        onProgress: main
          ? (received, total) => {
              if (total === null || total === 0) return;
              const pct = Math.floor((received / total) * 100);
              if (pct === lastPct) return;
              lastPct = pct;
              ctx.status.setPrepare({ job: pending, step: 'downloading', percent: pct });
              if (pct % 25 === 0) ctx.log.info(`cloud job ${this.spec.jobId}: downloaded ${pct}%`);
            }
          : undefined,
    };
  }

  /**
   * Room for the file in Moonraker's gcodes root (and for the temporary copy here when there is one),
   * keeping the margin. Returns the most bytes there is room for: without a Content-Length the
   * download is stopped when it outgrows that.
   */
  private async checkDiskSpace(total: number | null, localCopy: boolean): Promise<number> {
    const margin = this.ctx.config.cloud_print.free_space_margin * MIB;
    const printerFree = await this.ctx.api.freeDiskSpace('gcodes');
    if (total !== null && printerFree < total + margin) {
      throw new Error(`not enough disk space on the printer: the file needs ${mib(total)} MiB, ${mib(printerFree)} MiB free (keeping ${mib(margin)} MiB spare)`);
    }
    let room = printerFree - margin;
    if (localCopy) {
      const local = await statfs(this.tmpDir);
      const localFree = local.bavail * local.bsize;
      if (total !== null && localFree < total + margin) throw new Error(`not enough disk space for the download: needs ${mib(total)} MiB, ${mib(localFree)} MiB free in ${this.tmpDir}`);
      room = Math.min(room, localFree - margin);
    }
    if (room <= 0) throw new Error(`not enough disk space on the printer: ${mib(printerFree)} MiB free (keeping ${mib(margin)} MiB spare)`);
    return room;
  }

  private async upload(file: string, filename: string, checksum: string, pending: PendingCloudJob): Promise<void> {
    const { ctx } = this;
    const slash = filename.lastIndexOf('/');
    ctx.status.setPrepare({ job: pending, step: 'uploading', percent: 0 });
    let lastPct = -1;
    try {
      await uploadFile({
        url: ctx.config.moonraker.url,
        ...(ctx.config.moonraker.api_key ? { apiKey: ctx.config.moonraker.api_key } : {}),
        file,
        filename: filename.slice(slash + 1),
        path: filename.slice(0, slash),
        checksum,
        signal: this.signal,
        onProgress: ({ sent, total }) => {
          const pct = total ? Math.floor((sent / total) * 100) : 0;
          if (pct !== lastPct) {
            lastPct = pct;
            ctx.status.setPrepare({ job: pending, step: 'uploading', percent: pct });
          }
        },
      });
      this.uploadedAs = filename;
    } catch (err) {
      this.throwIfCanceled();
      const why = err instanceof UploadError && err.status ? `Moonraker refused the upload (HTTP ${err.status}: ${err.message})` : errText(err);
      throw new PrintJobError(`Upload of job ${this.spec.jobId} to the printer failed: ${why}`);
    }
  }

  /** Starts the print, or posts it to Moonraker's job queue when the printer is busy (cloud_print.when_busy). */
  private async handOff(pending: PendingCloudJob): Promise<HandOff> {
    const { ctx } = this;
    this.throwIfCanceled();
    // With the plate gate on, the job waits here (never in Moonraker's queue, which would start it
    // on an occupied plate): until the printer is free and someone confirmed the plate clear.
    if (this.gate?.required) await this.waitTurn(pending);
    if (busyReason(ctx, pending.jobId)) {
      await ctx.api.jobQueuePost([pending.filename]);
      this.handedOff = true;
      ctx.jobs.cloudQueue(pending);
      return 'queued';
    }
    ctx.status.setPrepare({ job: pending, step: 'starting' });
    ctx.jobs.cloudStart(pending);
    try {
      await ctx.api.printStart(pending.filename);
      this.handedOff = true;
    } catch (err) {
      ctx.jobs.cloudDrop(pending.jobId);
      throw new PrintJobError(`Klipper refused to start job ${this.spec.jobId}: ${errText(err)}`);
    }
    return 'started';
  }

  /** Waits (status 15) while the printer is busy or the plate is occupied; a cancel ends the wait. */
  private async waitTurn(pending: PendingCloudJob): Promise<void> {
    const { ctx, gate } = this;
    if (!gate) return;
    let waiting = false;
    while (gate.blocking || busyReason(ctx, pending.jobId)) {
      if (!waiting) {
        waiting = true;
        // Waiting belongs to the bridge: a queued entry (long-lived, reported canceled on a cloud
        // cancel) rather than a pending start, so jogging (lifting Z to take the part off) stays allowed.
        ctx.jobs.cloudQueue(pending);
        ctx.status.setPrepare({ job: pending, step: 'plate' });
        const why = gate.blocking ? 'the build plate is not cleared yet (POLAR_PLATE_CLEAR when it is empty)' : (busyReason(ctx, pending.jobId) ?? 'the printer is busy');
        announce(ctx, `job ${pending.jobId} waits: ${why}`, 'info');
      }
      await this.wake(gate);
      this.throwIfCanceled();
    }
    if (waiting) {
      ctx.jobs.cloudDrop(pending.jobId);
      ctx.jobs.cloudStart(pending);
      ctx.log.info(`cloud job ${pending.jobId}: build plate clear and printer free, starting`);
    }
  }

  /** The next moment worth looking again: the plate changed, the print state changed, a recheck, or a cancel. */
  private wake(gate: StartGate): Promise<void> {
    const { ctx, signal } = this;
    return new Promise<void>((resolve) => {
      const inner = new AbortController();
      const done = (): void => {
        inner.abort();
        ctx.clock.clearTimeout(timer);
        offState();
        signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = ctx.clock.setTimeout(done, WAIT_RECHECK_MS);
      const offState = ctx.printer.on('printStateChanged', done);
      signal.addEventListener('abort', done);
      if (gate.blocking) gate.waitClear(inner.signal).then(done, () => undefined);
      if (signal.aborted) done();
    });
  }
}

/** Why a new print cannot start right now, or null when it can. */
export function busyReason(ctx: FeatureContext, ownJobId?: string): string | null {
  const s = ctx.printer.snapshot();
  if (s.connection !== 'klippy_ready') return `the printer is not ready (${s.connection.replace('klippy_', 'Klipper ')})`;
  const state = s.print_stats.state;
  if (state === 'printing' || state === 'paused') return `the printer is ${state}`;
  const pending = ctx.jobs.pendingCloud;
  if (ctx.jobs.job !== null || (pending !== null && pending.jobId !== ownJobId)) return 'another print is starting';
  return null;
}

function mib(n: number): string {
  return (n / MIB).toFixed(0);
}

/** A download failure as the cloud may see it: no addresses, ports or connection error codes. */
export function cloudSafeReason(why: string): string {
  if (/resolves to an? |names Moonraker|web server on this host|names a loopback|is not https/.test(why)) return "the file's URL is not allowed on this printer (details in the printer's log)";
  if (/\bE[A-Z]{3,}\b|getaddrinfo|connect |socket hang up|certificate|TLS|SSL|no address for/.test(why)) return "could not reach the file server (details in the printer's log)";
  return why;
}
