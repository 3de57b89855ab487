import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startPolarEmulator } from '../../src/emulator/index.js';
import { connectAuthenticated, makeKeys, RawPrinter, registeredSuite } from './raw-printer.js';

const keys = makeKeys();

describe('emulator control', () => {
  const ctx = registeredSuite(keys);


  it('send pushes commands to the authenticated printer only', async () => {
    const p = ctx.track(await connectAuthenticated(ctx.emu, ctx.serial, keys));
    const stranger = ctx.track(new RawPrinter(ctx.emu.url));
    await stranger.welcome();
    assert.equal(ctx.emu.control.send(ctx.serial, 'pause', { serialNumber: ctx.serial, type: 'cold' }), 1);
    assert.deepEqual(await p.next('pause'), { serialNumber: ctx.serial, type: 'cold' });
    assert.equal(ctx.emu.control.send(ctx.serial, 'cancel'), 1);
    assert.deepEqual(await p.next('cancel'), { serialNumber: ctx.serial });
    assert.equal(ctx.emu.control.sendRaw(ctx.serial, 'temperature', ['not an object', 2]), 1);
    assert.deepEqual(await p.next('temperature'), ['not an object', 2]);
    assert.equal(ctx.emu.control.send('KL999999', 'cancel'), 0);
    assert.deepEqual(stranger.pending('pause'), []);
    const out = ctx.emu.control.events().filter((e) => e.kind === 'out' && e.serialNumber === ctx.serial).map((e) => e.name);
    assert.deepEqual(out.slice(-3), ['pause', 'cancel', 'temperature']);
  });

  it('a print sent by control makes its jobId valid for getUrl', async () => {
    const p = ctx.track(await connectAuthenticated(ctx.emu, ctx.serial, keys));
    ctx.emu.control.send(ctx.serial, 'print', { serialNumber: ctx.serial, jobId: 'ext-1', gcodeFile: 'http://example.invalid/a.gcode' });
    await p.next('print');
    p.emit('getUrl', { serialNumber: ctx.serial, method: 'post', type: 'printing', jobId: 'ext-1' });
    assert.equal(((await p.next('getUrlResponse')) as { status: string }).status, 'SUCCESS');
  });

  it('dropConnections closes the transport and the client reconnects by itself', async () => {
    const p = ctx.track(new RawPrinter(ctx.emu.url, { reconnection: true }));
    await p.welcome();
    assert.equal(ctx.emu.control.dropConnections(), 1);
    assert.equal(await p.waitDisconnect(), 'transport close');
    await p.welcome(); // a new connection, a new challenge
    assert.equal(p.socket.connected, true);
  });

  it('dropConnections(ctx.serial) only drops that printer', async () => {
    const p = ctx.track(await connectAuthenticated(ctx.emu, ctx.serial, keys));
    const other = ctx.track(new RawPrinter(ctx.emu.url));
    await other.welcome();
    assert.equal(ctx.emu.control.dropConnections(ctx.serial), 1);
    await p.waitDisconnect();
    assert.equal(other.socket.connected, true);
  });

  it('disconnect sends a socket.io disconnect (io server disconnect)', async () => {
    const p = ctx.track(await connectAuthenticated(ctx.emu, ctx.serial, keys));
    assert.equal(ctx.emu.control.disconnect(ctx.serial), 1);
    assert.equal(await p.waitDisconnect(), 'io server disconnect');
    await ctx.emu.control.waitFor((e) => e.kind === 'disconnect' && e.serialNumber === ctx.serial);
    assert.equal(ctx.emu.control.printer(ctx.serial)?.connected, false);
  });

  it('refuseConnections drops sockets and refuses at HTTP until accepted', async () => {
    const p = ctx.track(new RawPrinter(ctx.emu.url, { reconnection: true }));
    await p.welcome();
    const since = ctx.emu.control.lastSeq();
    ctx.emu.control.refuseConnections();
    await p.waitDisconnect();
    await ctx.emu.control.waitFor((e) => e.kind === 'refused' && e.reason === 'http', 3000, since);
    assert.equal(p.socket.connected, false);
    ctx.emu.control.acceptConnections();
    await p.welcome();
    assert.equal(p.socket.connected, true);
  });

  it('refuseConnections(ms) accepts again by itself', async () => {
    ctx.emu.control.refuseConnections(150);
    const p = ctx.track(new RawPrinter(ctx.emu.url, { reconnection: true }));
    await p.welcome(3000);
    assert.ok(ctx.emu.control.events().some((e) => e.kind === 'refused'));
  });

  it('refuseConnections in middleware mode gives connect_error', async () => {
    ctx.emu.control.refuseConnections(undefined, 'middleware');
    const p = ctx.track(new RawPrinter(ctx.emu.url));
    const err = await new Promise<Error>((resolve) => p.socket.once('connect_error', resolve));
    assert.equal(err.message, 'connection refused by emulator');
    ctx.emu.control.acceptConnections();
  });

  it('waitFor resolves with past and future events and times out', async () => {
    const first = await ctx.emu.control.waitFor((e) => e.kind === 'in' && e.name === 'register');
    assert.equal(first.kind, 'in');
    const since = ctx.emu.control.lastSeq();
    const future = ctx.emu.control.waitFor((e) => e.kind === 'connect', 2000, since);
    ctx.track(new RawPrinter(ctx.emu.url));
    assert.ok((await future).seq > since);
    await assert.rejects(ctx.emu.control.waitFor(() => false, 30), /no matching event within 30 ms/);
  });

  it('reset forgets printers and events but keeps counting seq', async () => {
    await ctx.emu.control.waitFor((e) => e.kind === 'disconnect'); // the registering socket is gone
    const seq = ctx.emu.control.lastSeq();
    ctx.emu.control.reset();
    assert.deepEqual(ctx.emu.control.printers(), []);
    assert.deepEqual(ctx.emu.control.events(), []);
    assert.equal(ctx.emu.control.lastSeq(), seq);
    const p = ctx.track(new RawPrinter(ctx.emu.url));
    await p.welcome();
    assert.ok(ctx.emu.control.events()[0].seq > seq);
  });

  it('works over HTTP too', async () => {
    const p = ctx.track(await connectAuthenticated(ctx.emu, ctx.serial, keys));
    const post = async (path: string, body: unknown): Promise<{ status: number; json: unknown }> => {
      const r = await fetch(ctx.emu.url + path, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
      return { status: r.status, json: await r.json() };
    };
    assert.deepEqual((await post('/control/send', { serialNumber: ctx.serial, command: 'resume' })).json, { sent: 1 });
    assert.deepEqual(await p.next('resume'), { serialNumber: ctx.serial });
    assert.deepEqual((await post('/control/send', { serialNumber: ctx.serial, command: 'update', args: [] })).json, { sent: 1 });
    assert.deepEqual(await p.next('update'), []);
    const printersRes = (await (await fetch(`${ctx.emu.url}/control/printers`)).json()) as { serialNumber: string; authenticated: boolean }[];
    assert.deepEqual(printersRes.map((x) => [x.serialNumber, x.authenticated]), [[ctx.serial, true]]);
    const events = (await (await fetch(`${ctx.emu.url}/control/events?since=0`)).json()) as { kind: string }[];
    assert.ok(events.some((e) => e.kind === 'out'));
    const waited = await post('/control/wait', { kind: 'out', name: 'resume' });
    assert.equal((waited.json as { name: string }).name, 'resume');
    assert.equal((await post('/control/wait', { kind: 'nope', timeoutMs: 20 })).status, 408);
    assert.equal((await post('/control/fail-register', { reason: 'NOPE' })).status, 400);
    assert.equal((await post('/control/fail-hellos', { n: 1 })).status, 200);
    await assert.rejects(connectAuthenticated(ctx.emu, ctx.serial, keys), /FAILED/);
    assert.deepEqual((await post('/control/disconnect', {})).json, { disconnected: 1 });
    assert.equal((await fetch(`${ctx.emu.url}/control/nothing`)).status, 404);
  });
});

describe('emulator HTTP control of jobs, files and uploads', () => {
  it('adds jobs and files, sets faults and URL options, lists uploads', async () => {
    const emu = await startPolarEmulator();
    try {
      const call = async (method: string, path: string, body?: unknown): Promise<{ status: number; json: unknown }> => {
        const r = await fetch(emu.url + path, { method, body: body === undefined ? undefined : JSON.stringify(body) });
        return { status: r.status, json: await r.json() };
      };
      const serial = emu.control.addPrinter({ publicKey: keys.publicKey }).serialNumber;
      const job = await call('POST', '/control/jobs', { serialNumber: serial, job: { jobId: 'J1', contentBase64: Buffer.from('G28\n').toString('base64') } });
      assert.equal(job.status, 200);
      assert.equal((job.json as { gcodeUrl: string }).gcodeUrl, `${emu.url}/files/J1.gcode`);
      assert.equal(await (await fetch(`${emu.url}/files/J1.gcode`)).text(), 'G28\n');
      assert.equal((await call('POST', '/control/jobs', { serialNumber: serial, job: { jobId: 'J1' } })).status, 400);
      assert.equal((await call('POST', '/control/jobs', { serialNumber: serial, job: { bogus: 1 } })).status, 400);
      const queue = await call('GET', `/control/queue?serialNumber=${serial}`);
      assert.deepEqual((queue.json as { jobId: string }[]).map((j) => j.jobId), ['J1']);
      assert.equal((await call('POST', '/control/files', { name: 'g.gcode', size: 5000 })).status, 200);
      assert.equal((await call('POST', '/control/file-fault', { name: 'g.gcode', fault: { kind: 'notFound' }, times: 1 })).status, 200);
      assert.equal((await fetch(`${emu.url}/files/g.gcode`)).status, 404);
      assert.equal((await fetch(`${emu.url}/files/g.gcode`)).status, 200);
      assert.equal((await call('POST', '/control/file-fault', { name: 'g.gcode', fault: { kind: 'melt' } })).status, 400);
      assert.equal((await call('POST', '/control/url-options', { maxSize: 10, expires: 5 })).status, 200);
      assert.equal((await call('POST', '/control/url-options', { maxSize: -1 })).status, 400);
      assert.deepEqual((await call('GET', '/control/uploads')).json, []);
      assert.deepEqual((await call('POST', '/control/remove-job', { serialNumber: serial, jobId: 'J1' })).json, { removed: true });
      assert.equal((await call('POST', '/control/jobs', { serialNumber: serial, job: 'nope' })).status, 400);
      assert.equal((await fetch(`${emu.url}/control/send`, { method: 'POST', body: '{not json' })).status, 400);
    } finally {
      await emu.stop();
    }
  });
});

describe('emulator stop', () => {
  it('ends open sockets and pending waiters', async () => {
    const emu = await startPolarEmulator();
    const p = new RawPrinter(emu.url);
    await p.welcome();
    const waiting = assert.rejects(emu.control.waitFor(() => false, 60_000), /emulator stopped/);
    await emu.stop();
    await waiting;
    // Like a server going away: no disconnect packet, so a client would reconnect.
    assert.equal(await p.waitDisconnect(), 'transport close');
    p.close();
  });

  it('does not wait for stalled downloads', async () => {
    const emu = await startPolarEmulator();
    emu.control.addFile('s.gcode', { size: 10_000 });
    emu.control.faultFile('s.gcode', { kind: 'stall', afterBytes: 10 });
    const res = await fetch(`${emu.url}/files/s.gcode`);
    const reader = res.body?.getReader();
    await reader?.read();
    const started = Date.now();
    await emu.stop();
    assert.ok(Date.now() - started < 10_000); // waiting would be forever; wide for a loaded machine
    await assert.rejects(async () => {
      for (;;) if ((await reader?.read())?.done) throw new Error('ended cleanly');
    }, /terminated|other side closed|ended cleanly/);
  });
});
