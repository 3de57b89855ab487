import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { startPolarEmulator, type PolarEmulator } from '../../src/emulator/index.js';
import { connectAuthenticated, makeKeys, RawPrinter, register } from './raw-printer.js';

const keys = makeKeys();

describe('emulator protocol violations', () => {
  let emu: PolarEmulator;
  let serial: string;
  const printers: RawPrinter[] = [];
  const authed = async (): Promise<RawPrinter> => {
    const p = await connectAuthenticated(emu, serial, keys);
    printers.push(p);
    return p;
  };
  /** The next violation recorded after `since`. */
  const nextViolation = (since: number): Promise<{ name?: string; reason?: string }> =>
    emu.control.waitFor((e) => e.kind === 'violation', 2000, since);

  before(async () => {
    emu = await startPolarEmulator();
  });
  beforeEach(async () => {
    for (const p of printers.splice(0)) p.close();
    emu.control.reset();
    serial = await register(emu, keys);
  });
  after(async () => {
    for (const p of printers) p.close();
    await emu.stop();
  });

  it('records commands sent before a valid hello and ignores them', async () => {
    const p = new RawPrinter(emu.url);
    printers.push(p);
    await p.welcome();
    const since = emu.control.lastSeq();
    p.emit('getQueue', { serialNumber: serial });
    const v = await nextViolation(since);
    assert.equal(v.name, 'getQueue');
    assert.equal(v.reason, 'command before valid hello');
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(p.pending('getQueueResponse'), []);
  });

  it('records a serialNumber that is not the connection’s', async () => {
    const p = await authed();
    const since = emu.control.lastSeq();
    p.emit('status', { serialNumber: 'KL999999', status: 0 });
    const v = await nextViolation(since);
    assert.match(v.reason ?? '', /serialNumber 'KL999999' is not this connection's/);
    assert.equal(emu.control.printer(serial)?.statusCount, 0, 'the message was ignored');
  });

  it('records ill-typed and missing fields with the reason', async () => {
    const p = await authed();
    let since = emu.control.lastSeq();
    p.emit('status', { serialNumber: serial, status: 'printing' });
    assert.match((await nextViolation(since)).reason ?? '', /^status: /);
    since = emu.control.lastSeq();
    p.emit('job', { serialNumber: serial, jobId: 'x', state: 'done' });
    assert.match((await nextViolation(since)).reason ?? '', /^state: /);
    since = emu.control.lastSeq();
    p.emit('commandResponse', { serialNumber: serial });
    assert.match((await nextViolation(since)).reason ?? '', /^response: /);
    assert.equal(emu.control.printer(serial)?.statusCount, 0);
    assert.deepEqual(emu.control.printer(serial)?.jobReports, []);
  });

  it('records unknown events and wrong argument counts', async () => {
    const p = await authed();
    let since = emu.control.lastSeq();
    p.emit('bogus', { serialNumber: serial });
    assert.equal((await nextViolation(since)).reason, "unknown event 'bogus'");
    since = emu.control.lastSeq();
    p.emit('status', { serialNumber: serial, status: 0 }, { extra: true });
    assert.match((await nextViolation(since)).reason ?? '', /exactly one argument, got 2/);
    since = emu.control.lastSeq();
    p.emit('status');
    assert.match((await nextViolation(since)).reason ?? '', /exactly one argument, got 0/);
    since = emu.control.lastSeq();
    p.emit('error', { serialNumber: serial }); // must not take the emulator down
    assert.equal((await nextViolation(since)).reason, "unknown event 'error'");
    p.emit('capabilities', { serialNumber: serial });
    await p.next('capabilitiesResponse');
  });

  it('answers an invalid getUrl with FAILED besides recording it', async () => {
    const p = await authed();
    p.emit('getUrl', { serialNumber: serial, method: 'post', type: 'printing' });
    const res = (await p.next('getUrlResponse')) as { status: string; message: string };
    assert.equal(res.status, 'FAILED');
    assert.match(res.message, /jobId/);
    assert.equal(emu.control.violations().length, 1);
  });

  it('records nothing for a well-behaved session', async () => {
    const p = await authed();
    p.emit('status', { serialNumber: serial, status: 0, tool0: 21.5, bed: 20, progress: 'Idle', extra: 'kept' });
    p.emit('setVersion', { serialNumber: serial, runningVersion: '0.1.0' });
    p.emit('customCommandList', { serialNumber: serial, customCommandList: [{ label: 'Off', command: 'OFF' }] });
    p.emit('commandResponse', { serialNumber: serial, response: 'ok' });
    p.emit('capabilities', { serialNumber: serial });
    assert.deepEqual(await p.next('capabilitiesResponse'), { serialNumber: serial, capabilities: ['sendNextPrint'] });
    const info = emu.control.printer(serial);
    assert.deepEqual(info?.lastStatus, { serialNumber: serial, status: 0, tool0: 21.5, bed: 20, progress: 'Idle', extra: 'kept' });
    assert.deepEqual(info?.version, { runningVersion: '0.1.0', latestVersion: undefined });
    assert.deepEqual(info?.customCommandList, [{ label: 'Off', command: 'OFF' }]);
    assert.deepEqual(info?.commandResponses, ['ok']);
    assert.deepEqual(emu.control.violations(), []);
  });
});
