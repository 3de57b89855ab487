import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { connectAuthenticated, makeKeys, RawPrinter, registeredSuite } from './raw-printer.js';

const keys = makeKeys();

describe('emulator protocol violations', () => {
  const ctx = registeredSuite(keys);
  const authed = async (): Promise<RawPrinter> => {
    const p = await connectAuthenticated(ctx.emu, ctx.serial, keys);
    ctx.track(p);
    return p;
  };
  /** The next violation recorded after `since`. */
  const nextViolation = (since: number): Promise<{ name?: string; reason?: string }> =>
    ctx.emu.control.waitFor((e) => e.kind === 'violation', 2000, since);

  it('records commands sent before a valid hello and ignores them', async () => {
    const p = new RawPrinter(ctx.emu.url);
    ctx.track(p);
    await p.welcome();
    const since = ctx.emu.control.lastSeq();
    p.emit('getQueue', { serialNumber: ctx.serial });
    const v = await nextViolation(since);
    assert.equal(v.name, 'getQueue');
    assert.equal(v.reason, 'command before valid hello');
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(p.pending('getQueueResponse'), []);
  });

  it('records a serialNumber that is not the connection’s', async () => {
    const p = await authed();
    const since = ctx.emu.control.lastSeq();
    p.emit('status', { serialNumber: 'KL999999', status: 0 });
    const v = await nextViolation(since);
    assert.match(v.reason ?? '', /serialNumber 'KL999999' is not this connection's/);
    assert.equal(ctx.emu.control.printer(ctx.serial)?.statusCount, 0, 'the message was ignored');
  });

  it('records ill-typed and missing fields with the reason', async () => {
    const p = await authed();
    let since = ctx.emu.control.lastSeq();
    p.emit('status', { serialNumber: ctx.serial, status: 'printing' });
    assert.match((await nextViolation(since)).reason ?? '', /^status: /);
    since = ctx.emu.control.lastSeq();
    p.emit('job', { serialNumber: ctx.serial, jobId: 'x', state: 'done' });
    assert.match((await nextViolation(since)).reason ?? '', /^state: /);
    since = ctx.emu.control.lastSeq();
    p.emit('commandResponse', { serialNumber: ctx.serial });
    assert.match((await nextViolation(since)).reason ?? '', /^response: /);
    assert.equal(ctx.emu.control.printer(ctx.serial)?.statusCount, 0);
    assert.deepEqual(ctx.emu.control.printer(ctx.serial)?.jobReports, []);
  });

  it('records unknown events and wrong argument counts', async () => {
    const p = await authed();
    let since = ctx.emu.control.lastSeq();
    p.emit('bogus', { serialNumber: ctx.serial });
    assert.equal((await nextViolation(since)).reason, "unknown event 'bogus'");
    since = ctx.emu.control.lastSeq();
    p.emit('status', { serialNumber: ctx.serial, status: 0 }, { extra: true });
    assert.match((await nextViolation(since)).reason ?? '', /exactly one argument, got 2/);
    since = ctx.emu.control.lastSeq();
    p.emit('status');
    assert.match((await nextViolation(since)).reason ?? '', /exactly one argument, got 0/);
    since = ctx.emu.control.lastSeq();
    p.emit('error', { serialNumber: ctx.serial }); // must not take the emulator down
    assert.equal((await nextViolation(since)).reason, "unknown event 'error'");
    p.emit('capabilities', { serialNumber: ctx.serial });
    await p.next('capabilitiesResponse');
  });

  it('answers an invalid getUrl with FAILED besides recording it', async () => {
    const p = await authed();
    p.emit('getUrl', { serialNumber: ctx.serial, method: 'post', type: 'printing' });
    const res = (await p.next('getUrlResponse')) as { status: string; message: string };
    assert.equal(res.status, 'FAILED');
    assert.match(res.message, /jobId/);
    assert.equal(ctx.emu.control.violations().length, 1);
  });

  it('records nothing for a well-behaved session', async () => {
    const p = await authed();
    p.emit('status', { serialNumber: ctx.serial, status: 0, tool0: 21.5, bed: 20, progress: 'Idle', extra: 'kept' });
    p.emit('setVersion', { serialNumber: ctx.serial, runningVersion: '0.1.0' });
    p.emit('customCommandList', { serialNumber: ctx.serial, customCommandList: [{ label: 'Off', command: 'OFF' }] });
    p.emit('commandResponse', { serialNumber: ctx.serial, response: 'ok' });
    p.emit('capabilities', { serialNumber: ctx.serial });
    assert.deepEqual(await p.next('capabilitiesResponse'), { serialNumber: ctx.serial, capabilities: ['sendNextPrint'] });
    const info = ctx.emu.control.printer(ctx.serial);
    assert.deepEqual(info?.lastStatus, { serialNumber: ctx.serial, status: 0, tool0: 21.5, bed: 20, progress: 'Idle', extra: 'kept' });
    assert.deepEqual(info?.version, { runningVersion: '0.1.0', latestVersion: undefined });
    assert.deepEqual(info?.customCommandList, [{ label: 'Off', command: 'OFF' }]);
    assert.deepEqual(info?.commandResponses, ['ok']);
    assert.deepEqual(ctx.emu.control.violations(), []);
  });

  it('accepts customCommandList with the same list as commandList; a commandList that differs is a violation', async () => {
    const p = await authed();
    const list = [{ label: 'Turn printer on', command: 'power:on:printer' }];
    p.emit('customCommandList', { serialNumber: ctx.serial, customCommandList: list, commandList: list });
    p.emit('capabilities', { serialNumber: ctx.serial });
    await p.next('capabilitiesResponse');
    assert.deepEqual(ctx.emu.control.printer(ctx.serial)?.commandList, list);
    assert.deepEqual(ctx.emu.control.violations(), []);
    p.emit('customCommandList', { serialNumber: ctx.serial, customCommandList: list, commandList: [] });
    p.emit('capabilities', { serialNumber: ctx.serial });
    await p.next('capabilitiesResponse');
    const v = ctx.emu.control.violations();
    assert.equal(v.length, 1);
    assert.match(String(v[0]!.reason), /commandList must be the same list/);
    assert.deepEqual(ctx.emu.control.printer(ctx.serial)?.commandList, list, 'the bad message changed nothing');
  });
});
