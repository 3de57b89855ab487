// Timelapse of every cloud print: frames saved under data_dir/timelapse/<job>/
// on each layer change (print_stats.info.current_layer) or, without layer
// info, on a timer sized from the estimated print time for ~30 s of video;
// bounded in count and disk (oldest-thinning: every other frame is dropped and
// the stride doubles). On completion: status 5, encode (H.264 ≤ 30 s), upload
// to the `timelapse` URL, then the 7 banner. Canceled → no video. Frames are
// deleted in every case; a restart mid-print resumes the same folder.
import { mkdir, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fetchSnapshot } from '../../camera/snapshot-fetch.js';
import { probeFfmpeg } from '../../camera/ffmpeg.js';
import { encodeTimelapse } from '../../camera/timelapse-encode.js';
import { postToS3, S3UploadError } from '../../camera/s3-post.js';
import type { JobReport } from '../jobs/job-types.js';
import { ConnectionClosedError } from '../polar/connection.js';
import { monoNow, type TimerHandle } from '../util/clock.js';
import { errText } from '../util/log.js';
import { childPath, removeInside, safeSegment } from '../util/safe-path.js';
import type { Camera } from './camera.js';
import type { Feature, FeatureContext } from './feature-context.js';

const FRAME = /^frame-(\d{6})\.jpg$/;
/**
 * How long a finished timelapse waits for the cloud link to come back before it
 * is given up: a network blip between the encode and the upload must not lose
 * the video, but a bridge offline for long must not keep the frames forever.
 */
const CLOUD_WAIT_MS = 5 * 60_000;
/** ~30 s of video at 30 fps. */
const TARGET_FRAMES = 900;

interface Recording {
  jobId: string;
  dir: string;
  next: number;
  frames: number;
  bytes: number;
  /** Capture every Nth layer / timer period multiplier (doubles when thinning). */
  stride: number;
  lastLayer: number | null;
}

export class Timelapse implements Feature {
  private offs: (() => void)[] = [];
  private rec: Recording | null = null;
  private timer: TimerHandle | undefined;
  private ffmpegOk: boolean | null = null;
  private capturing = false;
  /** Cancels a wait for the cloud link (stop()). */
  private cancelWait: (() => void) | null = null;
  private stopped = false;

  constructor(
    private readonly ctx: FeatureContext,
    private readonly camera: Camera,
  ) {}

  private get root(): string {
    return join(this.ctx.config.data_dir, 'timelapse');
  }

  start(): void {
    this.stopped = false;
    const { jobs, printer } = this.ctx;
    this.offs.push(
      jobs.events.on('changed', () => void this.follow()),
      jobs.events.on('reportsQueued', ({ reports }) => {
        for (const r of reports) if (r.cloud) void this.finish(r);
      }),
      printer.on('objectsChanged', ({ changed }) => {
        const layer = (changed.print_stats?.info as { current_layer?: unknown } | undefined)?.current_layer;
        if (typeof layer === 'number') this.onLayer(layer);
      }),
    );
    void this.removeLeftovers();
    if (this.ctx.config.camera.enabled && this.ctx.config.camera.timelapse.enabled) {
      void probeFfmpeg().then((p) => {
        this.ffmpegOk = p.ok && p.libx264;
        if (!this.ffmpegOk) {
          this.ctx.log.warn(`timelapses are off: ${p.ok ? 'ffmpeg has no libx264 encoder' : p.reason}. Install it with: sudo apt install ffmpeg`);
        }
        void this.follow();
      });
    }
  }

  stop(): void {
    for (const off of this.offs.splice(0)) off();
    this.ctx.clock.clearTimeout(this.timer);
    this.rec = null;
    this.stopped = true;
    this.cancelWait?.();
  }

  /** Resolves once the bridge is online with Polar Cloud; rejects after `ms` or on stop(). */
  private waitOnline(ms: number): Promise<void> {
    if (this.ctx.polar.online) return Promise.resolve();
    // An encode that outlived stop() must not hold the process for minutes.
    if (this.stopped) return Promise.reject(new Error('stopping'));
    return new Promise((resolve, reject) => {
      const done = (err?: Error): void => {
        off();
        this.ctx.clock.clearTimeout(timer);
        this.cancelWait = null;
        if (err) reject(err);
        else resolve();
      };
      const off = this.ctx.polar.events.on('online', () => done());
      const timer = this.ctx.clock.setTimeout(() => done(new Error(`not connected to Polar Cloud for ${Math.round(ms / 60_000)} min`)), ms);
      this.cancelWait = () => done(new Error('stopping'));
    });
  }

