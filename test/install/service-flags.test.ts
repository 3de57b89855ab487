// The systemd unit runs node --lite-mode (no JIT) and sets MemoryDenyWriteExecute=true (W^X:
// no memory both writable and executable). That only holds if nothing the service
// does needs run-time machine code: this runs the shipped bundle with the unit's
// own node flags under the kernel's memory-deny-write-execute
// (prctl PR_SET_MDWE, Linux 6.3+, kept across exec and by every child, as
// systemd's seccomp filter is) through a whole cloud print with camera images and
// a timelapse (ffmpeg runs under it too). Skips where the kernel lacks PR_SET_MDWE.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rig, until } from '../faults/crash-rig.js';
import { serviceNodeFlags } from '../helpers/bundle-process.js';

// PR_SET_MDWE = 65, PR_MDWE_REFUSE_EXEC_GAIN = 1; exit 111 when the kernel does not have it.
const LAUNCHER = `import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
if libc.prctl(65, 1, 0, 0, 0) != 0:
    sys.exit(111)
os.execv(sys.argv[1], sys.argv[1:])
`;

function launcherOrSkip(dir: string): { launcher: string[] } | { skip: string } {
  const file = join(dir, 'mdwe.py');
  writeFileSync(file, LAUNCHER);
  const probe = spawnSync('python3', [file, '/bin/true'], { encoding: 'utf8' });
  if (probe.error) return { skip: `python3 is not installed (${probe.error.message})` };
  if (probe.status === 111) return { skip: 'this kernel has no PR_SET_MDWE (Linux 6.3 or later)' };
  if (probe.status !== 0) return { skip: `the W^X launcher failed: ${probe.stderr.trim()}` };
  return { launcher: ['python3', file] };
}

test('under W^X, node with its JIT dies and node with the unit\'s flags runs', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'pc-wx-'));
  try {
    const l = launcherOrSkip(dir);
    if ('skip' in l) return t.skip(l.skip);
    const code = 'let s = 0; for (let i = 0; i < 2e6; i++) s += i % 7; console.log(/a+b/.test("aab") && s > 0)';
    const jit = spawnSync(l.launcher[0]!, [...l.launcher.slice(1), process.execPath, '-e', code], { encoding: 'utf8' });
    assert.notEqual(jit.status, 0, 'the launcher enforces W^X: a JIT-compiling node must fail under it');
    const flags = serviceNodeFlags();
    const jitless = spawnSync(l.launcher[0]!, [...l.launcher.slice(1), process.execPath, ...flags, '-e', code], { encoding: 'utf8' });
    assert.equal(jitless.status, 0, jitless.stderr);
    assert.equal(jitless.stdout.trim(), 'true');
    assert.equal(jitless.stderr, '', 'no warning from node at start (the journal would show it on every start)');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the bundle as the unit runs it, under W^X: online, a cloud print with camera images and a timelapse, reported once', { timeout: 120_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'pc-wx-'));
  try {
    const l = launcherOrSkip(dir);
    if ('skip' in l) return t.skip(l.skip);
    const rig = await Rig.start();
    try {
      await rig.startBridge('W^X', { launcher: l.launcher });
      const job = rig.smallJob('wx-job');
      rig.print(job);
      await rig.assertReportedOnce(job.jobId, 'completed');
      await until(() => rig.emu.control.uploads().some((u) => u.type === 'timelapse' && u.jobId === job.jobId), 30_000, 'the timelapse upload (ffmpeg ran under W^X)');
      assert.ok(rig.emu.control.uploads().some((u) => u.type !== 'timelapse'), 'camera images went up');
      assert.ok(rig.bridge?.running, `the bridge still runs\n${rig.bridge?.describe()}`);
      assert.deepEqual(rig.bridge?.logTail.filter((line) => /warning: disabling|fatal|oom|SIGSEGV|Trace\/breakpoint/i.test(line)), [], 'no V8 warning or crash in the log');
      rig.assertNoViolations();
    } catch (e) {
      if (e instanceof Error) e.message += `\n${await rig.context()}`;
      throw e;
    } finally {
      await rig.stop();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
