// virtual_sdcard: prints a G-code file by streaming it (64 KiB reads, never
// the whole file) through the interpreter. Pacing: lines run until the
// toolhead queue is more than a small lookahead window ahead of simulated
// time, then the executor sleeps — so file_position advances at the speed of
// the moves (their feedrates), scaled by speedFactor, like Klipper's
// lookahead-limited reader. Heat-up waits (M109/M190) block it likewise.
import { promises as fs } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import { CommandError } from './errors.js';
import type { GcodeInterpreter, SdcardControl } from './gcode-interpreter.js';
import type { GcodeMutex } from './gcode-runner.js';
import type { KlipperPrinter, VirtualSdStatus } from './klipper-printer.js';
import { yieldToLoop } from './sim-clock.js';

const READ_SIZE = 64 * 1024;
/** Simulated seconds the file reader may run ahead of the toolhead. */
const LOOKAHEAD_SECONDS = 0.5;
/** Never sleep for less than this much real time (batches tiny moves at high speed factors). */
const MIN_SLEEP_MS = 20;
const LINES_PER_BATCH = 200;

class LineReader {
  private buf = Buffer.alloc(0);
  private idx = 0;
  private eof = false;

  constructor(
    private readonly fh: fs.FileHandle,
    private bufStart: number,
  ) {}

  /** Next line and the file offset just past it, or null at end of file. */
  async next(): Promise<{ text: string; end: number } | null> {
    for (;;) {
      const nl = this.buf.indexOf(10, this.idx);
      if (nl >= 0) {
        const text = this.buf.toString('utf8', this.idx, nl);
        this.idx = nl + 1;
        return { text: text.endsWith('\r') ? text.slice(0, -1) : text, end: this.bufStart + nl + 1 };
      }
      if (this.eof) {
        if (this.idx >= this.buf.length) return null;
        const text = this.buf.toString('utf8', this.idx);
        this.idx = this.buf.length;
        return { text, end: this.bufStart + this.buf.length };
      }
      const chunk = Buffer.allocUnsafe(READ_SIZE);
      const { bytesRead } = await this.fh.read(chunk, 0, READ_SIZE, this.bufStart + this.buf.length);
      if (bytesRead === 0) this.eof = true;
      const rest = this.buf.subarray(this.idx);
      this.bufStart += this.idx;
      this.buf = Buffer.concat([rest, chunk.subarray(0, bytesRead)]);
      this.idx = 0;
    }
  }
}

export class VirtualSdcard implements SdcardControl {
  private fh: fs.FileHandle | null = null;
  private absPath: string | null = null;
  private filePosition = 0;
  private fileSize = 0;
  private loop: Promise<void> | null = null;
  private mustPause = false;
  private abortMessage: string | null = null;
  cmdFromSd = false;

  constructor(
    private readonly printer: KlipperPrinter,
    private readonly interp: () => GcodeInterpreter,
    private readonly mutex: GcodeMutex,
    private readonly gcodesDir: string,
  ) {}

  get isActive(): boolean {
    return this.loop !== null;
  }

  get hasFile(): boolean {
    return this.fh !== null;
  }

  status(): VirtualSdStatus {
    return {
      file_path: this.fh ? this.absPath : null,
      progress: this.fileSize ? this.filePosition / this.fileSize : 0,
      is_active: this.isActive,
      file_position: this.filePosition,
      file_size: this.fileSize,
    };
  }

  positionReport(): string | null {
    return this.fh ? `SD printing byte ${this.filePosition}/${this.fileSize}` : null;
  }

  async printFile(filename: string): Promise<void> {
    if (this.isActive) throw new CommandError('SD busy');
    await this.resetFile();
    await this.loadFile(filename.startsWith('/') ? filename.slice(1) : filename);
    this.resume();
  }

  private async findFile(filename: string): Promise<string | null> {
    const root = resolve(this.gcodesDir);
    const direct = resolve(root, filename);
    if (!direct.startsWith(root + sep)) return null;
    const st = await fs.stat(direct).catch(() => null);
    if (st?.isFile()) return direct;
    // Klipper falls back to a case-insensitive match over the gcodes tree.
    const want = filename.toLowerCase();
    const walk = async (dir: string): Promise<string | null> => {
      for (const ent of await fs.readdir(dir, { withFileTypes: true }).catch(() => [])) {
        const full = join(dir, ent.name);
        if (ent.isDirectory()) {
          const hit = await walk(full);
          if (hit) return hit;
        } else if (relative(root, full).split(sep).join('/').toLowerCase() === want) return full;
      }
      return null;
    };
    return walk(root);
  }

