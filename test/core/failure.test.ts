// Failures that cannot be staged on a test machine (a read-only SD card, a full
// disk) get the same one-line treatment as the ones the bundle tests stage.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeFailure, failureLine, EXIT } from '../../src/cli/failure.js';

function errno(code: string, path: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: something, open '${path}'`), { code, path, syscall: 'open' });
}

test('a read-only file system and a full disk name the file, the cause and the fix', () => {
  const ro = describeFailure(errno('EROFS', '/home/pi/printer_data/polarcloud/identity.json'));
  assert.equal(ro?.message, 'cannot write /home/pi/printer_data/polarcloud/identity.json: the file system is read-only. Fix: check the SD card/disk (dmesg; sudo mount -o remount,rw /) or set data_dir to a writable folder');
  assert.equal(ro?.exitCode, EXIT.cannotWrite);
  const full = describeFailure(errno('ENOSPC', '/home/pi/printer_data/polarcloud/jobs.json'));
  assert.match(full!.message, /^cannot write \/home\/pi\/printer_data\/polarcloud\/jobs\.json: no space left on the device\. Fix: free some space/);
});

test('permission denied names the user and the chown of the data folder', () => {
  const f = describeFailure(errno('EACCES', '/nonexistent-root/printer_data/polarcloud/identity.json'), { dataDir: '/nonexistent-root/printer_data/polarcloud', user: 'pi' });
  // The data folder does not exist here, so the fix names the nearest folder that does.
  assert.equal(f?.message, "cannot access /nonexistent-root/printer_data/polarcloud/identity.json: permission denied for user pi (it belongs to another user, often after running polarcloud with sudo). Fix: sudo chown -R pi: /");
});

test('anything else is its message on one line, exit 1', () => {
  const f = failureLine(new Error('boom'));
  assert.deepEqual(f, { message: 'boom', exitCode: 1, fixable: false });
});
