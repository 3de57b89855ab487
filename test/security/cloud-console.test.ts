// Issue 13.4: console G-code and custom commands from the cloud. The bridge's
// own POLAR_* macros and RUN_SHELL_COMMAND never reach Klipper; SAVE_CONFIG,
// RESTART and FIRMWARE_RESTART are refused while a print runs (also the
// built-in "Firmware restart" menu entry); every refusal is answered in a
// commandResponse; control.deny_gcode adds to the list.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Bridge, eventually } from '../bridge/bridge-harness.js';
import { commandWord, gcodePolicy, refusal } from '../../src/features/gcode-policy.js';

let b: Bridge;
before(async () => {
  b = await Bridge.start({ speedFactor: 20, extraYaml: 'control:\n  deny_gcode:\n    - M112\n    - SET_KINEMATIC*\n' });
});
after(async () => {
  await b.stop();
});

/** Sends a console command; resolves with the commandResponse it got. */
async function consoleCommand(command: string): Promise<string> {
  const n = b.commandResponses().length;
  b.send('command', { command });
  await eventually(() => b.commandResponses().length > n, 10_000, `answer to ${JSON.stringify(command)}`);
  return b.commandResponses().at(-1)!;
}

test('POLAR_* macros and RUN_SHELL_COMMAND from the cloud console never reach Klipper; the refusal is answered', async () => {
  const cases = [
    'POLAR_UNREGISTER',
    'polar_register EMAIL=x@y.example PIN=1',
    '  Polar_Status ; comment',
    'N10 POLAR_UNREGISTER',
    'RUN_SHELL_COMMAND CMD=backup',
    'G28\nPOLAR_UNREGISTER',
    'G28\rRUN_SHELL_COMMAND CMD=x',
    '1POLAR_UNREGISTER',
    '-Run_Shell_Command CMD=x',
    'M112',
    'SET_KINEMATIC_POSITION Z=0',
  ];
  for (const command of cases) {
    const g0 = b.sim.control.gcodeLog().length;
    const answer = await consoleCommand(command);
    assert.match(answer, /^!! refused: .* is not allowed from Polar Cloud on this printer$/m, `${JSON.stringify(command)}: ${answer}`);
    assert.deepEqual(b.gcodeSince(g0).filter((s) => !s.startsWith('RESPOND')), [], `${JSON.stringify(command)}: nothing of it ran (not even the G28 before it)`);
  }
  assert.equal(b.c.polar.state, 'online', 'still registered and online');
  // Ordinary console G-code still runs.
  const g1 = b.sim.control.gcodeLog().length;
  assert.match(await consoleCommand('M114'), /X:/);
  assert.deepEqual(b.gcodeSince(g1), ['M114']);
});

test('SAVE_CONFIG / RESTART / FIRMWARE_RESTART: run when idle, refused while printing (console and the Firmware restart menu entry)', async () => {
  // Idle: allowed (SAVE_CONFIG is how a user keeps a PID tune done from the console).
  const g0 = b.sim.control.gcodeLog().length;
  await consoleCommand('SAVE_CONFIG');
  assert.ok(b.gcodeSince(g0).includes('SAVE_CONFIG'), 'SAVE_CONFIG ran while idle');
  await b.ready();

  await b.addGcode('long.gcode', 200, 60);
  await b.startCloudJob('guard1', 'long.gcode');
  await eventually(() => b.c.printer.snapshot().print_stats.state === 'printing', 10_000, 'printing');
  const t0 = Date.now();
  const g1 = b.sim.control.gcodeLog().length;
  for (const command of ['SAVE_CONFIG', 'RESTART', 'firmware_restart', 'M104 S200\nFIRMWARE_RESTART']) {
    const answer = await consoleCommand(command);
    assert.match(answer, /^!! refused: \S+ is refused while a print is running$/m, `${command}: ${answer}`);
  }
  const n = b.commandResponses().length;
  b.send('customCommand', { customCommand: 'FIRMWARE_RESTART' });
  await eventually(() => b.commandResponses().length > n, 10_000, 'answer to the Firmware restart entry');
  assert.match(b.commandResponses().at(-1)!, /^!! refused: FIRMWARE_RESTART is refused while a print is running$/);
  assert.deepEqual(b.gcodeSince(g1).filter((s) => !s.startsWith('RESPOND')), [], 'nothing ran');
  assert.ok(!b.rpcMethodsSince(t0).some((m) => /restart/.test(m)), `no restart RPC: ${b.rpcMethodsSince(t0).join(', ')}`);
  assert.equal(b.c.printer.snapshot().print_stats.state, 'printing', 'the print goes on');
  b.send('cancel');
  await eventually(() => b.jobReports().some((r) => r.jobId === 'guard1'), 20_000, 'canceled');
});

test('the policy: command words as Klipper reads them, configured patterns added to the built-in ones', () => {
  const p0 = gcodePolicy({});
  assert.equal(commandWord('  n12 polar_x A=1 ; c'), 'POLAR_X');
  assert.equal(commandWord('G1X10'), 'G1');
  assert.equal(commandWord('M104 S1'), 'M104');
  assert.equal(commandWord('; only a comment'), '');
  // As klippy/gcode.py reads them; the policy also refuses the loose reading (a leading digit or dash).
  assert.equal(commandWord('1POLAR_UNREGISTER'), '1POLAR_UNREGISTER');
  assert.equal(commandWord('N10POLAR_UNREGISTER'), 'POLAR_UNREGISTER');
  assert.equal(commandWord('N10 G1 X5'), 'G1');
  assert.match(refusal('1POLAR_UNREGISTER', p0, false) ?? '', /not allowed/);
  assert.match(refusal('-run_shell_command CMD=x', p0, false) ?? '', /not allowed/);
  const p = gcodePolicy({ deny_gcode: ['foo*'], deny_gcode_while_printing: ['BED_MESH_CALIBRATE'] });
  assert.ok(p.deny.includes('POLAR_*') && p.deny.includes('RUN_SHELL_COMMAND') && p.deny.includes('FOO*'));
  assert.match(refusal('FOOBAR', p, false) ?? '', /not allowed/);
  assert.equal(refusal('BED_MESH_CALIBRATE', p, false), null);
  assert.match(refusal('BED_MESH_CALIBRATE', p, true) ?? '', /while a print is running/);
  assert.equal(refusal('M117 POLAR_UNREGISTER', p, true), null, 'a message text is not a command');
});
