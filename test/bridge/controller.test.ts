// The whole composition root against both stand-ins at once: the Polar Cloud
// emulator and the Moonraker simulator, over loopback.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startPolarEmulator } from '../../src/emulator/index.js';
import { startMoonrakerSimulator } from '../../src/simulator/index.js';
import { LogCapture, eventually, makeController, makeDataDir, moonrakerYaml } from '../helpers/bridge-setup.js';
import { HealthRecorder, checkStatusStream, streamFromEmulator } from '../helpers/status-stream.js';

test('run: online in Polar Cloud and mirroring Klippy through Moonraker; both links recover', async () => {
  const emu = await startPolarEmulator();
  const sim = await startMoonrakerSimulator({ speedFactor: 100, extruders: 2 });
  const log = new LogCapture();
  const health = new HealthRecorder(emu, sim);
  health.start();
  const c = makeController(emu.url, await makeDataDir(), log, { extraYaml: moonrakerYaml(sim.url), withMoonraker: true });
  try {
    await c.register('a@b.example', '1234');
    await c.start();
    await eventually(() => c.polar.online && c.printer.snapshot().connection === 'klippy_ready', 8000, 'both links up');
    const heaters = c.printer.snapshot().heaters.map((h) => h.name);
    for (const h of ['extruder', 'extruder1', 'heater_bed', 'heater_generic chamber']) assert.ok(heaters.includes(h), `${h} in ${heaters.join(', ')}`);

    await sim.control.klippyShutdown('MCU shutdown: Timer too close');
    await eventually(() => c.printer.snapshot().connection === 'klippy_shutdown', 5000, 'shutdown seen');
    assert.match(c.printer.snapshot().stateMessage, /Timer too close/);
    assert.ok(c.polar.online, 'the cloud link is independent of the printer link');

    await c.moonrakerApi.firmwareRestart();
    await eventually(() => c.printer.snapshot().connection === 'klippy_ready', 8000, 'ready after FIRMWARE_RESTART');

    sim.control.dropWebsockets();
    emu.control.dropConnections();
    await eventually(() => c.polar.online && c.printer.snapshot().connection === 'klippy_ready', 8000, 'both links back');
    assert.ok(log.has(/printer link: klippy_ready/, 'info'));
    // 12/13 only while Klipper really was shut down / restarting or the link really was dropped.
    assert.deepEqual(checkStatusStream(streamFromEmulator(emu, c.polar.serialNumber!, health.samples)), []);
  } finally {
    health.stop();
    await c.stop();
    await sim.stop();
    await emu.stop();
  }
});
