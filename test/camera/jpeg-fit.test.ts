import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import jpeg from 'jpeg-js';
import { FfmpegError, runFfmpeg } from '../../camera/ffmpeg.js';
import { jpegSize, NotJpegError, prepareSnapshot, SnapshotTooLargeError } from '../../camera/jpeg-fit.js';
import type { Orientation, Rotation } from '../../camera/orientation.js';

const W = 320;
const H = 240;
const BOX = 40; // red square in the camera image's top-left corner
const NONE: Orientation = { flipHorizontal: false, flipVertical: false, rotation: 0 };
const BIG = 10_000_000;

let marked: Buffer; // 320x240 blue, red top-left square
let pattern: Buffer; // 640x480 testsrc2 at q 2 (~29 kB)
let noise: Buffer; // 1920x1080 noise (~1.5 MB)
let dir: string;

const generate = (lavfi: string, extra: string[] = []): Promise<Buffer> =>
  runFfmpeg(['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', lavfi, ...extra, '-frames:v', '1', '-q:v', '2', '-f', 'mjpeg', 'pipe:1'], { timeoutMs: 30_000 });

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pc-jpegfit-'));
  marked = await generate(`color=c=blue:s=${W}x${H}`, ['-vf', `drawbox=x=0:y=0:w=${BOX}:h=${BOX}:color=red@1:t=fill`]);
  pattern = await generate('testsrc2=s=640x480');
  noise = await generate("nullsrc=s=1920x1080,geq=lum='random(1)*255':cb=128:cr=128");
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

function decode(buf: Buffer): { width: number; height: number; rgb: (x: number, y: number) => [number, number, number] } {
  const img = jpeg.decode(buf, { useTArray: true, formatAsRGBA: true });
  return {
    width: img.width,
    height: img.height,
    rgb: (x, y) => {
      const i = (y * img.width + x) * 4;
      return [img.data[i]!, img.data[i + 1]!, img.data[i + 2]!];
    },
  };
}
const isRed = ([r, g, b]: [number, number, number]): boolean => r > 180 && g < 80 && b < 80;
const isBlue = ([r, g, b]: [number, number, number]): boolean => b > 180 && r < 80 && g < 80;

// Independent model of the upright picture, as Mainsail/Fluidd show it (CSS
// `scaleX(-1) scaleY(-1) rotate(R)`: rotate clockwise first, then mirror): where a
// camera pixel lands, and the upright size.
function place(o: Orientation, x: number, y: number): { x: number; y: number; w: number; h: number } {
  let [px, py, w, h] = [x, y, W, H];
  for (let i = 0; i < o.rotation / 90; i++) [px, py, w, h] = [h - 1 - py, px, h, w];
  if (o.flipHorizontal) px = w - 1 - px;
  if (o.flipVertical) py = h - 1 - py;
  return { x: px, y: py, w, h };
}

const ALL: Orientation[] = [];
for (const rotation of [0, 90, 180, 270] as Rotation[]) {
  for (const flipHorizontal of [false, true]) {
    for (const flipVertical of [false, true]) ALL.push({ flipHorizontal, flipVertical, rotation });
  }
}

for (const o of ALL) {
  const name = `rot ${o.rotation}${o.flipHorizontal ? ' +flipH' : ''}${o.flipVertical ? ' +flipV' : ''}`;
  test(`upright on real pixels: ${name}`, async () => {
    const out = await prepareSnapshot(marked, { orientation: o, maxBytes: BIG, timeoutMs: 20_000 });
    const img = decode(out.jpeg);
    const red = place(o, BOX / 2, BOX / 2);
    assert.deepEqual([img.width, img.height], [red.w, red.h], 'upright size');
    assert.deepEqual([out.width, out.height], [red.w, red.h], 'reported size');
    assert.equal(out.scaled, false);
    const inset = BOX / 2;
    const corners = [
      [inset, inset],
      [img.width - 1 - inset, inset],
      [inset, img.height - 1 - inset],
      [img.width - 1 - inset, img.height - 1 - inset],
    ] as const;
    for (const [x, y] of corners) {
      const expectRed = x < img.width / 2 === red.x < red.w / 2 && y < img.height / 2 === red.y < red.h / 2;
      const px = img.rgb(x, y);
      assert.ok(expectRed ? isRed(px) : isBlue(px), `pixel (${x},${y}) = ${px.join(',')}, expected ${expectRed ? 'red' : 'blue'}`);
    }
  });
}

