// Klipper's G-code mutex: API scripts and the file being printed share one
// command queue. A script holds the mutex until its last line finishes; the
// print executor takes it line batch by line batch, so API commands interleave
// between file lines as in Klipper (virtual_sdcard yields when the mutex is busy).
import { CommandError, MoonrakerError } from './errors.js';
import type { GcodeInterpreter } from './gcode-interpreter.js';

export class GcodeMutex {
  private held = false;
  private readonly waiters: Array<() => void> = [];

  get isLocked(): boolean {
    return this.held;
  }

  tryAcquire(): boolean {
    if (this.held) return false;
    this.held = true;
    return true;
  }

  acquire(): Promise<void> {
    if (this.tryAcquire()) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Hands the mutex straight to the next waiter, if any. */
  release(): void {
    const next = this.waiters.shift();
    if (next) next();
    else this.held = false;
  }
}

export class GcodeRunner {
  readonly mutex = new GcodeMutex();
  /** Every script received through the API, in order (for test assertions). */
  readonly scriptLog: Array<{ time: number; script: string }> = [];
  /** Observer for each API script (Moonraker's gcode_store records them). */
  onScript: ((script: string) => void) | null = null;

  constructor(
    private readonly interp: GcodeInterpreter,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Runs a script as Klipper's gcode/script endpoint does: lines in order,
   * stopping at the first error, which is rethrown with Klipper's text (400).
   */
  async runScript(script: string, generation: () => number): Promise<void> {
    this.scriptLog.push({ time: this.now(), script });
    this.onScript?.(script);
    return this.runInternal(script, generation);
  }

  /** Runs a script Klipper issues itself (idle timeout): not logged as received. */
  async runInternal(script: string, generation: () => number): Promise<void> {
    const gen = generation();
    await this.mutex.acquire();
    try {
      for (const line of script.split('\n')) {
        if (generation() !== gen) throw new MoonrakerError('Klippy Disconnected', 503);
        await this.interp.runLine(line, { fromSd: false });
      }
    } catch (err) {
      if (err instanceof CommandError) throw new MoonrakerError(err.message, 400);
      throw err;
    } finally {
      this.mutex.release();
    }
  }
}
