// Typed event emitter for the adapter: events are a map from name to payload
// type, so producers and listeners cannot disagree on shapes. A listener that
// throws is logged by the owner's error hook, never propagated to the emitter.
import { EventEmitter } from 'node:events';

export class Emitter<Events extends { [K in keyof Events]: unknown }> {
  private readonly ee = new EventEmitter();

  constructor(private readonly onListenerError?: (event: string, err: unknown) => void) {
    // Several features listen to the same events; this is not a leak.
    this.ee.setMaxListeners(100);
  }

  on<K extends keyof Events & string>(event: K, listener: (payload: Events[K]) => void): () => void {
    const wrapped = (payload: Events[K]): void => {
      try {
        listener(payload);
      } catch (err) {
        this.onListenerError?.(event, err);
      }
    };
    this.ee.on(event, wrapped);
    return () => this.ee.off(event, wrapped);
  }

  once<K extends keyof Events & string>(event: K, listener: (payload: Events[K]) => void): () => void {
    const off = this.on(event, (payload) => {
      off();
      listener(payload);
    });
    return off;
  }

  emit<K extends keyof Events & string>(event: K, payload: Events[K]): void {
    this.ee.emit(event, payload);
  }

  listenerCount<K extends keyof Events & string>(event: K): number {
    return this.ee.listenerCount(event);
  }

  removeAllListeners(): void {
    this.ee.removeAllListeners();
  }
}
