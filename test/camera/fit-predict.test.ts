// The quality prediction behind prepareSnapshot: one encode per image once a
// camera's first image is known, outputs always under the limit, upright, and
// no worse than one step below the best quality that fits.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import jpeg from 'jpeg-js';
import { runFfmpeg } from '../../camera/ffmpeg.js';
import { FitMemory, predictBytes, sourceQscale } from '../../camera/fit-predict.js';
import { jpegSize, prepareSnapshot, QUALITY_STEPS } from '../../camera/jpeg-fit.js';
import type { Orientation } from '../../camera/orientation.js';

const Q = ['-hide_banner', '-loglevel', 'error', '-nostdin'];
const ROT90: Orientation = { flipHorizontal: false, flipVertical: false, rotation: 90 };
const NONE: Orientation = { flipHorizontal: false, flipVertical: false, rotation: 0 };

/** Consecutive frames of one noisy 1280x720 webcam: the same scene, fresh sensor noise each time. */
let frames: Buffer[];
/** 640x480 noisy blue, red box in the camera image's top-left corner. */
let boxed: Buffer;

const lavfi = (src: string, vf: string, q: number): Promise<Buffer> =>
  runFfmpeg([...Q, '-f', 'lavfi', '-i', src, '-vf', vf, '-frames:v', '1', '-q:v', String(q), '-f', 'mjpeg', 'pipe:1'], { timeoutMs: 30_000 });

before(async () => {
  frames = [];
  for (let seed = 1; seed <= 4; seed++) frames.push(await lavfi('testsrc2=s=1280x720', `noise=alls=20:allf=t:all_seed=${seed}`, 2));
  boxed = await lavfi('color=c=blue:s=640x480', 'noise=alls=30:allf=t,drawbox=x=0:y=0:w=80:h=80:color=red@1:t=fill', 2);
});

/** The exhaustive answer: the best full-size step whose output fits (what a search over every step finds). */
async function bestStep(input: Buffer, vf: string, maxBytes: number): Promise<number | null> {
  for (const q of QUALITY_STEPS) {
    const out = await runFfmpeg([...Q, '-f', 'mjpeg', '-i', 'pipe:0', '-frames:v', '1', '-vf', vf, '-q:v', String(q), '-f', 'mjpeg', 'pipe:1'], { input, timeoutMs: 30_000 });
    if (out.length <= maxBytes) return q;
  }
  return null;
}

const endsWithEoi = (b: Buffer): boolean => b.length > 2 && b[b.length - 2] === 0xff && b[b.length - 1] === 0xd9;

test('sourceQscale reads the quality of the quantization table in ffmpeg qscale units', async () => {
  for (const q of [2, 5, 10]) {
    const frame = await lavfi('testsrc2=s=320x240', 'null', q);
    const got = sourceQscale(frame);
    assert.ok(got !== null && Math.abs(got - q) / q < 0.1, `q ${q}: read ${got}`);
  }
  // No DQT before the scan (SOI, then SOS): unknown.
  assert.equal(sourceQscale(Buffer.from([0xff, 0xd8, 0xff, 0xda, 0x00, 0x02])), null);
});

test('predictBytes: measured points exact, interpolation between them, the fallback slope beyond one point', () => {
  const pts = [{ q: 2, bytes: 400_000 }, { q: 10, bytes: 100_000 }];
  assert.equal(predictBytes(pts, 10, 1), 100_000);
  const mid = predictBytes(pts, 6, 1);
  assert.ok(mid < 400_000 && mid > 100_000, String(mid));
  // Beyond the last point: the slope of the two, so sizes keep falling.
  assert.ok(predictBytes(pts, 20, 1) < 100_000);
  // One point: bytes ∝ q^-alpha.
  assert.equal(Math.round(predictBytes([{ q: 4, bytes: 80_000 }], 8, 1)), 40_000);
});

