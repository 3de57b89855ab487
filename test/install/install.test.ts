// install.sh (and the wrappers, --help, shellcheck) against a fake printer
// host: see fake-printer.ts for the stubs and what they record.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ASVC, INCLUDE_LINE, MOONRAKER_CONF, OLD_MACROS, ORIGIN, PRINTER_CFG, SAVE_CONFIG, SOURCE, ageAll, count, createFixture, ok, read, snapshot, stub, type Fixture } from './fake-printer.js';

let fx: Fixture;
before(() => {
  fx = createFixture();
});
after(() => fx.cleanup());

const SUDO_ALLOWED = [
  /^sudo apt-get update -qq$/,
  /^sudo apt-get install (-y )?ffmpeg$/,
  /^sudo install -m 0644 \S+ \S+\/moonraker-polarcloud\.service$/,
  /^sudo systemctl (daemon-reload|enable moonraker-polarcloud|restart moonraker-polarcloud|restart moonraker(-\w+)?)$/,
];

test('install writes the unit, config, data folder, macros and Moonraker entries', () => {
  const w = fx.world();
  const r = ok(w.run('install.sh', ['-y']));
  const unit = read(w.unit);
  assert.match(unit, /^After=network-online\.target moonraker\.service$/m);
  assert.match(unit, /^Wants=network-online\.target$/m);
  assert.match(unit, /^User=pi$/m);
  assert.match(unit, /^Restart=always$/m);
  assert.match(unit, /^RestartSec=10$/m);
  assert.match(unit, /^RestartPreventExitStatus=2$/m, 'a config error does not loop every 10 s');
  assert.ok(unit.includes(`\nEnvironmentFile=${w.pd}/systemd/moonraker-polarcloud.env\n`), unit);
  assert.ok(unit.includes(`\nExecStart=${w.bin}/node --lite-mode --no-expose-wasm ${fx.repo}/dist/polarcloud.mjs $POLARCLOUD_ARGS\n`), unit);
  for (const line of ['NoNewPrivileges=true', 'ProtectSystem=strict', 'PrivateTmp=true', 'ProtectKernelTunables=true', 'ProtectControlGroups=true', 'RestrictSUIDSGID=true', 'SyslogIdentifier=moonraker-polarcloud', 'StandardOutput=journal', 'WantedBy=multi-user.target']) {
    assert.ok(unit.includes(`\n${line}\n`), `unit lacks ${line}`);
  }
  assert.equal(read(join(w.pd, 'systemd/moonraker-polarcloud.env')).split('\n').filter((l) => !l.startsWith('#')).join('\n'), `POLARCLOUD_ARGS="run --config ${w.pd}/config/polarcloud.yaml"\n`);

  const yaml = read(join(w.pd, 'config/polarcloud.yaml'));
  assert.match(yaml, /^ {2}url: 'http:\/\/127\.0\.0\.1:7126'$/m);
  assert.ok(yaml.includes(`\ndata_dir: '${w.pd}/polarcloud'\n`), yaml);
  assert.ok(yaml.includes(`\n  file: '${w.pd}/logs/moonraker-polarcloud.log'\n`), yaml);
  assert.match(yaml, /^ {2}# max_size: /m);
  assert.match(yaml, /^ {2}# files: /m);
  assert.doesNotMatch(yaml, /^\s*(pin|api_key):/m, 'no secrets in the template');
  assert.equal(lstatSync(join(w.pd, 'polarcloud')).mode & 0o777, 0o700);

  const asvc = read(join(w.pd, 'moonraker.asvc'));
  assert.equal(asvc, `${ASVC}moonraker-polarcloud\n`);

  const conf = read(join(w.pd, 'config/moonraker.conf'));
  assert.ok(conf.startsWith(MOONRAKER_CONF), 'the user part of moonraker.conf is untouched');
  assert.equal(count(conf, '[update_manager moonraker-polarcloud]'), 1);
  const block = conf.slice(MOONRAKER_CONF.length);
  assert.match(block, /^\n# >>> moonraker-polarcloud \(managed by install\.sh\)\n/);
  assert.match(block, /\n# <<< moonraker-polarcloud\n$/);
  for (const line of ['type: git_repo', `path: ${fx.repo}`, `origin: ${ORIGIN}`, 'primary_branch: main', 'managed_services: moonraker-polarcloud', 'system_dependencies: moonraker-bridge/install/system-dependencies.json', 'info_tags:', '  desc=Polar Cloud bridge']) {
    assert.ok(block.includes(`\n${line}\n`), `update_manager block lacks "${line}":\n${block}`);
  }
  const deps = JSON.parse(read(join(fx.repo, 'moonraker-bridge/install/system-dependencies.json'))) as Record<string, string[]>;
  assert.deepEqual(deps, { debian: ['ffmpeg'] });

  assert.equal(read(join(w.pd, 'config/polarcloud_macros.cfg')), read(join(fx.repo, 'moonraker-bridge/install/polarcloud_macros.cfg')));
  const printerCfg = read(join(w.pd, 'config/printer.cfg'));
  assert.equal(printerCfg, PRINTER_CFG.replace(SAVE_CONFIG, `${INCLUDE_LINE}\n${SAVE_CONFIG}`), 'include goes above SAVE_CONFIG');

  for (const call of ['sudo apt-get install -y ffmpeg', 'sudo systemctl daemon-reload', 'sudo systemctl enable moonraker-polarcloud', 'sudo systemctl restart moonraker-polarcloud', 'sudo systemctl restart moonraker']) {
    assert.ok(r.calls.includes(call), `missing call "${call}" in:\n${r.calls.join('\n')}`);
  }
  assert.ok(r.calls.indexOf('sudo systemctl daemon-reload') < r.calls.indexOf('sudo systemctl enable moonraker-polarcloud'));
  for (const call of r.calls.filter((c) => c.startsWith('sudo '))) {
    assert.ok(SUDO_ALLOWED.some((re) => re.test(call)), `unexpected sudo use: ${call}`);
  }
  assert.deepEqual(r.calls.filter((c) => c.startsWith('node ')), ['node --version']);
  assert.match(r.out, /POLAR_REGISTER EMAIL=\S+ PIN=\S+/);
  assert.doesNotMatch(r.out, /--pin\b/, 'the summary never suggests a PIN on a command line (shell history, ps)');
  // The polarcloud command: ~/.local/bin is not on this PATH, so the summary names its full path.
  const wrapper = join(w.home, '.local/bin/polarcloud');
  assert.equal(lstatSync(wrapper).mode & 0o777, 0o755);
  assert.match(read(wrapper), new RegExp(`^exec ${w.bin}/node ${fx.repo}/dist/polarcloud\\.mjs --config ${w.pd}/config/polarcloud\\.yaml "\\$@"$`, 'm'));
  assert.ok(r.out.includes(`export POLARCLOUD_PIN && ${wrapper} register --email you@example.org`), r.out);
  assert.match(r.out, /not on PATH yet: log in again, then just polarcloud\)/);
  // Running it hands the arguments to the bundle with this printer's config (the node stub records the call).
  const log = join(w.home, 'wrapper-calls.log');
  spawnSync(fx.bash, [wrapper, 'status', '--json', 'a b'], { env: { PATH: w.bin, STUB_LOG: log }, encoding: 'utf8' });
  assert.equal(read(log), `node ${fx.repo}/dist/polarcloud.mjs --config ${w.pd}/config/polarcloud.yaml status --json a b\n`);
});

test('a second install changes nothing and says already installed', () => {
  const w = fx.world();
  ok(w.run('install.sh', ['-y']));
  ageAll(w.home, w.systemdDir);
  const before = snapshot(w.home, w.systemdDir);
  const r = ok(w.run('install.sh', ['-y']));
  assert.deepEqual(snapshot(w.home, w.systemdDir), before, 'no file or folder written, not even a temporary one');
  assert.deepEqual(r.calls.filter((c) => c.startsWith('sudo ')), [], 'no sudo: no apt-get, unit write, daemon-reload, enable or restart');
  for (const step of ['ffmpeg', 'data folder', 'config', 'service args', 'macros', 'printer.cfg', 'moonraker.asvc', 'update_manager', 'service']) {
    assert.match(r.out, new RegExp(`^ {2}${step} +already installed`, 'm'), `step ${step}:\n${r.out}`);
  }
  assert.match(r.out, /^ {2}start at boot +already enabled/m);
  assert.match(r.out, /^ {2}running +already running/m);
  assert.equal(count(read(join(w.pd, 'config/moonraker.conf')), '[update_manager moonraker-polarcloud]'), 1);
  assert.equal(count(read(join(w.pd, 'moonraker.asvc')), 'moonraker-polarcloud'), 1);
  assert.equal(count(read(join(w.pd, 'config/printer.cfg')), '[include polarcloud_macros.cfg]'), 1);
});

test('an existing polarcloud.yaml and env file are never overwritten', () => {
  const w = fx.world();
  const mine = 'moonraker:\n  url: http://127.0.0.1:7999\n';
  const env = 'POLARCLOUD_ARGS="run --config /elsewhere.yaml"\n';
  writeFileSync(join(w.pd, 'config/polarcloud.yaml'), mine);
  writeFileSync(join(w.pd, 'systemd/moonraker-polarcloud.env'), env);
  const r = ok(w.run('install.sh', ['-y']));
  assert.equal(read(join(w.pd, 'config/polarcloud.yaml')), mine);
  assert.equal(read(join(w.pd, 'systemd/moonraker-polarcloud.env')), env);
  assert.match(r.out, /config +already installed .*left as it is/);
});

test('refuses to run as root, before touching anything', () => {
  const w = fx.world();
  const before = snapshot(w.home, w.systemdDir);
  for (const script of ['install.sh', 'uninstall.sh']) {
    const r = w.run(script, ['-y'], { FAKE_UID: '0' });
    assert.equal(r.code, 1);
    assert.match(r.err, /do not run this as root or with sudo/);
    assert.deepEqual(r.calls, []);
  }
  assert.deepEqual(snapshot(w.home, w.systemdDir), before);
});

test('refuses Node.js older than 18.19 (or none) and says how to get it', () => {
  const w = fx.world();
  const before = snapshot(w.home, w.systemdDir);
  for (const version of ['v16.20.0', 'v18.18.2', 'garbage']) {
    const r = w.run('install.sh', ['-y'], { FAKE_NODE_VERSION: version });
    assert.equal(r.code, 1, version);
    assert.ok(r.err.includes('sudo apt install nodejs'), r.err);
    assert.match(r.err, /bookworm or trixie/);
    assert.deepEqual(r.calls.filter((c) => c.startsWith('sudo ')), []);
  }
  assert.deepEqual(snapshot(w.home, w.systemdDir), before, 'nothing written');
  unlinkSync(join(w.bin, 'node'));
  const none = w.run('install.sh', ['-y']);
  assert.equal(none.code, 1);
  assert.match(none.err, /node\) was not found[\s\S]*sudo apt install nodejs/);
  // Newer versions pass.
  stub(fx.bash, w.bin, 'node', 'echo "${FAKE_NODE_VERSION}"');
  assert.match(ok(w.run('install.sh', ['-y'], { FAKE_NODE_VERSION: 'v22.3.0' })).out, /node +v22\.3\.0/);
});

test('finds the only printer_<name>_data, and asks for --data-dir when there are several', () => {
  const one = fx.world({ dataDirs: ['printer_2_data'] });
  const r = ok(one.run('install.sh', ['-y']));
  assert.match(r.out, /printer_data +\S+\/printer_2_data /);
  assert.match(r.out, /instance +moonraker-polarcloud-2 \(command: polarcloud-2\)/);
  const unit2 = join(one.systemdDir, 'moonraker-polarcloud-2.service');
  assert.match(read(unit2), /^After=network-online\.target moonraker-2\.service$/m);
  assert.ok(!existsSync(one.unit), 'no unit without the instance name');
  assert.ok(r.calls.includes('sudo systemctl restart moonraker-2'), r.calls.join('\n'));
  assert.ok(r.calls.includes('sudo systemctl enable moonraker-polarcloud-2'), r.calls.join('\n'));

  const two = fx.world({ dataDirs: ['printer_1_data', 'printer_2_data'] });
  const before = snapshot(two.home);
  const refused = two.run('install.sh', ['-y']);
  assert.equal(refused.code, 1);
  assert.match(refused.err, /several printer_data folders found: \S+printer_1_data \S+printer_2_data; choose one with --data-dir DIR/);
  assert.deepEqual(snapshot(two.home), before);
  const chosen = ok(two.run('install.sh', ['-y', '--data-dir', join(two.home, 'printer_1_data')]));
  assert.match(chosen.out, /printer_1_data \(user pi, Moonraker on port 7126\)/);
  assert.ok(existsSync(join(two.home, 'printer_1_data/config/polarcloud.yaml')));
  assert.ok(!existsSync(join(two.home, 'printer_2_data/config/polarcloud.yaml')));

  // A folder outside KIAUH's naming shares the default name: taking over another printer's unit is refused.
  const plain = fx.world();
  ok(plain.run('install.sh', ['-y']));
  const mkOdd = join(plain.home, 'klipper_b');
  for (const d of ['config', 'logs', 'systemd']) mkdirSync(join(mkOdd, d), { recursive: true });
  const other = plain.run('install.sh', ['-y', '--data-dir', mkOdd]);
  assert.equal(other.code, 1);
  assert.match(other.err, /moonraker-polarcloud\.service already serves another printer .*Rename this folder printer_<name>_data/);

  const none = fx.world({ dataDirs: [] });
  const missing = none.run('install.sh', ['-y']);
  assert.equal(missing.code, 1);
  assert.match(missing.err, /no printer_data folder found .*--data-dir DIR/);
});

test("uses Moonraker's default port 7125 unless [server] sets another", () => {
  const w = fx.world();
  writeFileSync(join(w.pd, 'config/moonraker.conf'), '[server]\nhost: 0.0.0.0\n\n[mqtt]\nport: 1883\n');
  ok(w.run('install.sh', ['-y']));
  assert.match(read(join(w.pd, 'config/polarcloud.yaml')), /^ {2}url: 'http:\/\/127\.0\.0\.1:7125'$/m);
});

test("creates a missing moonraker.asvc with Moonraker's default services", () => {
  const w = fx.world();
  rmSync(join(w.pd, 'moonraker.asvc'));
  ok(w.run('install.sh', ['-y']));
  const lines = read(join(w.pd, 'moonraker.asvc')).trim().split('\n');
  assert.equal(lines.at(-1), 'moonraker-polarcloud');
  for (const s of ['klipper_mcu', 'webcamd', 'KlipperScreen', 'crowsnest', 'moonraker-obico']) assert.ok(lines.includes(s), s);
});

test('without -y and without a terminal, printer.cfg is left alone and apt-get may ask', () => {
  const w = fx.world();
  const r = ok(w.run('install.sh'));
  assert.equal(read(join(w.pd, 'config/printer.cfg')), PRINTER_CFG);
  assert.match(r.out, /printer\.cfg +not changed: run again with -y/);
  // No macros in printer.cfg: the summary offers the shell way only, and says how to get the macros.
  assert.doesNotMatch(r.out, /POLAR_REGISTER/);
  assert.match(r.out, /^ {2}in a shell \(the PIN is read without echo/m);
  assert.match(r.out, /export POLARCLOUD_PIN && \S+\/polarcloud register --email you@example\.org$/m);
  assert.doesNotMatch(r.out, /--pin\b/);
  assert.match(r.out, /console macros need \[include polarcloud_macros\.cfg\] in printer\.cfg: run install\.sh -y/);
  assert.ok(r.calls.includes('sudo apt-get install ffmpeg'), r.calls.join('\n'));
  assert.ok(existsSync(join(w.pd, 'config/polarcloud_macros.cfg')));
});

test('--no-service writes no unit and makes no systemctl call; --no-restart restarts nothing', () => {
  const w = fx.world();
  const r = ok(w.run('install.sh', ['-y', '--no-service', '--no-restart']));
  assert.ok(!existsSync(w.unit));
  assert.deepEqual(r.calls.filter((c) => c.includes('systemctl')), []);
  assert.match(r.out, /run it yourself: +\S+\/\.local\/bin\/polarcloud run$/m);

  const v = fx.world();
  const nr = ok(v.run('install.sh', ['-y', '--no-restart']));
  assert.ok(existsSync(v.unit));
  assert.deepEqual(nr.calls.filter((c) => c.includes(' restart ')), []);
  assert.match(nr.out, /moonraker +not restarted \(--no-restart\): sudo systemctl restart moonraker/);
});

test('an unedited older polarcloud_macros.cfg is updated, an edited one kept', () => {
  const w = fx.world();
  const dst = join(w.pd, 'config/polarcloud_macros.cfg');
  writeFileSync(dst, OLD_MACROS);
  assert.match(ok(w.run('install.sh', ['-y'])).out, /macros +updated /);
  assert.equal(read(dst), read(join(fx.repo, 'moonraker-bridge/install/polarcloud_macros.cfg')));

  const edited = `${OLD_MACROS}# my change\n`;
  writeFileSync(dst, edited);
  assert.match(ok(w.run('install.sh', ['-y'])).out, /macros +kept .*you changed it/);
  assert.equal(read(dst), edited);
});

test('the macros check their parameters and call the remote methods', () => {
  const macros = read(join(SOURCE, 'moonraker-bridge/install/polarcloud_macros.cfg'));
  for (const name of ['POLAR_REGISTER', 'POLAR_STATUS', 'POLAR_UNREGISTER', 'POLAR_NEXT', 'POLAR_DIAG']) {
    assert.match(macros, new RegExp(`^\\[gcode_macro ${name}\\]\\ndescription: \\S`, 'm'), name);
  }
  assert.ok(macros.includes('action_call_remote_method("polarcloud_register", email=params.EMAIL, pin=params.PIN, force=params.FORCE|default("no"))'));
  assert.match(macros, /\{% if not params\.EMAIL or not params\.PIN %\}\s+\{action_raise_error\(/);
  for (const m of ['polarcloud_status', 'polarcloud_unregister', 'polarcloud_next_print', 'polarcloud_diag']) assert.ok(macros.includes(`action_call_remote_method("${m}"`), m);
  assert.ok(macros.includes('action_call_remote_method("polarcloud_next_print", job=params.JOB)'));
});

test('--help, unknown options, and the top-level wrappers', () => {
  const w = fx.world();
  for (const script of ['install.sh', 'uninstall.sh', 'moonraker-bridge/install/install.sh', 'moonraker-bridge/install/uninstall.sh']) {
    const help = ok(w.run(script, ['--help'], { FAKE_UID: '0' }));
    assert.match(help.out, /^Usage: (un)?install\.sh /, script);
    const bad = w.run(script, ['--frobnicate']);
    assert.equal(bad.code, 2, script);
    assert.match(bad.err, /unknown option: --frobnicate/);
  }
});

test('shellcheck finds nothing in the scripts', (t) => {
  const probe = spawnSync('shellcheck', ['--version'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) {
    t.skip('shellcheck is not installed (apt install shellcheck)');
    return;
  }
  const files = ['install.sh', 'uninstall.sh', 'moonraker-bridge/install/install.sh', 'moonraker-bridge/install/uninstall.sh', 'moonraker-bridge/install/common.sh', 'moonraker-bridge/install/instance-steps.sh'];
  const r = spawnSync('shellcheck', ['-x', ...files], { cwd: SOURCE, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stdout + r.stderr);
});

test('two printers on one host: each instance has its own unit, env, log, asvc entry, update_manager block and command', () => {
  const w = fx.world({ dataDirs: ['printer_data', 'printer_2_data', 'printer_bench_data'] });
  const pd1 = join(w.home, 'printer_data');
  const pd2 = join(w.home, 'printer_2_data');
  const pdB = join(w.home, 'printer_bench_data');
  ok(w.run('install.sh', ['-y', '--data-dir', pd1]));
  ageAll(w.home, w.systemdDir);
  const first = snapshot(pd1);
  const firstUnit = read(w.unit);
  const r2 = ok(w.run('install.sh', ['-y', '--data-dir', pd2]));
  const rB = ok(w.run('install.sh', ['-y', '--data-dir', pdB]));
  assert.deepEqual(snapshot(pd1), first, 'installing printer 2 and "bench" did not touch printer_data');
  assert.equal(read(w.unit), firstUnit);
  for (const [r, pd, name, moonraker] of [
    [r2, pd2, 'moonraker-polarcloud-2', 'moonraker-2'],
    [rB, pdB, 'moonraker-polarcloud-bench', 'moonraker-bench'],
  ] as const) {
    const unit = read(join(w.systemdDir, `${name}.service`));
    assert.ok(unit.includes(`\nEnvironmentFile=${pd}/systemd/moonraker-polarcloud.env\n`), unit);
    assert.match(unit, new RegExp(`^After=network-online\\.target ${moonraker}\\.service$`, 'm'));
    assert.match(unit, new RegExp(`^SyslogIdentifier=${name}$`, 'm'));
    assert.ok(read(join(pd, 'config/polarcloud.yaml')).includes(`\ndata_dir: '${pd}/polarcloud'\n`));
    assert.ok(read(join(pd, 'config/polarcloud.yaml')).includes(`\n  file: '${pd}/logs/moonraker-polarcloud.log'\n`));
    assert.match(read(join(pd, 'config/polarcloud.yaml')), new RegExp(`^# Restart the service after a change: sudo systemctl restart ${name}$`, 'm'));
    assert.match(read(join(pd, 'config/polarcloud.yaml')), new RegExp(`export POLARCLOUD_PIN && polarcloud-${name.slice('moonraker-polarcloud-'.length)} register --email`));
    assert.doesNotMatch(read(join(pd, 'config/polarcloud.yaml')), /@[A-Z_]+@/);
    assert.equal(read(join(pd, 'moonraker.asvc')), `${ASVC}${name}\n`);
    const conf = read(join(pd, 'config/moonraker.conf'));
    assert.equal(count(conf, '[update_manager moonraker-polarcloud]'), 1);
    assert.match(conf, new RegExp(`^managed_services: ${name}$`, 'm'));
    assert.ok(conf.includes(`\npath: ${fx.repo}\n`), 'one checkout serves every instance');
    for (const call of [`sudo systemctl enable ${name}`, `sudo systemctl restart ${name}`, `sudo systemctl restart ${moonraker}`]) assert.ok(r.calls.includes(call), `${call}:\n${r.calls.join('\n')}`);
    assert.ok(!r.calls.some((c) => / moonraker-polarcloud$| moonraker$/.test(c)), `printer_data's services untouched:\n${r.calls.join('\n')}`);
  }
  assert.match(read(join(w.home, '.local/bin/polarcloud-2')), new RegExp(`--config ${pd2}/config/polarcloud\\.yaml "\\$@"`));
  assert.match(read(join(w.home, '.local/bin/polarcloud-bench')), new RegExp(`--config ${pdB}/config/polarcloud\\.yaml "\\$@"`));
  assert.match(read(join(w.home, '.local/bin/polarcloud')), new RegExp(`--config ${pd1}/config/polarcloud\\.yaml "\\$@"`));

  // Idempotent per instance.
  ageAll(w.home, w.systemdDir);
  const all = snapshot(w.home, w.systemdDir);
  const again = ok(w.run('install.sh', ['-y', '--data-dir', pd2]));
  assert.deepEqual(snapshot(w.home, w.systemdDir), all);
  assert.deepEqual(again.calls.filter((c) => c.startsWith('sudo ')), []);
  assert.match(again.out, /^ {2}command +already installed/m);
});

test('a printer_2_data installed before instances had names moves from moonraker-polarcloud to moonraker-polarcloud-2', () => {
  const w = fx.world({ dataDirs: ['printer_2_data'] });
  // What the previous install.sh left: the unit named moonraker-polarcloud serving printer_2_data.
  writeFileSync(w.unit, `[Service]\nEnvironmentFile=${w.pd}/systemd/moonraker-polarcloud.env\n`);
  writeFileSync(join(w.pd, 'systemd/moonraker-polarcloud.env'), `POLARCLOUD_ARGS="run --config ${w.pd}/config/polarcloud.yaml"\n`);
  writeFileSync(join(w.pd, 'moonraker.asvc'), `${ASVC}moonraker-polarcloud\n`);
  writeFileSync(join(w.pd, 'config/moonraker.conf'), `${MOONRAKER_CONF}\n# >>> moonraker-polarcloud (managed by install.sh)\n[update_manager moonraker-polarcloud]\ntype: git_repo\npath: ${fx.repo}\nmanaged_services: moonraker-polarcloud\n# <<< moonraker-polarcloud\n\n[my_section]\nkey: 1\n`);
  const r = ok(w.run('install.sh', ['-y']));
  assert.ok(!existsSync(w.unit), 'the old unit is gone');
  assert.ok(existsSync(join(w.systemdDir, 'moonraker-polarcloud-2.service')));
  assert.ok(r.calls.includes('sudo systemctl disable --now moonraker-polarcloud'), r.calls.join('\n'));
  assert.match(r.out, /migrated +moonraker-polarcloud served this folder: renamed to moonraker-polarcloud-2/);
  assert.equal(read(join(w.pd, 'moonraker.asvc')), `${ASVC}moonraker-polarcloud-2\n`);
  const conf = read(join(w.pd, 'config/moonraker.conf'));
  assert.match(conf, /^managed_services: moonraker-polarcloud-2$/m);
  assert.equal(count(conf, '[update_manager moonraker-polarcloud]'), 1);
  assert.ok(conf.startsWith(MOONRAKER_CONF) && conf.endsWith('\n[my_section]\nkey: 1\n'), conf);
  assert.match(r.out, /update_manager +updated \[update_manager moonraker-polarcloud\]/);
});
