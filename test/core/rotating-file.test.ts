// The log file never grows past its limit: rotation in-process, a fixed number of files.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Logger } from '../../src/util/log.js';
import { RotatingFile, atLeast, fileSink } from '../../src/util/rotating-file.js';

test('rotates at max size and keeps exactly N files; the newest lines are in the current file', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'pc-log-'));
  const path = join(dir, 'logs', 'moonraker-polarcloud.log');
  const file = new RotatingFile(path, 10_000, 3);
  const log = Logger.create('info', [fileSink(file)]);
  for (let i = 0; i < 2000; i++) log.info(`line ${i} ${'x'.repeat(40)}`);
  file.close();
  const names = (await readdir(join(dir, 'logs'))).sort();
  assert.deepEqual(names, ['moonraker-polarcloud.log', 'moonraker-polarcloud.log.1', 'moonraker-polarcloud.log.2']);
  for (const n of names) assert.ok((await stat(join(dir, 'logs', n))).size <= 10_000, `${n} within the limit`);
  const current = await readFile(path, 'utf8');
  assert.match(current, /line 1999 /);
  assert.doesNotMatch(await readFile(`${path}.2`, 'utf8'), /line 1999 /);
  assert.ok(current.split('\n').filter(Boolean).every((l) => / INFO  \[polarcloud\] line \d+ x+$/.test(l)), 'whole lines only');
});

test('an existing file is appended to, and the journal sink gets warnings only', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'pc-log-'));
  const path = join(dir, 'a.log');
  const journal: string[] = [];
  const f1 = new RotatingFile(path, 1e6, 3);
  Logger.create('info', [fileSink(f1)]).info('first run');
  f1.close();
  const f2 = new RotatingFile(path, 1e6, 3);
  const log = Logger.create('debug', [fileSink(f2), atLeast('warn', (r) => journal.push(r.msg))]);
  log.info('second run');
  log.warn('careful');
  log.debug('details');
  f2.close();
  const text = await readFile(path, 'utf8');
  assert.match(text, /first run[\s\S]*second run[\s\S]*careful[\s\S]*details/);
  assert.deepEqual(journal, ['careful']);
});

test('a log file that cannot be written never throws into the caller', async () => {
  // A regular file where a folder should be: every open fails (ENOTDIR).
  const dir = await mkdtemp(join(tmpdir(), 'pc-log-'));
  await writeFile(join(dir, 'not-a-dir'), '');
  const file = new RotatingFile(join(dir, 'not-a-dir', 'x.log'), 1000, 2);
  const log = Logger.create('info', [fileSink(file)]);
  assert.doesNotThrow(() => log.info('lost, harmlessly'));
});
