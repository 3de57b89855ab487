// Predicting the JPEG quality step that fits a size limit, so a snapshot costs
// one ffmpeg encode instead of a search (each ffmpeg run costs ~40 ms of CPU to
// start and ~20-40 ms to decode and encode a 720p frame, several times that on a Pi).
//
// Model: JPEG bytes fall as a power of ffmpeg's qscale, bytes(q) ≈ b0 · (q0/q)^α,
// with α from ~0.45 (clean, flat pictures) to ~1.3 (sensor noise at low quality).
// Known points of the curve, best first:
//   1. sizes measured for this very image (an encode that was already run);
//   2. sizes measured for the previous image of the same camera (same frame size,
//      orientation and limit), scaled by the ratio of the two source sizes — a
//      webcam's next frame compresses like its last, so after the first image
//      the prediction is usually exact and one encode suffices;
//   3. the source itself: its byte size at its own quality, read from its
//      quantization table (DQT) in qscale units, with α guessed from its bytes
//      per pixel (detailed, noisy frames are steep).
// Between two points the curve is interpolated log-log; beyond them it is
// extended with the slope of the nearest two (or the guessed α).
// The prediction only chooses what to try: an output is used only when its
// measured size fits, so uploads never exceed the limit.

export interface CurvePoint {
  q: number;
  bytes: number;
}

/** ffmpeg's mjpeg quantization table, mean of the 63 AC entries per qscale unit (measured: 33.0 mean at q 8, 7.95 at q 2, DC fixed at 8). */
const FFMPEG_AC_PER_Q = 4.18;
const MIN_ALPHA = 0.3;
const MAX_ALPHA = 2;

/**
 * Mean of the first (luma) quantization table's AC entries expressed in ffmpeg
 * qscale units, e.g. ~2 for an ffmpeg `-q:v 2` frame; null when the JPEG has no
 * readable DQT before its scan.
 */
export function sourceQscale(buf: Buffer): number | null {
  let i = 2;
  while (i + 4 <= buf.length && buf[i] === 0xff) {
    const marker = buf[i + 1]!;
    if (marker === 0xda || marker === 0xd9) return null;
    if (marker === 0xff || marker === 0xd8 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      i += marker === 0xff ? 1 : 2;
      continue;
    }
    const length = buf.readUInt16BE(i + 2);
    if (length < 2 || i + 2 + length > buf.length) return null;
    if (marker === 0xdb && length >= 3) {
      const precision16 = buf[i + 4]! >> 4 === 1;
      const need = precision16 ? 128 : 64;
      if (length - 3 < need) return null;
      let sum = 0;
      for (let k = 1; k < 64; k++) sum += precision16 ? buf.readUInt16BE(i + 5 + 2 * k) : buf[i + 5 + k]!;
      const q = sum / 63 / FFMPEG_AC_PER_Q;
      return q > 0 ? q : null;
    }
    i += 2 + length;
  }
  return null;
}

/** Guessed α for a source: bytes per pixel at (roughly) qscale 2 say how detailed the picture is. */
export function guessAlpha(sourceBytes: number, pixels: number, sourceQ: number): number {
  const bppAtQ2 = (sourceBytes / pixels) * Math.max(0.5, sourceQ / 2);
  return clampAlpha(0.45 + 0.7 * bppAtQ2);
}

function clampAlpha(a: number): number {
  return Number.isFinite(a) ? Math.min(MAX_ALPHA, Math.max(MIN_ALPHA, a)) : 1;
}

const slope = (a: CurvePoint, b: CurvePoint): number => clampAlpha(Math.log(a.bytes / b.bytes) / Math.log(b.q / a.q));

/**
 * Bytes predicted at qscale q from the known points (any order, distinct q) and
 * the slope to use when only one point is known.
 */
export function predictBytes(points: readonly CurvePoint[], q: number, fallbackAlpha: number): number {
  if (points.length === 0) throw new Error('predictBytes needs at least one point');
  const exact = points.find((p) => p.q === q);
  if (exact) return exact.bytes;
  const sorted = [...points].sort((a, b) => a.q - b.q);
  const below = sorted.filter((p) => p.q < q).pop();
  const above = sorted.find((p) => p.q > q);
  let anchor: CurvePoint;
  let alpha: number;
  if (below && above) {
    anchor = below;
    alpha = slope(below, above);
  } else if (sorted.length >= 2) {
    // Beyond the known range: the slope of the two nearest points.
    const [a, b] = below ? sorted.slice(-2) : sorted.slice(0, 2);
    anchor = below ?? above!;
    alpha = slope(a!, b!);
  } else {
    anchor = sorted[0]!;
    alpha = clampAlpha(fallbackAlpha);
  }
  return anchor.bytes * Math.pow(anchor.q / q, alpha);
}

/** What earlier images of one camera taught, as output bytes per source byte (a webcam's frames vary in size together). */
export interface FitRecord {
  /** Full-size steps tried: qscale -> output bytes / source bytes (the latest measurement of each step). */
  steps: Map<number, number>;
  /** The downscaled result that fitted, if one had to be scaled: factor per side and bytes / source bytes. */
  scaled?: { factor: number; ratio: number };
}

/** Per-process memory of recent cameras' fits, keyed by frame size, orientation and limit. */
export class FitMemory {
  private readonly records = new Map<string, FitRecord>();

  constructor(private readonly capacity = 8) {}

  static key(width: number, height: number, filter: string, maxBytes: number): string {
    return `${width}x${height}|${filter}|${maxBytes}`;
  }

  get(key: string): FitRecord | undefined {
    return this.records.get(key);
  }

  set(key: string, record: FitRecord): void {
    this.records.delete(key);
    this.records.set(key, record);
    while (this.records.size > this.capacity) this.records.delete(this.records.keys().next().value as string);
  }

  /** The remembered sizes, for a source of `sourceBytes`. */
  static pointsFrom(record: FitRecord, sourceBytes: number): CurvePoint[] {
    return [...record.steps].map(([q, ratio]) => ({ q, bytes: ratio * sourceBytes }));
  }
}

/** Shared by every caller that does not bring its own. */
export const defaultFitMemory = new FitMemory();
