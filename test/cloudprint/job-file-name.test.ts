import { test } from 'node:test';
import assert from 'node:assert/strict';
import { alternateFileName, cloudFileName } from '../../src/cloudprint/job-file-name.js';

/** What every generated name must look like: one safe path segment ending in .gcode. */
const SAFE = /^[A-Za-z0-9][A-Za-z0-9._-]*\.gcode$/;
const MAX_LEN = 110;

function assertSafe(got: string, label: string): void {
  assert.match(got, SAFE, `${label}: ${JSON.stringify(got)}`);
  assert.ok(!got.includes('/'), `${label}: contains '/': ${got}`);
  assert.ok(!got.includes('\\'), `${label}: contains '\\': ${got}`);
  assert.ok(!got.includes('..'), `${label}: contains '..': ${got}`);
  assert.ok(got.length <= MAX_LEN, `${label}: ${got.length} chars`);
}

interface Case {
  name: string;
  jobName: string | undefined;
  jobId: string;
  want: string;
}

function run(cases: readonly Case[]): void {
  for (const c of cases) {
    const got = cloudFileName(c.jobName, c.jobId);
    assert.equal(got, c.want, c.name);
    assertSafe(got, c.name);
  }
}

test('cloudFileName: path traversal and hidden names stay one plain file name', () => {
  run([
    { name: 'unix traversal', jobName: '../../printer.cfg', jobId: '7', want: 'printer.cfg-7.gcode' },
    { name: 'windows traversal', jobName: '..\\..\\x', jobId: '7', want: 'x-7.gcode' },
    { name: 'absolute path', jobName: '/etc/passwd', jobId: '7', want: 'etc_passwd-7.gcode' },
    { name: 'hidden file', jobName: '.hidden', jobId: '7', want: 'hidden-7.gcode' },
    { name: 'only dots', jobName: '....', jobId: '7', want: 'job-7.gcode' },
    { name: 'nested folders', jobName: 'a/b/c', jobId: '7', want: 'a_b_c-7.gcode' },
    { name: 'dots inside are collapsed', jobName: 'a...b', jobId: '7', want: 'a.b-7.gcode' },
    { name: 'leading dashes (option-like)', jobName: '--rm -rf', jobId: '7', want: 'rm_-rf-7.gcode' },
  ]);
});

test('cloudFileName: odd Unicode is folded to ASCII or replaced', () => {
  run([
    { name: 'accents are stripped', jobName: 'Pièce ç', jobId: '7', want: 'Piece_c-7.gcode' },
    { name: 'ligature is expanded', jobName: 'ﬁle', jobId: '7', want: 'file-7.gcode' },
    { name: 'emoji are dropped', jobName: '🎉 party 🎉', jobId: '7', want: 'party-7.gcode' },
    { name: 'RTL override cannot disguise the extension', jobName: 'abc\u202Egcode.exe', jobId: '7', want: 'abc_gcode.exe-7.gcode' },
    { name: 'zero-width characters', jobName: 'a\u200Bb\u200Dc\uFEFF', jobId: '7', want: 'a_b_c-7.gcode' },
    { name: 'fullwidth letters fold to ASCII', jobName: 'ＡＢＣ', jobId: '7', want: 'ABC-7.gcode' },
    { name: 'NUL and control characters', jobName: 'a\0b\x01c\n\r\t', jobId: '7', want: 'a_b_c-7.gcode' },
    { name: 'CJK only falls back to job', jobName: '零件', jobId: '7', want: 'job-7.gcode' },
    { name: 'CJK mixed with ASCII keeps the ASCII', jobName: 'part 零件 2', jobId: '7', want: 'part_2-7.gcode' },
  ]);
});

test('cloudFileName: empty or unusable names fall back to job-<id>.gcode', () => {
  run([
    { name: 'undefined', jobName: undefined, jobId: '42', want: 'job-42.gcode' },
    { name: 'empty', jobName: '', jobId: '42', want: 'job-42.gcode' },
    { name: 'whitespace', jobName: '   \t ', jobId: '42', want: 'job-42.gcode' },
    { name: 'only an extension', jobName: '.gcode', jobId: '42', want: 'job-42.gcode' },
    { name: 'only punctuation', jobName: '!@#$%^&*()', jobId: '42', want: 'job-42.gcode' },
  ]);
});

