// Streamed upload to the simulator.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UploadError, sha256File, uploadFile } from '../../moonraker-bridge/index.js';
import { connect, waitModel, waitState, withSim } from './sim-harness.js';

async function makeFile(bytes: number, name: string) {
  const dir = await mkdtemp(join(tmpdir(), 'mr-sim-upload-'));
  const file = join(dir, name);
  // G-code comment lines so the simulator's metadata parser sees a gcode file.
  const line = Buffer.from(`; ${randomBytes(30).toString('hex')}\n`);
  const buf = Buffer.alloc(bytes);
  for (let o = 0; o < bytes; o += line.length) line.copy(buf, o);
  await writeFile(file, buf);
  return { dir, file, sha: createHash('sha256').update(buf).digest('hex') };
}

test('uploads a 5 MB file with its checksum; it is listed with the right size', async () => {
  await withSim({ port: 0 }, async (sim) => {
    const f = await makeFile(5 * 1024 * 1024, 'big.gcode');
    const h = connect(sim);
    try {
      await waitState(h.model, 'klippy_ready');
      assert.equal(await sha256File(f.file), f.sha);
      let last = 0;
      const res = await uploadFile({ url: sim.url, file: f.file, path: 'polar', onProgress: (p) => (last = p.sent / p.total) });
      assert.equal(last, 1);
      assert.equal(res.item.root, 'gcodes');
      assert.equal(res.item.path, 'polar/big.gcode');
      const listed = (await h.api.listFiles()).find((x) => x.path === 'polar/big.gcode');
      assert.equal(listed?.size, 5 * 1024 * 1024);
    } finally {
      await h.stop();
      await rm(f.dir, { recursive: true, force: true });
    }
  });
});

test('upload errors: wrong checksum 422, refused 403, too large 413', async () => {
  await withSim({ port: 0 }, async (sim) => {
    const f = await makeFile(256 * 1024, 'small.gcode');
    try {
      await assert.rejects(uploadFile({ url: sim.url, file: f.file, checksum: '0'.repeat(64) }), (err: unknown) => err instanceof UploadError && err.status === 422);
      for (const status of [403, 413]) {
        await sim.control.refuseUploads(status);
        await assert.rejects(uploadFile({ url: sim.url, file: f.file }), (err: unknown) => err instanceof UploadError && err.status === status && err.message.length > 0);
      }
      await sim.control.refuseUploads(null);
      await uploadFile({ url: sim.url, file: f.file });
    } finally {
      await rm(f.dir, { recursive: true, force: true });
    }
  });
});

test('upload with print=true starts the print; API key required when configured', async () => {
  await withSim({ port: 0, apiKey: 'up-key', speedFactor: 20 }, async (sim) => {
    const f = await makeFile(64 * 1024, 'go.gcode');
    const h = connect(sim, { apiKey: 'up-key' });
    try {
      await waitState(h.model, 'klippy_ready');
      await assert.rejects(uploadFile({ url: sim.url, file: f.file }), (err: unknown) => err instanceof UploadError && err.status === 401);
      const res = await uploadFile({ url: sim.url, apiKey: 'up-key', file: f.file, print: true });
      assert.equal(res.print_started, true);
      await waitModel(h.model, (s) => s.print_stats.filename === 'go.gcode', 'print of the uploaded file');
    } finally {
      await h.stop();
      await rm(f.dir, { recursive: true, force: true });
    }
  });
});
