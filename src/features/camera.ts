// The camera: which webcam (Moonraker's list + camera config), what hello says
// about it (camUrl, camOff, transformImg), and the snapshot loop — a `printing`
// image every camera.printing_interval s while a cloud job runs, an `idle` one
// every camera.idle_interval s otherwise. The loop runs beside the status
// path, never on it: a slow or dead camera cannot delay a status message.
import { fetchSnapshot } from '../../camera/snapshot-fetch.js';
import { prepareSnapshot } from '../../camera/jpeg-fit.js';
import { postToS3, S3UploadError } from '../../camera/s3-post.js';
import { transformImgFor } from '../../camera/orientation.js';
import { chooseCamera, chooseTimelapseCamera, type ChosenCamera } from '../camera-policy/webcam-choice.js';
import { UploadUrlCache, type UploadType } from '../camera-policy/upload-urls.js';
import { addressGuardFor } from '../net/address-guard.js';
import type { HelloInfo } from '../polar/polar-client.js';
import type { TimerHandle } from '../util/clock.js';
import { errText } from '../util/log.js';
import { TypedEmitter } from '../util/typed-emitter.js';
import type { Feature, FeatureContext } from './feature-context.js';

const SNAPSHOT_TIMEOUT_MS = 8000;
const SNAPSHOT_MAX_BYTES = 16 * 1048576;
const WEBCAM_RETRY_MS = 5000;

export interface CameraEvents {
  /** An image was uploaded. */
  uploaded: { type: UploadType; jobId?: string | undefined; bytes: number };
  /** The chosen camera changed (null: none). */
  changed: { camera: ChosenCamera | null };
}

export class Camera implements Feature {
  readonly events = new TypedEmitter<CameraEvents>();
  readonly urls: UploadUrlCache;
  private cam: ChosenCamera | null = null;
  private lapseCam: ChosenCamera | null = null;
  private offs: (() => void)[] = [];
  private timer: TimerHandle | undefined;
  private listTimer: TimerHandle | undefined;
  private busy = false;
  private running = false;
  private failures = 0;
  private lastJobId: string | null = null;
  private chosenOnce = false;
  private firstWaiters: (() => void)[] = [];

  constructor(
    private readonly ctx: FeatureContext,
    private readonly lanIp: () => string | undefined,
  ) {
    this.urls = new UploadUrlCache(ctx.polar, ctx.clock, ctx.config.polar.reply_timeout * 1000, addressGuardFor(ctx.config), ctx.log);
  }

  get camera(): ChosenCamera | null {
    return this.cam;
  }

  /** Where timelapse frames come from (camera.timelapse_webcam, else the snapshot camera). */
  get timelapseCamera(): ChosenCamera | null {
    return this.lapseCam;
  }

  /** Camera fields of `hello`. */
  helloFields(): Partial<HelloInfo> {
    if (!this.ctx.config.camera.enabled || !this.cam) return { camOff: 1 };
    const out: Partial<HelloInfo> = { camOff: 0, transformImg: transformImgFor(this.cam.orientation) };
    if (this.cam.streamUrl) out.camUrl = this.cam.streamUrl;
    return out;
  }

  start(): void {
    this.running = true;
    const { api, moonraker, polar, jobs } = this.ctx;
    this.offs.push(
      api.on('webcamsChanged', ({ webcams }) => this.choose(webcams)),
      moonraker.on('ready', () => void this.refreshList()),
      // The list is Moonraker's (not Klippy's): read it as soon as the socket is up.
      this.ctx.printer.on('connectionChanged', ({ to }) => {
        if (!this.chosenOnce && to !== 'disconnected' && to !== 'connecting' && to !== 'unauthorized') void this.refreshList();
      }),
      polar.events.on('online', () => this.schedule(2000)),
      jobs.events.on('changed', () => {
        const jobId = this.cloudJobId();
        if (jobId === this.lastJobId) return;
        this.lastJobId = jobId;
        this.urls.keepOnlyJob(jobId);
        // The first image of a new cloud job (or the return to idle) soon, then the new cadence.
        this.schedule(1000);
      }),
    );
    void this.refreshList();
    if (this.ctx.config.camera.enabled) this.schedule(2000);
  }

  stop(): void {
    this.running = false;
    for (const off of this.offs.splice(0)) off();
    this.ctx.clock.clearTimeout(this.timer);
    this.ctx.clock.clearTimeout(this.listTimer);
  }

  /** The cloud job images belong to (printing type), or null for idle images. */
  cloudJobId(): string | null {
    const { jobs } = this.ctx;
    if (jobs.job?.cloud) return jobs.job.jobId;
    return jobs.pendingCloud?.jobId ?? null;
  }

  private async refreshList(): Promise<void> {
    if (!this.running) return;
    this.ctx.clock.clearTimeout(this.listTimer);
    try {
      this.choose(await this.ctx.api.webcams());
    } catch (err) {
      this.ctx.log.debug(`webcam list not available yet: ${errText(err)}`);
      this.listTimer = this.ctx.clock.setTimeout(() => void this.refreshList(), WEBCAM_RETRY_MS);
    }
  }