test('cloudFileName: print-file extensions are dropped before .gcode is added', () => {
  run([
    { name: '.gcode', jobName: 'benchy.gcode', jobId: '1', want: 'benchy-1.gcode' },
    { name: '.GCODE (case-insensitive)', jobName: 'benchy.GCODE', jobId: '1', want: 'benchy-1.gcode' },
    { name: '.gco', jobName: 'benchy.gco', jobId: '1', want: 'benchy-1.gcode' },
    { name: '.stl', jobName: 'benchy.stl', jobId: '1', want: 'benchy-1.gcode' },
    { name: '.STL', jobName: 'benchy.STL', jobId: '1', want: 'benchy-1.gcode' },
    { name: '.3mf', jobName: 'benchy.3mf', jobId: '1', want: 'benchy-1.gcode' },
    { name: '.obj', jobName: 'benchy.obj', jobId: '1', want: 'benchy-1.gcode' },
    { name: 'only the last extension', jobName: 'benchy.gcode.gcode', jobId: '1', want: 'benchy.gcode-1.gcode' },
    { name: 'other extensions are kept', jobName: 'notes.txt', jobId: '1', want: 'notes.txt-1.gcode' },
  ]);
});

test('cloudFileName: job ids with odd characters are cleaned too', () => {
  run([
    { name: 'plain id', jobName: 'a', jobId: 'AbC-123_x.y', want: 'a-AbC-123_x.y.gcode' },
    { name: 'traversal id', jobName: 'a', jobId: '../..', want: 'a-unknown.gcode' },
    { name: 'empty id', jobName: 'a', jobId: '', want: 'a-unknown.gcode' },
    { name: 'spaces, slashes, colons', jobName: 'a', jobId: 'id with spaces/and:colons', want: 'a-id_with_spaces_and_colons.gcode' },
    { name: 'id with a slash prefix', jobName: 'a', jobId: '/etc/x', want: 'a-etc_x.gcode' },
    { name: 'unicode id', jobName: 'a', jobId: 'ñ1😀', want: 'a-n1.gcode' },
  ]);
});

test('cloudFileName: very long names and ids are cut to the length limit', () => {
  const got = cloudFileName('x'.repeat(5000), 'y'.repeat(5000));
  assertSafe(got, 'long name and id');
  assert.equal(got, `${'x'.repeat(60)}-${'y'.repeat(40)}.gcode`);
  // A cut that lands on punctuation must not leave a trailing '.', '_' or '-'.
  const cutOnDot = cloudFileName(`${'a'.repeat(59)}.${'b'.repeat(100)}`, '1');
  assert.equal(cutOnDot, `${'a'.repeat(59)}-1.gcode`);
  assertSafe(cutOnDot, 'cut on dot');
});

test('alternateFileName: numbers the name before .gcode', () => {
  const cases: { name: string; attempt: number; want: string }[] = [
    { name: 'benchy-1.gcode', attempt: 2, want: 'benchy-1-2.gcode' },
    { name: 'job-42.gcode', attempt: 99, want: 'job-42-99.gcode' },
    { name: 'a.gcode.gcode', attempt: 3, want: 'a.gcode-3.gcode' },
  ];
  for (const c of cases) assert.equal(alternateFileName(c.name, c.attempt), c.want, c.name);
  // Every alternate of a generated name is itself safe and differs from it.
  const base = cloudFileName('x'.repeat(500), 'y'.repeat(500));
  for (const attempt of [2, 50, 99]) {
    const alt = alternateFileName(base, attempt);
    assert.notEqual(alt, base);
    assert.match(alt, SAFE);
    assert.ok(alt.length <= MAX_LEN + 3, `${alt.length}`);
  }
});

/** mulberry32: small deterministic PRNG so a failure reproduces. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const PIECES = ['.', '..', '/', '\\', '-', '_', ' ', '\0', '\u202E', '\u200B', '.gcode', '.stl', '.3mf', 'ﬁ', 'é', 'Ａ', '零', '😀', 'a', 'Z', '9'];

function randomString(rand: () => number): string {
  const len = Math.floor(rand() * 200);
  let s = '';
  for (let i = 0; i < len; i++) {
    const r = rand();
    if (r < 0.4) s += PIECES[Math.floor(rand() * PIECES.length)];
    else if (r < 0.7) s += String.fromCharCode(0x20 + Math.floor(rand() * 0x5f));
    else {
      // Any code point, lone surrogates included.
      s += String.fromCodePoint(Math.floor(rand() * 0x110000));
    }
  }
  return s;
}

test('cloudFileName: 500 random names and ids always give a safe name (seeded)', () => {
  const rand = prng(0xc0ffee);
  for (let i = 0; i < 500; i++) {
    const jobName = rand() < 0.1 ? undefined : randomString(rand);
    const jobId = randomString(rand);
    const got = cloudFileName(jobName, jobId);
    assertSafe(got, `case ${i} name=${JSON.stringify(jobName)} id=${JSON.stringify(jobId)}`);
    // Deterministic: the same job always maps to the same file.
    assert.equal(cloudFileName(jobName, jobId), got);
  }
});