test('identity orientation and input fits: the same Buffer, not re-encoded', async () => {
  const out = await prepareSnapshot(marked, { orientation: NONE, maxBytes: marked.length, timeoutMs: 20_000 });
  assert.equal(out.jpeg, marked);
  assert.deepEqual(out, { jpeg: marked, width: W, height: H, quality: null, scaled: false, reencoded: false });
  // 180° with both flips cancels out too.
  const cancel = await prepareSnapshot(marked, { orientation: { flipHorizontal: true, flipVertical: true, rotation: 180 }, maxBytes: BIG, timeoutMs: 20_000 });
  assert.equal(cancel.jpeg, marked);
});

test('rotated input that fits is re-encoded at the best quality step', async () => {
  const out = await prepareSnapshot(marked, { orientation: { ...NONE, rotation: 90 }, maxBytes: BIG, timeoutMs: 20_000 });
  assert.equal(out.reencoded, true);
  assert.equal(out.quality, 2);
  assert.notEqual(out.jpeg, marked);
});

test('too large at full quality: a lower quality step, full size', async () => {
  const maxBytes = 16_000;
  assert.ok(pattern.length > maxBytes, `fixture is ${pattern.length} bytes`);
  const out = await prepareSnapshot(pattern, { orientation: NONE, maxBytes, timeoutMs: 30_000 });
  assert.ok(out.jpeg.length <= maxBytes, `${out.jpeg.length} bytes`);
  assert.equal(out.scaled, false);
  assert.equal(out.reencoded, true);
  assert.ok(out.quality !== null && out.quality > 2 && out.quality <= 20, `quality ${out.quality}`);
  const img = decode(out.jpeg);
  assert.deepEqual([img.width, img.height, out.width, out.height], [640, 480, 640, 480]);
  // It is the best step that fits: the next better one does not.
  const better = await runFfmpeg(
    ['-hide_banner', '-loglevel', 'error', '-f', 'mjpeg', '-i', 'pipe:0', '-frames:v', '1', '-q:v', String(out.quality! - 2), '-f', 'mjpeg', 'pipe:1'],
    { input: pattern, timeoutMs: 20_000 },
  );
  assert.ok(better.length > maxBytes, `q ${out.quality! - 2} gives ${better.length} bytes`);
});

test('far too large: scaled down, even sides, a valid JPEG under the limit', async () => {
  const maxBytes = 30_000;
  const out = await prepareSnapshot(noise, { orientation: { ...NONE, rotation: 90 }, maxBytes, timeoutMs: 60_000 });
  assert.ok(out.jpeg.length <= maxBytes, `${out.jpeg.length} bytes`);
  assert.equal(out.scaled, true);
  assert.equal(out.reencoded, true);
  const img = decode(out.jpeg);
  assert.deepEqual([img.width, img.height], [out.width, out.height]);
  assert.ok(out.width < 1080 && out.height < 1920, `${out.width}x${out.height}`);
  assert.equal(out.width % 2, 0);
  assert.equal(out.height % 2, 0);
  assert.ok(out.height > out.width, 'still portrait after the 90° turn');
  assert.deepEqual(jpegSize(out.jpeg), { width: out.width, height: out.height });
});

test('a limit no JPEG can meet is refused, never truncated', async () => {
  await assert.rejects(prepareSnapshot(noise, { orientation: NONE, maxBytes: 200, timeoutMs: 60_000 }), SnapshotTooLargeError);
});

