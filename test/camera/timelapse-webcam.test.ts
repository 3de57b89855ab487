// Issue 18.5: several webcams — snapshots from camera.webcam (whose stream is
// hello's camUrl), timelapse frames from camera.timelapse_webcam.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { chooseCamera, chooseTimelapseCamera, type CameraConfig, type WebcamEntry } from '../../src/camera-policy/webcam-choice.js';
import { Bridge, eventually } from '../bridge/bridge-harness.js';
import { prusaGcode } from '../simulator/gcode-samples.js';

const MR = 'http://127.0.0.1:7125';
const cams: WebcamEntry[] = [
  { name: 'front', snapshot_url: '/webcam/?action=snapshot', stream_url: '/webcam/?action=stream' },
  { name: 'nozzle', snapshot_url: '/webcam2/?action=snapshot', stream_url: '/webcam2/?action=stream', rotation: 90, flip_horizontal: true },
  { name: 'nosnap', stream_url: '/webcam3/?action=stream' },
];
const base: CameraConfig = { enabled: true, webcam: 'front', rotation: 180 };

test('chooseTimelapseCamera: by name with its own URLs and orientation; default and fallbacks are the snapshot camera', () => {
  const main = chooseCamera(cams, base, MR).camera!;
  assert.equal(chooseTimelapseCamera(cams, base, MR, main).camera, main, 'default: the snapshot camera');
  const lapse = chooseTimelapseCamera(cams, { ...base, timelapse_webcam: 'nozzle' }, MR, main);
  assert.equal(lapse.fallback, undefined);
  assert.deepEqual(lapse.camera, {
    name: 'nozzle',
    snapshotUrl: 'http://127.0.0.1/webcam2/?action=snapshot',
    streamUrl: 'http://127.0.0.1/webcam2/?action=stream',
    orientation: { flipHorizontal: true, flipVertical: false, rotation: 90 },
  }, 'the snapshot camera\'s rotation override does not apply to it');
  const missing = chooseTimelapseCamera(cams, { ...base, timelapse_webcam: 'gone' }, MR, main);
  assert.equal(missing.camera, main);
  assert.match(missing.fallback!, /no webcam named 'gone'/);
  const noSnap = chooseTimelapseCamera(cams, { ...base, timelapse_webcam: 'nosnap' }, MR, main);
  assert.equal(noSnap.camera, main);
  assert.match(noSnap.fallback!, /no usable snapshot URL/);
  assert.equal(chooseTimelapseCamera(cams, { ...base, enabled: false, timelapse_webcam: 'nozzle' }, MR, null).camera, null);
});

test('two webcams: hello camUrl is camera.webcam\'s stream; timelapse frames come from camera.timelapse_webcam', async () => {
  const b = await Bridge.start({ speedFactor: 20, camera: 'webcam: Front\ntimelapse_webcam: Nozzle\nidle_interval: 3600\nprinting_interval: 3600' });
  try {
    // The second camera is the snapshot one: the choice is by name, not the first in the list.
    b.sim.control.setWebcams([{ name: 'Nozzle', rotation: 90 }, { name: 'Front' }]);
    await eventually(() => b.c.camera.camera?.name === 'Front' && b.c.camera.timelapseCamera?.name === 'Nozzle', 5000, 'cameras chosen');
    await b.restart(); // hello is sent once per connection
    const hello = b.emu.control.printer(b.serial)!.hello!;
    assert.equal(hello.camOff, 0);
    assert.match(String(hello.camUrl), /^http:\/\/192\.168\.1\.50:\d+\/webcam2\/\?action=stream$/, 'Front is the second entry: /webcam2/');
    assert.equal(hello.transformImg, 0, 'the snapshot camera\'s orientation, not the timelapse camera\'s');

    const before = b.sim.control.webcamSnapshots();
    const job = b.emu.control.addJob(b.serial, { jobName: 'Two cams', content: prusaGcode({ layers: 40, movesPerLayer: 40 }) });
    b.preheat();
    await b.c.session.sendNextPrint(job.jobId);
    const framesDir = join(b.dataDir, 'timelapse');
    const frames = async (): Promise<number> => {
      const dirs = await readdir(framesDir).catch(() => [] as string[]);
      return dirs.length ? (await readdir(join(framesDir, dirs[0]!))).filter((f) => f.endsWith('.jpg')).length : 0;
    };
    await eventually(async () => (await frames()) >= 3, 20_000, 'three timelapse frames');
    await eventually(() => b.emu.control.uploads().some((u) => u.type === 'printing' && u.jobId === job.jobId), 10_000, 'printing image');
    const after = b.sim.control.webcamSnapshots();
    const nozzle = (after['/webcam/'] ?? 0) - (before['/webcam/'] ?? 0);
    const front = (after['/webcam2/'] ?? 0) - (before['/webcam2/'] ?? 0);
    assert.ok(nozzle >= 3, `timelapse frames fetched from the Nozzle camera (${nozzle})`);
    assert.ok(front >= 1 && front <= 2, `Front served the cloud job's printing image, nothing more (${front})`);
    b.send('cancel');
    await eventually(() => b.jobReports().length === 1, 15_000, 'canceled');
    assert.deepEqual(b.emu.control.violations(), []);
  } finally {
    await b.stop();
  }
});
