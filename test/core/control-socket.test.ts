// The service's control socket (local-control/): one JSON line in, one out;
// bad requests get an error line, never a crash; no listener = "not-running".
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { mkdtemp, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ControlServer, controlSocketPath } from '../../src/local-control/control-server.js';
import { askService } from '../../src/local-control/control-client.js';
import { Logger } from '../../src/util/log.js';

function raw(path: string, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(path);
    let out = '';
    s.setEncoding('utf8');
    s.on('connect', () => s.write(text));
    s.on('data', (c: string) => (out += c));
    s.on('end', () => resolve(out));
    s.on('error', reject);
  });
}

test('answers methods, reports errors and bad requests in one line, and is the user\'s only', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'pc-ctl-'));
  assert.deepEqual(await askService(dir, 'status', {}, 1000), { kind: 'not-running' });
  // A socket file left by a crashed service: nobody listens, so still not running.
  await writeFile(controlSocketPath(dir), '');
  assert.deepEqual(await askService(dir, 'status', {}, 1000), { kind: 'not-running' });

  const server = new ControlServer(
    dir,
    {
      echo: async (p) => ({ got: p }),
      fail: async () => {
        throw new Error('not connected to Polar Cloud (hello rejected)');
      },
    },
    Logger.silent(),
  );
  assert.equal(await server.start(), true);
  try {
    assert.equal((await stat(server.path)).mode & 0o777, 0o600);
    assert.deepEqual(await askService(dir, 'echo', { a: 1 }, 1000), { kind: 'result', result: { got: { a: 1 } } });
    assert.deepEqual(await askService(dir, 'fail', {}, 1000), { kind: 'error', message: 'not connected to Polar Cloud (hello rejected)' });
    assert.deepEqual(await askService(dir, 'nope', {}, 1000), { kind: 'error', message: "unknown method 'nope'" });
    assert.deepEqual(await askService(dir, 'toString', {}, 1000), { kind: 'error', message: "unknown method 'toString'" });
    assert.equal(await raw(server.path, 'garbage\n'), '{"error":"not JSON"}\n');
    assert.equal(await raw(server.path, '{"method":"echo","params":[1]}\n'), '{"error":"expected {\\"method\\": \\"...\\", \\"params\\": {...}}"}\n');
    assert.equal(await raw(server.path, 'x'.repeat(5000)), '{"error":"request too long"}\n');
  } finally {
    await server.stop();
  }
  assert.deepEqual(await askService(dir, 'echo', {}, 1000), { kind: 'not-running' }, 'the socket file is gone after stop');
});
