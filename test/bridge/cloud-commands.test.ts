// End to end: cloud commands against the simulated printer — temperatures
// clamped and converted, console G-code with its response, the custom-command
// menu, jogging, and commands for another serial ignored.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Bridge, eventually } from './bridge-harness.js';

let b: Bridge;
before(async () => {
  b = await Bridge.start({
    speedFactor: 50,
    extraYaml: 'control:\n  custom_commands:\n    - CANCEL_PRINT\n    - { label: "Not a macro", command: NO_SUCH_MACRO }\n',
  });
});
after(async () => {
  await b.stop();
});

test('temperature: numbers clamped to max_temp and emitted as M104/M140/SET_HEATER_TEMPERATURE', async () => {
  const g0 = b.sim.control.gcodeLog().length;
  const since = b.emu.control.lastSeq();
  b.send('temperature', { tool0: 999, bed: '60', chamber: 45 });
  await eventually(() => b.gcodeSince(g0).some((l) => l.includes('M140')), 5000, 'temperature G-code');
  const maxTemp = b.c.printer.snapshot().heaters.find((h) => h.name === 'extruder')!.max_temp!;
  assert.deepEqual(b.gcodeSince(g0)[0]!.split('\n'), [`M104 T0 S${maxTemp}`, 'M140 S60', 'SET_HEATER_TEMPERATURE HEATER=chamber TARGET=45']);
  const st = await b.waitStatus((s) => s.targetTool0 === maxTemp && s.targetBed === 60, since, 5000, 'targets in status');
  assert.equal(st.targetChamber, 45);
  assert.ok(b.commandResponses().some((r) => /above extruder's max_temp/.test(r)), 'the clamp is explained');

  const g1 = b.sim.control.gcodeLog().length;
  b.send('temperature', { tool0: 'M112' });
  b.send('temperature', { tool0: 0, bed: 0, chamber: 0 });
  // The clamp's console note (RESPOND) for the first message may land after g1 on a loaded machine.
  const heaterLines = (): string[] => b.gcodeSince(g1).filter((l) => !l.startsWith('RESPOND '));
  await eventually(() => heaterLines().length > 0, 5000, 'heaters off');
  assert.deepEqual(heaterLines(), ['M104 T0 S0\nM140 S0\nSET_HEATER_TEMPERATURE HEATER=chamber TARGET=0']);
  assert.ok(b.log.has(/dropped|invalid/i, 'warn'), 'the bad message is logged');
});

test('command: G-code lines run, their console output comes back as commandResponse; M104 is clamped', async () => {
  const n = b.commandResponses().length;
  const g0 = b.sim.control.gcodeLog().length;
  b.send('command', { command: 'M104 S9999\nG28\nM114' });
  await eventually(() => b.commandResponses().length > n, 10_000, 'commandResponse');
  const response = b.commandResponses().at(-1)!;
  assert.match(response, /X:\d/);
  const max = b.c.printer.snapshot().heaters.find((h) => h.name === 'extruder')!.max_temp!;
  assert.deepEqual(b.gcodeSince(g0), [`M104 T0 S${max}`, 'G28\nM114']);

  const n2 = b.commandResponses().length;
  b.send('command', { command: 'NO_SUCH_COMMAND' });
  await eventually(() => b.commandResponses().length > n2, 5000, 'error response');
  // Klipper answers an unknown command with a console line, not an error.
  assert.match(b.commandResponses().at(-1)!, /Unknown command:"NO_SUCH_COMMAND"/);
});

test('customCommandList after hello holds configured macros that exist, plus firmware restart; others are refused', async () => {
  await eventually(() => b.emu.control.printer(b.serial)?.customCommandList !== undefined, 5000, 'customCommandList');
  const list = b.emu.control.printer(b.serial)!.customCommandList as Array<{ label: string; command: string }>;
  assert.deepEqual(list.map((e) => e.command), ['CANCEL_PRINT', 'FIRMWARE_RESTART']);
  // Issue 14.6: the same list under `commandList`, the key the live cloud reads.
  assert.deepEqual(b.emu.control.printer(b.serial)!.commandList, list);
  assert.ok(b.emu.control.events().some((e) => e.kind === 'in' && e.name === 'customCommandList' && JSON.stringify((e.payload as { commandList?: unknown }).commandList) === JSON.stringify(list)), 'both keys in one message');
  assert.ok(b.log.has(/no macro NO_SUCH_MACRO/, 'warn'));

  const g0 = b.sim.control.gcodeLog().length;
  const n = b.commandResponses().length;
  b.send('customCommand', { customCommand: 'M112' });
  await eventually(() => b.commandResponses().length > n, 5000, 'refusal');
  assert.match(b.commandResponses().at(-1)!, /not in this printer's list/);
  b.send('customCommand', { command: 'CANCEL_PRINT' }); // the protocol example's field name
  await eventually(() => b.gcodeSince(g0).includes('CANCEL_PRINT'), 5000, 'macro ran');
  assert.ok(!b.gcodeSince(g0).includes('M112'));
});

test('jogPrinter moves relative and is refused while printing; a command for another serial is ignored', async () => {
  const g0 = b.sim.control.gcodeLog().length;
  b.send('jogPrinter', { jogPrinter: { command: 'home', axes: ['x', 'y', 'z'] } });
  b.send('jogPrinter', { jogPrinter: { command: 'jog', x: 10, y: 5 } });
  await eventually(() => b.gcodeSince(g0).length >= 2, 5000, 'jog');
  assert.deepEqual(b.gcodeSince(g0), ['G28 X Y Z', 'G91\nG1 X10 Y5 F6000\nG90']);
  await eventually(() => (b.c.printer.snapshot().toolhead.position ?? [])[1] !== undefined, 2000, 'position');

  const t0 = Date.now();
  b.emu.control.send(b.serial, 'pause', { serialNumber: 'SOMEONE-ELSE', type: 'pause' });
  b.emu.control.send(b.serial, 'command', { serialNumber: 'SOMEONE-ELSE', command: 'M112' });
  await eventually(() => b.log.has(/ignored 'command' for serial SOMEONE-ELSE/), 5000, 'ignored');
  assert.ok(!b.rpcMethodsSince(t0).includes('printer.print.pause'));
  assert.ok(!b.gcodeSince(g0).some((l) => l.includes('M112')));
  assert.equal(b.c.printer.snapshot().connection, 'klippy_ready');

  await b.addGcode('jog.gcode', 30, 30);
  await b.startCloudJob('J-jog', 'jog.gcode');
  await b.sim.control.waitForPrintState('printing');
  const n = b.commandResponses().length;
  const g1 = b.sim.control.gcodeLog().length;
  b.send('jogPrinter', { jogPrinter: { command: 'home' } });
  await eventually(() => b.commandResponses().length > n, 5000, 'refusal');
  assert.match(b.commandResponses().at(-1)!, /jog refused: a print is running/);
  assert.ok(!b.gcodeSince(g1).some((l) => l.startsWith('G28')));
  b.send('cancel');
  await eventually(() => b.jobReports().some((r) => r.jobId === 'J-jog' && r.state === 'canceled'), 10_000, 'canceled');
});
