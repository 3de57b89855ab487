// Camera orientation: Moonraker's webcam settings -> Polar's transformImg bitmask
// and the ffmpeg filter chain that makes a frame physically upright.
//
// Every orientation is one of the 8 elements of the dihedral group D4, written as
// an integer 2x2 matrix acting on pixel coordinates relative to the image centre,
// x to the right and y DOWN (screen coordinates). Results are found by composing
// these matrices and comparing them, not from a hand-written table.
//
// Moonraker's settings (`flip_horizontal`, `flip_vertical`, `rotation` 0/90/180/270
// clockwise) mean "what a viewer must do to show the camera's image upright".
// Moonraker itself applies nothing; the web UIs define the meaning, and both
// Mainsail (mixins/webcam.ts `generateTransform`) and Fluidd (mixins/camera.ts
// `createTransform`) render them as the CSS transform
//     scaleX(-1) scaleY(-1) rotate(<rotation>deg)
// CSS composes a transform list left to right into one matrix and applies it to
// the element's points, so the RIGHTMOST function acts on the pixels first: the
// image is rotated clockwise by `rotation`, then mirrored in screen axes. Read as
// text that is "flips, then rotation" (flipping the axes the rotation happens in);
// as a pixel mapping it is "rotation, then flips". We match what those UIs show,
// because users tune the settings until that picture looks right. The two readings
// differ only when exactly one flip is combined with 90/270 (they swap 90 and 270);
// `moonrakerMatrix` is the single place that encodes the order.
//
// Polar's transformImg: bit 1 = reflect about the horizontal midline (top<->bottom),
// bit 2 = reflect about the vertical midline (left<->right), bit 4 = rotate 90°
// counter-clockwise, applied after the reflections.

export type Rotation = 0 | 90 | 180 | 270;

export interface Orientation {
  flipHorizontal: boolean;
  flipVertical: boolean;
  rotation: Rotation;
}

/** (x, y) -> (a*x + b*y, c*x + d*y), y pointing down. */
export type Mat = readonly [a: number, b: number, c: number, d: number];

export const IDENTITY: Mat = [1, 0, 0, 1];
/** Left <-> right (ffmpeg `hflip`). */
export const FLIP_H: Mat = [-1, 0, 0, 1];
/** Top <-> bottom (ffmpeg `vflip`). */
export const FLIP_V: Mat = [1, 0, 0, -1];
/** 90° clockwise on screen: the top edge moves to the right (ffmpeg `transpose=1`). */
export const ROT_CW: Mat = [0, -1, 1, 0];
/** 90° counter-clockwise on screen (ffmpeg `transpose=2`). */
export const ROT_CCW: Mat = [0, 1, -1, 0];
/** Swap x and y, main-diagonal reflection (ffmpeg `transpose=0`, "cclock_flip"). */
export const TRANSPOSE: Mat = [0, 1, 1, 0];
/** Anti-diagonal reflection (ffmpeg `transpose=3`, "clock_flip"). */
export const ANTI_TRANSPOSE: Mat = [0, -1, -1, 0];

/** a·b: apply b first, then a. */
export function compose(a: Mat, b: Mat): Mat {
  return [a[0] * b[0] + a[1] * b[2], a[0] * b[1] + a[1] * b[3], a[2] * b[0] + a[3] * b[2], a[2] * b[1] + a[3] * b[3]];
}

/** Apply the transforms in the order given (first element acts on the pixels first). */
export function chain(...steps: Mat[]): Mat {
  return steps.reduce((acc, m) => compose(m, acc), IDENTITY);
}

export function sameMat(a: Mat, b: Mat): boolean {
  return a[0] === b[0] && a[1] === b[1] && a[2] === b[2] && a[3] === b[3];
}

function power(m: Mat, n: number): Mat {
  let out = IDENTITY;
  for (let i = 0; i < n; i++) out = compose(m, out);
  return out;
}

/** Maps any multiple of 90 (negative or ≥ 360 included) to 0/90/180/270; other values throw. */
export function normalizeRotation(deg: number): Rotation {
  if (!Number.isInteger(deg) || deg % 90 !== 0) {
    throw new RangeError(`camera rotation must be a multiple of 90 degrees, got ${deg}`);
  }
  return (((deg % 360) + 360) % 360) as Rotation;
}

/** The pixel mapping Mainsail/Fluidd display for these settings (see the header). */
export function moonrakerMatrix(o: Orientation): Mat {
  const rotate = power(ROT_CW, normalizeRotation(o.rotation) / 90);
  return chain(rotate, o.flipHorizontal ? FLIP_H : IDENTITY, o.flipVertical ? FLIP_V : IDENTITY);
}

/** The pixel mapping a Polar viewer applies for a transformImg value. */
export function polarMatrix(transformImg: number): Mat {
  return chain(
    transformImg & 1 ? FLIP_V : IDENTITY,
    transformImg & 2 ? FLIP_H : IDENTITY,
    transformImg & 4 ? ROT_CCW : IDENTITY,
  );
}

/** Polar's transformImg (0..7) describing the same pixel mapping as Moonraker's settings. */
export function transformImgFor(o: Orientation): number {
  const want = moonrakerMatrix(o);
  for (let bits = 0; bits < 8; bits++) {
    if (sameMat(polarMatrix(bits), want)) return bits;
  }
  // Unreachable: Polar's 8 values cover all of D4.
  throw new Error(`no transformImg for ${JSON.stringify(o)}`);
}

export function isIdentity(o: Orientation): boolean {
  return sameMat(moonrakerMatrix(o), IDENTITY);
}

/** True when the upright image's width is the camera image's height (90°/270° and the diagonal mirrors). */
export function swapsAxes(o: Orientation): boolean {
  return moonrakerMatrix(o)[0] === 0;
}

// ffmpeg filters and their pixel mappings, cheapest first; a 180° turn is two flips
// (both are cheap row/column copies, no transposition).
const FILTER_OPS: ReadonlyArray<readonly [filter: string, mat: Mat]> = [
  ['hflip', FLIP_H],
  ['vflip', FLIP_V],
  ['transpose=1', ROT_CW],
  ['transpose=2', ROT_CCW],
  ['transpose=0', TRANSPOSE],
  ['transpose=3', ANTI_TRANSPOSE],
];

/**
 * The ffmpeg -vf chain that turns the camera's image into the upright one ('' for
 * identity): the shortest chain of FILTER_OPS whose composed matrix equals the
 * Moonraker mapping.
 */
export function ffmpegFilterFor(o: Orientation): string {
  const want = moonrakerMatrix(o);
  if (sameMat(want, IDENTITY)) return '';
  for (const [filter, mat] of FILTER_OPS) if (sameMat(mat, want)) return filter;
  for (const [f1, m1] of FILTER_OPS) {
    for (const [f2, m2] of FILTER_OPS) if (sameMat(chain(m1, m2), want)) return `${f1},${f2}`;
  }
  throw new Error(`no ffmpeg filter for ${JSON.stringify(o)}`);
}
