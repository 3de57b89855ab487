// Pure: which webcam the bridge uses and what it tells Polar about it. From
// Moonraker's webcam list (server.webcams.list) and the camera config; URLs
// made absolute against Moonraker's host, and a loopback stream URL rewritten
// to the printer's LAN address so a browser on the LAN can open it.

export interface WebcamEntry {
  name: string;
  enabled?: boolean | undefined;
  snapshot_url?: string | undefined;
  stream_url?: string | undefined;
  flip_horizontal?: boolean | undefined;
  flip_vertical?: boolean | undefined;
  rotation?: number | undefined;
}

export interface Orientation {
  flipHorizontal: boolean;
  flipVertical: boolean;
  rotation: 0 | 90 | 180 | 270;
}

export interface CameraConfig {
  enabled: boolean;
  webcam?: string | undefined;
  snapshot_url?: string | undefined;
  stream_url?: string | undefined;
  flip_horizontal?: boolean | undefined;
  flip_vertical?: boolean | undefined;
  rotation?: 0 | 90 | 180 | 270 | undefined;
  web_base_url?: string | undefined;
  timelapse_webcam?: string | undefined;
}

export interface ChosenCamera {
  name: string;
  snapshotUrl: string;
  /** For hello's camUrl (absolute, LAN-reachable), if known. */
  streamUrl: string | null;
  orientation: Orientation;
}

export type CameraChoice = { camera: ChosenCamera } | { camera: null; reason: string };

function rotationOf(n: number | undefined): 0 | 90 | 180 | 270 {
  const r = (((Math.round((n ?? 0) / 90) * 90) % 360) + 360) % 360;
  return r as 0 | 90 | 180 | 270;
}

function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127\./.test(h);
}

/**
 * Absolute URL for `raw`; relative ones are on `webBase`, by default Moonraker's host on
 * port 80 (Mainsail/Fluidd's web server serves /webcam/..., Moonraker's port does not). Null if unusable.
 */
export function absoluteUrl(raw: string | undefined, moonrakerUrl: string, lanIp?: string, webBase?: string): string | null {
  if (!raw) return null;
  let url: URL;
  try {
    const base = new URL(moonrakerUrl);
    url = new URL(raw, webBase ? `${webBase.replace(/\/+$/, '')}/` : `${base.protocol}//${base.hostname}/`);
  } catch {
    return null;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return null;
  if (lanIp && isLoopback(url.hostname)) url.hostname = lanIp;
  return url.href;
}

export function chooseCamera(list: readonly WebcamEntry[], cfg: CameraConfig, moonrakerUrl: string, lanIp?: string): CameraChoice {
  if (!cfg.enabled) return { camera: null, reason: 'camera.enabled is false' };
  let cam: WebcamEntry | undefined;
  if (cfg.webcam) {
    cam = list.find((w) => w.name === cfg.webcam);
    if (!cam && !cfg.snapshot_url) return { camera: null, reason: `no webcam named '${cfg.webcam}' in Moonraker` };
  } else {
    cam = list.find((w) => w.enabled !== false && !!w.snapshot_url);
  }
  const snapshot = cfg.snapshot_url ?? cam?.snapshot_url;
  // Snapshots are fetched by this service on the printer: loopback is fine (and best) there.
  const snapshotUrl = absoluteUrl(snapshot, moonrakerUrl, undefined, cfg.web_base_url);
  if (!snapshotUrl) return { camera: null, reason: cam || cfg.snapshot_url ? 'the webcam has no usable snapshot URL' : 'no webcam with a snapshot URL in Moonraker' };
  return {
    camera: {
      name: cam?.name ?? 'configured',
      snapshotUrl,
      streamUrl: absoluteUrl(cfg.stream_url ?? cam?.stream_url, moonrakerUrl, lanIp, cfg.web_base_url),
      orientation: {
        flipHorizontal: cfg.flip_horizontal ?? cam?.flip_horizontal ?? false,
        flipVertical: cfg.flip_vertical ?? cam?.flip_vertical ?? false,
        rotation: cfg.rotation ?? rotationOf(cam?.rotation),
      },
    },
  };
}

/**
 * The webcam timelapse frames come from: `camera.timelapse_webcam` by name (its own URLs and
 * orientation; the snapshot overrides belong to camera.webcam), else the snapshot camera.
 * A named webcam that is missing or has no snapshot URL falls back to the snapshot camera, with the reason.
 */
export function chooseTimelapseCamera(
  list: readonly WebcamEntry[],
  cfg: CameraConfig,
  moonrakerUrl: string,
  main: ChosenCamera | null,
): { camera: ChosenCamera | null; fallback?: string } {
  if (!cfg.enabled || !cfg.timelapse_webcam) return { camera: main };
  const cam = list.find((w) => w.name === cfg.timelapse_webcam);
  if (!cam) return { camera: main, fallback: `no webcam named '${cfg.timelapse_webcam}' in Moonraker` };
  const snapshotUrl = absoluteUrl(cam.snapshot_url, moonrakerUrl, undefined, cfg.web_base_url);
  if (!snapshotUrl) return { camera: main, fallback: `webcam '${cam.name}' has no usable snapshot URL` };
  return {
    camera: {
      name: cam.name,
      snapshotUrl,
      streamUrl: absoluteUrl(cam.stream_url, moonrakerUrl, undefined, cfg.web_base_url),
      orientation: { flipHorizontal: cam.flip_horizontal ?? false, flipVertical: cam.flip_vertical ?? false, rotation: rotationOf(cam.rotation) },
    },
  };
}
