// `polarcloud demo --printers 2` from the bundle: two printers on one host,
// two serials and MACs, each bed target and cloud job under its own serial.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const BUNDLE = fileURLToPath(new URL('../../../dist/polarcloud.mjs', import.meta.url));

test('demo --printers 2: two serials on one host, a cloud print to each, exit 0', { timeout: 130_000 }, async () => {
  const r = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    execFile(process.execPath, [BUNDLE, 'demo', '--printers', '2'], { timeout: 120_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, stdout, stderr });
    });
  });
  const why = `\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;
  assert.equal(r.code, 0, why);
  const serials = [...r.stdout.matchAll(/^ {2}(KL\d{6}) \((printer_data|printer_2_data)\): MAC (([0-9a-f]{2}:){5}[0-9a-f]{2}), online on 1 connection\(s\)$/gm)];
  assert.equal(serials.length, 2, why);
  assert.notEqual(serials[0]![1], serials[1]![1]);
  assert.notEqual(serials[0]![3], serials[1]![3]);
  assert.equal([...r.stdout.matchAll(/job reports: KL\d{6}-\d+ completed$/gm)].length, 2, why);
  assert.match(r.stdout, /^bed targets 41°C on KL\d{6}, 43°C on KL\d{6}: each under its own serial$/m, why);
  assert.match(r.stdout, /^demo OK: 2 printers on one host, 2 serials$/m, why);

  const bad = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
    execFile(process.execPath, [BUNDLE, 'demo', '--printers', 'many'], (err, _o, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, stderr }));
  });
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--printers must be 1\.\.8, got 'many'/);
});
