// The diagnostics archive: `polarcloud diagnose` from the shipped bundle and
// POLAR_DIAG through the running service, against the emulator and the
// simulator. The archive lands in printer_data/logs, holds the live checks,
// and holds no secret (PIN, Moonraker API key, private key).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { startPolarEmulator } from '../../src/emulator/index.js';
import { startMoonrakerSimulator } from '../../src/simulator/index.js';
import { readTarGz } from '../../src/diagnostics/tar.js';
import { maskConfig } from '../../src/diagnostics/bundle.js';
import { LogCapture, makeController } from '../helpers/bridge-setup.js';
import { Bridge, eventually } from './bridge-harness.js';

const run = promisify(execFile);
const bundle = new URL('../../../dist/polarcloud.mjs', import.meta.url).pathname;

function archiveText(files: Map<string, Buffer>): string {
  return [...files.values()].map((b) => b.toString('utf8')).join('\n');
}

async function onlyArchive(logsDir: string): Promise<Map<string, Buffer>> {
  const names = (await readdir(logsDir)).filter((n) => /^polarcloud-diag-\d{8}-\d{6}Z\.tar\.gz$/.test(n));
  assert.equal(names.length, 1, `one archive in ${logsDir}: ${names.join(', ')}`);
  return readTarGz(await readFile(join(logsDir, names[0]!)), gunzipSync);
}

test('polarcloud diagnose writes one archive into printer_data/logs with versions, checks and no secret', async () => {
  const emu = await startPolarEmulator();
  const sim = await startMoonrakerSimulator({ temperatureNoise: false });
  try {
    const pd = await mkdtemp(join(tmpdir(), 'pc-diag-'));
    const dataDir = join(pd, 'polarcloud');
    await mkdir(join(pd, 'logs'));
    // A registered printer: there is a private key in the data folder that must not leak.
    const reg = makeController(emu.url, dataDir, new LogCapture());
    const { serialNumber } = await reg.register('lab@school.example', '4321');
    await reg.stop();
    const logFile = join(pd, 'logs', 'moonraker-polarcloud.log');
    await writeFile(logFile, '2026-01-01T00:00:00.000Z INFO  [polarcloud] started\n2026-01-01T00:00:01.000Z DEBUG [wire] register {"pin":"4321"}\n');
    const configFile = join(pd, 'polarcloud.yaml');
    await writeFile(
      configFile,
      `data_dir: ${dataDir}\nlog:\n  file: ${logFile}\npolar:\n  server_url: ${emu.url}\n  email: lab@school.example\n  pin: 4321  # removed after registration\nmoonraker:\n  url: ${sim.url}\n  api_key: 0f3c1d2e9a8b7c6d5e4f\ncamera:\n  web_base_url: ${sim.url}\n`,
    );
    const out = await run(process.execPath, [bundle, 'diagnose', '--config', configFile]);
    for (const name of ['polar_dns', 'polar_tcp', 'polar_socket', 'moonraker', 'klippy', 'webcam_snapshot', 'free_space_gcodes', 'free_space_data']) {
      assert.match(out.stdout, new RegExp(`PASS  ${name} `), `${name}:\n${out.stdout}`);
    }
    assert.match(out.stdout, /(PASS|FAIL)  ffmpeg /);
    assert.match(out.stdout, /(PASS|FAIL|SKIP)  systemd_unit /);
    assert.match(out.stdout, new RegExp(`Diagnostics written to ${pd}/logs/polarcloud-diag-`));

    const files = await onlyArchive(join(pd, 'logs'));
    assert.deepEqual([...files.keys()].filter((n) => n !== 'journal.txt'), ['summary.txt', 'diagnostics.json', 'config.yaml', 'log-tail.txt']);
    const summary = files.get('summary.txt')!.toString();
    assert.match(summary, /^klipper +v\S+/m);
    assert.match(summary, /^moonraker +v\S+/m);
    assert.match(summary, new RegExp(`serialNumber: ${serialNumber}`));
    assert.match(summary, /keyPresent: true/);
    assert.match(summary, /PASS  klippy +Klippy ready/);
    assert.match(summary, /PASS  webcam_snapshot .*answered a \d+-byte JPEG/);
    const json = JSON.parse(files.get('diagnostics.json')!.toString()) as { versions: Record<string, string>; checks: { name: string; ok: boolean | null }[] };
    assert.equal(json.versions.node, process.version);
    assert.ok(json.checks.length >= 10);
    assert.match(files.get('config.yaml')!.toString(), /pin: "\*\*\*masked\*\*\*" # removed after registration/);
    assert.match(files.get('log-tail.txt')!.toString(), /\[polarcloud\] started/);

    const all = archiveText(files);
    const key = await readFile(join(dataDir, 'private-key.pem'), 'utf8');
    for (const secret of ['4321', '0f3c1d2e9a8b7c6d5e4f', 'PRIVATE KEY', key.split('\n')[1]!]) {
      assert.ok(!all.includes(secret), `the archive contains a secret: ${secret.slice(0, 20)}`);
    }
  } finally {
    await sim.stop();
    await emu.stop();
  }
});

test('a Moonraker that does not answer is a failed check, not a failed command', async () => {
  const pd = await mkdtemp(join(tmpdir(), 'pc-diag-down-'));
  const configFile = join(pd, 'polarcloud.yaml');
  await writeFile(configFile, `data_dir: ${pd}/polarcloud\npolar:\n  server_url: http://127.0.0.1:9\nmoonraker:\n  url: http://127.0.0.1:9\n`);
  const out = await run(process.execPath, [bundle, 'diagnose', '--config', configFile]);
  assert.match(out.stdout, /FAIL  moonraker +http:\/\/127\.0\.0\.1:9\/server\/info: connection refused \(is Moonraker running\? systemctl status moonraker\)/);
  assert.match(out.stdout, /FAIL  polar_socket +cannot reach http:\/\/127\.0\.0\.1:9: connection refused/);
  assert.match(out.stdout, /SKIP  klippy +Moonraker not reachable/);
  assert.match(out.stdout, /check\(s\) failed: .*moonraker/);
  await onlyArchive(join(pd, 'logs'));
});

test('POLAR_DIAG: the running service writes the archive and answers in the console', async () => {
  const b = await Bridge.start({ camera: '' });
  try {
    const g0 = b.sim.control.gcodeLog().length;
    assert.ok(b.sim.control.callRemoteMethod('polarcloud_diag'));
    await eventually(() => b.gcodeSince(g0).some((l) => /diagnostics written to logs\/polarcloud-diag-/.test(l)), 20_000, 'diag answer');
    const logsDir = join(b.dataDir, '..', 'logs');
    const files = await onlyArchive(logsDir);
    const summary = files.get('summary.txt')!.toString();
    // The service reports its own connection instead of opening a second one.
    assert.match(summary, /PASS  polar_socket +the running service is online/);
    assert.match(summary, new RegExp(`Running service:[\\s\\S]*serialNumber: ${b.serial}`));
    assert.match(summary, /PASS  klippy /);
  } finally {
    await b.stop();
  }
});

test('maskConfig masks every secret-looking key and keeps comments', () => {
  const text = 'polar:\n  pin: 0123 # mine\n  email: a@b.example\nmoonraker:\n  api_key: abc\n  token: t\nx:\n  password: p\n';
  assert.equal(maskConfig(text), 'polar:\n  pin: "***masked***" # mine\n  email: a@b.example\nmoonraker:\n  api_key: "***masked***"\n  token: "***masked***"\nx:\n  password: "***masked***"\n');
});
