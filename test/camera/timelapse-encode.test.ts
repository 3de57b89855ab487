import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import jpeg from 'jpeg-js';
import { FfmpegError, ffprobeJson, probeFfmpeg, runFfmpeg, type FfprobeStream } from '../../camera/ffmpeg.js';
import { bareTimelapseArgs, encodeTimelapse, planTimelapse } from '../../camera/timelapse-encode.js';
import type { Orientation } from '../../camera/orientation.js';

const NONE: Orientation = { flipHorizontal: false, flipVertical: false, rotation: 0 };
const Q = ['-hide_banner', '-loglevel', 'error', '-nostdin'];
let root: string;
let dir45: string; // 45 frames, 161x121 (odd on purpose)
let dir1200: string; // 1200 frames, 160x120 test pattern; #600 green 320x200, #1200 red

async function frames(dirName: string, count: number, size: string): Promise<string> {
  const dir = join(root, dirName);
  await mkdir(dir);
  await runFfmpeg([...Q, '-f', 'lavfi', '-i', `testsrc=s=${size}:r=30`, '-frames:v', String(count), '-q:v', '5', join(dir, 'frame-%06d.jpg')], { timeoutMs: 120_000 });
  return dir;
}

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'pc-timelapse-'));
  dir45 = await frames('f45', 45, '161x121');
  dir1200 = await frames('f1200', 1200, '160x120');
  const red = await runFfmpeg([...Q, '-f', 'lavfi', '-i', 'color=c=red:s=160x120', '-frames:v', '1', '-q:v', '2', '-f', 'mjpeg', 'pipe:1'], { timeoutMs: 20_000 });
  await writeFile(join(dir1200, 'frame-001200.jpg'), red);
  // A frame of another size and pixel format in the middle (the camera restarted).
  const green = await runFfmpeg([...Q, '-f', 'lavfi', '-i', 'color=c=green:s=320x200', '-frames:v', '1', '-q:v', '2', '-f', 'mjpeg', 'pipe:1'], { timeoutMs: 20_000 });
  await writeFile(join(dir1200, 'frame-000600.jpg'), green);
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

/** Top-level MP4 box types in file order. */
function topLevelBoxes(buf: Buffer): string[] {
  const types: string[] = [];
  let at = 0;
  while (at + 8 <= buf.length) {
    let size = buf.readUInt32BE(at);
    const type = buf.toString('latin1', at + 4, at + 8);
    if (size === 1) size = Number(buf.readBigUInt64BE(at + 8));
    else if (size === 0) size = buf.length - at;
    if (size < 8) throw new Error(`bad box size ${size} at ${at}`);
    types.push(type);
    at += size;
  }
  return types;
}

async function video(file: string): Promise<{ v: FfprobeStream; duration: number; boxes: string[] }> {
  const probe = await ffprobeJson(file);
  const v = probe.streams.find((s) => s.codec_type === 'video');
  assert.ok(v, 'has a video stream');
  return { v, duration: Number(probe.format.duration), boxes: topLevelBoxes(await readFile(file)) };
}

function assertPlayable(r: { v: FfprobeStream; duration: number; boxes: string[] }): void {
  assert.equal(r.v.codec_name, 'h264');
  assert.equal(r.v.pix_fmt, 'yuv420p');
  assert.equal(r.v.width! % 2, 0);
  assert.equal(r.v.height! % 2, 0);
  assert.ok(r.duration > 0 && r.duration <= 30.5, `duration ${r.duration}`);
  assert.ok(r.boxes.includes('moov') && r.boxes.includes('mdat'), r.boxes.join(','));
  assert.ok(r.boxes.indexOf('moov') < r.boxes.indexOf('mdat'), `faststart: ${r.boxes.join(',')}`);
}

test('planTimelapse: every frame up to 30 fps, then 900 frames at 30 fps', () => {
  assert.deepEqual(planTimelapse(1), { fps: 1, usedFrames: 1, seconds: 1, dropsFrames: false });
  assert.deepEqual(planTimelapse(30), { fps: 1, usedFrames: 30, seconds: 30, dropsFrames: false });
  assert.deepEqual(planTimelapse(31), { fps: 2, usedFrames: 31, seconds: 15.5, dropsFrames: false });
  assert.deepEqual(planTimelapse(45), { fps: 2, usedFrames: 45, seconds: 22.5, dropsFrames: false });
  assert.deepEqual(planTimelapse(900), { fps: 30, usedFrames: 900, seconds: 30, dropsFrames: false });
  assert.deepEqual(planTimelapse(901), { fps: 30, usedFrames: 900, seconds: 30, dropsFrames: true });
  assert.deepEqual(planTimelapse(100_000), { fps: 30, usedFrames: 900, seconds: 30, dropsFrames: true });
  assert.deepEqual(planTimelapse(120, 60), { fps: 2, usedFrames: 120, seconds: 60, dropsFrames: false });
  assert.throws(() => planTimelapse(0), RangeError);
  assert.throws(() => planTimelapse(2.5), RangeError);
});

