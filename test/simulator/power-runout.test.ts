// The simulator's Moonraker [power] devices and Klipper runout sensor behave
// like the real ones (components/power.py, klippy/extras/filament_switch_sensor.py).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startMoonrakerSimulator, type MoonrakerSimulator } from '../../src/simulator/index.js';
import { prusaGcode } from './gcode-samples.js';
import { RpcError, SimClient, until } from './sim-client.js';

let sim: MoonrakerSimulator;
let c: SimClient;
before(async () => {
  sim = await startMoonrakerSimulator({ speedFactor: 200, temperatureNoise: false });
  await sim.control.addFile('job.gcode', prusaGcode({ layers: 30, movesPerLayer: 40 }));
  c = await SimClient.connect(sim.url);
  await c.identify();
});
after(async () => {
  c.close();
  await sim.stop();
});

async function rpcError(p: Promise<unknown>): Promise<RpcError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof RpcError) return err;
    throw err;
  }
  throw new Error('expected an error');
}

async function printing(): Promise<void> {
  sim.control.setHeaterTemperature('heater_bed', 60);
  sim.control.setHeaterTemperature('extruder', 210);
  await c.call('printer.print.start', { filename: 'job.gcode' });
  await sim.control.waitForPrintState('printing');
}

test('power: locked_while_printing refused while printing (Moonraker\'s message); the board device takes Klippy down and comes back', async () => {
  sim.control.setPowerDevices([{ name: 'printer', powers_printer: true, restart_klipper_when_powered: true }, { name: 'lamp', locked_while_printing: true }]);
  const info = await c.call<{ components: string[] }>('server.info');
  assert.ok(info.components.includes('power'));
  await printing();
  const e = await rpcError(c.call('machine.device_power.post_device', { device: 'lamp', action: 'off' }));
  assert.equal(e.message, 'Unable to change power for lamp while printing');
  assert.equal(e.code, 400);
  assert.match((await rpcError(c.call('machine.device_power.post_device', { device: 'nope', action: 'on' }))).message, /No valid device named nope/);
  assert.match((await rpcError(c.call('machine.device_power.post_device', { device: 'lamp', action: 'blink' }))).message, /Invalid requested action 'blink'/);

  const from = c.notifications.length;
  assert.deepEqual(await c.call('machine.device_power.post_device', { device: 'printer', action: 'off' }), { printer: 'off' });
  const note = await c.waitFor((n) => n.method === 'notify_power_changed', 5000, from);
  assert.deepEqual(note.params, [{ device: 'printer', status: 'off', locked_while_printing: false, type: 'gpio' }]);
  await c.waitMethod('notify_klippy_shutdown', 5000, from);
  assert.equal((await c.call<{ state_message: string }>('printer.info')).state_message, "Lost communication with MCU 'mcu'");
  // Like real Klipper after a shutdown mid-print: print_stats stays paused (issue 14's observation).
  await until(() => sim.control.klippyState() === 'shutdown', 5000);
  assert.equal(sim.control.printerObjects().print_stats!.state, 'paused');
  // FIRMWARE_RESTART without power: Klipper cannot reach the MCU.
  await c.call('printer.firmware_restart').catch(() => undefined);
  await until(async () => (await c.call<{ klippy_state: string }>('server.info')).klippy_state === 'error', 5000);
  assert.match((await c.call<{ state_message: string }>('printer.info')).state_message, /^mcu 'mcu': Unable to connect/);
  // Power on: restart_klipper_when_powered → FIRMWARE_RESTART a second later → ready.
  const from2 = c.notifications.length;
  await c.call('machine.device_power.post_device', { device: 'printer', action: 'on' });
  await c.waitMethod('notify_klippy_ready', 10_000, from2);
  assert.deepEqual(await c.call('machine.device_power.status', { printer: null, lamp: null, ghost: null }), { printer: 'on', lamp: 'on', ghost: 'device_not_found' });
  sim.control.setPowerDevices([]);
  assert.equal((await rpcError(c.call('machine.device_power.devices'))).code, -32601);
});

test('runout sensor: listed and queried like Klipper; a runout while printing pauses, the same while idle does nothing', async () => {
  const objects = (await c.call<{ objects: string[] }>('printer.objects.list')).objects;
  assert.ok(objects.includes('filament_switch_sensor runout'));
  await c.call('printer.objects.subscribe', { objects: { 'filament_switch_sensor runout': null, print_stats: ['state'] } });
  sim.control.setFilamentDetected('runout', false);
  await until(() => (sim.control.printerObjects()['filament_switch_sensor runout'] as { filament_detected: boolean }).filament_detected === false);
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(sim.control.printerObjects().print_stats!.state !== 'paused', true, 'idle: no pause');
  const back = c.notifications.length;
  sim.control.setFilamentDetected('runout', true);
  await c.waitFor((n) => n.method === 'notify_status_update' && JSON.stringify(n.params).includes('"filament_detected":true'), 5000, back);

  await printing();
  const from = c.notifications.length;
  sim.control.setFilamentDetected('runout', false);
  await c.waitFor((n) => n.method === 'notify_status_update' && JSON.stringify(n.params).includes('"filament_detected":false'), 5000, from);
  await sim.control.waitForPrintState('paused');
  // PAUSE sets print_stats and pause_resume in one Klipper step; the simulator may show them a tick apart.
  await until(() => sim.control.printerObjects().pause_resume!.is_paused === true, 5000);
  await c.call('printer.gcode.script', { script: 'QUERY_FILAMENT_SENSOR SENSOR=runout' });
  await c.waitFor((n) => n.method === 'notify_gcode_response' && JSON.stringify(n.params).includes('Filament Sensor runout: filament not detected'), 5000, from);
  sim.control.setFilamentDetected('runout', true);
  await c.call('printer.print.resume');
  await sim.control.waitForPrintState('printing');
  await c.call('printer.gcode.script', { script: 'SET_FILAMENT_SENSOR SENSOR=runout ENABLE=0' });
  sim.control.setFilamentDetected('runout', false);
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(sim.control.printerObjects().print_stats!.state, 'printing', 'a disabled sensor does not pause');
  assert.deepEqual(sim.control.printerObjects()['filament_switch_sensor runout'], { filament_detected: false, enabled: false });
  await c.call('printer.print.cancel');
});
