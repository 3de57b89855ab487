// The one module that starts ffmpeg/ffprobe. No shell, no temp files of its own:
// input on stdin, output on stdout, the tail of stderr kept for the error message.
// The process is killed (SIGKILL) on timeout or abort.
import { spawn } from 'node:child_process';
import { basename, dirname, join } from 'node:path';

export type FfmpegFailure = 'spawn' | 'exit' | 'timeout' | 'aborted' | 'output';

export class FfmpegError extends Error {
  constructor(
    message: string,
    readonly kind: FfmpegFailure,
    /** Last few KB of the program's stderr. */
    readonly stderrTail = '',
    readonly exitCode: number | null = null,
  ) {
    super(message);
    this.name = 'FfmpegError';
  }
}

export interface RunOptions {
  /** Written to the program's stdin, which is then closed. Without it stdin is /dev/null. */
  input?: Buffer;
  timeoutMs: number;
  signal?: AbortSignal;
  /** Overrides POLARCLOUD_FFMPEG and the PATH lookup of `ffmpeg`. */
  ffmpegPath?: string;
  /** Kill the program and fail when stdout grows beyond this. */
  maxOutputBytes?: number;
}

const STDERR_TAIL = 4096;
// setTimeout treats longer delays (and Infinity) as 1 ms.
const MAX_TIMER_MS = 2_147_483_647;

/** The ffmpeg executable: the parameter, else $POLARCLOUD_FFMPEG, else `ffmpeg` on PATH. */
export function resolveFfmpegPath(ffmpegPath?: string): string {
  return ffmpegPath || process.env.POLARCLOUD_FFMPEG || 'ffmpeg';
}

/**
 * The ffprobe executable: the parameter, else $POLARCLOUD_FFPROBE, else `ffprobe`
 * next to an explicitly configured ffmpeg (POLARCLOUD_FFMPEG=/opt/ff/bin/ffmpeg ->
 * /opt/ff/bin/ffprobe), else `ffprobe` on PATH.
 */
export function resolveFfprobePath(ffprobePath?: string): string {
  if (ffprobePath) return ffprobePath;
  if (process.env.POLARCLOUD_FFPROBE) return process.env.POLARCLOUD_FFPROBE;
  const ff = process.env.POLARCLOUD_FFMPEG;
  if (ff && dirname(ff) !== '.') return join(dirname(ff), basename(ff).replace(/ffmpeg/, 'ffprobe'));
  return 'ffprobe';
}

/** Runs ffmpeg with exactly these arguments; resolves with its stdout when it exits 0. */
export function runFfmpeg(args: string[], opts: RunOptions): Promise<Buffer> {
  return runProgram('ffmpeg', resolveFfmpegPath(opts.ffmpegPath), args, opts);
}

function lastLines(text: string, n = 3): string {
  const lines = text.trim().split(/\r?\n/).filter((l) => l.trim() !== '');
  return lines.slice(-n).join(' | ');
}

