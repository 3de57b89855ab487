// A webcam snapshot made upright and fitted under an upload size limit.
// Order of preference: the input untouched (identity orientation and it fits),
// then re-encoded at the best JPEG quality predicted to fit, then scaled down;
// never truncated. Usually one ffmpeg run (stdin -> stdout) per image.
import { FfmpegError, runFfmpeg } from './ffmpeg.js';
import { defaultFitMemory, FitMemory, guessAlpha, predictBytes, sourceQscale, type CurvePoint } from './fit-predict.js';
import { ffmpegFilterFor, isIdentity, swapsAxes, type Orientation } from './orientation.js';

export class NotJpegError extends Error {
  constructor(why: string) {
    super(`not a JPEG image: ${why}`);
    this.name = 'NotJpegError';
  }
}

export class SnapshotTooLargeError extends Error {
  constructor(readonly maxBytes: number, readonly smallestBytes: number) {
    super(`snapshot cannot be made smaller than ${maxBytes} bytes (smallest attempt: ${smallestBytes} bytes)`);
    this.name = 'SnapshotTooLargeError';
  }
}

export interface JpegSize {
  width: number;
  height: number;
}

// SOFn markers carry the frame size; C4 (DHT), C8 (JPG) and CC (DAC) share the range but are not frames.
function isStartOfFrame(marker: number): boolean {
  return marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
}

/** Width and height from the JPEG's frame header (SOFn). Throws NotJpegError for anything else. */
export function jpegSize(buf: Buffer): JpegSize {
  if (buf.length < 4 || buf[0] !== 0xff || buf[1] !== 0xd8) throw new NotJpegError('no start-of-image marker (FF D8)');
  let i = 2;
  while (i < buf.length) {
    if (buf[i] !== 0xff) throw new NotJpegError(`no marker at byte ${i}`);
    while (i < buf.length && buf[i] === 0xff) i++; // fill bytes
    if (i >= buf.length) break;
    const marker = buf[i++]!;
    // Markers without a length field.
    if (marker === 0xd8 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) continue;
    if (marker === 0xd9 || marker === 0xda) throw new NotJpegError(`no frame header before the ${marker === 0xda ? 'scan data' : 'end of image'}`);
    if (i + 2 > buf.length) break;
    const length = buf.readUInt16BE(i);
    if (length < 2 || i + length > buf.length) throw new NotJpegError(`segment FF ${marker.toString(16).toUpperCase()} at byte ${i - 2} runs past the end`);
    if (isStartOfFrame(marker)) {
      if (length < 8) throw new NotJpegError('frame header too short');
      const height = buf.readUInt16BE(i + 3);
      const width = buf.readUInt16BE(i + 5);
      if (width === 0 || height === 0) throw new NotJpegError(`frame size ${width}x${height}`);
      return { width, height };
    }
    i += length;
  }
  throw new NotJpegError('data ends before the frame header');
}

export interface SnapshotOptions {
  orientation: Orientation;
  maxBytes: number;
  /** Budget for all ffmpeg runs together. */
  timeoutMs: number;
  signal?: AbortSignal;
  ffmpegPath?: string;
  /** What earlier images of the same camera taught (see fit-predict.ts); default: one per process. */
  memory?: FitMemory;
}

export interface PreparedSnapshot {
  jpeg: Buffer;
  width: number;
  height: number;
  /** ffmpeg mjpeg qscale used (2 best .. 31 worst); null when the input was returned as is. */
  quality: number | null;
  scaled: boolean;
  reencoded: boolean;
  /** ffmpeg runs it took (absent when the input was returned as is). */
  encodes?: number;
}

