// A full run — registration, hello, a cloud print, camera images, a timelapse,
// with the wire log on — must not write a secret into the log at any level:
// not the PIN, not the private key, not the hello signature, not the signed
// upload fields (policy, signature, credential) or a signed URL's query.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Bridge, eventually } from '../bridge/bridge-harness.js';
import { prusaGcode } from '../simulator/gcode-samples.js';

const PIN = '731946';

test('no secret reaches the log at any level (wire log on)', async () => {
  const b = await Bridge.start({ speedFactor: 50, camera: '', pin: PIN, extraYaml: 'log:\n  wire: true\n' });
  try {
    b.preheat();
    const job = b.emu.control.addJob(b.serial, { jobName: 'Secret test', content: prusaGcode({ layers: 8, movesPerLayer: 20 }) });
    await b.c.session.sendNextPrint(job.jobId);
    await eventually(() => b.emu.control.uploads().some((u) => u.type === 'timelapse'), 60_000, 'timelapse (the whole pipeline ran)');

    const secrets: Array<[string, string]> = [['PIN', PIN]];
    const pem = await readFile(join(b.dataDir, 'private-key.pem'), 'utf8');
    for (const line of pem.split('\n').filter((l) => l.length > 40 && !l.startsWith('-----'))) secrets.push(['private key', line]);
    for (const e of b.emu.control.events()) {
      const p = e.payload as Record<string, unknown> | undefined;
      if (e.kind === 'in' && e.name === 'hello' && typeof p?.signature === 'string') secrets.push(['hello signature', p.signature]);
      if (e.kind === 'out' && e.name === 'getUrlResponse' && p && typeof p.fields === 'object' && p.fields) {
        for (const [k, v] of Object.entries(p.fields as Record<string, string>)) {
          if (/signature|policy|credential|security-token/i.test(k) && v.length >= 16) secrets.push([`upload field ${k}`, v]);
        }
      }
    }
    assert.ok(secrets.length > 5, `collected ${secrets.length} secrets to look for`);
    const log = b.log.lines().join('\n');
    assert.ok(log.includes('→ status'), 'the wire log was on');
    for (const [what, value] of secrets) {
      const needle = value.slice(0, 24);
      assert.ok(!log.includes(needle), `${what} found in the log`);
    }
    assert.ok(!/X-Amz-Signature=[0-9a-f]{16}/i.test(log), 'no signed URL query in the log');
  } finally {
    await b.stop();
  }
});
