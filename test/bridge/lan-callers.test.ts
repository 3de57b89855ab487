// Any Moonraker client on the LAN can call the bridge's front-end methods
// (server.extensions.request) and Klipper's console can call its remote
// methods: a registered printer is re-registered only with force, and
// unregistering needs an explicit confirmation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { Bridge, eventually } from './bridge-harness.js';

const MACROS = new URL('../../../moonraker-bridge/install/polarcloud_macros.cfg', import.meta.url).pathname;

async function extension(sim: string, method: string, args: Record<string, unknown> = {}): Promise<{ status: number; text: string }> {
  const res = await fetch(`${sim}/server/extensions/request`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ agent: 'moonraker-polarcloud', method, arguments: args }),
  });
  return { status: res.status, text: await res.text() };
}

function registers(b: Bridge): number {
  return b.emu.control.events().filter((e) => e.kind === 'in' && e.name === 'register').length;
}

test('a LAN client cannot re-register a registered printer without force, nor unregister it without confirm', async () => {
  const b = await Bridge.start();
  try {
    const before = registers(b);
    const again = await extension(b.sim.url, 'register', { email: 'mallory@evil.example', pin: '1111' });
    assert.notEqual(again.status, 200);
    // (Moonraker's agent error hides the reason from the caller; another change carries it in the result.)
    assert.equal(registers(b), before, 'no register message reached the cloud');
    assert.equal(b.c.polar.serialNumber, b.serial);

    const unreg = await extension(b.sim.url, 'unregister');
    assert.notEqual(unreg.status, 200);
    const unregNo = await extension(b.sim.url, 'unregister', { confirm: 'no' });
    assert.notEqual(unregNo.status, 200);
    assert.equal(b.c.polar.serialNumber, b.serial, 'still registered');
    assert.ok(!b.emu.control.events().some((e) => e.kind === 'in' && e.name === 'unregister'));

    const forced = await extension(b.sim.url, 'register', { email: 'a@b.example', pin: '1234', force: true });
    assert.equal(forced.status, 200, forced.text);
    assert.equal(registers(b), before + 1, 'forced: registered again');

    const ok = await extension(b.sim.url, 'unregister', { confirm: 'yes' });
    assert.equal(ok.status, 200, ok.text);
    await eventually(() => b.c.polar.serialNumber === undefined, 5000, 'unregistered');
  } finally {
    await b.stop();
  }
});

test('console: POLAR_REGISTER on a registered printer and POLAR_UNREGISTER without CONFIRM=yes are refused with a console error', async () => {
  const b = await Bridge.start();
  try {
    const before = registers(b);
    const g0 = b.sim.control.gcodeLog().length;
    assert.ok(b.sim.control.callRemoteMethod('polarcloud_register', { email: 'a@b.example', pin: '1234', force: 'no' }));
    await eventually(() => b.gcodeSince(g0).some((l) => l.startsWith('RESPOND TYPE=error')), 5000, 'register refused');
    assert.match(b.gcodeSince(g0).join('\n'), /already registered as printer \S+; to register again .*FORCE=yes/);
    assert.equal(registers(b), before);

    const g1 = b.sim.control.gcodeLog().length;
    assert.ok(b.sim.control.callRemoteMethod('polarcloud_unregister', {}));
    await eventually(() => b.gcodeSince(g1).some((l) => l.startsWith('RESPOND TYPE=error')), 5000, 'unregister refused');
    assert.match(b.gcodeSince(g1).join('\n'), /POLAR_UNREGISTER CONFIRM=yes/);
    assert.equal(b.c.polar.serialNumber, b.serial, 'still registered');

    const g2 = b.sim.control.gcodeLog().length;
    assert.ok(b.sim.control.callRemoteMethod('polarcloud_unregister', { confirm: 'YES' }));
    await eventually(() => b.gcodeSince(g2).some((l) => /unregistered from Polar Cloud/.test(l)), 5000, 'unregistered');
  } finally {
    await b.stop();
  }
});

test('the installed macros pass FORCE and CONFIRM through, and POLAR_UNREGISTER checks CONFIRM itself', async () => {
  const cfg = await readFile(MACROS, 'utf8');
  const unreg = cfg.slice(cfg.indexOf('[gcode_macro POLAR_UNREGISTER]'));
  const unregBody = unreg.slice(0, unreg.indexOf('\n[', 1));
  assert.match(unregBody, /params\.CONFIRM\|default\(""\)\|lower != "yes"/);
  assert.match(unregBody, /action_raise_error\("POLAR_UNREGISTER .*CONFIRM=yes/);
  assert.match(unregBody, /action_call_remote_method\("polarcloud_unregister", confirm=params\.CONFIRM\)/);
  assert.match(cfg, /action_call_remote_method\("polarcloud_register", email=params\.EMAIL, pin=params\.PIN, force=params\.FORCE\|default\("no"\)\)/);
});