/** qscale steps tried at full size, best first. */
export const QUALITY_STEPS: readonly number[] = [2, 4, 6, 8, 10, 12, 14, 16, 18, 20];
/** qscale used once the image has to be scaled down. */
export const SCALED_QUALITY = 8;
/** Each downscale is at least this factor (per side). */
export const SCALE_STEP = 0.75;
/** Never scale the shorter side below this. */
export const MIN_SIDE = 16;
/** A step whose size is only predicted is tried when the prediction is this far under the limit. */
export const PREDICTION_MARGIN = 0.97;
/** Like PREDICTION_MARGIN, for a downscale predicted from the camera's last one. */
export const SCALED_MARGIN = 0.9;
/** Full-size encodes per image at most (the first image of a camera; later ones take one). */
export const MAX_FULL_SIZE_ENCODES = 4;

const even = (n: number): number => Math.max(2, Math.floor(n / 2) * 2);

/**
 * Upright, under maxBytes, at the best quality step predicted to fit (see the
 * file header and fit-predict.ts). Every output is measured before it is used:
 * a prediction that was wrong costs another encode, never an oversized upload.
 */
export async function prepareSnapshot(input: Buffer, o: SnapshotOptions): Promise<PreparedSnapshot> {
  if (!Number.isInteger(o.maxBytes) || o.maxBytes <= 0) throw new RangeError(`maxBytes must be a positive integer, got ${o.maxBytes}`);
  const source = jpegSize(input);
  if (isIdentity(o.orientation) && input.length <= o.maxBytes) {
    return { jpeg: input, ...source, quality: null, scaled: false, reencoded: false };
  }

  const deadline = performance.now() + o.timeoutMs; // monotonic
  const orient = ffmpegFilterFor(o.orientation);
  const upright = swapsAxes(o.orientation) ? { width: source.height, height: source.width } : source;
  let encodes = 0;

  const encode = async (quality: number, size?: JpegSize): Promise<Buffer> => {
    const left = deadline - performance.now();
    if (left <= 0) throw new FfmpegError(`snapshot processing timed out after ${o.timeoutMs} ms`, 'timeout');
    const filters = [orient, size ? `scale=${size.width}:${size.height}:flags=area` : ''].filter(Boolean).join(',');
    const args = ['-hide_banner', '-loglevel', 'error', '-nostdin', '-f', 'mjpeg', '-i', 'pipe:0', '-frames:v', '1'];
    if (filters) args.push('-vf', filters);
    args.push('-q:v', String(quality), '-f', 'mjpeg', 'pipe:1');
    encodes++;
    const out = await runFfmpeg(args, {
      input,
      timeoutMs: left,
      signal: o.signal,
      ffmpegPath: o.ffmpegPath,
      // One JPEG frame stays below its raw RGB size; more means a runaway stream.
      maxOutputBytes: source.width * source.height * 4 + (1 << 20),
    });
    try {
      jpegSize(out);
    } catch (e) {
      throw new FfmpegError(`ffmpeg produced no usable JPEG (${out.length} bytes): ${(e as Error).message}`, 'output');
    }
    return out;
  };
  const result = (jpeg: Buffer, quality: number, scaled: boolean): PreparedSnapshot => ({
    jpeg, ...jpegSize(jpeg), quality, scaled, reencoded: true, encodes,
  });

  // Full size: try the best step predicted to fit; every encode becomes a measured
  // point, so a miss re-predicts from real sizes, and a fit with a better step
  // predicted to fit too moves up to it (bounded by MAX_FULL_SIZE_ENCODES).
  const memory = o.memory ?? defaultFitMemory;
  const key = FitMemory.key(source.width, source.height, orient, o.maxBytes);
  const previous = memory.get(key);
  const sourceQ = sourceQscale(input) ?? QUALITY_STEPS[0]!;
  const alpha = guessAlpha(input.length, source.width * source.height, sourceQ);
  const remembered = previous ? FitMemory.pointsFrom(previous, input.length) : [];
  const prior: CurvePoint[] = remembered.length > 0 ? remembered : [{ q: sourceQ, bytes: input.length }];
  const measured = new Map<number, Buffer>();
  const points = (): CurvePoint[] => [
    ...[...measured].map(([q, jpeg]) => ({ q, bytes: jpeg.length })),
    ...prior.filter((p) => !measured.has(p.q)),
  ];
  const remember = (scaled?: { factor: number; bytes: number }): void => {
    const steps = new Map(previous?.steps ?? []);
    for (const [q, jpeg] of measured) steps.set(q, jpeg.length / input.length);
    memory.set(key, { steps, scaled: scaled ? { factor: scaled.factor, ratio: scaled.bytes / input.length } : previous?.scaled });
  };
  const worstStep = QUALITY_STEPS[QUALITY_STEPS.length - 1]!;
  let smallest = Infinity;
  while (encodes < MAX_FULL_SIZE_ENCODES) {
    const known = points();
    let pick: number | undefined;
    for (const q of QUALITY_STEPS) {
      const done = measured.get(q);
      if (done ? done.length <= o.maxBytes : predictBytes(known, q, alpha) <= o.maxBytes * PREDICTION_MARGIN) {
        pick = q;
        break;
      }
    }
    // Nothing predicted to fit: still measure the worst step once (its size is only
    // modelled, not known from this camera) unless even the model says it is hopeless.
    const worstKnown = known.some((p) => p.q === worstStep && (measured.has(worstStep) || remembered.length > 0));
    if (pick === undefined && !worstKnown && predictBytes(known, worstStep, alpha) <= 3 * o.maxBytes) pick = worstStep;
    if (pick === undefined) break;
    const done = measured.get(pick);
    if (done) {
      remember();
      return result(done, pick, false);
    }
    const jpeg = await encode(pick);
    measured.set(pick, jpeg);
    smallest = Math.min(smallest, jpeg.length);
  }
  const bestFit = QUALITY_STEPS.find((q) => (measured.get(q)?.length ?? Infinity) <= o.maxBytes);
  if (bestFit !== undefined) {
    remember();
    return result(measured.get(bestFit)!, bestFit, false);
  }

  // Scaled: shrink each side until it fits, starting from the factor the last
  // image of this camera needed, else from the pixel count (bytes roughly follow it).
  const sizeAt = (f: number): JpegSize => ({ width: even(upright.width * f), height: even(upright.height * f) });
  const seeded = previous?.scaled;
  let factor = 1;
  let failed = 1; // largest factor known not to fit
  let lastBytes = predictBytes(points(), SCALED_QUALITY, alpha);
  let fit: { jpeg: Buffer; factor: number };
  for (let first = true; ; first = false) {
    // Seeded: aim a little lower than at full size, bytes follow the pixel count only roughly.
    if (first && seeded) factor = Math.min(1, seeded.factor * Math.sqrt((o.maxBytes * SCALED_MARGIN) / (seeded.ratio * input.length)));
    else factor *= Math.min(seeded ? 0.95 : SCALE_STEP, Math.sqrt(o.maxBytes / lastBytes) * 0.95);
    const size = sizeAt(factor);
    if (Math.min(size.width, size.height) < MIN_SIDE) throw new SnapshotTooLargeError(o.maxBytes, Number.isFinite(smallest) ? smallest : Math.round(lastBytes));
    const jpeg = await encode(SCALED_QUALITY, size);
    smallest = Math.min(smallest, jpeg.length);
    if (jpeg.length <= o.maxBytes) {
      fit = { jpeg, factor };
      break;
    }
    failed = factor;
    lastBytes = jpeg.length;
  }
  // Downscaling smooths noise, so a big jump can land far under the limit: one try
  // back up towards the limit, between the fit and the last size that failed.
  if (fit.jpeg.length < o.maxBytes * 0.75) {
    const up = Math.min(fit.factor * Math.sqrt(o.maxBytes / fit.jpeg.length) * 0.95, (fit.factor + failed) / 2);
    const size = sizeAt(up);
    if (size.width > sizeAt(fit.factor).width) {
      const jpeg = await encode(SCALED_QUALITY, size);
      if (jpeg.length <= o.maxBytes) fit = { jpeg, factor: up };
    }
  }
  remember({ factor: fit.factor, bytes: fit.jpeg.length });
  return result(fit.jpeg, SCALED_QUALITY, true);
}
