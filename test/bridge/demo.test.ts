// `polarcloud demo` from the bundle, end to end: a cloud job printed, camera
// images and the timelapse uploaded (or skipped without ffmpeg), exit 0 with
// no protocol violation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { probeFfmpeg } from '../../camera/ffmpeg.js';

const BUNDLE = fileURLToPath(new URL('../../../dist/polarcloud.mjs', import.meta.url));

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runDemo(env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BUNDLE, 'demo'], { timeout: 120_000, env: { ...process.env, ...env } }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : null) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

function assertPrinted(r: Run): void {
  const why = `\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;
  assert.equal(r.code, 0, `exit code${why}`);
  assert.match(r.stdout, /^ {2}printer KL\d{6}: MAC ([0-9a-f]{2}:){5}[0-9a-f]{2}, version \S+, authenticated/m, why);
  assert.match(r.stdout, /^ {2}statuses: 0 Ready → .*3 Printing → .*7 Complete → 0 Ready \(\d+ messages\)$/m, why);
  assert.match(r.stdout, /^ {2}job report: job \S+ completed, print time .+, filament [1-9]\d* mm$/m, why);
  assert.match(r.stdout, /^ {2}camera images: \d+ idle, \d+ printing \(.+ B each, image\/jpeg\)$/m, why);
  assert.doesNotMatch(r.stdout, /camera images: 0 idle, 0 printing/, why);
  assert.match(r.stdout, /^ {2}protocol violations: 0$/m, why);
  assert.match(r.stdout, /^demo OK/m, why);
  assert.ok(r.stdout.trimEnd().split('\n').length <= 25, `at most 25 lines${why}`);
}

test('the demo prints a cloud job end to end, with images and the timelapse (when ffmpeg can make one)', { timeout: 130_000 }, async () => {
  const ff = await probeFfmpeg();
  const r = await runDemo();
  assertPrinted(r);
  if (ff.ok && ff.libx264) {
    assert.match(r.stdout, /^ {2}timelapse: uploaded [\d,]+ B video\/mp4/m, r.stdout);
  } else {
    assert.match(r.stdout, /^ {2}timelapse: skipped: no ffmpeg/m, r.stdout);
  }
});

test('without ffmpeg the demo still succeeds and says the timelapse was skipped', { timeout: 130_000 }, async () => {
  const r = await runDemo({ POLARCLOUD_FFMPEG: '/nonexistent/ffmpeg' });
  assertPrinted(r);
  assert.match(r.stdout, /^ {2}timelapse: skipped: no ffmpeg$/m, r.stdout);
  assert.match(r.stdout, /^demo OK \(timelapse skipped: no ffmpeg/m, r.stdout);
  assert.doesNotMatch(r.stdout, /5 Post-processing/, 'no status 5 without a timelapse');
});