  /** The job's timelapse URL; a link lost while asking is waited out (the video is not lost with it). */
  private async timelapseUrl(jobId: string): Promise<Awaited<ReturnType<Camera['urls']['get']>>> {
    const deadline = monoNow(this.ctx.clock) + CLOUD_WAIT_MS;
    for (;;) {
      if (!this.ctx.polar.online) {
        this.ctx.log.info(`timelapse of cloud job ${jobId}: waiting for the Polar Cloud link to upload it`);
        await this.waitOnline(Math.max(1, deadline - monoNow(this.ctx.clock)));
      }
      try {
        return await this.camera.urls.get('timelapse', jobId);
      } catch (err) {
        // A FAILED answer is the cloud's decision; only a lost link is retried.
        const linkLost = err instanceof ConnectionClosedError || !this.ctx.polar.online;
        if (!linkLost || monoNow(this.ctx.clock) >= deadline) throw err;
        this.ctx.log.debug(`timelapse URL request lost with the link: ${errText(err)}`);
      }
    }
  }

  /** Frame folders of jobs that are not running any more (a crash while encoding/uploading): never kept. */
  private async removeLeftovers(): Promise<void> {
    const keep = this.ctx.jobs.job?.cloud ? safeSegment(this.ctx.jobs.job.jobId) : null;
    for (const name of await readdir(this.root).catch(() => [] as string[])) {
      if (name === keep) continue;
      try {
        await removeInside(this.root, join(this.root, name), { recursive: true });
        this.ctx.log.info(`removed leftover timelapse frames of ${name}`);
      } catch (err) {
        this.ctx.log.warn(`leftover timelapse frames not removed: ${errText(err)}`);
      }
    }
  }

  /** Starts (or resumes) recording when a cloud job is printing. */
  private async follow(): Promise<void> {
    const job = this.ctx.jobs.job;
    if (!this.ffmpegOk || !job?.cloud || this.rec?.jobId === job.jobId) return;
    // The folder name is a safe form of the jobId (never "..", "/", ""): see util/safe-path.
    const dir = childPath(this.root, safeSegment(job.jobId));
    const rec: Recording = { jobId: job.jobId, dir, next: 0, frames: 0, bytes: 0, stride: 1, lastLayer: null };
    this.rec = rec;
    // Its completion goes through post-processing (5), never straight to 7.
    this.ctx.status.setTimelapseJob(job.jobId);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    // A restart mid-print: carry on after the frames already there.
    for (const f of await readdir(dir)) {
      const m = FRAME.exec(f);
      if (!m) continue;
      rec.frames++;
      rec.next = Math.max(rec.next, Number(m[1]) + 1);
      rec.bytes += (await stat(join(dir, f))).size;
    }
    this.ctx.log.info(`timelapse of cloud job ${job.jobId}: ${rec.frames ? `resuming with ${rec.frames} frames` : 'recording'}`);
    this.scheduleTimer();
  }

  private hasLayerInfo(): boolean {
    const info = this.ctx.printer.snapshot().print_stats.info;
    return typeof info?.current_layer === 'number' && typeof info.total_layer === 'number' && info.total_layer > 0;
  }

  private onLayer(layer: number): void {
    const rec = this.rec;
    if (!rec || layer === rec.lastLayer) return;
    rec.lastLayer = layer;
    if (layer % rec.stride === 0) void this.capture();
  }

  /** Without layer info: a period that yields ~TARGET_FRAMES over the estimated print time. */
  private scheduleTimer(): void {
    this.ctx.clock.clearTimeout(this.timer);
    const rec = this.rec;
    if (!rec) return;
    const estimate = this.ctx.jobs.jobMeta?.estimatedTime ?? null;
    const base = estimate ? Math.min(60, Math.max(2, estimate / TARGET_FRAMES)) : 10;
    this.timer = this.ctx.clock.setTimeout(() => {
      if (!this.hasLayerInfo()) void this.capture();
      this.scheduleTimer();
    }, base * 1000 * rec.stride);
  }

  private async capture(): Promise<void> {
    const rec = this.rec;
    const cam = this.camera.timelapseCamera;
    const state = this.ctx.printer.snapshot().print_stats.state;
    if (!rec || !cam || this.capturing || state !== 'printing') return;
    this.capturing = true;
    try {
      const jpeg = await fetchSnapshot(cam.snapshotUrl, { timeoutMs: 8000, maxBytes: 16 * 1048576 });
      if (this.rec !== rec) return;
      const name = `frame-${String(rec.next++).padStart(6, '0')}.jpg`;
      await writeFile(join(rec.dir, name), jpeg, { mode: 0o600 });
      rec.frames++;
      rec.bytes += jpeg.length;
      const cfg = this.ctx.config.camera.timelapse;
      if (rec.frames > cfg.max_frames || rec.bytes > cfg.max_disk * 1048576) await this.thin(rec);
    } catch (err) {
      this.ctx.log.debug(`timelapse frame skipped: ${errText(err)}`);
    } finally {
      this.capturing = false;
    }
  }

