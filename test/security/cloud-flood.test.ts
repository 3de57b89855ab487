// Issue 13.9 (and 14.7): floods and big messages from the cloud. A 2 MiB
// socket.io message is refused by the websocket while it arrives (the link is
// dropped and comes back, memory stays flat, nothing crashes); 20,000
// `temperature` commands become a handful of G-code scripts (the latest target
// per heater wins) in a lane of their own that a pending TEMPERATURE_WAIT does
// not hold; an unknown event name is logged once, then counted; a temperature
// with one bad field applies the good ones and logs the bad one.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Bridge, eventually } from '../bridge/bridge-harness.js';

let b: Bridge;
const SPEED = 20;
const crashes: unknown[] = [];
const onCrash = (err: unknown): void => void crashes.push(err);
before(async () => {
  process.on('uncaughtException', onCrash);
  process.on('unhandledRejection', onCrash);
  b = await Bridge.start({ speedFactor: SPEED });
});
after(async () => {
  await b.stop();
  process.off('uncaughtException', onCrash);
  process.off('unhandledRejection', onCrash);
});

test('a 2 MiB message from the cloud is dropped by the websocket: reconnect, no memory blow-up, no crash', async (t) => {
  global.gc?.();
  const rss0 = process.memoryUsage().rss;
  let offline = 0;
  const off = b.c.polar.events.on('offline', () => void offline++);
  const g0 = b.sim.control.gcodeLog().length;
  const big = 'M117 BIG '.padEnd(2 * 1048576, 'x');
  assert.equal(b.emu.control.sendRaw(b.serial, 'command', [{ serialNumber: b.serial, command: big }]), 1);
  await eventually(() => offline === 1, 10_000, 'the link dropped');
  await eventually(() => b.c.polar.online, 10_000, 'back online');
  off();
  assert.ok(b.log.has(/larger than 1024 KiB/), `the reason is logged: ${b.log.lines().filter((l) => /lost|larger/.test(l)).join(' | ')}`);
  assert.deepEqual(b.gcodeSince(g0).filter((g) => g.includes('BIG')), [], 'nothing of it ran');
  const grew = (process.memoryUsage().rss - rss0) / 1048576;
  assert.ok(grew < 64, `RSS grew ${grew.toFixed(1)} MiB`);
  t.diagnostic(`RSS ${(rss0 / 1048576).toFixed(1)} -> ${(process.memoryUsage().rss / 1048576).toFixed(1)} MiB (test process: emulator, simulator and bridge)`);
  // Still works afterwards.
  const since = b.emu.control.lastSeq();
  b.send('temperature', { bed: 41 });
  await b.waitStatus((s) => s.targetBed === 41, since, 10_000, 'temperature after the reconnect');
  assert.deepEqual(crashes, []);
});

/** Temperature scripts Moonraker received since `g0`. */
function temperatureScripts(g0: number): string[] {
  return b.gcodeSince(g0).filter((g) => /^(M104|M140|SET_HEATER_TEMPERATURE)/m.test(g));
}

test('20,000 temperature commands coalesce into a few scripts; the latest target per heater wins', { timeout: 120_000 }, async (t) => {
  const g0 = b.sim.control.gcodeLog().length;
  const t0 = Date.now();
  const N = 20_000;
  for (let i = 0; i < N - 1; i++) {
    // Bed and tool interleaved: the bed's last value comes from an earlier command than the tool's.
    b.emu.control.sendRaw(b.serial, 'temperature', [i % 2 ? { serialNumber: b.serial, tool0: i % 180 } : { serialNumber: b.serial, bed: i % 90 }]);
  }
  b.emu.control.sendRaw(b.serial, 'temperature', [{ serialNumber: b.serial, tool0: 123 }]);
  // Last tool0 = 123 (the final command); last bed = (N - 2) % 90 (the last even i).
  const bedWant = (N - 2) % 90;
  await eventually(() => {
    const s = temperatureScripts(g0).join('\n');
    return s.includes('M104 T0 S123') && s.lastIndexOf(`M140 S${bedWant}`) >= 0;
  }, 90_000, 'the final targets sent');
  await eventually(() => b.c.printer.snapshot().heaters.find((h) => h.name === 'extruder')?.target === 123, 10_000, 'target applied');
  const scripts = temperatureScripts(g0);
  const last = scripts.at(-1)!;
  assert.ok(last.includes('M104 T0 S123'), `last script sets the last tool target: ${last}`);
  assert.equal(b.c.printer.snapshot().heaters.find((h) => h.name === 'heater_bed')?.target, bedWant, 'the bed ends at its latest target');
  assert.ok(scripts.length <= 50, `${N} commands became ${scripts.length} scripts`);
  t.diagnostic(`${N} temperature commands -> ${scripts.length} G-code scripts in ${Date.now() - t0} ms`);
  assert.equal(b.c.polar.state, 'online');
});

