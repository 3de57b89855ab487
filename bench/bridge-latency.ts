// Benchmark: the whole bridge (Controller) between the in-process Polar Cloud
// emulator and Moonraker simulator, default status settings.
//  1. Klipper state change -> Polar `status` received by the cloud. Each sample
//     sets a new extruder target (M104 through Moonraker) at a random phase while
//     the heater is moving (so ~1 status/s is flowing anyway, and target changes
//     must overtake the 1 s coalescing); "bridge share" starts when the bridge's
//     printer model saw the change (after Klippy's 250 ms batching), "end to end"
//     when the M104 was sent.
//  2. Cloud command -> Moonraker call: the cloud sends `temperature`, measured until
//     the simulator receives printer.gcode.script (wall clock, 1 ms resolution).
//   node <build>/bench/bridge-latency.js [--samples=200]   (or BENCH_SAMPLES; BENCH_QUICK=1: 30)
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPolarEmulator } from '../src/emulator/index.js';
import { startMoonrakerSimulator } from '../src/simulator/index.js';
import { parseConfig } from '../src/config.js';
import { Controller } from '../src/controller.js';
import { systemClock } from '../src/util/clock.js';
import { Logger } from '../src/util/log.js';
import { socketIoTransportFactory } from '../src/polar/socketio-transport.js';
import type { NetSource } from '../src/identity/mac.js';
import { QUICK, knob, printRow, summarize } from './stats.js';

const args = new Map(process.argv.slice(2).map((a) => a.replace(/^--/, '').split('=') as [string, string | undefined]));
// p99 needs ≥ 200 samples; a quick run only checks that the path works.
const SAMPLES = Math.max(QUICK ? 1 : 200, Number(args.get('samples') ?? knob('BENCH_SAMPLES', 200, 30)));
const MAC = '02:00:00:00:be:01';
const net: NetSource = {
  routeTable: () => 'Iface\tDestination\tGateway\tFlags\tRefCnt\tUse\tMetric\tMask\neth0\t00000000\t0101A8C0\t0003\t0\t0\t100\t00000000\n',
  sysInterfaces: () => ['eth0'],
  sysMac: () => MAC,
  isPhysical: () => true,
  osInterfaces: () => ({ eth0: [{ address: '192.168.1.9', netmask: '255.255.255.0', family: 'IPv4', mac: MAC, internal: false, cidr: null }] }),
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function main(): Promise<void> {
  const emu = await startPolarEmulator();
  const sim = await startMoonrakerSimulator({ temperatureNoise: false });
  const dataDir = join(await mkdtemp(join(tmpdir(), 'pc-bench-')), 'data');
  const config = parseConfig(`data_dir: ${dataDir}\npolar:\n  server_url: ${emu.url}\nmoonraker:\n  url: ${sim.url}\n`, undefined).config;
  const c = new Controller({ config, log: Logger.create('warn'), clock: systemClock, transportFactory: socketIoTransportFactory, netSource: net });
  try {
    const { serialNumber } = await c.register('bench@example.com', '1234');
    await c.start();
    while (!(c.polar.online && c.printer.connectionState === 'klippy_ready')) await sleep(20);

    const endToEnd: number[] = [];
    const bridgeShare: number[] = [];
    for (let i = 0; i < SAMPLES; i++) {
      const target = 150 + (i % 2) * 50 + (i % 40);
      // Random phase against Klippy's 250 ms batching and the status stream (heating sends ~1/s).
      await sleep(Math.random() * 500);
      let modelAt = 0;
      const off = c.printer.on('objectsChanged', (e) => {
        if (e.changed.extruder?.target === target && !modelAt) modelAt = performance.now();
      });
      const since = emu.control.lastSeq();
      const seen = emu.control.waitFor((e) => e.kind === 'in' && e.name === 'status' && (e.payload as { targetTool0?: number }).targetTool0 === target, 5000, since);
      const t0 = performance.now();
      await c.moonrakerApi.gcodeScript(`M104 S${target}`);
      await seen;
      const t1 = performance.now();
      off();
      endToEnd.push(t1 - t0);
      bridgeShare.push(t1 - modelAt);
    }

    const commandToCall: number[] = [];
    for (let i = 0; i < SAMPLES; i++) {
      const before = sim.control.rpcLog().length;
      const t0 = Date.now();
      emu.control.send(serialNumber, 'temperature', { serialNumber, tool0: 100 + (i % 50) });
      for (;;) {
        const log = sim.control.rpcLog();
        const hit = log.slice(before).find((r) => r.method === 'printer.gcode.script');
        if (hit) {
          commandToCall.push(hit.time - t0);
          break;
        }
        await new Promise((r) => setImmediate(r));
      }
      await sleep(20);
    }
    console.log(`bridge-latency: ${SAMPLES} samples each, node ${process.version}, emulator + simulator + bridge in one process`);
    const ms = (x: { n: number; median: number; p99: number; max: number }) => ({ n: x.n, median_ms: x.median, p99_ms: x.p99, max_ms: x.max });
    printRow('Klipper change -> Polar status (end to end)', ms(summarize(endToEnd)));
    printRow('Klipper change -> Polar status (bridge share)', ms(summarize(bridgeShare)));
    printRow('cloud command -> Moonraker call', ms(summarize(commandToCall)));
  } finally {
    await c.stop();
    await sim.stop();
    await emu.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
