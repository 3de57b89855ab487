import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ffmpegFilterFor,
  isIdentity,
  normalizeRotation,
  swapsAxes,
  transformImgFor,
  type Orientation,
  type Rotation,
} from '../../camera/orientation.js';

// Independent model: a labelled 2x3 grid (rows of cells), moved around by plain array code.
type Grid = string[][];
const GRID: Grid = [
  ['a', 'b', 'c'],
  ['d', 'e', 'f'],
];
const flipH = (g: Grid): Grid => g.map((row) => [...row].reverse());
const flipV = (g: Grid): Grid => [...g].reverse();
// 90° clockwise: the left column, read bottom-up, becomes the top row.
const rotCw = (g: Grid): Grid => g[0]!.map((_, c) => g.map((row) => row[c]!).reverse());
// 90° counter-clockwise: the right column, read top-down, becomes the top row.
const rotCcw = (g: Grid): Grid => g[0]!.map((_, c) => g.map((row) => row[row.length - 1 - c]!));
const same = (a: Grid, b: Grid): boolean => JSON.stringify(a) === JSON.stringify(b);

// What Mainsail and Fluidd display: CSS `scaleX(-1) scaleY(-1) rotate(Rdeg)`, whose
// rightmost function acts on the pixels first: rotate clockwise, then mirror.
function moonraker(g: Grid, o: Orientation): Grid {
  let out = g;
  for (let i = 0; i < o.rotation / 90; i++) out = rotCw(out);
  if (o.flipHorizontal) out = flipH(out);
  if (o.flipVertical) out = flipV(out);
  return out;
}

// What a Polar viewer does: bit 1 top<->bottom, bit 2 left<->right, then bit 4 = 90° ccw.
function polar(g: Grid, bits: number): Grid {
  let out = g;
  if (bits & 1) out = flipV(out);
  if (bits & 2) out = flipH(out);
  if (bits & 4) out = rotCcw(out);
  return out;
}

const ALL: Orientation[] = [];
for (const rotation of [0, 90, 180, 270] as Rotation[]) {
  for (const flipHorizontal of [false, true]) {
    for (const flipVertical of [false, true]) ALL.push({ flipHorizontal, flipVertical, rotation });
  }
}
const label = (o: Orientation): string => `rot ${o.rotation}${o.flipHorizontal ? ' +flipH' : ''}${o.flipVertical ? ' +flipV' : ''}`;

test('grid model sanity: the 8 Polar values give 8 different pictures', () => {
  const pictures = new Set([0, 1, 2, 3, 4, 5, 6, 7].map((b) => JSON.stringify(polar(GRID, b))));
  assert.equal(pictures.size, 8);
  assert.deepEqual(rotCw(GRID), [['d', 'a'], ['e', 'b'], ['f', 'c']]);
  assert.deepEqual(rotCcw(GRID), [['c', 'f'], ['b', 'e'], ['a', 'd']]);
});

for (const o of ALL) {
  test(`transformImgFor matches the grid model: ${label(o)}`, () => {
    const want = moonraker(GRID, o);
    const matching = [0, 1, 2, 3, 4, 5, 6, 7].filter((b) => same(polar(GRID, b), want));
    assert.equal(matching.length, 1);
    assert.equal(transformImgFor(o), matching[0]);
    // The upright picture is taller than wide exactly when the axes swap.
    assert.equal(swapsAxes(o), want.length === 3);
  });
}

test('literal values from the Polar protocol', () => {
  const r = (rotation: Rotation, flipHorizontal = false, flipVertical = false): Orientation => ({ flipHorizontal, flipVertical, rotation });
  assert.equal(transformImgFor(r(0)), 0);
  assert.equal(transformImgFor(r(180)), 3);
  assert.equal(transformImgFor(r(90)), 7); // 180° (both reflections) + 90° ccw = 90° cw
  assert.equal(transformImgFor(r(270)), 4);
  assert.equal(transformImgFor(r(0, false, true)), 1);
  assert.equal(transformImgFor(r(0, true, false)), 2);
  assert.equal(transformImgFor(r(0, true, true)), 3);
  // Order-sensitive: mirror after the clockwise turn (as the web UIs show it) is a
  // main-diagonal reflection = left<->right then 90° ccw.
  assert.equal(transformImgFor(r(90, true, false)), 6);
  assert.equal(transformImgFor(r(90, false, true)), 5);
});

test('the CSS reading of the order: matrices multiplied left to right, applied to points', () => {
  // Independent check that "rotate first, then mirror" is what the CSS text means:
  // CSS rotate(θ) in y-down screen coordinates is [[cos, -sin], [sin, cos]].
  type M = [number, number, number, number];
  const mul = (a: M, b: M): M => [a[0] * b[0] + a[1] * b[2], a[0] * b[1] + a[1] * b[3], a[2] * b[0] + a[3] * b[2], a[2] * b[1] + a[3] * b[3]];
  const rotate = (deg: number): M => {
    const c = Math.round(Math.cos((deg * Math.PI) / 180));
    const s = Math.round(Math.sin((deg * Math.PI) / 180));
    return [c, -s, s, c];
  };
  for (const o of ALL) {
    const list: M[] = [];
    if (o.flipHorizontal) list.push([-1, 0, 0, 1]);
    if (o.flipVertical) list.push([1, 0, 0, -1]);
    list.push(rotate(o.rotation));
    const m = list.reduce(mul, [1, 0, 0, 1] as M);
    // Cell 'a' (top-left of a 3 wide, 2 high grid) has centred coordinates (-1, -0.5).
    const [x, y] = [m[0] * -1 + m[1] * -0.5, m[2] * -1 + m[3] * -0.5];
    const g = moonraker(GRID, o);
    const [w, h] = [g[0]!.length, g.length];
    const row = y + (h - 1) / 2;
    const col = x + (w - 1) / 2;
    assert.equal(g[row]?.[col], 'a', label(o));
  }
});

test('isIdentity: no change, and 180° with both flips (which cancel)', () => {
  const identities = ALL.filter(isIdentity).map(label);
  assert.deepEqual(identities, ['rot 0', 'rot 180 +flipH +flipV']);
  for (const o of ALL) assert.equal(ffmpegFilterFor(o) === '', isIdentity(o), label(o));
});

test('ffmpegFilterFor: one filter per orientation, two flips for 180°', () => {
  const r = (rotation: Rotation, flipHorizontal = false, flipVertical = false): Orientation => ({ flipHorizontal, flipVertical, rotation });
  assert.equal(ffmpegFilterFor(r(0, true)), 'hflip');
  assert.equal(ffmpegFilterFor(r(0, false, true)), 'vflip');
  assert.equal(ffmpegFilterFor(r(90)), 'transpose=1');
  assert.equal(ffmpegFilterFor(r(270)), 'transpose=2');
  assert.equal(ffmpegFilterFor(r(180)), 'hflip,vflip');
  assert.equal(ffmpegFilterFor(r(90, true)), 'transpose=0');
  assert.equal(ffmpegFilterFor(r(90, false, true)), 'transpose=3');
});

test('normalizeRotation accepts any multiple of 90 and refuses the rest', () => {
  assert.equal(normalizeRotation(-90), 270);
  assert.equal(normalizeRotation(450), 90);
  assert.equal(normalizeRotation(0), 0);
  assert.throws(() => normalizeRotation(45), /multiple of 90/);
  assert.throws(() => normalizeRotation(Number.NaN), /multiple of 90/);
  assert.throws(() => transformImgFor({ flipHorizontal: false, flipVertical: false, rotation: 45 as Rotation }), RangeError);
});
