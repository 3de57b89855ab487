// The adapter's power-device wrappers: replies and notify_power_changed are
// validated at the boundary; a Moonraker without [power] sections is "no devices".
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { MoonrakerReplyError, MoonrakerRpcError, PowerDevicesApi, type MoonrakerRpc, type PowerDevice } from '../../moonraker-bridge/index.js';
import { LogCapture } from '../helpers/bridge-setup.js';

class FakeRpc implements MoonrakerRpc {
  readonly ee = new EventEmitter();
  readonly calls: Array<{ method: string; params: unknown }> = [];
  constructor(private readonly answer: (method: string, params: unknown) => unknown) {}
  async call(method: string, params?: unknown): Promise<unknown> {
    this.calls.push({ method, params });
    return this.answer(method, params);
  }
  on(event: 'notification', listener: (p: { method: string; params: unknown }) => void): () => void;
  on(event: 'gcodeResponse', listener: (p: { line: string }) => void): () => void;
  on(event: string, listener: (p: never) => void): () => void {
    const l = listener as (p: unknown) => void;
    this.ee.on(event, l);
    return () => this.ee.off(event, l);
  }
}

const printer = { device: 'printer', status: 'off', locked_while_printing: false, type: 'tplink_smartplug' };

test('list and set: validated replies; METHOD_NOT_FOUND means no [power] section', async () => {
  const log = new LogCapture();
  const rpc = new FakeRpc((method, params) => {
    if (method === 'machine.device_power.devices') return { devices: [printer] };
    if (method === 'machine.device_power.post_device') return { [(params as { device: string }).device]: 'on' };
    throw new Error('unexpected');
  });
  const api = new PowerDevicesApi({ rpc, log: log.logger });
  assert.deepEqual(await api.list(), [printer]);
  assert.equal(await api.set('printer', 'on'), 'on');
  assert.deepEqual(rpc.calls[1], { method: 'machine.device_power.post_device', params: { device: 'printer', action: 'on' } });

  const none = new PowerDevicesApi({ rpc: new FakeRpc(() => { throw new MoonrakerRpcError(-32601, 'Method not found', 'machine.device_power.devices'); }), log: log.logger });
  assert.equal(await none.list(), null);
  const broken = new PowerDevicesApi({ rpc: new FakeRpc(() => ({ devices: [{ device: 'x', status: 1 }] })), log: log.logger });
  await assert.rejects(broken.list(), MoonrakerReplyError);
  const other = new PowerDevicesApi({ rpc: new FakeRpc(() => ({ lights: 'on' })), log: log.logger });
  await assert.rejects(other.set('printer', 'off'), /does not name device 'printer'/);
  const refused = new PowerDevicesApi({ rpc: new FakeRpc(() => { throw new MoonrakerRpcError(400, 'Unable to change power for printer while printing', 'machine.device_power.post_device'); }), log: log.logger });
  await assert.rejects(refused.set('printer', 'off'), /while printing/);
});

test('notify_power_changed: valid ones become typed events, invalid ones are logged and dropped', () => {
  const log = new LogCapture();
  const rpc = new FakeRpc(() => null);
  const api = new PowerDevicesApi({ rpc, log: log.logger });
  const seen: PowerDevice[] = [];
  api.on('changed', (d) => seen.push(d));
  api.start();
  rpc.ee.emit('notification', { method: 'notify_power_changed', params: [{ ...printer, status: 'on' }] });
  rpc.ee.emit('notification', { method: 'notify_power_changed', params: [{ device: 'printer' }] });
  rpc.ee.emit('notification', { method: 'notify_power_changed', params: 'on' });
  rpc.ee.emit('notification', { method: 'notify_status_update', params: [{}, 1] });
  assert.deepEqual(seen, [{ ...printer, status: 'on' }]);
  assert.equal(log.lines('warn').filter((l) => /dropped invalid notify_power_changed/.test(l)).length, 2);
  api.stop();
  rpc.ee.emit('notification', { method: 'notify_power_changed', params: [printer] });
  assert.equal(seen.length, 1, 'nothing after stop()');
});
