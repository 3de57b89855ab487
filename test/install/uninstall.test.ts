// uninstall.sh against a fake printer host after install.sh ran: it must take
// out exactly what install.sh added. See fake-printer.ts for the stubs.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ASVC, MOONRAKER_CONF, PRINTER_CFG, ageAll, contents, createFixture, ok, read, snapshot, type Fixture } from './fake-printer.js';

let fx: Fixture;
before(() => {
  fx = createFixture();
});
after(() => fx.cleanup());

test('uninstall removes exactly what install added and keeps the user edits around it', () => {
  const w = fx.world();
  const original = snapshot(w.pd);
  ok(w.run('install.sh', ['-y']));
  // The user edits the files after installing.
  appendFileSync(join(w.pd, 'config/moonraker.conf'), '\n[power printer]\ntype: gpio\n');
  writeFileSync(join(w.pd, 'config/printer.cfg'), `# my note\n${read(join(w.pd, 'config/printer.cfg'))}`);
  appendFileSync(join(w.pd, 'moonraker.asvc'), 'my-service\n');

  const r = ok(w.run('uninstall.sh', ['-y']));
  assert.equal(read(join(w.pd, 'config/moonraker.conf')), `${MOONRAKER_CONF}\n[power printer]\ntype: gpio\n`);
  assert.equal(read(join(w.pd, 'config/printer.cfg')), `# my note\n${PRINTER_CFG}`);
  assert.equal(read(join(w.pd, 'moonraker.asvc')), `${ASVC}my-service\n`);
  assert.ok(!existsSync(w.unit));
  assert.ok(!existsSync(join(w.pd, 'systemd/moonraker-polarcloud.env')));
  assert.ok(existsSync(join(w.pd, 'systemd/moonraker.env')), "Moonraker's own env file stays");
  for (const call of ['sudo systemctl disable --now moonraker-polarcloud', 'sudo systemctl daemon-reload', 'sudo systemctl restart moonraker']) {
    assert.ok(r.calls.includes(call), `missing "${call}" in:\n${r.calls.join('\n')}`);
  }
  // -y keeps the config, the macros and the printer's identity.
  for (const p of ['config/polarcloud.yaml', 'config/polarcloud_macros.cfg', 'polarcloud']) assert.ok(existsSync(join(w.pd, p)), p);
  assert.match(r.out, /data folder +kept /);

  // Without the user's edits, what is left is exactly the original plus the kept files.
  writeFileSync(join(w.pd, 'config/moonraker.conf'), MOONRAKER_CONF);
  writeFileSync(join(w.pd, 'config/printer.cfg'), PRINTER_CFG);
  writeFileSync(join(w.pd, 'moonraker.asvc'), ASVC);
  const left = [...snapshot(w.pd).keys()].filter((p) => !original.has(p)).map((p) => p.slice(w.pd.length + 1));
  assert.deepEqual(left.sort(), ['config/polarcloud.yaml', 'config/polarcloud_macros.cfg', 'polarcloud']);
});

test('uninstall keeps config and data unless told otherwise; --purge deletes them; twice is a no-op', () => {
  const w = fx.world();
  const original = contents(w.pd);
  ok(w.run('install.sh', ['-y']));
  writeFileSync(join(w.pd, 'polarcloud/private-key.pem'), 'secret\n', { mode: 0o600 });

  const asked = ok(w.run('uninstall.sh')); // no terminal: every question answers "keep"
  assert.ok(existsSync(join(w.pd, 'polarcloud/private-key.pem')));
  assert.match(asked.out, /config +kept /);

  const purged = ok(w.run('uninstall.sh', ['--purge']));
  assert.match(purged.out, /data folder +deleted /);
  assert.deepEqual(contents(w.pd), original, 'printer_data is back to what it was');
  assert.deepEqual(purged.calls, [], 'the service was already gone');

  ageAll(w.home, w.systemdDir);
  const before = snapshot(w.home, w.systemdDir);
  const again = ok(w.run('uninstall.sh', ['--purge']));
  assert.deepEqual(snapshot(w.home, w.systemdDir), before);
  assert.deepEqual(again.calls, []);
  for (const step of ['service', 'service args', 'moonraker.asvc', 'update_manager', 'printer.cfg', 'config', 'macros', 'data folder']) {
    assert.match(again.out, new RegExp(`^ {2}${step} +already removed`, 'm'), step);
  }
});

test('uninstall leaves the macros file while printer.cfg still includes it by hand', () => {
  const w = fx.world();
  ok(w.run('install.sh', ['-y']));
  const cfg = join(w.pd, 'config/printer.cfg');
  writeFileSync(cfg, `[include polarcloud_macros.cfg]\n${read(cfg)}`);
  const r = ok(w.run('uninstall.sh', ['--purge']));
  assert.equal(read(cfg), `[include polarcloud_macros.cfg]\n${PRINTER_CFG}`);
  assert.ok(existsSync(join(w.pd, 'config/polarcloud_macros.cfg')), 'Klipper would not start without it');
  assert.match(r.out, /macros +kept: printer\.cfg still includes/);
});

test('uninstalling one of two printers leaves the other exactly as it was', () => {
  const w = fx.world({ dataDirs: ['printer_data', 'printer_2_data'] });
  const pd1 = join(w.home, 'printer_data');
  const pd2 = join(w.home, 'printer_2_data');
  ok(w.run('install.sh', ['-y', '--data-dir', pd1]));
  ok(w.run('install.sh', ['-y', '--data-dir', pd2]));
  const unit2 = join(w.systemdDir, 'moonraker-polarcloud-2.service');
  const keep = snapshot(pd1, w.unit, join(w.home, '.local/bin/polarcloud'));

  const r = ok(w.run('uninstall.sh', ['--purge', '--data-dir', pd2]));
  assert.deepEqual(snapshot(pd1, w.unit, join(w.home, '.local/bin/polarcloud')), keep, 'printer_data, its unit and its command untouched');
  assert.ok(!existsSync(unit2));
  assert.ok(!existsSync(join(w.home, '.local/bin/polarcloud-2')));
  assert.equal(read(join(pd2, 'moonraker.asvc')), ASVC);
  assert.equal(read(join(pd2, 'config/moonraker.conf')), MOONRAKER_CONF);
  assert.ok(r.calls.includes('sudo systemctl disable --now moonraker-polarcloud-2'), r.calls.join('\n'));
  assert.ok(r.calls.includes('sudo systemctl restart moonraker-2'), r.calls.join('\n'));
  assert.ok(!r.calls.some((c) => / moonraker-polarcloud$| moonraker$/.test(c)), r.calls.join('\n'));

  // And the other way round.
  const keep2 = snapshot(pd2);
  ok(w.run('uninstall.sh', ['-y', '--data-dir', pd1]));
  assert.deepEqual(snapshot(pd2), keep2);
  assert.ok(!existsSync(w.unit));
  assert.ok(!existsSync(join(w.home, '.local/bin/polarcloud')));
});