  /**
   * Resolves once the webcam list was read (or after `timeoutMs`), so the first hello
   * can carry camUrl/transformImg; Moonraker being away only delays it by the timeout.
   */
  firstChoice(timeoutMs: number): Promise<void> {
    if (this.chosenOnce || !this.ctx.config.camera.enabled) return Promise.resolve();
    return new Promise((resolve) => {
      const t = this.ctx.clock.setTimeout(resolve, timeoutMs);
      this.firstWaiters.push(() => {
        this.ctx.clock.clearTimeout(t);
        resolve();
      });
    });
  }

  private choose(list: Parameters<typeof chooseCamera>[0]): void {
    if (!this.chosenOnce) {
      this.chosenOnce = true;
      for (const w of this.firstWaiters.splice(0)) w();
    }
    const c = chooseCamera(list, this.ctx.config.camera, this.ctx.config.moonraker.url, this.lanIp());
    const next = c.camera;
    const lapse = chooseTimelapseCamera(list, this.ctx.config.camera, this.ctx.config.moonraker.url, next);
    if (JSON.stringify(lapse.camera) !== JSON.stringify(this.lapseCam)) {
      this.lapseCam = lapse.camera;
      if (lapse.fallback) this.ctx.log.warn(`camera.timelapse_webcam: ${lapse.fallback}; timelapses use the snapshot camera`);
      else if (lapse.camera && lapse.camera !== next) this.ctx.log.info(`timelapse camera: ${lapse.camera.name} (snapshot ${lapse.camera.snapshotUrl})`);
    }
    if (JSON.stringify(next) === JSON.stringify(this.cam)) return;
    this.cam = next;
    if (next) {
      this.ctx.log.info(`camera: ${next.name} (snapshot ${next.snapshotUrl}${next.orientation.rotation ? `, rotated ${next.orientation.rotation}°` : ''})`);
    } else {
      this.ctx.log.info(`no camera images: ${'reason' in c ? c.reason : 'none'}`);
    }
    // hello carries camUrl/transformImg: a change reaches Polar with the next hello.
    this.events.emit('changed', { camera: next });
  }

  private schedule(delayMs?: number): void {
    if (!this.running || !this.ctx.config.camera.enabled) return;
    this.ctx.clock.clearTimeout(this.timer);
    const cfg = this.ctx.config.camera;
    const interval = (this.cloudJobId() ? cfg.printing_interval : cfg.idle_interval) * 1000;
    this.timer = this.ctx.clock.setTimeout(() => void this.tick(), delayMs ?? interval);
  }

  private async tick(): Promise<void> {
    this.timer = undefined;
    if (this.busy) return this.schedule();
    this.busy = true;
    try {
      if (this.cam && this.ctx.polar.online) await this.captureAndUpload(this.cam);
    } finally {
      this.busy = false;
      this.schedule();
    }
  }

  /** One image: fetch, make upright and fit, upload (renewing the URL once if S3 says it expired). */
  async captureAndUpload(cam: ChosenCamera): Promise<void> {
    const jobId = this.cloudJobId() ?? undefined;
    const type: UploadType = jobId ? 'printing' : 'idle';
    try {
      const raw = await fetchSnapshot(cam.snapshotUrl, { timeoutMs: SNAPSHOT_TIMEOUT_MS, maxBytes: SNAPSHOT_MAX_BYTES });
      for (let attempt = 1; ; attempt++) {
        const url = await this.urls.get(type, jobId);
        const maxBytes = Math.min(this.ctx.config.camera.max_image_size, url.maxSize);
        const image = await prepareSnapshot(raw, { orientation: cam.orientation, maxBytes, timeoutMs: 20_000 });
        try {
          await postToS3({ url: url.url, fields: url.fields, file: image.jpeg, contentType: url.contentType, fileName: 'snapshot.jpg', timeoutMs: 30_000, attempts: 3, retryDelayMs: 1000, maxSize: url.maxSize, lookup: this.urls.lookupFor(url) });
          this.events.emit('uploaded', { type, jobId, bytes: image.jpeg.length });
          if (this.failures > 0) this.ctx.log.info('camera images are uploading again');
          this.failures = 0;
          return;
        } catch (err) {
          if (err instanceof S3UploadError && err.policyExpired && attempt === 1) {
            this.urls.invalidate(type, jobId);
            continue;
          }
          throw err;
        }
      }
    } catch (err) {
      // First failure loud, then every 30th, so a dead camera does not flood the log.
      if (this.failures++ % 30 === 0) this.ctx.log.warn(`camera image not uploaded: ${errText(err)}`);
      else this.ctx.log.debug(`camera image not uploaded: ${errText(err)}`);
    }
  }
}
