// Moonraker's [webcam] component plus the camera itself: the simulator serves
// /webcam/?action=snapshot (one JPEG) and ?action=stream (MJPEG multipart) for
// any /webcam*/ path. Entries carry flip/rotation hints that control can set.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import type { SimContext } from './context.js';
import { MoonrakerError } from './errors.js';
import type { Params } from './params.js';
import { renderFrame } from './webcam-frames.js';

export interface WebcamEntry {
  name: string;
  location: string;
  service: string;
  enabled: boolean;
  icon: string;
  target_fps: number;
  target_fps_idle: number;
  stream_url: string;
  snapshot_url: string;
  flip_horizontal: boolean;
  flip_vertical: boolean;
  rotation: number;
  aspect_ratio: string;
  extra_data: Record<string, unknown>;
  source: string;
  uid: string;
}

const BOUNDARY = 'simframeboundary';

function makeEntry(partial: Partial<WebcamEntry>, index: number): WebcamEntry {
  const rotation = partial.rotation ?? 0;
  if (![0, 90, 180, 270].includes(rotation)) throw new MoonrakerError(`Invalid value for 'rotation': ${rotation}`);
  const path = index === 0 ? '/webcam/' : `/webcam${index + 1}/`;
  return {
    name: partial.name ?? (index === 0 ? 'Simulated Camera' : `Simulated Camera ${index + 1}`),
    location: partial.location ?? 'printer',
    service: partial.service ?? 'mjpegstreamer-adaptive',
    enabled: partial.enabled ?? true,
    icon: partial.icon ?? 'mdiWebcam',
    target_fps: partial.target_fps ?? 15,
    target_fps_idle: partial.target_fps_idle ?? 5,
    stream_url: partial.stream_url ?? `${path}?action=stream`,
    snapshot_url: partial.snapshot_url ?? `${path}?action=snapshot`,
    flip_horizontal: partial.flip_horizontal ?? false,
    flip_vertical: partial.flip_vertical ?? false,
    rotation,
    aspect_ratio: partial.aspect_ratio ?? '4:3',
    extra_data: partial.extra_data ?? {},
    source: partial.source ?? 'database',
    uid: partial.uid ?? randomUUID(),
  };
}

export class Webcams {
  private cams: WebcamEntry[] = [makeEntry({}, 0)];
  private frameNo = 0;
  private cached: { key: number; jpeg: Buffer } | null = null;
  private readonly streams = new Set<ServerResponse>();
  /** Snapshots served per camera path (e.g. "/webcam2/"), for tests that check which camera was used. */
  readonly snapshotCounts = new Map<string, number>();

  constructor(private readonly ctx: SimContext) {}

  list(): WebcamEntry[] {
    return this.cams.map((c) => structuredClone(c));
  }

  /** control.setWebcams: replaces the list; missing fields get defaults. */
  set(list: Array<Partial<WebcamEntry>>): WebcamEntry[] {
    this.cams = list.map((c, i) => makeEntry(c, i));
    this.changed();
    return this.list();
  }

  private changed(): void {
    this.ctx.connections.notify('notify_webcams_changed', [{ webcams: this.list() }]);
  }

  private lookup(p: Params): WebcamEntry {
    const uid = p.optStr('uid');
    if (uid !== undefined) {
      const cam = this.cams.find((c) => c.uid === uid);
      if (!cam) throw new MoonrakerError(`Webcam with UID ${uid} not found`, 404);
      return cam;
    }
    const name = p.str('name');
    const cam = this.cams.find((c) => c.name === name);
    if (!cam) throw new MoonrakerError(`Webcam ${name} not found`, 404);
    return cam;
  }

  private absolute(url: string): string {
    return /^\w+:\/\//.test(url) ? url : `${this.ctx.baseUrl()}${url.startsWith('/') ? '' : '/'}${url}`;
  }