for (const maxBytes of [150_000, 76_800]) {
  test(`webcam frames, rotated, maxBytes ${maxBytes}: under the limit, upright, one encode after the first image`, async () => {
    const memory = new FitMemory();
    const best = await bestStep(frames[0]!, 'transpose=1', maxBytes);
    assert.ok(best !== null && best > 2, `fixture: the best step is ${best}`);
    for (const [i, frame] of frames.entries()) {
      const out = await prepareSnapshot(frame, { orientation: ROT90, maxBytes, timeoutMs: 60_000, memory });
      assert.ok(out.jpeg.length <= maxBytes, `frame ${i}: ${out.jpeg.length} bytes`);
      assert.ok(endsWithEoi(out.jpeg), `frame ${i}: a whole JPEG`);
      assert.deepEqual(jpegSize(out.jpeg), { width: 720, height: 1280 }, `frame ${i}: upright, full size`);
      assert.equal(out.scaled, false);
      // At most one step below the exhaustive search's answer.
      assert.ok(out.quality !== null && out.quality <= best + 2, `frame ${i}: q ${out.quality}, best ${best}`);
      if (i === 0) assert.ok(out.encodes! <= 4, `first frame: ${out.encodes} encodes`);
      else assert.equal(out.encodes, 1, `frame ${i}: predicted from the frames before`);
    }
  });
}

test('a limit that needs scaling: under the limit, portrait, one encode once the camera is known', async () => {
  const memory = new FitMemory();
  const maxBytes = 20_000;
  for (const [i, frame] of frames.entries()) {
    const out = await prepareSnapshot(frame, { orientation: ROT90, maxBytes, timeoutMs: 60_000, memory });
    assert.ok(out.jpeg.length <= maxBytes, `frame ${i}: ${out.jpeg.length} bytes`);
    assert.ok(endsWithEoi(out.jpeg));
    assert.equal(out.scaled, true);
    assert.ok(out.height > out.width && out.width < 720, `${out.width}x${out.height}`);
    assert.deepEqual(jpegSize(out.jpeg), { width: out.width, height: out.height });
    if (i > 0) assert.ok(out.encodes! <= 2, `frame ${i}: ${out.encodes} encodes`);
  }
});

test('the predicted encode is upright: a rotated, fitted frame keeps its corner where Mainsail shows it', async () => {
  const maxBytes = 20_000;
  assert.ok(boxed.length > maxBytes, `fixture is ${boxed.length} bytes`);
  const out = await prepareSnapshot(boxed, { orientation: ROT90, maxBytes, timeoutMs: 30_000, memory: new FitMemory() });
  assert.ok(out.jpeg.length <= maxBytes && out.quality !== null && out.quality > 2);
  const img = jpeg.decode(out.jpeg, { useTArray: true, formatAsRGBA: true });
  assert.deepEqual([img.width, img.height], [480, 640]);
  // 90° clockwise: the camera's top-left corner is the upright image's top-right.
  const at = (x: number, y: number): number[] => [...img.data.subarray((y * img.width + x) * 4, (y * img.width + x) * 4 + 3)];
  const [r, g, b] = at(img.width - 40, 40);
  assert.ok(r! > 180 && g! < 90 && b! < 90, `top-right is ${r},${g},${b}`);
  for (const [x, y] of [[40, 40], [40, img.height - 40], [img.width - 40, img.height - 40]] as const) {
    const [r3, , b3] = at(x, y);
    assert.ok(b3! > 150 && r3! < 120, `(${x},${y}) is blue: ${at(x, y).join(',')}`);
  }
});

test('an image that fits and is upright is passed through untouched, memory or not', async () => {
  const memory = new FitMemory();
  const out = await prepareSnapshot(boxed, { orientation: NONE, maxBytes: boxed.length, timeoutMs: 30_000, memory });
  assert.equal(out.jpeg, boxed);
  assert.equal(out.reencoded, false);
  assert.equal(out.encodes, undefined);
});
