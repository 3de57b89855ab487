// Which webcam, and what Polar is told about it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { absoluteUrl, chooseCamera, type CameraConfig, type WebcamEntry } from '../../src/camera-policy/webcam-choice.js';

const MR = 'http://127.0.0.1:7125';
const cams: WebcamEntry[] = [
  { name: 'off', enabled: false, snapshot_url: '/webcam0/?action=snapshot' },
  { name: 'nosnap', enabled: true, stream_url: '/s' },
  { name: 'main', enabled: true, snapshot_url: '/webcam/?action=snapshot', stream_url: '/webcam/?action=stream', rotation: 90, flip_horizontal: true },
  { name: 'side', snapshot_url: 'http://10.0.0.9:8080/snap.jpg', stream_url: 'http://localhost:8080/stream' },
];
const on: CameraConfig = { enabled: true };

test('default: the first enabled webcam with a snapshot URL; relative URLs on port 80; loopback stream → LAN address', () => {
  const c = chooseCamera(cams, on, MR, '192.168.1.50');
  assert.ok(c.camera);
  assert.equal(c.camera.name, 'main');
  assert.equal(c.camera.snapshotUrl, 'http://127.0.0.1/webcam/?action=snapshot');
  assert.equal(c.camera.streamUrl, 'http://192.168.1.50/webcam/?action=stream');
  assert.deepEqual(c.camera.orientation, { flipHorizontal: true, flipVertical: false, rotation: 90 });
});

test('by name, overrides, web_base_url, disabled, none', () => {
  const side = chooseCamera(cams, { ...on, webcam: 'side' }, MR, '192.168.1.50');
  assert.equal(side.camera?.snapshotUrl, 'http://10.0.0.9:8080/snap.jpg');
  assert.equal(side.camera?.streamUrl, 'http://192.168.1.50:8080/stream');
  const over = chooseCamera(cams, { ...on, webcam: 'main', rotation: 270, flip_horizontal: false, web_base_url: 'http://127.0.0.1:9999' }, MR);
  assert.deepEqual(over.camera?.orientation, { flipHorizontal: false, flipVertical: false, rotation: 270 });
  assert.equal(over.camera?.snapshotUrl, 'http://127.0.0.1:9999/webcam/?action=snapshot');
  assert.deepEqual(chooseCamera(cams, { enabled: false }, MR), { camera: null, reason: 'camera.enabled is false' });
  assert.match((chooseCamera(cams, { ...on, webcam: 'nope' }, MR) as { reason: string }).reason, /no webcam named 'nope'/);
  assert.match((chooseCamera([], on, MR) as { reason: string }).reason, /no webcam with a snapshot URL/);
  assert.equal(chooseCamera([], { ...on, snapshot_url: 'http://cam.local/s.jpg' }, MR).camera?.snapshotUrl, 'http://cam.local/s.jpg');
});

test('absoluteUrl refuses other schemes and garbage', () => {
  assert.equal(absoluteUrl('file:///etc/passwd', MR), null);
  assert.equal(absoluteUrl('javascript:alert(1)', MR), null);
  assert.equal(absoluteUrl(undefined, MR), null);
  assert.equal(absoluteUrl('http://[::1]:8080/x', MR, '10.1.1.1'), 'http://10.1.1.1:8080/x');
});
