// The systemd unit install.sh writes: sandboxed to what the service writes
// (data folder, logs folder, its config file), no capabilities, a system-call
// allow list, private devices, owner-only files — and rated by
// `systemd-analyze security --offline` at 4.5 or lower where systemd-analyze
// exists. Also the config edit the unit allows: the PIN line is removed even
// when only the file, not its folder, is writable.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createFixture, ok, read, type Fixture } from './fake-printer.js';

let fx: Fixture;
before(() => {
  fx = createFixture();
});
after(() => fx.cleanup());

function installedUnit(): { unit: string; pd: string } {
  const w = fx.world();
  ok(w.run('install.sh', ['-y']));
  return { unit: read(w.unit), pd: w.pd };
}

function values(unit: string, key: string): string[] {
  return [...unit.matchAll(new RegExp(`^${key}=(.*)$`, 'gm'))].map((m) => m[1]!);
}

test('the unit sandboxes the service to exactly what it writes', () => {
  const { unit, pd } = installedUnit();
  assert.doesNotMatch(unit, /@[A-Z_]+@/, 'every placeholder filled');
  const expect: Record<string, string[]> = {
    UMask: ['0077'],
    ProtectSystem: ['strict'],
    ProtectHome: ['read-only'],
    ReadWritePaths: [`${pd}/polarcloud ${pd}/logs`, `-${pd}/config/polarcloud.yaml`],
    CapabilityBoundingSet: [''],
    AmbientCapabilities: [''],
    PrivateDevices: ['true'],
    PrivateTmp: ['true'],
    NoNewPrivileges: ['true'],
    RestrictAddressFamilies: ['AF_INET AF_INET6 AF_UNIX AF_NETLINK'],
    SystemCallFilter: ['@system-service'],
    SystemCallArchitectures: ['native'],
    LimitCORE: ['0'],
    RestrictSUIDSGID: ['true'],
    ProtectKernelTunables: ['true'],
    ProtectKernelModules: ['true'],
    ProtectControlGroups: ['true'],
  };
  for (const [key, vals] of Object.entries(expect)) assert.deepEqual(values(unit, key), vals, key);
  // W^X: possible because node runs without its JIT (test/install/service-flags.test.ts runs the bundle so).
  assert.deepEqual(values(unit, 'MemoryDenyWriteExecute'), ['true']);
  assert.match(values(unit, 'ExecStart')[0] ?? '', /\/node --lite-mode --no-expose-wasm \S+\/dist\/polarcloud\.mjs /);
  assert.ok(!values(unit, 'ReadWritePaths').join(' ').includes(`${pd}/gcodes`), 'gcodes/ stays read-only: uploads go through Moonraker');
});

test('systemd-analyze security --offline rates the unit 4.5 or lower, and systemd-analyze verify accepts every line', (t) => {
  const probe = spawnSync('systemd-analyze', ['security', '--help'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0 || !probe.stdout.includes('--offline')) {
    t.skip('systemd-analyze with --offline (systemd 250 or later) is not installed here');
    return;
  }
  const { unit } = installedUnit();
  const dir = mkdtempSync(join(tmpdir(), 'pc-unit-'));
  try {
    const file = join(dir, 'moonraker-polarcloud.service');
    writeFileSync(file, unit);
    const sec = spawnSync('systemd-analyze', ['security', '--offline=true', '--no-pager', file], { encoding: 'utf8' });
    const m = /Overall exposure level for moonraker-polarcloud\.service: (\d+(?:\.\d+)?) (\w+)/.exec(sec.stdout);
    assert.ok(m, `no rating in:\n${sec.stdout}\n${sec.stderr}`);
    const level = Number(m[1]);
    t.diagnostic(`systemd-analyze security: ${level} ${m[2]}`);
    assert.ok(level <= 4.5, `exposure ${level} > 4.5:\n${sec.stdout}`);

    const ver = spawnSync('systemd-analyze', ['verify', '--no-pager', file], { encoding: 'utf8' });
    const problems = ver.stderr.split('\n').filter((l) => /Unknown key|Failed to parse|Invalid|unknown|ignoring/i.test(l) && !/is not executable|No such file/.test(l));
    assert.deepEqual(problems, [], ver.stderr);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('under ReadWritePaths= on the config file only (its folder read-only), the PIN line is still removed', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'pc-rofolder-'));
  try {
    const cfgDir = join(dir, 'config');
    mkdirSync(cfgDir);
    const file = join(cfgDir, 'polarcloud.yaml');
    writeFileSync(file, '# mine\npolar:\n  email: a@b.example\n  pin: 0123\n# camera:\n');
    const mod = new URL('../../src/config-pin.js', import.meta.url).pathname;
    const script = `import(${JSON.stringify(mod)}).then(async (m) => { const r = await m.removePinFromConfig(${JSON.stringify(file)}); console.log(JSON.stringify(r)); })`;
    // What systemd does for ProtectSystem=strict + ReadWritePaths=<file>: the folder is a read-only
    // bind mount, the file a writable one, in the service's own mount namespace.
    const sh = `mount --bind ${cfgDir} ${cfgDir} && mount -o remount,ro,bind ${cfgDir} && mount --bind ${file} ${file} && mount -o remount,rw,bind ${file} && ! touch ${cfgDir}/probe 2>/dev/null && exec ${process.execPath} -e '${script}'`;
    const r = spawnSync('unshare', ['-m', 'sh', '-c', sh], { encoding: 'utf8' });
    if (r.error || (r.status !== 0 && /unshare|mount|Operation not permitted|permission denied/i.test(r.stderr))) {
      t.skip(`mount namespaces are not available here (${(r.stderr || String(r.error)).trim().split('\n')[0]})`);
      return;
    }
    assert.equal(r.status, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout.trim()).removed, true, r.stdout);
    assert.equal(readFileSync(file, 'utf8'), '# mine\npolar:\n  email: a@b.example\n# camera:\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