test('not a JPEG: a clear error before ffmpeg runs', async () => {
  const png = Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex');
  await assert.rejects(prepareSnapshot(png, { orientation: NONE, maxBytes: BIG, timeoutMs: 1000, ffmpegPath: '/nonexistent/ffmpeg' }), (e: unknown) => {
    assert.ok(e instanceof NotJpegError);
    assert.match(e.message, /not a JPEG image: no start-of-image marker/);
    return true;
  });
  await assert.rejects(prepareSnapshot(Buffer.alloc(0), { orientation: NONE, maxBytes: BIG, timeoutMs: 1000 }), NotJpegError);
  // Cut off before the frame header.
  await assert.rejects(prepareSnapshot(marked.subarray(0, 30), { orientation: NONE, maxBytes: BIG, timeoutMs: 1000 }), /not a JPEG image/);
  // A header-only "JPEG" (SOI then EOI).
  assert.throws(() => jpegSize(Buffer.from([0xff, 0xd8, 0xff, 0xd9])), /no frame header before the end of image/);
});

test('jpegSize reads the frame header', () => {
  assert.deepEqual(jpegSize(marked), { width: W, height: H });
  assert.deepEqual(jpegSize(noise), { width: 1920, height: 1080 });
});

test('ffmpeg that hangs is killed at the timeout', async () => {
  const stub = join(dir, 'hanging-ffmpeg');
  await writeFile(stub, '#!/bin/sh\nexec sleep 30\n');
  await chmod(stub, 0o755);
  const started = Date.now();
  await assert.rejects(prepareSnapshot(marked, { orientation: { ...NONE, rotation: 180 }, maxBytes: BIG, timeoutMs: 300, ffmpegPath: stub }), (e: unknown) => {
    assert.ok(e instanceof FfmpegError);
    assert.equal(e.kind, 'timeout');
    assert.match(e.message, /timed out after/);
    return true;
  });
  assert.ok(Date.now() - started < 10_000, 'did not wait for the hung process');
});

test('real ffmpeg over its time budget fails with a timeout', async () => {
  await assert.rejects(prepareSnapshot(noise, { orientation: { ...NONE, rotation: 90 }, maxBytes: 30_000, timeoutMs: 1 }), (e: unknown) => {
    assert.ok(e instanceof FfmpegError);
    assert.equal(e.kind, 'timeout');
    return true;
  });
});

test('abort signal stops ffmpeg', async () => {
  const stub = join(dir, 'slow-ffmpeg');
  await writeFile(stub, '#!/bin/sh\nexec sleep 30\n');
  await chmod(stub, 0o755);
  const ac = new AbortController();
  setTimeout(() => ac.abort(), 100);
  await assert.rejects(
    prepareSnapshot(marked, { orientation: { ...NONE, rotation: 90 }, maxBytes: BIG, timeoutMs: 20_000, signal: ac.signal, ffmpegPath: stub }),
    (e: unknown) => e instanceof FfmpegError && e.kind === 'aborted',
  );
});

test('missing ffmpeg: a spawn error that names the path', async () => {
  await assert.rejects(
    prepareSnapshot(marked, { orientation: { ...NONE, rotation: 90 }, maxBytes: BIG, timeoutMs: 5000, ffmpegPath: '/nonexistent/ffmpeg' }),
    (e: unknown) => e instanceof FfmpegError && e.kind === 'spawn' && /not found at '\/nonexistent\/ffmpeg'/.test(e.message),
  );
});

test('ffmpeg failing on a corrupt image: an ffmpeg error, not a bogus image', async () => {
  // Passes the header check (SOI + a 320x240 frame header) but holds no image data.
  const broken = Buffer.concat([
    Buffer.from([0xff, 0xd8, 0xff, 0xc0, 0x00, 0x11, 0x08, 0x00, 0xf0, 0x01, 0x40, 0x03, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1]),
    Buffer.alloc(64, 0x41),
  ]);
  assert.deepEqual(jpegSize(broken), { width: 320, height: 240 });
  await assert.rejects(prepareSnapshot(broken, { orientation: { ...NONE, rotation: 90 }, maxBytes: BIG, timeoutMs: 20_000 }), (e: unknown) => {
    assert.ok(e instanceof FfmpegError, String(e));
    assert.ok(e.kind === 'exit' || e.kind === 'output', e.kind);
    return true;
  });
});
