// `polarcloud demo`: the embedded end-to-end run on loopback. Starts the Polar
// Cloud emulator and the Moonraker simulator, registers a demo printer with a
// throwaway identity, runs the bridge until both links are up, and prints what
// the emulated cloud and the simulated printer saw.
// Exits 0 only if everything worked and the cloud recorded no protocol violation.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../config.js';
import { Controller } from '../controller.js';
import { startPolarEmulator } from '../emulator/index.js';
import { startMoonrakerSimulator } from '../simulator/index.js';
import { socketIoTransportFactory } from '../polar/socketio-transport.js';
import { systemClock } from '../util/clock.js';
import { errText, type Logger } from '../util/log.js';

const DEMO_ACCOUNT = { email: 'demo@polarcloud.example', pin: '1234' };

export async function demoCommand(log: Logger): Promise<number> {
  const out = (s: string): boolean => process.stdout.write(s + '\n');
  const emu = await startPolarEmulator({ accounts: [DEMO_ACCOUNT], log: log.child('emu') });
  const sim = await startMoonrakerSimulator({ speedFactor: 50, log: log.child('sim') });
  const dir = await mkdtemp(join(tmpdir(), 'polarcloud-demo-'));
  const { config } = parseConfig(
    `data_dir: ${join(dir, 'data')}\npolar:\n  server_url: ${emu.url}\n  reply_timeout: 10\nmoonraker:\n  url: ${sim.url}\n`,
    undefined,
  );
  const bridge = new Controller({ config, log: log.child('bridge'), clock: systemClock, transportFactory: socketIoTransportFactory });
  try {
    out(`Polar Cloud emulator listening on ${emu.url}`);
    out(`Moonraker simulator listening on ${sim.url}`);
    const reg = await bridge.register(DEMO_ACCOUNT.email, DEMO_ACCOUNT.pin);
    out(`registered as ${reg.serialNumber}` + (reg.keyGenerationMs !== undefined ? ` (RSA-2048 key generated in ${reg.keyGenerationMs.toFixed(0)} ms)` : ''));
    const started = performance.now();
    const online = bridge.polar.events.next('online', 15_000);
    await bridge.start();
    await online;
    out(`bridge online: signed hello accepted ${(performance.now() - started).toFixed(0)} ms after start`);
    await waitFor(() => bridge.printer.snapshot().connection === 'klippy_ready', 15_000, 'Klippy ready through Moonraker');
    const snap = bridge.printer.snapshot();
    out(`printer link up ${(performance.now() - started).toFixed(0)} ms after start: Klippy ${snap.klippyState}, heaters ${snap.heaters.map((h) => `${h.name} ${h.temperature?.toFixed(1) ?? '?'}°C`).join(', ')}`);

    const printer = emu.control.printer(reg.serialNumber);
    const inbound = emu.control.events().filter((e) => e.kind === 'in').map((e) => e.name ?? '?');
    const violations = emu.control.violations();
    out('');
    out('What the emulated Polar Cloud saw:');
    out(`  printer ${reg.serialNumber}: MAC ${printer?.mac ?? '?'}, authenticated ${printer?.authenticated ? 'yes' : 'no'}, version ${String(printer?.hello?.version ?? '?')}`);
    out(`  messages from the printer: ${inbound.join(', ')}`);
    out(`  protocol violations: ${violations.length}`);
    for (const v of violations) out(`    - ${v.name ?? ''}: ${v.reason ?? ''}`);
    return violations.length === 0 && printer?.authenticated ? 0 : 1;
  } catch (err) {
    process.stderr.write(`demo failed: ${errText(err)}\n`);
    return 1;
  } finally {
    await bridge.stop();
    await sim.stop();
    await emu.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

async function waitFor(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
