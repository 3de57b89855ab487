import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startMoonrakerSimulator, type MoonrakerSimulator } from '../../src/simulator/index.js';
import { RpcError, SimClient } from './sim-client.js';

let sim: MoonrakerSimulator;
let c: SimClient;
before(async () => {
  sim = await startMoonrakerSimulator({ speedFactor: 500 });
  c = await SimClient.connect(sim.url);
  await c.identify();
});
after(async () => {
  c.close();
  await sim.stop();
});

/** Runs a script and returns the gcode responses it produced. */
async function run(script: string): Promise<string[]> {
  const from = c.notifications.length;
  await c.call('printer.gcode.script', { script });
  await new Promise((r) => setTimeout(r, 30));
  return c.notifications.slice(from).filter((n) => n.method === 'notify_gcode_response').map((n) => (n.params as [string])[0]);
}

async function fails(script: string): Promise<{ error: RpcError; lines: string[] }> {
  const from = c.notifications.length;
  const error = await c.call('printer.gcode.script', { script }).then(
    () => assert.fail(`expected '${script}' to fail`),
    (e: unknown) => e as RpcError,
  );
  await new Promise((r) => setTimeout(r, 30));
  const lines = c.notifications.slice(from).filter((n) => n.method === 'notify_gcode_response').map((n) => (n.params as [string])[0]);
  return { error, lines };
}

const status = (): Record<string, Record<string, unknown>> => sim.control.printerObjects();

test('informational commands answer like Klipper', async () => {
  assert.deepEqual(await run('M115'), ['// FIRMWARE_NAME:Klipper FIRMWARE_VERSION:v0.12.0-simulated']);
  assert.deepEqual(await run('RESPOND MSG="hello world"'), ['echo: hello world']);
  assert.deepEqual(await run('RESPOND TYPE=command MSG=done'), ['// done']);
  assert.deepEqual(await run('RESPOND TYPE=error MSG=bad'), ['!! bad']);
  assert.deepEqual(await run('M118 plain text'), ['echo: plain text']);
  assert.deepEqual(await run('STATUS'), ['// Klipper state: Ready']);
  assert.deepEqual(await run('M114'), ['X:0.000 Y:0.000 Z:0.000 E:0.000']);
  const m105 = await run('M105');
  assert.match(m105[0] ?? '', /^T0:\d+\.\d \/0\.0 B:\d+\.\d \/0\.0 C:\d+\.\d \/0\.0$/);
  const help = await c.call<Record<string, string>>('printer.gcode.help');
  assert.equal(help['SET_HEATER_TEMPERATURE'], 'Sets a heater temperature');
  assert.equal(help['PAUSE'], 'G-Code macro');
});

test('unknown commands are reported as Klipper does (info line, script still "ok")', async () => {
  assert.deepEqual(await run('FOO_BAR X=1'), ['// Unknown command:"FOO_BAR"']);
  assert.deepEqual(await run('G12345'), ['// Unknown command:"G12345"']);
  assert.deepEqual(await run('; just a comment\n\n'), []);
});

test('moves need homing; G28 homes; G1 moves the toolhead', async () => {
  const { error, lines } = await fails('G1 X10 F3000');
  assert.equal(error.code, 400);
  assert.equal(error.message, 'Must home axis first: 10.000 0.000 0.000 [0.000]');
  assert.deepEqual(lines, ['!! Must home axis first: 10.000 0.000 0.000 [0.000]']);
  assert.equal(status()['toolhead']?.['homed_axes'], '');
  await run('G28');
  assert.equal(status()['toolhead']?.['homed_axes'], 'xyz');
  await run('G90\nG1 X100 Y50 Z10 F6000');
  assert.deepEqual(status()['toolhead']?.['position'], [100, 50, 10, 0]);
  assert.deepEqual(status()['gcode_move']?.['gcode_position'], [100, 50, 10, 0]);
  assert.equal(status()['gcode_move']?.['speed'], 6000);
  await run('G91\nG1 X-10');
  assert.deepEqual(status()['toolhead']?.['position'], [90, 50, 10, 0]);
  const out = await fails('G90\nG1 X500');
  assert.equal(out.error.message, 'Move out of range: 500.000 50.000 10.000 [0.000]');
  assert.deepEqual(status()['toolhead']?.['position'], [90, 50, 10, 0], 'a refused move does not move the toolhead');
  const cold = await fails('G1 E5 F300');
  assert.equal(cold.error.message, "Extrude below minimum temp\nSee the 'min_extrude_temp' config option for details");
  // Klipper's _respond_error: a multi-line error is echoed as info lines, then "!! " + first line.
  assert.deepEqual(cold.lines, ["// Extrude below minimum temp\n// See the 'min_extrude_temp' config option for details", '!! Extrude below minimum temp']);
  // The script stops at the first error.
  await fails('G1 X20\nG1 X9999\nG1 X30');
  assert.equal((status()['toolhead']?.['position'] as number[])[0], 20);
  await run('M84');
  assert.equal(status()['toolhead']?.['homed_axes'], '');
});