function runProgram(name: string, command: string, args: string[], opts: RunOptions): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    const { input, timeoutMs, signal, maxOutputBytes } = opts;
    if (signal?.aborted) {
      reject(new FfmpegError(`${name} aborted before it started`, 'aborted'));
      return;
    }
    const child = spawn(command, args, { stdio: [input ? 'pipe' : 'ignore', 'pipe', 'pipe'], windowsHide: true });
    const chunks: Buffer[] = [];
    let outBytes = 0;
    let tail = '';
    let settled = false;

    const kill = (): void => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    };
    const finish = (err: Error | null, out?: Buffer): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      if (err) reject(err);
      else resolve(out ?? Buffer.alloc(0));
    };
    const onAbort = (): void => {
      kill();
      finish(new FfmpegError(`${name} aborted`, 'aborted', tail));
    };
    const timer = setTimeout(() => {
      kill();
      finish(new FfmpegError(`${name} timed out after ${timeoutMs} ms${tail ? `: ${lastLines(tail)}` : ''}`, 'timeout', tail));
    }, Math.min(Math.max(0, timeoutMs), MAX_TIMER_MS));
    signal?.addEventListener('abort', onAbort, { once: true });

    child.on('error', (e: NodeJS.ErrnoException) => {
      kill();
      const why = e.code === 'ENOENT' ? `${name} not found at '${command}'` : `${name} could not be started (${command}): ${e.message}`;
      finish(new FfmpegError(why, 'spawn'));
    });
    child.stdout!.on('data', (chunk: Buffer) => {
      if (settled) return;
      outBytes += chunk.length;
      if (maxOutputBytes !== undefined && outBytes > maxOutputBytes) {
        kill();
        finish(new FfmpegError(`${name} output exceeded ${maxOutputBytes} bytes`, 'output', tail));
        return;
      }
      chunks.push(chunk);
    });
    child.stderr!.on('data', (chunk: Buffer) => {
      tail = (tail + chunk.toString('utf8')).slice(-STDERR_TAIL);
    });
    child.on('close', (code, sig) => {
      if (code === 0) finish(null, Buffer.concat(chunks));
      else finish(new FfmpegError(`${name} failed (${code !== null ? `exit ${code}` : sig})${tail ? `: ${lastLines(tail)}` : ''}`, 'exit', tail, code));
    });
    if (input && child.stdin) {
      // EPIPE when the program stops reading early: its exit status says why.
      child.stdin.on('error', () => {});
      child.stdin.end(input);
    }
  });
}

export type FfmpegProbe = { ok: true; version: string; libx264: boolean } | { ok: false; reason: string };

/** Is ffmpeg there, which version, and can it encode H.264 (libx264)? Never throws. */
export async function probeFfmpeg(opts: { ffmpegPath?: string; timeoutMs?: number } = {}): Promise<FfmpegProbe> {
  const run = { ffmpegPath: opts.ffmpegPath, timeoutMs: opts.timeoutMs ?? 10_000 };
  try {
    const versionText = (await runFfmpeg(['-hide_banner', '-version'], run)).toString('utf8');
    const version = /^ffmpeg version (\S+)/m.exec(versionText)?.[1];
    if (!version) return { ok: false, reason: `'${resolveFfmpegPath(opts.ffmpegPath)}' does not look like ffmpeg` };
    const encoders = (await runFfmpeg(['-hide_banner', '-encoders'], run)).toString('utf8');
    return { ok: true, version, libx264: /^\s*V\S*\s+libx264\s/m.test(encoders) };
  } catch (e) {
    const reason = e instanceof Error ? e.message : String(e);
    const hint = e instanceof FfmpegError && e.kind === 'spawn' ? ' (install ffmpeg or set POLARCLOUD_FFMPEG)' : '';
    return { ok: false, reason: reason + hint };
  }
}

export interface FfprobeStream {
  index?: number;
  codec_type?: string;
  codec_name?: string;
  width?: number;
  height?: number;
  pix_fmt?: string;
  r_frame_rate?: string;
  avg_frame_rate?: string;
  nb_frames?: string;
  nb_read_frames?: string;
  duration?: string;
  [key: string]: unknown;
}

export interface FfprobeResult {
  streams: FfprobeStream[];
  format: { format_name?: string; duration?: string; size?: string; [key: string]: unknown };
}

/** `ffprobe -show_format -show_streams` of a file, parsed (tests and benchmarks). */
export async function ffprobeJson(
  file: string,
  opts: { ffprobePath?: string; timeoutMs?: number; countFrames?: boolean; signal?: AbortSignal } = {},
): Promise<FfprobeResult> {
  const args = ['-v', 'error', '-print_format', 'json', '-show_format', '-show_streams'];
  if (opts.countFrames) args.push('-count_frames');
  args.push('-i', file);
  const out = await runProgram('ffprobe', resolveFfprobePath(opts.ffprobePath), args, {
    timeoutMs: opts.timeoutMs ?? 30_000,
    signal: opts.signal,
  });
  const parsed = JSON.parse(out.toString('utf8')) as Partial<FfprobeResult>;
  return { streams: parsed.streams ?? [], format: parsed.format ?? {} };
}