  register(): void {
    const r = this.ctx.router;
    r.register('server.webcams.list', () => ({ webcams: this.list() }), { http: ['GET', '/server/webcams/list'] });
    r.register('server.webcams.get_item', (p) => ({ webcam: structuredClone(this.lookup(p)) }), { http: ['GET', '/server/webcams/item'] });
    r.register('server.webcams.post_item', (p) => {
      const uid = p.optStr('uid');
      const existing = uid !== undefined ? this.lookup(p) : this.cams.find((c) => c.name === p.optStr('name'));
      const fields: Partial<WebcamEntry> = { ...(existing ?? {}) };
      for (const k of ['name', 'location', 'service', 'icon', 'stream_url', 'snapshot_url', 'aspect_ratio'] as const) {
        const v = p.optStr(k);
        if (v !== undefined) fields[k] = v;
      }
      for (const k of ['enabled', 'flip_horizontal', 'flip_vertical'] as const) if (p.has(k)) fields[k] = p.bool(k);
      for (const k of ['target_fps', 'target_fps_idle', 'rotation'] as const) if (p.has(k)) fields[k] = p.int(k);
      if (p.has('extra_data')) fields.extra_data = p.object('extra_data');
      if (!fields.name) throw new MoonrakerError('No data for argument: name');
      const entry = makeEntry(fields, existing ? this.cams.indexOf(existing) : this.cams.length);
      if (existing) this.cams[this.cams.indexOf(existing)] = entry;
      else this.cams.push(entry);
      this.changed();
      return { webcam: structuredClone(entry) };
    }, { http: ['POST', '/server/webcams/item'] });
    r.register('server.webcams.delete_item', (p) => {
      const cam = this.lookup(p);
      this.cams = this.cams.filter((c) => c !== cam);
      this.changed();
      return { webcam: structuredClone(cam) };
    }, { http: ['DELETE', '/server/webcams/item'] });
    r.register('server.webcams.test', (p) => {
      const cam = this.lookup(p);
      return { name: cam.name, snapshot_reachable: cam.enabled, snapshot_url: this.absolute(cam.snapshot_url), stream_url: this.absolute(cam.stream_url) };
    }, { http: ['POST', '/server/webcams/test'] });
  }

  /** The current frame; re-rendered at most once per 1/15 s and shared by all viewers. */
  frame(): Buffer {
    const key = Math.floor(this.ctx.clock.now() / (1000 / 15));
    if (this.cached?.key !== key) this.cached = { key, jpeg: renderFrame(++this.frameNo, new Date(this.ctx.clock.now())) };
    return this.cached.jpeg;
  }

  /** Handles /webcam*\/?action=snapshot|stream; returns false if the path is not a camera. */
  serve(req: IncomingMessage, res: ServerResponse, url: URL): boolean {
    if (!/^\/webcam\d*\/?$/.test(url.pathname)) return false;
    const action = url.searchParams.get('action') ?? 'stream';
    if (action === 'snapshot') {
      const key = url.pathname.endsWith('/') ? url.pathname : `${url.pathname}/`;
      this.snapshotCounts.set(key, (this.snapshotCounts.get(key) ?? 0) + 1);
      const jpeg = this.frame();
      res.writeHead(200, { 'Content-Type': 'image/jpeg', 'Content-Length': jpeg.length, 'Cache-Control': 'no-store' });
      res.end(req.method === 'HEAD' ? undefined : jpeg);
      return true;
    }
    if (action !== 'stream') {
      res.writeHead(404, { 'Content-Type': 'text/plain' });
      res.end('Unknown action');
      return true;
    }
    res.writeHead(200, { 'Content-Type': `multipart/x-mixed-replace;boundary=${BOUNDARY}`, 'Cache-Control': 'no-store', Connection: 'close' });
    this.streams.add(res);
    const fps = this.cams[0]?.target_fps ?? 15;
    const send = (): void => {
      if (res.destroyed || res.writableEnded) return;
      const jpeg = this.frame();
      res.write(`--${BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: ${jpeg.length}\r\nX-Timestamp: ${(this.ctx.clock.now() / 1000).toFixed(6)}\r\n\r\n`);
      res.write(jpeg);
      res.write('\r\n');
      timer = this.ctx.clock.setTimeout(send, 1000 / fps);
    };
    let timer = this.ctx.clock.setTimeout(send, 0);
    const stop = (): void => {
      this.ctx.clock.clearTimeout(timer);
      this.streams.delete(res);
    };
    res.on('close', stop);
    return true;
  }

  /** Ends every open MJPEG stream (stop, Moonraker restart). */
  closeStreams(): void {
    for (const res of [...this.streams]) res.destroy();
    this.streams.clear();
  }
}
