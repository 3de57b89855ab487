// One cloud connection per printer: with the service (the shipped bundle's
// `run`) running, `polarcloud status | queue | next | unregister` ask it
// through the control socket in the data folder instead of opening their own
// connection; a second `run` on the same folder is refused naming the PID;
// without a service, `queue` says why the cloud refused instead of waiting.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startPolarEmulator } from '../../src/emulator/index.js';
import { startMoonrakerSimulator } from '../../src/simulator/index.js';
import { generateRsaKeyPair } from '../../src/identity/keys.js';
import { BundleProcess, writeConfigAndRegister } from '../helpers/bundle-process.js';
import { eventually } from '../helpers/bridge-setup.js';

const exec = promisify(execFile);
const bundle = new URL('../../../dist/polarcloud.mjs', import.meta.url).pathname;

async function cli(configFile: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string; ms: number }> {
  const t0 = Date.now();
  try {
    const r = await exec(process.execPath, [bundle, ...args, '--config', configFile, '--log-level', 'warn']);
    return { code: 0, stdout: r.stdout, stderr: r.stderr, ms: Date.now() - t0 };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr, ms: Date.now() - t0 };
  }
}

test('with the service running, the CLI uses its connection; a second run on the folder is refused; unregister stops the traffic at once', { timeout: 120_000 }, async () => {
  const emu = await startPolarEmulator();
  const sim = await startMoonrakerSimulator({ speedFactor: 50 });
  const work = await mkdtemp(join(tmpdir(), 'pc-cli-service-'));
  const yaml = `data_dir: ${join(work, 'data')}\npolar:\n  server_url: ${emu.url}\n  reply_timeout: 5\nmoonraker:\n  url: ${sim.url}\nstatus:\n  idle_interval: 5\ncamera:\n  enabled: false\n`;
  const { configFile, serial } = await writeConfigAndRegister(work, yaml, 'a@b.example');
  const service = new BundleProcess(configFile, 'service');
  try {
    await eventually(() => emu.control.printer(serial)?.authenticated === true, 20_000, 'the service online');
    const hellos = (): number => emu.control.events().filter((e) => e.kind === 'in' && e.name === 'hello').length;
    assert.equal(hellos(), 1);
    emu.control.addJob(serial, { jobName: 'Benchy' });

    const status = await cli(configFile, 'status');
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, new RegExp(`^Service: +running \\(PID ${service.pid}, version `, 'm'));
    assert.match(status.stdout, /^Connection: +online/m);
    assert.match(status.stdout, new RegExp(`^Registered: +yes, serial ${serial}$`, 'm'));
    assert.match(status.stdout, /^MAC: +[0-9a-f]{2}:/m);

    const queue = await cli(configFile, 'queue');
    assert.equal(queue.code, 0, queue.stderr);
    assert.match(queue.stdout, new RegExp(`1 job\\(s\\) in the Polar Cloud queue of ${serial}`));
    const next = await cli(configFile, 'next', 'NO-SUCH-JOB');
    assert.equal(next.code, 0, next.stderr);
    assert.match(next.stdout, /job NO-SUCH-JOB is not ready in the Polar Cloud queue/);
    assert.equal(hellos(), 1, 'no second connection: status, queue and next went through the service');
    assert.equal(emu.control.printer(serial)?.connections, 1);

    // A second service on the same data folder: one line naming the holder, exit 1, never online.
    const second = spawn(process.execPath, [bundle, 'run', '--config', configFile], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    second.stderr.setEncoding('utf8').on('data', (s: string) => (err += s));
    const [code] = (await once(second, 'exit')) as [number];
    assert.equal(code, 1);
    assert.match(err, new RegExp(`${join(work, 'data')} is in use by another moonraker-polarcloud process \\(PID ${service.pid}\\)`));
    assert.doesNotMatch(err, /\n\s+at /, 'no stack trace');
    assert.equal(hellos(), 1);

    const unregister = await cli(configFile, 'unregister');
    assert.equal(unregister.code, 0, unregister.stderr);
    assert.match(unregister.stdout, new RegExp(`Unregistered ${serial} from Polar Cloud; the service stopped its cloud traffic`));
    // The service dropped its connection for the serial at once, and sends nothing more.
    await eventually(() => emu.control.printer(serial)?.connected === false, 5000, 'the service disconnected');
    const after = emu.control.events().at(-1)?.seq ?? 0;
    const status2 = await cli(configFile, 'status');
    assert.match(status2.stdout, /^Connection: +unregistered/m);
    assert.match(status2.stdout, /^Registered: +no$/m);
    await new Promise((r) => setTimeout(r, 6000)); // longer than idle_interval: a status would have come by now
    assert.deepEqual(emu.control.events(after).filter((e) => e.kind === 'in').map((e) => e.name), [], 'no cloud traffic after unregister');
    assert.ok(service.running);

    // Registering again through the service: same MAC, so the same serial; the service goes back online itself.
    const register = await cli(configFile, 'register', '--email', 'a@b.example', '--pin', '1234');
    assert.equal(register.code, 0, register.stderr);
    assert.equal(register.stdout, `Registered with Polar Cloud through the running service: serial number ${serial}\n`);
    await eventually(() => emu.control.printer(serial)?.authenticated === true, 10_000, 'the service online again');
    assert.equal(hellos(), 2, 'one new hello, from the service');
    assert.equal(emu.control.printer(serial)?.connections, 1);
  } finally {
    await service.kill();
    await sim.stop();
    await emu.stop();
  }
});

test('without the service, `polarcloud queue` after the cloud rejected the key says why at once', { timeout: 60_000 }, async () => {
  const emu = await startPolarEmulator();
  const work = await mkdtemp(join(tmpdir(), 'pc-cli-rejected-'));
  try {
    const yaml = `data_dir: ${join(work, 'data')}\npolar:\n  server_url: ${emu.url}\n  reply_timeout: 30\n`;
    const { configFile } = await writeConfigAndRegister(work, yaml, 'a@b.example');
    // Another key than the one registered: the cloud answers hello with FAILED.
    await writeFile(join(work, 'data/private-key.pem'), (await generateRsaKeyPair()).privateKey, { mode: 0o600 });
    const r = await cli(configFile, 'queue');
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^Could not read the queue: not connected to Polar Cloud \(hello rejected \(.*\); the key may not match the one registered for KL\d+\)$/m);
    assert.ok(r.ms < 15_000, `answered in ${r.ms} ms, not after the 30 s reply_timeout`);

    // The same through a running service whose hello the cloud rejects: the reason, not "no answer".
    const service = new BundleProcess(configFile, 'rejected');
    try {
      await emu.control.waitFor((e) => e.kind === 'out' && e.name === 'helloResponse' && (e.payload as { status?: string }).status === 'FAILED', 20_000);
      await eventually(async () => (await cli(configFile, 'status')).stdout.includes('Service:            running'), 10_000, 'the service answering');
      const viaService = await cli(configFile, 'queue');
      assert.equal(viaService.code, 1);
      assert.match(viaService.stderr, /^Could not read the queue: not connected to Polar Cloud \(hello rejected \(.*\); the key may not match the one registered for KL\d+\) \(asked the running service\)$/m);
      assert.ok(viaService.ms < 15_000, `answered in ${viaService.ms} ms`);
    } finally {
      await service.kill();
    }
  } finally {
    await emu.stop();
  }
});
