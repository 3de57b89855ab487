// Streaming a large file through Node allocates a fresh ArrayBuffer for every
// socket read (64 KiB). Their memory lives outside V8's heap, and V8 collects
// them only when the young generation fills with small objects — which a
// stream hardly makes — or when tens of MiB of external memory piled up.
// Measured (bench/cloud-print-relay.ts, 200 MiB, the bundle's peak RSS):
// 111–114 MiB with no help; a minor (scavenge) GC every 4 MiB 90, every
// 1 MiB 82–83, every 512 KiB 79–80 (its idle high-water mark is ~70). A
// minor GC with the bridge's small young generation costs ~0.06 ms: 400 of
// them per 200 MiB are ~25 ms of CPU.
// V8 offers no API for that, so the gc extension is switched on at runtime
// (--expose-gc through v8.setFlagsFromString; documented by Node for flags
// that take effect later, which `gc` does once a new context is made).
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

type GcFn = (options?: { type?: 'minor' | 'major' }) => void;

let gc: GcFn | null | undefined;

function load(): GcFn | null {
  try {
    setFlagsFromString('--expose-gc');
    const fn: unknown = runInNewContext('typeof gc === "function" ? gc : null');
    return typeof fn === 'function' ? (fn as GcFn) : null;
  } catch {
    return null;
  }
}

/** Frees the socket buffers a stream left behind (a young-generation GC); a no-op where unavailable. */
export function collectYoung(): void {
  if (gc === undefined) gc = load();
  gc?.({ type: 'minor' });
}

/** Calls collectYoung() every `every` bytes counted through it. */
export function youngGcEvery(every: number): (bytes: number) => void {
  let since = 0;
  return (bytes) => {
    since += bytes;
    if (since >= every) {
      since = 0;
      collectYoung();
    }
  };
}
