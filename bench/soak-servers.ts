// The soak's other process: the Polar Cloud emulator and the Moonraker
// simulator on the soak's accelerated clock (see soak-clock.ts), so the
// soak process's memory figures are the bridge's alone. Prints one JSON line
// {emulator, simulator} with their URLs; the soak drives both through their
// HTTP control APIs. Exits on SIGTERM/SIGINT or when stdin closes (the soak
// died without cleaning up).
//   node build/bench/soak-servers.js --scale 60 --origin <ms since epoch>
import { startPolarEmulator } from '../src/emulator/index.js';
import { startMoonrakerSimulator } from '../src/simulator/index.js';
import { Logger, stderrSink } from '../src/util/log.js';
import { ScaledClock } from './soak-clock.js';

function arg(name: string): number | undefined {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : NaN;
  return Number.isFinite(v) ? v : undefined;
}

async function main(): Promise<void> {
  const scale = arg('scale');
  const origin = arg('origin');
  if (scale === undefined || origin === undefined) {
    // `npm run bench` runs every file in build/bench: this one is only a child of soak.js.
    process.stdout.write('soak-servers: child process of soak.js (needs --scale and --origin); nothing to do\n');
    return;
  }
  const clock = new ScaledClock(scale, origin);
  const log = Logger.create('warn', [stderrSink]);
  const emu = await startPolarEmulator({ now: () => clock.now(), log });
  // Klipper's physics run on the accelerated clock itself: speed factor 1 relative to it.
  const sim = await startMoonrakerSimulator({ clock, speedFactor: 1, log });
  let stopping = false;
  const stop = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    await Promise.allSettled([sim.stop(), emu.stop()]);
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop());
  process.on('SIGINT', () => void stop());
  process.stdin.on('end', () => void stop());
  process.stdin.on('error', () => void stop());
  process.stdin.resume();
  process.stdout.write(`${JSON.stringify({ emulator: emu.url, simulator: sim.url })}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`soak-servers: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
