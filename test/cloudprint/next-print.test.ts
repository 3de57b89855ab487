// `polarcloud next` from the shipped bundle: asks the running service through
// Moonraker's server.extensions.request; the cloud's answer comes back in words.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { Bridge, eventually } from '../bridge/bridge-harness.js';
import { prusaGcode } from '../simulator/gcode-samples.js';
import { startMoonrakerSimulator } from '../../src/simulator/index.js';

const exec = promisify(execFile);

async function next(configFile: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await exec(process.execPath, ['dist/polarcloud.mjs', 'next', '--config', configFile, ...args]);
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

async function configFor(dir: string, moonrakerUrl: string): Promise<string> {
  const file = join(dir, 'cli.yaml');
  await writeFile(file, `data_dir: ${join(dir, 'cli-data')}\nmoonraker:\n  url: ${moonrakerUrl}\n`);
  return file;
}

test('polarcloud next: empty queue in words, then a queued job is sent and printed by the service', async () => {
  const b = await Bridge.start({ speedFactor: 100 });
  try {
    const cfg = await configFor(dirname(b.dataDir), b.sim.url);
    const empty = await next(cfg);
    assert.equal(empty.code, 0, empty.stderr);
    assert.match(empty.stdout, /the Polar Cloud queue has no job ready to print/);

    b.preheat();
    const job = b.emu.control.addJob(b.serial, { jobName: 'From CLI', content: prusaGcode({ layers: 2, movesPerLayer: 5 }) });
    const unknown = await next(cfg, 'NO-SUCH-JOB');
    assert.match(unknown.stdout, /job NO-SUCH-JOB is not ready in the Polar Cloud queue/);
    const sent = await next(cfg, job.jobId);
    assert.equal(sent.code, 0, sent.stderr);
    assert.match(sent.stdout, new RegExp(`Polar Cloud sent job ${job.jobId} \\(From CLI\\)`));
    await eventually(() => b.jobReports().some((r) => r.jobId === job.jobId && r.state === 'completed'), 30_000, 'printed');
  } finally {
    await b.stop();
  }
});

test('polarcloud next without the service running says so', async () => {
  const sim = await startMoonrakerSimulator();
  try {
    const dir = dirname(join(process.cwd(), 'build'));
    const cfg = await configFor(join(dir, 'build'), sim.url);
    const r = await next(cfg);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /not connected.*is the moonraker-polarcloud service running\?/);
  } finally {
    await sim.stop();
  }
});

test('polarcloud next through Moonraker carries the reason when the service cannot ask the cloud', async () => {
  const b = await Bridge.start({ speedFactor: 100 });
  try {
    const cfg = await configFor(dirname(b.dataDir), b.sim.url);
    await b.c.polar.unregister(5000);
    const r = await next(cfg);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^could not ask Polar Cloud for the next print: not connected to Polar Cloud \(unregistered\)$/m);
    assert.doesNotMatch(r.stderr, /RPC error/);
  } finally {
    await b.stop();
  }
});