  private async loadFile(filename: string): Promise<void> {
    const path = await this.findFile(filename);
    let fh: fs.FileHandle;
    let size: number;
    try {
      if (!path) throw new Error('not found');
      fh = await fs.open(path, 'r');
      size = (await fh.stat()).size;
    } catch {
      throw new CommandError('Unable to open file');
    }
    this.printer.respond(`File opened:${filename} Size:${size}`);
    this.printer.respond('File selected');
    this.fh = fh;
    this.absPath = path;
    this.filePosition = 0;
    this.fileSize = size;
    this.printer.printStats.setCurrentFile(filename);
    this.printer.checkPrintState();
  }

  async resetFile(): Promise<void> {
    if (this.fh) {
      await this.pause();
      await this.closeFile();
    }
    this.filePosition = this.fileSize = 0;
    this.printer.printStats.reset();
    this.printer.checkPrintState();
  }

  resume(): void {
    if (this.loop) throw new CommandError('SD busy');
    if (!this.fh) return;
    this.mustPause = false;
    this.abortMessage = null;
    this.loop = this.work().catch((err: unknown) => {
      // A failure of the simulator itself (not a G-code error): end the print visibly.
      this.loop = null;
      this.printer.printStats.noteError(`Simulator error: ${err instanceof Error ? err.message : String(err)}`);
      this.printer.checkPrintState();
    });
  }

  async pause(): Promise<void> {
    const loop = this.loop;
    if (!loop) return;
    this.mustPause = true;
    this.printer.sim.wakeAll();
    if (!this.cmdFromSd) await loop;
  }

  async cancel(): Promise<void> {
    if (this.fh) {
      await this.pause();
      await this.closeFile();
      this.printer.printStats.noteCancel();
      this.printer.checkPrintState();
    }
    this.filePosition = this.fileSize = 0;
  }

  /** Klippy shutdown (message) or disconnect (null): stop reading now. */
  async abort(message: string | null): Promise<void> {
    const loop = this.loop;
    if (!loop) return;
    this.abortMessage = message ?? '';
    this.mustPause = true;
    this.printer.sim.wakeAll();
    await loop;
  }

  /** Drops the file without touching print_stats (Klippy process restart, simulator stop). */
  async close(): Promise<void> {
    if (this.loop) await this.abort(null);
    await this.closeFile();
    this.filePosition = this.fileSize = 0;
  }

  private async closeFile(): Promise<void> {
    const fh = this.fh;
    this.fh = null;
    await fh?.close().catch(() => undefined);
  }

  private async work(): Promise<void> {
    await yieldToLoop();
    const p = this.printer;
    p.printStats.noteStart();
    p.checkPrintState();
    const fh = this.fh as fs.FileHandle;
    const reader = new LineReader(fh, this.filePosition);
    let error: string | null = null;
    let holding = false;
    let batch = 0;
    const release = (): void => {
      if (holding) this.mutex.release();
      holding = false;
    };
    try {
      while (!this.mustPause) {
        const window = Math.max(LOOKAHEAD_SECONDS, (p.sim.speedFactor * MIN_SLEEP_MS) / 1000);
        if (p.toolhead.busyUntil - p.sim.now() > window) {
          release();
          await p.sim.sleepUntil(p.toolhead.busyUntil - window / 2, () => this.mustPause);
          continue;
        }
        if (!holding) {
          if (!this.mutex.tryAcquire()) {
            await p.sim.sleepReal(5);
            continue;
          }
          holding = true;
          batch = 0;
        }
        const line = await reader.next().catch(() => null);
        if (line === null) {
          await this.closeFile();
          p.respond('Done printing file');
          break;
        }
        this.cmdFromSd = true;
        try {
          await this.interp().runLine(line.text, { fromSd: true });
        } catch (err) {
          error = err instanceof CommandError ? err.message : null;
          if (error !== null) await this.interp().runScriptFromCommand('TURN_OFF_HEATERS', { fromSd: true }).catch(() => undefined);
          break;
        } finally {
          this.cmdFromSd = false;
        }
        this.filePosition = line.end;
        if (++batch >= LINES_PER_BATCH) {
          release();
          await yieldToLoop();
        }
      }
    } finally {
      release();
      this.cmdFromSd = false;
    }
    this.loop = null;
    if (this.abortMessage !== null) {
      // Klipper's work handler after a shutdown: the loop was told to stop like a pause, so
      // print_stats says "paused" while Klippy is shut down (history records klippy_shutdown).
      if (this.abortMessage) p.printStats.notePause();
    } else if (error !== null) p.printStats.noteError(error);
    else if (this.fh) p.printStats.notePause();
    else p.printStats.noteComplete();
    p.checkPrintState();
  }
}