test('M104/M140/SET_HEATER_TEMPERATURE set targets; M109/M190 wait for temperature', async () => {
  await run('M104 S200\nM140 S50\nSET_HEATER_TEMPERATURE HEATER=chamber TARGET=40');
  let s = status();
  assert.equal(s['extruder']?.['target'], 200);
  assert.equal(s['heater_bed']?.['target'], 50);
  assert.equal(s['heater_generic chamber']?.['target'], 40);
  assert.ok((s['extruder']?.['power'] as number) > 0);
  const lines = await run('M109 S200\nM190 S50');
  s = status();
  assert.ok(Math.abs((s['extruder']?.['temperature'] as number) - 200) <= 1.2, `extruder ${String(s['extruder']?.['temperature'])}`);
  assert.ok(Math.abs((s['heater_bed']?.['temperature'] as number) - 50) <= 1.2);
  assert.ok(lines.some((l) => l.startsWith('T0:')), 'temperature reports while waiting');
  const bad = await fails('M104 S400');
  assert.equal(bad.error.message, 'Requested temperature (400.0) out of range (0.0:300.0)');
  const unknown = await fails('SET_HEATER_TEMPERATURE HEATER=nope TARGET=1');
  assert.equal(unknown.error.message, "The value 'nope' is not valid for HEATER. Options: 'extruder', 'heater_bed', 'chamber'");
  const t1 = await fails('M104 T1 S200');
  assert.equal(t1.error.message, 'Extruder not configured');
  const parse = await fails('M104 S-');
  assert.equal(parse.error.message, "Error on 'M104 S-': unable to parse -");
  await run('TURN_OFF_HEATERS');
  s = status();
  assert.equal(s['extruder']?.['target'], 0);
  assert.equal(s['heater_bed']?.['target'], 0);
  assert.equal(s['heater_generic chamber']?.['target'], 0);
});

test('display and print-stats commands', async () => {
  await run('M117 Printing layer 1');
  assert.equal(status()['display_status']?.['message'], 'Printing layer 1');
  await run('SET_DISPLAY_TEXT MSG="other text"');
  assert.equal(status()['display_status']?.['message'], 'other text');
  await run('M117');
  assert.equal(status()['display_status']?.['message'], null);
  await run('SET_PRINT_STATS_INFO TOTAL_LAYER=10\nSET_PRINT_STATS_INFO CURRENT_LAYER=4');
  assert.deepEqual(status()['print_stats']?.['info'], { total_layer: 10, current_layer: 4 });
  await run('SET_PRINT_STATS_INFO TOTAL_LAYER=0');
  assert.deepEqual(status()['print_stats']?.['info'], { total_layer: null, current_layer: null });
  const bad = await fails('RESPOND TYPE=loud MSG=x');
  assert.equal(bad.error.message, "RESPOND TYPE 'loud' is invalid. Must be one of 'echo', 'command', or 'error'");
});

test('printing commands with nothing loaded', async () => {
  const missing = await fails('SDCARD_PRINT_FILE FILENAME=nope.gcode');
  assert.equal(missing.error.message, 'Unable to open file');
  await assert.rejects(c.call('printer.print.start', { filename: 'nope.gcode' }), (e: RpcError) => e.code === 400 && e.message === 'Unable to open file');
  assert.deepEqual(await run('CANCEL_PRINT'), ['// action:cancel']);
  assert.deepEqual(await run('M27'), ['Not SD printing.']);
});

