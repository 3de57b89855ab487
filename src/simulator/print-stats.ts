// Port of Klipper's print_stats bookkeeping (klippy/extras/print_stats.py):
// total_duration counts from the start including pauses; print_duration
// excludes pauses and the time before the first extrusion (heat-up).

export type PrintState = 'standby' | 'printing' | 'paused' | 'complete' | 'cancelled' | 'error';

export interface PrintStatsStatus {
  filename: string;
  total_duration: number;
  print_duration: number;
  filament_used: number;
  state: PrintState;
  message: string;
  info: { total_layer: number | null; current_layer: number | null };
}

/** Simulated seconds after the start before print_duration can move (real Klipper: about 2 s). */
export const FIRST_MOVE_DELAY_S = 2;

export class PrintStats {
  filename = '';
  state: PrintState = 'standby';
  errorMessage = '';
  private prevPauseDuration = 0;
  private lastEpos = 0;
  filamentUsed = 0;
  private totalDuration = 0;
  private printStartTime: number | null = null;
  private lastPauseTime: number | null = null;
  private initDuration = 0;
  totalLayer: number | null = null;
  currentLayer: number | null = null;

  /** `now` is simulated eventtime; `epos` returns gcode_move's E position and extrude factor. */
  constructor(
    private readonly now: () => number,
    private readonly epos: () => { e: number; extrudeFactor: number },
  ) {}

  private updateFilament(): void {
    const { e, extrudeFactor } = this.epos();
    this.filamentUsed += (e - this.lastEpos) / (extrudeFactor || 1);
    this.lastEpos = e;
  }

  setCurrentFile(filename: string): void {
    this.reset();
    this.filename = filename;
  }

  noteStart(): void {
    const t = this.now();
    if (this.printStartTime === null) this.printStartTime = t;
    else if (this.lastPauseTime !== null) {
      this.prevPauseDuration += t - this.lastPauseTime;
      this.lastPauseTime = null;
    }
    this.lastEpos = this.epos().e;
    this.state = 'printing';
    this.errorMessage = '';
  }

  notePause(): void {
    if (this.lastPauseTime === null) {
      this.lastPauseTime = this.now();
      this.updateFilament();
    }
    if (this.state !== 'error') this.state = 'paused';
  }

  noteComplete(): void {
    this.finish('complete');
  }

  noteError(message: string): void {
    this.finish('error', message);
  }

  noteCancel(): void {
    this.finish('cancelled');
  }

  private finish(state: PrintState, message = ''): void {
    if (this.printStartTime === null) return;
    // Account for time and filament up to the finish (get_status would on the next query).
    this.snapshot();
    this.state = state;
    this.errorMessage = message;
    this.totalDuration = this.now() - this.printStartTime;
    if (this.filamentUsed < 0.0000001) this.initDuration = this.totalDuration - this.prevPauseDuration;
    this.printStartTime = null;
  }

  setInfo(totalLayer: number | null | undefined, currentLayer: number | null | undefined): void {
    const total = totalLayer === undefined ? this.totalLayer : totalLayer;
    const current = currentLayer === undefined ? this.currentLayer : currentLayer;
    if (total === 0) {
      this.totalLayer = null;
      this.currentLayer = null;
    } else if (total !== this.totalLayer) {
      this.totalLayer = total;
      this.currentLayer = 0;
    }
    if (this.totalLayer !== null && current !== null && current !== this.currentLayer) {
      this.currentLayer = Math.min(current, this.totalLayer);
    }
  }

  reset(): void {
    this.filename = '';
    this.errorMessage = '';
    this.state = 'standby';
    this.prevPauseDuration = 0;
    this.lastEpos = 0;
    this.filamentUsed = 0;
    this.totalDuration = 0;
    this.printStartTime = null;
    this.lastPauseTime = null;
    this.initDuration = 0;
    this.totalLayer = null;
    this.currentLayer = null;
  }

  get isInProgress(): boolean {
    return this.printStartTime !== null;
  }

  snapshot(): PrintStatsStatus {
    const t = this.now();
    let timePaused = this.prevPauseDuration;
    if (this.printStartTime !== null) {
      if (this.lastPauseTime !== null) timePaused += t - this.lastPauseTime;
      else this.updateFilament();
      this.totalDuration = t - this.printStartTime;
      // Real hardware: print_duration stays 0 for ~2 s after printing starts even with nothing to
      // heat (the first moves are still in the lookahead queue), as well as until the first extrusion.
      if (this.filamentUsed < 0.0000001 || this.totalDuration < FIRST_MOVE_DELAY_S) this.initDuration = this.totalDuration - timePaused;
    }
    return {
      filename: this.filename,
      total_duration: this.totalDuration,
      print_duration: this.totalDuration - this.initDuration - timePaused,
      filament_used: this.filamentUsed,
      state: this.state,
      message: this.errorMessage,
      info: { total_layer: this.totalLayer, current_layer: this.currentLayer },
    };
  }
}
