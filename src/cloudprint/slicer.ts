// Runs the configured slicer (slicer.command) on a downloaded STL/3MF with the
// job's Polar slicer config, producing G-code. The command is split into
// arguments here and spawned without a shell, so file names are never parsed
// by one; {input}, {config} and {output} are replaced inside arguments.
import { spawn } from 'node:child_process';
import { stat } from 'node:fs/promises';

export interface SliceOptions {
  command: string;
  input: string;
  /** Polar's configFile (an INI of slicer settings), if the job has one. */
  config: string | null;
  output: string;
  timeoutMs: number;
  signal?: AbortSignal | undefined;
}

/** Splits a command line: whitespace separates, "double" and 'single' quotes group. */
export function splitCommand(command: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quote: '"' | "'" | null = null;
  let has = false;
  for (const ch of command) {
    if (quote) {
      if (ch === quote) quote = null;
      else cur += ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      has = true;
    } else if (/\s/.test(ch)) {
      if (has || cur) out.push(cur);
      cur = '';
      has = false;
    } else {
      cur += ch;
      has = true;
    }
  }
  if (quote) throw new Error('slicer.command has an unclosed quote');
  if (has || cur) out.push(cur);
  return out;
}

export function slicerArgs(o: Pick<SliceOptions, 'command' | 'input' | 'config' | 'output'>): string[] {
  const args = splitCommand(o.command);
  if (args.length === 0) throw new Error('slicer.command is empty');
  // One pass, so a path that happens to contain "{output}" is never substituted again.
  const fill = (a: string): string => a.replace(/\{(input|output|config)\}/g, (_m, k: string) => (k === 'input' ? o.input : k === 'output' ? o.output : (o.config ?? '')));
  if (!o.command.includes('{config}') || o.config !== null) return args.map(fill);
  // No config for this job: drop a "--load {config}"-style pair rather than pass an empty path.
  const kept: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a.includes('{config}')) {
      if (kept.length && kept[kept.length - 1]!.startsWith('-') && a === '{config}') kept.pop();
      continue;
    }
    kept.push(fill(a));
  }
  return kept;
}

/** Runs the slicer; resolves when `output` exists and is not empty. The error carries the slicer's last output lines. */
export async function runSlicer(o: SliceOptions): Promise<void> {
  if (o.signal?.aborted) throw new Error('slicing canceled');
  const [cmd, ...args] = slicerArgs(o);
  await new Promise<void>((resolve, reject) => {
    const child = spawn(cmd!, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let tail = '';
    const keep = (b: Buffer): void => {
      tail = (tail + b.toString('utf8')).slice(-2000);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`slicer timed out after ${Math.round(o.timeoutMs / 1000)} s`));
    }, o.timeoutMs);
    const onAbort = (): void => {
      child.kill('SIGKILL');
      reject(new Error('slicing canceled'));
    };
    o.signal?.addEventListener('abort', onAbort, { once: true });
    if (o.signal?.aborted) onAbort();
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`cannot run slicer '${cmd}': ${err.message}`));
    });
    child.on('close', (code, sig) => {
      clearTimeout(timer);
      o.signal?.removeEventListener('abort', onAbort);
      const lastLines = tail.trim().split('\n').slice(-3).join(' | ');
      if (code === 0) resolve();
      else reject(new Error(`slicer exited with ${code ?? sig}${lastLines ? `: ${lastLines}` : ''}`));
    });
  });
  const size = await stat(o.output).then((s) => s.size, () => 0);
  if (size === 0) throw new Error('slicer finished but wrote no G-code');
}
