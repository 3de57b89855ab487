// Benchmark: RSA-2048 key generation with node:crypto, and the time from
// starting the bridge (stored identity) to helloResponse SUCCESS against the
// emulator on loopback. Prints median/p99 over repeated runs.
//   node <build>/bench/polar-startup.js   (BENCH_KEYS=20, BENCH_STARTS=50; BENCH_QUICK=1: 5 and 10)
import { generateRsaKeyPair } from '../src/identity/keys.js';
import { startPolarEmulator } from '../src/emulator/index.js';
import { Logger } from '../src/util/log.js';
import { LogCapture, makeController, makeDataDir } from '../test/helpers/bridge-setup.js';
import { knob, printRow, summarize } from './stats.js';

const KEYS = knob('BENCH_KEYS', 20, 5);
const STARTS = knob('BENCH_STARTS', 50, 10);

async function main(): Promise<void> {
  const keyMs: number[] = [];
  for (let i = 0; i < KEYS; i++) {
    const t = performance.now();
    await generateRsaKeyPair();
    keyMs.push(performance.now() - t);
  }
  printRow('rsa-2048 key generation (ms)', summarize(keyMs));

  const emu = await startPolarEmulator({ accounts: [{ email: 'b@x', pin: '1' }], log: Logger.silent() });
  const dir = await makeDataDir();
  const first = makeController(emu.url, dir, new LogCapture());
  await first.register('b@x', '1');
  await first.stop();
  const helloMs: number[] = [];
  for (let i = 0; i < STARTS; i++) {
    const c = makeController(emu.url, dir, new LogCapture());
    const t = performance.now();
    const online = c.polar.events.next('online', 10_000);
    await c.start();
    await online;
    helloMs.push(performance.now() - t);
    await c.stop();
  }
  printRow('start -> hello SUCCESS (ms)', summarize(helloMs));
  await emu.stop();
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
