// A small typed event emitter: events are declared as a map from name to
// payload type, so producers and listeners cannot disagree on shapes.
import { EventEmitter } from 'node:events';

export class TypedEmitter<Events extends { [K in keyof Events]: unknown }> {
  private readonly ee = new EventEmitter();

  constructor() {
    // Many features listen to the same events; this is not a leak.
    this.ee.setMaxListeners(100);
  }

  on<K extends keyof Events & string>(event: K, listener: (payload: Events[K]) => void): () => void {
    this.ee.on(event, listener);
    return () => this.ee.off(event, listener);
  }

  once<K extends keyof Events & string>(event: K, listener: (payload: Events[K]) => void): () => void {
    this.ee.once(event, listener);
    return () => this.ee.off(event, listener);
  }

  emit<K extends keyof Events & string>(event: K, payload: Events[K]): void {
    this.ee.emit(event, payload);
  }

  /** Resolves with the next payload of `event` (rejects after timeoutMs if given). */
  next<K extends keyof Events & string>(event: K, timeoutMs?: number): Promise<Events[K]> {
    return new Promise((resolve, reject) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const off = this.once(event, (p) => {
        if (timer) clearTimeout(timer);
        resolve(p);
      });
      if (timeoutMs !== undefined) {
        timer = setTimeout(() => {
          off();
          reject(new Error(`timed out after ${timeoutMs} ms waiting for '${event}'`));
        }, timeoutMs);
      }
    });
  }

  removeAllListeners(): void {
    this.ee.removeAllListeners();
  }
}