test('45 frames: 2 fps, 22.5 s, H.264 yuv420p, even size, moov first', async () => {
  const output = join(root, 'tl45.mp4');
  const res = await encodeTimelapse({ framesDir: dir45, frameCount: 45, output, orientation: NONE, maxSeconds: 30, timeoutMs: 120_000 });
  assert.deepEqual(res, { fps: 2, seconds: 22.5, usedFrames: 45 });
  const r = await video(output);
  assertPlayable(r);
  assert.deepEqual([r.v.width, r.v.height], [160, 120]);
  assert.equal(r.v.r_frame_rate, '2/1');
  assert.equal(r.v.nb_frames, '45');
  assert.ok(Math.abs(r.duration - 22.5) < 0.1, `duration ${r.duration}`);
  assert.deepEqual((await readdir(root)).filter((f) => f.endsWith('.part')), [], 'no partial file left');
});

test('rotated 90°: width and height swap', async () => {
  const output = join(root, 'tl45-rot.mp4');
  await encodeTimelapse({ framesDir: dir45, frameCount: 45, output, orientation: { ...NONE, rotation: 90 }, maxSeconds: 30, timeoutMs: 120_000 });
  const r = await video(output);
  assertPlayable(r);
  assert.deepEqual([r.v.width, r.v.height], [120, 160]);
});

test('1200 frames: 30 fps, exactly 900 frames, 30 s, last frame kept, odd frame scaled in', async () => {
  const output = join(root, 'tl1200.mp4');
  const res = await encodeTimelapse({ framesDir: dir1200, frameCount: 1200, output, orientation: NONE, maxSeconds: 30, timeoutMs: 300_000 });
  assert.deepEqual(res, { fps: 30, seconds: 30, usedFrames: 900 });
  const r = await video(output);
  assertPlayable(r);
  assert.deepEqual([r.v.width, r.v.height], [160, 120]);
  assert.equal(r.v.r_frame_rate, '30/1');
  assert.equal(r.v.nb_frames, '900');
  assert.ok(r.duration >= 29.9, `duration ${r.duration}`);
  // The print's last frame (solid red) is the video's last frame.
  const grab = (n: number): Promise<Buffer> =>
    runFfmpeg([...Q, '-i', output, '-vf', `select=eq(n\\,${n})`, '-frames:v', '1', '-f', 'mjpeg', 'pipe:1'], { timeoutMs: 60_000 });
  const rgbAt = (img: Buffer): number[] => {
    const d = jpeg.decode(img, { useTArray: true, formatAsRGBA: true });
    const i = (60 * d.width + 80) * 4;
    return [d.data[i]!, d.data[i + 1]!, d.data[i + 2]!];
  };
  // Source frame #600 (index 599) is kept as video frame floor(600*900/1200)-1 = 449,
  // scaled to the video's size.
  const [r449, g449, b449] = rgbAt(await grab(449));
  assert.ok(g449! > 90 && r449! < 80 && b449! < 80, `frame 449 ${[r449, g449, b449]}`);
  const [r899, g899, b899] = rgbAt(await grab(899));
  assert.ok(r899! > 180 && g899! < 80 && b899! < 80, `last frame ${[r899, g899, b899]}`);
  const [r898, g898, b898] = rgbAt(await grab(898));
  assert.ok(!(r898! > 180 && g898! < 80 && b898! < 80), 'the frame before it is a test-pattern frame');
});

test('bareTimelapseArgs: plain ffmpeg with those arguments makes the same video', async () => {
  const output = join(root, 'bare.mp4');
  const args = bareTimelapseArgs({ framesDir: dir1200, frameCount: 1200, output, orientation: { ...NONE, flipHorizontal: true, rotation: 270 }, timeoutMs: 1 });
  assert.equal(args[args.length - 1], output);
  await runFfmpeg(args, { timeoutMs: 300_000 });
  const r = await video(output);
  assertPlayable(r);
  assert.deepEqual([r.v.width, r.v.height, r.v.r_frame_rate, r.v.nb_frames], [120, 160, '30/1', '900']);
});

test('a failed encode leaves no file behind', async () => {
  const empty = join(root, 'empty');
  await mkdir(empty);
  const output = join(root, 'fail.mp4');
  await assert.rejects(
    encodeTimelapse({ framesDir: empty, frameCount: 10, output, orientation: NONE, timeoutMs: 60_000 }),
    (e: unknown) => e instanceof FfmpegError && e.kind === 'exit' && e.message.length > 0,
  );
  const left = (await readdir(root)).filter((f) => f.startsWith('fail.mp4'));
  assert.deepEqual(left, []);
});

test('probeFfmpeg: version and libx264 here, a reason when ffmpeg is missing', async () => {
  const ok = await probeFfmpeg();
  assert.ok(ok.ok, JSON.stringify(ok));
  assert.ok(ok.ok && ok.version.length > 0 && ok.libx264);
  const missing = await probeFfmpeg({ ffmpegPath: '/nonexistent/ffmpeg' });
  assert.equal(missing.ok, false);
  assert.ok(!missing.ok && /not found at '\/nonexistent\/ffmpeg'.*POLARCLOUD_FFMPEG/.test(missing.reason), JSON.stringify(missing));
});