test('emergency stop shuts Klippy down; FIRMWARE_RESTART brings it back', async () => {
  const from = c.notifications.length;
  assert.equal(await c.call('printer.emergency_stop'), 'ok');
  await c.waitMethod('notify_klippy_shutdown', 2000, from);
  assert.equal(status()['webhooks']?.['state'], 'shutdown');
  assert.equal(status()['webhooks']?.['state_message'], 'Shutdown due to webhooks request');
  const info = await c.call<Record<string, unknown>>('server.info');
  assert.equal(info['klippy_state'], 'shutdown');
  const err = await fails('G28');
  assert.equal(err.error.message, 'Shutdown due to webhooks request');
  assert.deepEqual(await run('M115'), ['// FIRMWARE_NAME:Klipper FIRMWARE_VERSION:v0.12.0-simulated'], 'base commands work when shut down');
  const st = await fails('STATUS');
  assert.equal(st.error.message, 'Shutdown due to webhooks request\nKlipper state: Not ready');
  const from2 = c.notifications.length;
  assert.equal(await c.call('printer.firmware_restart'), 'ok');
  await c.waitMethod('notify_klippy_disconnected', 2000, from2);
  await c.waitMethod('notify_klippy_ready', 3000, from2);
  assert.equal(status()['webhooks']?.['state'], 'ready');
  // FIRMWARE_RESTART through gcode.script: Klippy exits without answering.
  await assert.rejects(c.call('printer.gcode.script', { script: 'FIRMWARE_RESTART' }), (e: RpcError) => e.code === 503 && e.message === 'Klippy Disconnected');
  await c.waitMethod('notify_klippy_ready', 3000, c.notifications.length);
  // M112 from a script
  const from3 = c.notifications.length;
  await c.call('printer.gcode.script', { script: 'M112' });
  await c.waitMethod('notify_klippy_shutdown', 2000, from3);
  assert.equal(status()['webhooks']?.['state_message'], 'Shutdown due to M112 command');
  await sim.control.klippyReady();
  assert.equal(status()['webhooks']?.['state'], 'ready');
});

test('two extruders and no chamber', async () => {
  const sim2 = await startMoonrakerSimulator({ extruders: 2, chamber: false, speedFactor: 500 });
  const c2 = await SimClient.connect(sim2.url);
  try {
    const list = await c2.call<{ objects: string[] }>('printer.objects.list');
    assert.ok(list.objects.includes('extruder1'));
    assert.ok(!list.objects.includes('heater_generic chamber'));
    await c2.call('printer.gcode.script', { script: 'M104 T1 S190\nT1' });
    const s = sim2.control.printerObjects();
    assert.equal(s['extruder1']?.['target'], 190);
    assert.equal(s['extruder']?.['target'], 0);
    assert.equal(s['toolhead']?.['extruder'], 'extruder1');
    assert.deepEqual(s['heaters']?.['available_heaters'], ['extruder', 'extruder1', 'heater_bed']);
  } finally {
    c2.close();
    await sim2.stop();
  }
});

test('idle timeout turns heaters and motors off after inactivity (Klipper default macro)', async () => {
  const sim2 = await startMoonrakerSimulator({ idleTimeoutSec: 20, speedFactor: 100 });
  const c2 = await SimClient.connect(sim2.url);
  try {
    await c2.call('printer.gcode.script', { script: 'G28\nM140 S50' });
    assert.equal(sim2.control.printerObjects()['heater_bed']?.['target'], 50);
    const deadline = Date.now() + 3000;
    while (sim2.control.printerObjects()['idle_timeout']?.['state'] !== 'Idle' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const s = sim2.control.printerObjects();
    assert.equal(s['idle_timeout']?.['state'], 'Idle');
    assert.equal(s['heater_bed']?.['target'], 0);
    assert.equal(s['toolhead']?.['homed_axes'], '');
  } finally {
    c2.close();
    await sim2.stop();
  }
});
