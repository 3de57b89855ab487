// Timelapse frames (JPEG files) -> an upright H.264 MP4 of at most maxSeconds.
//
// Frame rate: fps = max(1, ceil(frameCount / maxSeconds)), so every frame is used
// and the video lasts frameCount / fps <= maxSeconds (45 frames -> 2 fps, 22.5 s).
// When that would exceed maxFps (30), the video runs at maxFps and keeps exactly
// maxFps * maxSeconds frames (900) spread evenly over the print: frame n is kept when
// floor((n+1)*K/N) > floor(n*K/N), which keeps exactly K of N frames, evenly
// spaced, the last one (the finished part) always included; the kept frames are
// retimed to 1/maxFps apart. That fills the full 30 s instead of the 15-30 s an
// integer "every Nth frame" step would give.
//
// Output: libx264, yuv420p (players and browsers need it), even width and height
// (yuv420p needs them) fixed by the first frame (later frames of another size are
// scaled to it), moov atom first (+faststart) so browsers start playing before the
// download ends. Written to `<output>.part` and renamed when complete,
// so a failed or killed encode never leaves a half file at `output`.
import { rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { runFfmpeg } from './ffmpeg.js';
import { ffmpegFilterFor, type Orientation } from './orientation.js';

export interface TimelapseOptions {
  framesDir: string;
  /** printf-style file name of the frames in framesDir (ffmpeg image2). */
  pattern?: string;
  /** Number of the first frame; without it ffmpeg looks for 0..4. */
  startNumber?: number;
  frameCount: number;
  output: string;
  orientation: Orientation;
  maxSeconds?: number;
  maxFps?: number;
  timeoutMs: number;
  signal?: AbortSignal;
  ffmpegPath?: string;
  /** x264 preset; `veryfast` keeps a Raspberry Pi's encode short at a modest size cost. */
  preset?: string;
  crf?: number;
  /** Encoder threads (leave a core for Klipper on small hosts); ffmpeg's default when unset. */
  threads?: number;
}

export interface TimelapsePlan {
  fps: number;
  /** Frames that end up in the video. */
  usedFrames: number;
  seconds: number;
  /** True when frames are dropped (more than maxFps * maxSeconds of them). */
  dropsFrames: boolean;
}

export interface TimelapseResult {
  fps: number;
  seconds: number;
  usedFrames: number;
}

export const DEFAULT_PATTERN = 'frame-%06d.jpg';

/** Frame rate and frame selection for frameCount frames (see the file header). */
export function planTimelapse(frameCount: number, maxSeconds = 30, maxFps = 30): TimelapsePlan {
  if (!Number.isInteger(frameCount) || frameCount < 1) throw new RangeError(`frameCount must be a positive integer, got ${frameCount}`);
  if (!(maxSeconds > 0) || !Number.isInteger(maxFps) || maxFps < 1) throw new RangeError('maxSeconds and maxFps must be positive');
  const fps = Math.max(1, Math.ceil(frameCount / maxSeconds));
  if (fps <= maxFps) return { fps, usedFrames: frameCount, seconds: frameCount / fps, dropsFrames: false };
  const usedFrames = Math.floor(maxFps * maxSeconds);
  return { fps: maxFps, usedFrames, seconds: usedFrames / maxFps, dropsFrames: true };
}

function filterChain(o: TimelapseOptions, plan: TimelapsePlan): string {
  const filters: string[] = [];
  if (plan.dropsFrames) {
    const n = o.frameCount;
    const k = plan.usedFrames;
    // Quoted so the commas inside the expression do not split the filter chain.
    filters.push(`select='gt(floor((n+1)*${k}/${n}),floor(n*${k}/${n}))'`, `setpts=N/(${plan.fps}*TB)`);
  }
  // Scale before turning: with -reinit_filter 0 (see buildArgs) scale keeps its first
  // output size when a later frame differs, so everything after it sees one size.
  filters.push('scale=trunc(iw/2)*2:trunc(ih/2)*2');
  const orient = ffmpegFilterFor(o.orientation);
  if (orient) filters.push(orient);
  return filters.join(',');
}

function buildArgs(o: TimelapseOptions, plan: TimelapsePlan, output: string): string[] {
  if (o.framesDir.includes('%')) throw new Error(`frames directory must not contain '%': ${o.framesDir}`);
  const input = join(o.framesDir, o.pattern ?? DEFAULT_PATTERN);
  const args = ['-hide_banner', '-loglevel', 'error', '-nostdin', '-y', '-f', 'image2'];
  // Dropping: frames enter at maxFps and are retimed after the select.
  args.push('-framerate', String(plan.fps));
  if (o.startNumber !== undefined) args.push('-start_number', String(o.startNumber));
  // A frame whose size or pixel format differs (camera restarted with other settings)
  // would rebuild the filter graph, restarting select's frame counter and setpts's N
  // and changing the size mid-stream, which libx264 refuses. Keep the graph instead.
  args.push('-reinit_filter', '0');
  args.push('-i', input, '-vf', filterChain(o, plan), '-frames:v', String(plan.usedFrames), '-r', String(plan.fps));
  args.push('-c:v', 'libx264', '-preset', o.preset ?? 'veryfast', '-crf', String(o.crf ?? 23));
  if (o.threads !== undefined) args.push('-threads', String(o.threads));
  args.push('-pix_fmt', 'yuv420p', '-movflags', '+faststart', '-an', '-f', 'mp4', output);
  return args;
}

/**
 * The plain ffmpeg arguments (without the program name) that encodeTimelapse runs,
 * writing straight to `output`: for a benchmark that compares against ffmpeg alone.
 */
export function bareTimelapseArgs(o: TimelapseOptions): string[] {
  return buildArgs(o, planTimelapse(o.frameCount, o.maxSeconds, o.maxFps), o.output);
}

export async function encodeTimelapse(o: TimelapseOptions): Promise<TimelapseResult> {
  const plan = planTimelapse(o.frameCount, o.maxSeconds, o.maxFps);
  const partial = `${o.output}.part`;
  try {
    await runFfmpeg(buildArgs(o, plan, partial), { timeoutMs: o.timeoutMs, signal: o.signal, ffmpegPath: o.ffmpegPath });
    await rename(partial, o.output);
  } catch (e) {
    await rm(partial, { force: true });
    throw e;
  }
  return { fps: plan.fps, seconds: plan.seconds, usedFrames: plan.usedFrames };
}
