// The failures a Klipper user meets, through the shipped bundle: each is one
// line naming the file or port, the cause and the fix, with its exit code —
// never a stack trace. Needs `node scripts/build.mjs` first (npm test does it).
//
// Running as root ignores file modes, so the "data folder belongs to another
// user" case runs the bundle as uid/gid 65534 (nobody) against a root-owned
// folder when the tests run as root, and chmods the folder read-only otherwise.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type SpawnOptions } from 'node:child_process';
import { chmod, copyFile, cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { generateRsaKeyPair } from '../../src/identity/keys.js';

const bundle = new URL('../../../dist/polarcloud.mjs', import.meta.url).pathname;

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

function cli(args: string[], opts: SpawnOptions = {}, prog = { node: process.execPath, bundle }): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(prog.node, [prog.bundle, ...args], { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr!.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** No JavaScript stack frames anywhere in the output. */
function assertNoStack(r: Result): void {
  assert.doesNotMatch(r.stdout + r.stderr, /^\s+at .+[:(]/m, `stack trace printed:\n${r.stderr}`);
}

async function workDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'pc-cli-errors-'));
  await chmod(dir, 0o755); // the uid-65534 case must be able to enter it
  return dir;
}

async function config(dir: string, body: string): Promise<string> {
  const file = join(dir, 'polarcloud.yaml');
  await writeFile(file, body);
  await chmod(file, 0o644);
  return file;
}

test('polarcloud help, an unknown command, per-command --help and a bad --log-level', async () => {
  const help = await cli(['help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /polarcloud diagnose/);
  const unknown = await cli(['foo']);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /^polarcloud: unknown command 'foo'\. Commands:\n/);
  assert.match(unknown.stderr, /polarcloud status --config FILE/);
  assert.doesNotMatch(unknown.stderr, /--config FILE is required/);
  for (const cmd of ['run', 'register', 'status', 'queue', 'next', 'diagnose', 'emulator', 'simulator']) {
    const r = await cli([cmd, '--help']);
    assert.equal(r.code, 0, cmd);
    assert.match(r.stdout, new RegExp(`^Usage: polarcloud ${cmd}`), cmd);
  }
  assert.equal((await cli(['help', 'queue'])).stdout, (await cli(['queue', '--help'])).stdout);
  assert.match((await cli(['register', '--help'])).stdout, /--pin P/);
  const bogus = await cli(['status', '--config', '/nonexistent.yaml', '--log-level', 'bogus']);
  assert.equal(bogus.code, 2);
  assert.match(bogus.stderr, /--log-level must be one of error, warn, info, debug, trace, got 'bogus'/);
});

test('a YAML syntax error shows the offending line with a caret', async () => {
  const dir = await workDir();
  try {
    const file = await config(dir, 'log:\n  level: info\n level2: x\n');
    const r = await cli(['status', '--config', file]);
    assert.equal(r.code, 2);
    assertNoStack(r);
    assert.equal(r.stderr, `${file}:3:1: YAML syntax error: All mapping items must start at the same column\n  3 |  level2: x\n    | ^\n`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a data folder path that runs through a file: one line, exit 73', async () => {
  const dir = await workDir();
  try {
    await writeFile(join(dir, 'printer_data'), 'not a folder');
    const file = await config(dir, `data_dir: ${dir}/printer_data/polarcloud\n`);
    const r = await cli(['status', '--config', file]);
    assertNoStack(r);
    assert.equal(r.code, 73);
    assert.equal(r.stderr, `polarcloud: cannot create ${dir}/printer_data/polarcloud: ${dir}/printer_data is a file, not a folder. Fix: remove or rename that file, or set data_dir (or log.file) to another folder\n`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a data folder left to another user (after a sudo run): the chown fix, exit 73', async () => {
  const dir = await workDir();
  try {
    const data = join(dir, 'polarcloud');
    await mkdir(data, { mode: 0o755 });
    await writeFile(join(data, 'identity.json'), '{}\n', { mode: 0o600 });
    const file = await config(dir, `data_dir: ${data}\n`);
    const asRoot = process.getuid?.() === 0;
    // As root, run as nobody (the folder stays root's, as after `sudo polarcloud ...`); else make it read-only for us.
    if (!asRoot) await chmod(data, 0o555);
    // A node and a bundle nobody may run: npx's node (CI's Node 18 pass) lives under root's 0700 home,
    // and a checkout may too, so nobody runs copies in the (0755) work folder.
    const prog = { node: process.execPath, bundle };
    if (asRoot) {
      prog.node = join(dir, 'node');
      await copyFile(process.execPath, prog.node);
      await chmod(prog.node, 0o755);
      await cp(dirname(bundle), join(dir, 'dist'), { recursive: true });
      prog.bundle = join(dir, 'dist', basename(bundle));
    }
    const r = await cli(['status', '--config', file], asRoot ? { uid: 65534, gid: 65534, env: { ...process.env, HOME: dir, USER: 'nobody' } } : {}, prog);
    if (!asRoot) await chmod(data, 0o755);
    assertNoStack(r);
    assert.equal(r.code, 73, r.stderr);
    assert.match(r.stderr, new RegExp(`^polarcloud: cannot access ${data}\\S*: permission denied for user \\S+ \\(it belongs to another user, often after running polarcloud with sudo\\)\\. Fix: sudo chown -R \\S+: ${data}\\n$`));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a corrupt identity.json or key file: names the file and the fix, exit 65', async () => {
  const dir = await workDir();
  try {
    const data = join(dir, 'polarcloud');
    await mkdir(data);
    const file = await config(dir, `data_dir: ${data}\n`);
    await writeFile(join(data, 'identity.json'), '{"serialNumber": "ab'); // cut short by a power loss
    const r1 = await cli(['status', '--config', file]);
    assertNoStack(r1);
    assert.equal(r1.code, 65);
    const id = join(data, 'identity.json');
    assert.equal(r1.stderr, `polarcloud: ${id}: corrupt identity file: not valid JSON. Fix: move it aside (mv ${id} ${id}.bad) and register the printer again (POLAR_REGISTER in the console, or polarcloud register)\n`);
    await writeFile(id, '{}\n');
    const { privateKey } = await generateRsaKeyPair();
    await writeFile(join(data, 'private-key.pem'), privateKey.slice(0, 200));
    const r2 = await cli(['run', '--config', file]);
    assertNoStack(r2);
    assert.equal(r2.code, 65);
    assert.match(r2.stderr, new RegExp(`polarcloud: ${data}/private-key\\.pem: not a readable private key \\(.+\\)\\. Fix: move it aside \\(mv ${data}/private-key\\.pem ${data}/private-key\\.pem\\.bad\\) and register the printer again`));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('emulator and simulator on a port already in use: one line, exit 69', async () => {
  const blocker: Server = createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  const port = (blocker.address() as { port: number }).port;
  try {
    for (const cmd of ['emulator', 'simulator']) {
      const r = await cli([cmd, '--port', String(port), '--log-level', 'error']);
      assertNoStack(r);
      assert.equal(r.code, 69, `${cmd}: ${r.stderr}`);
      assert.equal(r.stderr, `polarcloud: port ${port} on 127.0.0.1 is already in use (another emulator/simulator, or Moonraker itself). Fix: stop that program or choose another port with --port N\n`);
    }
  } finally {
    blocker.close();
  }
});

/** Starts `run`, collecting stderr; `waitFor` resolves when a line matches. */
function service(args: string[], env: NodeJS.ProcessEnv) {
  const child = spawn(process.execPath, [bundle, ...args], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...env } });
  let stderr = '';
  const waiters: Array<{ re: RegExp; resolve: () => void }> = [];
  child.stderr!.setEncoding('utf8').on('data', (s: string) => {
    stderr += s;
    for (const w of waiters.splice(0)) {
      if (w.re.test(stderr)) w.resolve();
      else waiters.push(w);
    }
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    get stderr() {
      return stderr;
    },
    exited,
    waitFor: (re: RegExp) =>
      new Promise<void>((resolve, reject) => {
        if (re.test(stderr)) return resolve();
        waiters.push({ re, resolve });
        void exited.then(() => reject(new Error(`exited before ${re}:\n${stderr}`)));
      }),
    stop: () => child.kill('SIGTERM'),
  };
}

test('under systemd a start that fails waits and retries (one line, no hot loop) and picks up the fix', async () => {
  const dir = await workDir();
  try {
    await writeFile(join(dir, 'printer_data'), 'not a folder');
    const file = await config(dir, `data_dir: ${dir}/printer_data/polarcloud\npolar:\n  server_url: http://127.0.0.1:9\nmoonraker:\n  url: http://127.0.0.1:9\n`);
    const s = service(['run', '--config', file, '--log-level', 'debug'], { INVOCATION_ID: 'test', POLARCLOUD_START_RETRY_MS: '300' });
    try {
      await s.waitFor(/waiting and retrying the start/);
      await s.waitFor(/still cannot start/); // a second try happened, at debug level only
      assertNoStack({ code: null, stdout: '', stderr: s.stderr });
      assert.equal(s.stderr.match(/ERROR .*cannot start: cannot create/g)?.length, 1, s.stderr);
      // The fix, while the service waits: it starts on its next try, without a restart.
      await rm(join(dir, 'printer_data'));
      await s.waitFor(/started after the earlier failure was fixed/);
      s.stop();
      assert.equal(await s.exited, 0);
    } finally {
      s.stop();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('an unwritable log.file is reported once and the lines go to the journal instead', async () => {
  const dir = await workDir();
  try {
    await writeFile(join(dir, 'logs'), 'not a folder');
    const file = await config(dir, `data_dir: ${dir}/data\nlog:\n  file: ${dir}/logs/polarcloud.log\npolar:\n  server_url: http://127.0.0.1:9\nmoonraker:\n  url: http://127.0.0.1:9\n`);
    const s = service(['run', '--config', file], {});
    try {
      await s.waitFor(/not registered with Polar Cloud yet/);
      assert.equal(s.stderr.match(/cannot be written/g)?.length, 1, s.stderr);
      assert.match(s.stderr, new RegExp(`log\\.file ${dir}/logs/polarcloud\\.log cannot be written; logging to the journal only until it can: cannot create ${dir}/logs: ${dir}/logs is a file, not a folder`));
      assert.match(s.stderr, /INFO .*starting/);
      assertNoStack({ code: null, stdout: '', stderr: s.stderr });
    } finally {
      s.stop();
      await s.exited;
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
