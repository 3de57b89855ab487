import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig, parseConfig, servedByMoonraker } from '../../src/config.js';

const env = { HOME: '/home/pi' };

function problems(text: string): string[] {
  try {
    parseConfig(text, 'polarcloud.yaml', env);
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    return err.problems;
  }
  assert.fail('expected a ConfigError');
}

test('an empty file gives the documented defaults', () => {
  const { config, warnings } = parseConfig('', 'c.yaml', env);
  assert.equal(config.polar.server_url, 'https://printer4.polar3d.com');
  assert.equal(config.polar.mfg, 'kl');
  assert.equal(config.moonraker.url, 'http://127.0.0.1:7125');
  assert.equal(config.moonraker.api_key, undefined);
  assert.equal(config.data_dir, '/home/pi/printer_data/polarcloud');
  assert.equal(config.log.level, 'info');
  assert.deepEqual(warnings, []);
});

test('errors name the file and the dotted key path', () => {
  assert.deepEqual(problems('polar:\n  server_url: ftp://x\n'), ['polarcloud.yaml: polar.server_url: must be an http:// or https:// URL']);
  const p = problems('moonraker:\n  url: 42\nlog:\n  level: loud\n');
  assert.equal(p.length, 2);
  assert.ok(p.some((l) => l.startsWith('polarcloud.yaml: moonraker.url: ')), p.join('\n'));
  assert.ok(p.some((l) => l.startsWith('polarcloud.yaml: log.level: ')), p.join('\n'));
});

test('YAML syntax errors and non-mapping documents are reported with the file name', () => {
  assert.match(problems('polar: [unclosed\n')[0]!, /^polarcloud\.yaml:1:17: YAML syntax error: .*\n  1 \| polar: \[unclosed\n    \| {17}\^$/);
  assert.deepEqual(problems('- a\n- b\n'), ['polarcloud.yaml: the top level must be a mapping of keys']);
});

test('unknown keys are warned about with their path, not fatal', () => {
  const { warnings } = parseConfig('polar:\n  mfg: kl\n  colour: red\nextra: 1\n', 'c.yaml', env);
  assert.deepEqual(warnings.sort(), ['c.yaml: extra: unknown key (ignored)', 'c.yaml: polar.colour: unknown key (ignored)']);
});

test('data_dir inside a folder Moonraker serves is refused', () => {
  assert.match(problems('data_dir: ~/printer_data/config/polar\n')[0]!, /data_dir: .*served 'config' folder/);
  assert.match(problems('data_dir: /home/pi/printer_2_data/gcodes\n')[0]!, /served 'gcodes'/);
  assert.equal(servedByMoonraker('/home/pi/printer_data/polarcloud'), undefined);
  assert.equal(servedByMoonraker('/home/pi/printer_data/logs/x'), 'logs');
});

test('relative data_dir resolves against the config file, ~ against HOME', () => {
  assert.equal(parseConfig('data_dir: state\n', '/etc/pc/c.yaml', env).config.data_dir, '/etc/pc/state');
  assert.equal(parseConfig('data_dir: ~/pc\n', '/etc/pc/c.yaml', env).config.data_dir, '/home/pi/pc');
  assert.equal(parseConfig('', '/etc/pc/c.yaml', { ...env, POLARCLOUD_DATA_DIR: '/var/lib/pc' }).config.data_dir, '/var/lib/pc');
});

test('plain http to a non-loopback cloud warns; loopback does not', () => {
  const remote = parseConfig('polar:\n  server_url: http://example.com\n', 'c.yaml', env);
  assert.equal(remote.warnings.length, 1);
  assert.match(remote.warnings[0]!, /polar\.server_url: plain http/);
  assert.deepEqual(parseConfig('polar:\n  server_url: http://127.0.0.1:9000/\n', 'c.yaml', env).warnings, []);
  assert.equal(parseConfig('polar:\n  server_url: http://127.0.0.1:9000/\n', 'c.yaml', env).config.polar.server_url, 'http://127.0.0.1:9000');
});

test('loadConfig reports a missing file clearly', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'pc-config-'));
  await assert.rejects(loadConfig(join(dir, 'nope.yaml')), (err: unknown) => {
    assert.ok(err instanceof ConfigError);
    assert.match(err.problems[0]!, /nope\.yaml: cannot read config file \(ENOENT\)/);
    return true;
  });
  await writeFile(join(dir, 'ok.yaml'), 'polar:\n  mfg: test\n');
  const { config } = await loadConfig(join(dir, 'ok.yaml'), env);
  assert.equal(config.polar.mfg, 'test');
  assert.equal(config.configFile, join(dir, 'ok.yaml'));
});