  /** Drops every other frame and halves the capture rate: the whole print stays covered. */
  private async thin(rec: Recording): Promise<void> {
    const files = (await readdir(rec.dir)).filter((f) => FRAME.test(f)).sort();
    let kept = 0;
    let bytes = 0;
    for (const [i, f] of files.entries()) {
      if (i % 2 === 1) await rm(join(rec.dir, f), { force: true });
      else {
        kept++;
        bytes += (await stat(join(rec.dir, f))).size;
      }
    }
    rec.frames = kept;
    rec.bytes = bytes;
    rec.stride *= 2;
    this.ctx.log.info(`timelapse of ${rec.jobId}: thinned to ${kept} frames, now every ${rec.stride} layers/periods`);
  }

  /** The job ended: encode and upload when it completed, then delete the frames either way. */
  private async finish(report: JobReport): Promise<void> {
    const rec = this.rec?.jobId === report.jobId ? this.rec : null;
    const dir = rec?.dir ?? childPath(this.root, safeSegment(report.jobId));
    if (rec) {
      this.rec = null;
      this.ctx.clock.clearTimeout(this.timer);
      // Post-processing starts now (not after the first await), so no 7 slips in before the 5.
      if (report.state === 'completed' && this.ffmpegOk) this.ctx.status.setPostProcessing({ jobId: report.jobId });
      this.ctx.status.setTimelapseJob(null);
    }
    try {
      if (report.state !== 'completed' || !this.ffmpegOk) return;
      const frames = (await readdir(dir).catch(() => [] as string[])).filter((f) => FRAME.test(f)).sort();
      if (frames.length < 2) return;
      // The report was just sent: let its removal from the outbox reach the disk before the long
      // (memory-hungry) encode, so a crash during it cannot send the report again.
      await this.ctx.jobs.store.flushed();
      this.ctx.status.setPostProcessing({ jobId: report.jobId });
      // Sequential names for ffmpeg's image2 demuxer (thinning leaves gaps).
      for (const [i, f] of frames.entries()) {
        const want = `frame-${String(i).padStart(6, '0')}.jpg`;
        if (f !== want) await rename(join(dir, f), join(dir, want));
      }
      const video = join(dir, 'timelapse.mp4');
      const cam = this.camera.timelapseCamera;
      const orientation = cam?.orientation ?? { flipHorizontal: false, flipVertical: false, rotation: 0 as const };
      const enc = await encodeTimelapse({ framesDir: dir, frameCount: frames.length, output: video, orientation, maxSeconds: 30, timeoutMs: 30 * 60_000 });
      const size = (await stat(video)).size;
      for (let attempt = 1; ; attempt++) {
        const url = await this.timelapseUrl(report.jobId);
        if (size > url.maxSize) throw new Error(`timelapse is ${size} bytes, over the cloud's limit of ${url.maxSize}`);
        try {
          await postToS3({ url: url.url, fields: url.fields, file: { path: video, size }, contentType: url.contentType, fileName: 'timelapse.mp4', timeoutMs: 10 * 60_000, attempts: 3, retryDelayMs: 2000, maxSize: url.maxSize, lookup: this.camera.urls.lookupFor(url) });
          break;
        } catch (err) {
          if (err instanceof S3UploadError && err.policyExpired && attempt === 1) {
            this.camera.urls.invalidate('timelapse', report.jobId);
            continue;
          }
          throw err;
        }
      }
      this.ctx.log.info(`timelapse of cloud job ${report.jobId} uploaded (${frames.length} frames, ${enc.seconds.toFixed(1)} s at ${enc.fps} fps, ${Math.round(size / 1024)} KiB)`);
    } catch (err) {
      this.ctx.log.warn(`timelapse of cloud job ${report.jobId} not uploaded: ${errText(err)}`);
    } finally {
      this.ctx.status.setPostProcessing(null);
      // Only ever a folder strictly inside data_dir/timelapse (a jobId of ".." once made this the data folder).
      await removeInside(this.root, dir, { recursive: true }).catch((err) => this.ctx.log.warn(`timelapse frames not removed: ${errText(err)}`));
    }
  }
}