test('temperatures have their own lane: a pending console TEMPERATURE_WAIT does not hold them', async () => {
  // Simulated time stands (almost) still: the extruder cannot drift into the wait's range by itself
  // while the test looks, and the 260 °C that ends the wait cannot cool below 250 before the wait
  // sees it (at the usual speed it does within a physics tick on a loaded machine).
  b.sim.control.setSpeedFactor(0.001);
  try {
    b.sim.control.setHeaterTemperature('extruder', 20);
    const n = b.commandResponses().length;
    const g0 = b.sim.control.gcodeLog().length;
    b.send('command', { command: 'TEMPERATURE_WAIT SENSOR=extruder MINIMUM=250' });
    await eventually(() => b.gcodeSince(g0).includes('TEMPERATURE_WAIT SENSOR=extruder MINIMUM=250'), 10_000, 'the wait reached Klipper');
    b.send('temperature', { bed: 55 });
    await eventually(() => b.gcodeSince(g0).includes('M140 S55'), 10_000, 'M140 S55 sent while the console waits');
    assert.equal(b.commandResponses().length, n, 'the console command is still waiting');
    b.sim.control.setHeaterTemperature('extruder', 260);
    await eventually(() => b.commandResponses().length > n, 10_000, 'the console command finished');
  } finally {
    b.sim.control.setSpeedFactor(SPEED);
  }
});

test('an unknown event name is logged once, then counted', async () => {
  const from = b.log.records.length;
  const c0 = b.c.polar.unknownEvents.count;
  for (let i = 0; i < 500; i++) b.emu.control.sendRaw(b.serial, 'bogusEvent', [{ serialNumber: b.serial }]);
  b.emu.control.sendRaw(b.serial, 'bogus\nforged line', [{}]);
  await eventually(() => b.c.polar.unknownEvents.count === c0 + 501, 10_000, 'all counted');
  const lines = b.log.records.slice(from).filter((r) => r.msg.includes('bogus'));
  assert.deepEqual(lines.filter((r) => r.level === 'warn').map((r) => r.msg), [
    "ignored unknown command from Polar Cloud: 'bogusEvent' (logged once; repeats are counted)",
    "ignored unknown command from Polar Cloud: 'bogus\\u000aforged line' (logged once; repeats are counted)",
  ]);
  assert.deepEqual(lines.filter((r) => r.level === 'info').map((r) => r.msg), ["unknown command 'bogusEvent' from Polar Cloud ignored 10 times", "unknown command 'bogusEvent' from Polar Cloud ignored 100 times"]);
});

test('temperature (issue 14.7): one invalid field is ignored and logged, the valid ones apply', async () => {
  const g0 = b.sim.control.gcodeLog().length;
  const from = b.log.records.length;
  b.send('temperature', { tool0: 'M112', bed: 45, tool1: { x: 1 }, chamber: 'hot' });
  await eventually(() => b.gcodeSince(g0).some((g) => g.includes('M140 S45')), 10_000, 'the bed target applied');
  assert.deepEqual(temperatureScripts(g0), ['M140 S45'], 'only the valid field became G-code');
  assert.ok(b.log.records.slice(from).some((r) => r.level === 'warn' && r.msg === 'temperature: ignored invalid field(s) "tool0", "tool1", "chamber"; the valid ones are applied'), b.log.lines().slice(-5).join(' | '));
  assert.ok(!b.log.records.slice(from).some((r) => r.msg.startsWith("dropped invalid 'temperature'")), 'not dropped as a whole');
});
