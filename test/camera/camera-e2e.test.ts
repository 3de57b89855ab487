// End to end: the bridge's camera against the simulator's webcam (real JPEGs)
// and the emulator's verifying S3 endpoint — hello fields, idle → printing
// images with the job's URL type, a timelapse for a completed cloud print,
// none for a canceled one, and a dead camera never holding up status.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Socket } from 'node:net';
import { execFile } from 'node:child_process';
import { readdir, writeFile, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Bridge, eventually } from '../bridge/bridge-harness.js';
import { prusaGcode } from '../simulator/gcode-samples.js';

const exec = promisify(execFile);

test('hello carries camUrl (LAN address) and transformImg; idle images, then printing images for the cloud job; canceled → no timelapse', async () => {
  const b = await Bridge.start({ speedFactor: 20, camera: 'idle_interval: 10' });
  try {
    b.sim.control.setWebcams([{ rotation: 180 }]);
    await b.restart(); // hello is sent once per connection
    await eventually(() => b.c.camera.camera?.orientation.rotation === 180, 5000, 'rotated webcam');
    await b.restart();
    const hello = b.emu.control.printer(b.serial)!.hello!;
    assert.equal(hello.camOff, 0);
    assert.equal(hello.transformImg, 3);
    assert.match(String(hello.camUrl), /^http:\/\/192\.168\.1\.50:\d+\/webcam\/\?action=stream$/);
    await eventually(() => b.emu.control.uploads().some((u) => u.type === 'idle'), 10_000, 'idle image');
    const idle = b.emu.control.uploads().find((u) => u.type === 'idle')!;
    assert.equal(idle.contentType, 'image/jpeg');
    assert.ok(idle.size > 500 && idle.size <= 150_000, `size ${idle.size}`);

    const job = b.emu.control.addJob(b.serial, { jobName: 'Cam', content: prusaGcode({ layers: 40, movesPerLayer: 40 }) });
    b.preheat();
    await b.c.session.sendNextPrint(job.jobId);
    await eventually(() => b.emu.control.uploads().some((u) => u.type === 'printing' && u.jobId === job.jobId), 15_000, 'printing image');
    await eventually(async () => (await readdir(join(b.dataDir, 'timelapse')).catch(() => [])).length === 1, 10_000, 'frames folder');
    b.send('cancel');
    await eventually(() => b.jobReports().length === 1, 15_000, 'canceled');
    await eventually(async () => (await readdir(join(b.dataDir, 'timelapse')).catch(() => [])).length === 0, 5000, 'frames deleted');
    assert.ok(!b.emu.control.uploads().some((u) => u.type === 'timelapse'), 'no timelapse for a canceled print');
    assert.deepEqual(b.emu.control.violations(), []);
  } finally {
    await b.stop();
  }
});

test('a completed cloud print gets one ≤ 30 s H.264 timelapse; status 5 while it is made, then 7', async () => {
  const b = await Bridge.start({ speedFactor: 20, camera: '' });
  try {
    const job = b.emu.control.addJob(b.serial, { jobName: 'Lapse', content: prusaGcode({ layers: 12, movesPerLayer: 20 }) });
    b.preheat();
    const since = b.emu.control.lastSeq();
    await b.c.session.sendNextPrint(job.jobId);
    await eventually(() => b.emu.control.uploads().some((u) => u.type === 'timelapse' && u.jobId === job.jobId), 60_000, 'timelapse upload');
    const codes = b.statuses(since).filter((s) => s.jobId === job.jobId).map((s) => s.status);
    const five = codes.indexOf(5);
    assert.ok(five >= 0, `status 5 sent: ${codes.join(',')}`);
    await b.waitStatus((s) => s.status === 7 && s.jobId === job.jobId, since, 10_000, '7 after the timelapse');
    assert.ok(codes.lastIndexOf(7) === -1 || codes.lastIndexOf(5) < codes.length, 'announced');
    const lapse = b.emu.control.uploads().filter((u) => u.type === 'timelapse');
    assert.equal(lapse.length, 1, 'uploaded once');
    assert.equal(lapse[0]!.contentType, 'video/mp4');
    if (lapse[0]!.body) {
      const dir = await mkdtemp(join(tmpdir(), 'pc-lapse-'));
      const file = join(dir, 't.mp4');
      await writeFile(file, lapse[0]!.body);
      const probe = JSON.parse((await exec('ffprobe', ['-v', 'error', '-show_streams', '-show_format', '-of', 'json', file])).stdout) as {
        streams: Array<{ codec_name: string; pix_fmt: string; width: number; height: number }>;
        format: { duration: string };
      };
      assert.equal(probe.streams[0]!.codec_name, 'h264');
      assert.equal(probe.streams[0]!.pix_fmt, 'yuv420p');
      assert.ok(Number(probe.format.duration) <= 30.5);
    }
    assert.deepEqual(await readdir(join(b.dataDir, 'timelapse')).catch(() => []), [], 'frames deleted');
  } finally {
    await b.stop();
  }
});

test('a dead camera never delays status messages', async () => {
  // A "camera" that accepts connections and never answers.
  const sockets: Socket[] = [];
  const dead = createServer((s) => void sockets.push(s));
  await new Promise<void>((r) => dead.listen(0, '127.0.0.1', r));
  const port = (dead.address() as { port: number }).port;
  const b = await Bridge.start({ speedFactor: 20, camera: `snapshot_url: http://127.0.0.1:${port}/snapshot` });
  try {
    await eventually(() => sockets.length > 0, 10_000, 'snapshot request hanging');
    const since = b.emu.control.lastSeq();
    const t0 = Date.now();
    b.send('temperature', { bed: 55 });
    await b.waitStatus((s) => s.targetBed === 55, since, 7000, 'status with the new target');
    // Below the 8 s snapshot timeout: the status did not wait for the hung camera (wide for a loaded machine).
    assert.ok(Date.now() - t0 < 6000, `status took ${Date.now() - t0} ms`);
  } finally {
    await b.stop();
    for (const s of sockets) s.destroy();
    dead.close();
  }
});

test('upload URLs are cached, renewed before they expire, and re-requested when S3 says the policy expired', async () => {
  let skew = 0;
  const b = await Bridge.start({ camera: 'idle_interval: 3600', emulatorNow: () => Date.now() + skew });
  try {
    await eventually(() => b.c.camera.camera !== null, 5000, 'camera');
    const getUrls = (): number => b.emu.control.events().filter((e) => e.kind === 'in' && e.name === 'getUrl').length;
    const uploads = (): number => b.emu.control.uploads().filter((u) => u.type === 'idle').length;
    await eventually(() => uploads() === 1, 10_000, 'first image');
    await b.c.camera.captureAndUpload(b.c.camera.camera!);
    assert.equal(uploads(), 2);
    assert.equal(getUrls(), 1, 'the URL was reused');
    // The cloud's clock moves past the URL's expiry while the bridge still trusts it.
    skew = 2 * 86_400_000;
    await b.c.camera.captureAndUpload(b.c.camera.camera!);
    assert.equal(uploads(), 3, 'uploaded with a fresh URL');
    assert.equal(getUrls(), 2, 'one new URL after "Policy expired"');
    assert.ok(b.emu.control.uploads().length >= 3);
    assert.ok(b.emu.control.events().some((e) => e.kind === 'upload-rejected' && /expired/i.test(String(e.reason))), 'S3 refused the expired policy first');
  } finally {
    await b.stop();
  }
});
