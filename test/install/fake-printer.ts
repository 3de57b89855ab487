// A throwaway host for install.sh / uninstall.sh: a git checkout of the scripts
// (with an older committed version of the macros file and an origin remote, as
// Moonraker's update_manager sees a clone), and per test a HOME with a fake
// printer_data. The scripts run with a PATH that holds only stubs — sudo,
// systemctl, apt-get, node, id, each recording its call — and links to the few
// real tools they use, so nothing touches the real system and a tool the
// scripts start using without being listed here fails the tests loudly. The
// unit file goes to POLARCLOUD_SYSTEMD_DIR inside the scratch folder.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The real repository (build/test/install -> root). */
export const SOURCE = fileURLToPath(new URL('../../../', import.meta.url));
export const ORIGIN = 'https://git.example.org/polar/moonraker-polarcloud.git';
export const MOONRAKER_CONF = '[server]\nport: 7126\n\n[authorization]\ntrusted_clients:\n  127.0.0.1\n\n[update_manager]\nrefresh_interval: 168\n';
export const SAVE_CONFIG = '#*# <---------------------- SAVE_CONFIG ---------------------->\n#*# DO NOT EDIT THIS BLOCK OR BELOW. The contents are auto-generated.\n#*#\n#*# [extruder]\n#*# pid_kp = 22.2\n';
export const PRINTER_CFG = `[include mainsail.cfg]\n\n[printer]\nkinematics: cartesian\n\n${SAVE_CONFIG}`;
export const ASVC = 'klipper_mcu\nwebcamd\ncrowsnest\n';
export const OLD_MACROS = '# an older version of the POLAR_* macros\n[gcode_macro POLAR_STATUS]\ngcode:\n  {action_call_remote_method("polarcloud_status")}\n';
export const INCLUDE_LINE = '[include polarcloud_macros.cfg] # moonraker-polarcloud (managed by install.sh)';

const TOOLS = ['bash', 'cat', 'chmod', 'cmp', 'mkdir', 'mktemp', 'mv', 'rm', 'sed', 'awk', 'grep', 'git', 'stat', 'dirname', 'basename', 'readlink', 'tail', 'install'];

export interface Run {
  code: number | null;
  out: string;
  err: string;
  /** Stub calls made by this run, one per line ("sudo systemctl enable x"). */
  calls: string[];
}

export interface World {
  home: string;
  /** The (first) printer_data folder. */
  pd: string;
  unit: string;
  systemdDir: string;
  bin: string;
  /** Runs a script of the fixture checkout with bash, stdin not a terminal. */
  run(script: string, args?: string[], env?: Record<string, string>): Run;
}

export interface Fixture {
  repo: string;
  bash: string;
  world(opts?: { dataDirs?: string[] }): World;
  cleanup(): void;
}

export function which(name: string): string {
  const r = spawnSync('bash', ['-c', `command -v ${name}`], { encoding: 'utf8' });
  const path = r.stdout.trim();
  if (r.status !== 0 || !path.startsWith('/')) throw new Error(`the install tests need ${name} on PATH`);
  return path;
}

export function stub(bash: string, bin: string, name: string, body: string): void {
  writeFileSync(join(bin, name), `#!${bash}\n${body}\n`);
  chmodSync(join(bin, name), 0o755);
}

export function createFixture(): Fixture {
  const root = mkdtempSync(join(tmpdir(), 'polarcloud-install-'));
  const bash = which('bash');
  const repo = join(root, 'repo');
  const git = (...args: string[]): void => {
    const r = spawnSync('git', ['-c', 'user.name=test', '-c', 'user.email=test@example.org', '-c', 'commit.gpgsign=false', ...args], {
      cwd: repo,
      encoding: 'utf8',
      env: { ...process.env, HOME: root, GIT_CONFIG_NOSYSTEM: '1' },
    });
    assert.equal(r.status, 0, `git ${args.join(' ')}: ${r.stderr}`);
  };
  mkdirSync(join(repo, 'moonraker-bridge/install'), { recursive: true });
  mkdirSync(join(repo, 'dist'));
  writeFileSync(join(repo, 'dist/polarcloud.mjs'), '// stand-in for the bundle\n');
  for (const f of ['install.sh', 'uninstall.sh']) copyFileSync(join(SOURCE, f), join(repo, f));
  for (const f of readdirSync(join(SOURCE, 'moonraker-bridge/install'))) {
    copyFileSync(join(SOURCE, 'moonraker-bridge/install', f), join(repo, 'moonraker-bridge/install', f));
  }
  const macros = join(repo, 'moonraker-bridge/install/polarcloud_macros.cfg');
  const current = readFileSync(macros);
  writeFileSync(macros, OLD_MACROS);
  git('init', '-q', '-b', 'main');
  git('add', '-A');
  git('commit', '-q', '-m', 'old macros');
  writeFileSync(macros, current);
  git('commit', '-q', '-am', 'current macros');
  git('remote', 'add', 'origin', ORIGIN);

  let counter = 0;
  return {
    repo,
    bash,
    cleanup: () => rmSync(root, { recursive: true, force: true }),
    world(opts = {}) {
      const base = join(root, `w${++counter}`);
      const home = join(base, 'home');
      const bin = join(base, 'bin');
      const systemdDir = join(base, 'etc-systemd');
      const state = join(base, 'state');
      const log = join(base, 'calls.log');
      for (const d of [home, bin, systemdDir, state]) mkdirSync(d, { recursive: true });
      const dataDirs = opts.dataDirs ?? ['printer_data'];
      for (const name of dataDirs) {
        const pd = join(home, name);
        for (const d of ['config', 'logs', 'systemd', 'gcodes']) mkdirSync(join(pd, d), { recursive: true });
        writeFileSync(join(pd, 'config/moonraker.conf'), MOONRAKER_CONF);
        writeFileSync(join(pd, 'config/printer.cfg'), PRINTER_CFG);
        writeFileSync(join(pd, 'moonraker.asvc'), ASVC);
        writeFileSync(join(pd, 'systemd/moonraker.env'), 'MOONRAKER_ARGS="-m moonraker"\n');
      }
      for (const t of TOOLS) symlinkSync(which(t), join(bin, t));
      stub(bash, bin, 'sudo', 'echo "sudo $*" >>"$STUB_LOG"\nexec "$@"');
      stub(
        bash,
        bin,
        'systemctl',
        [
          'echo "systemctl $*" >>"$STUB_LOG"',
          'unit="${*: -1}"',
          'case "$1" in',
          '  is-enabled) [ -e "$STUB_STATE/enabled-$unit" ] ;;',
          '  is-active) [ -e "$STUB_STATE/active-$unit" ] ;;',
          '  enable) : >"$STUB_STATE/enabled-$unit" ;;',
          '  restart) : >"$STUB_STATE/active-$unit" ;;',
          '  disable) rm -f "$STUB_STATE/enabled-$unit" "$STUB_STATE/active-$unit" ;;',
          'esac',
        ].join('\n'),
      );
      // "Installing" ffmpeg puts an ffmpeg stub next to this one.
      stub(
        bash,
        bin,
        'apt-get',
        `echo "apt-get $*" >>"$STUB_LOG"\ncase " $* " in *" install "*ffmpeg*) printf '#!${bash}\\nexit 0\\n' >"\${0%/*}/ffmpeg"; chmod 755 "\${0%/*}/ffmpeg" ;; esac`,
      );
      // The scripts only ask node for its version.
      stub(bash, bin, 'node', 'echo "node $*" >>"$STUB_LOG"\n[ "$1" = --version ] || { echo "node stub: only --version" >&2; exit 97; }\necho "${FAKE_NODE_VERSION:-v18.19.0}"');
      stub(bash, bin, 'id', 'case "$1" in -u) echo "${FAKE_UID:-1000}" ;; -un) echo pi ;; *) exit 1 ;; esac');
      return {
        home,
        pd: join(home, dataDirs[0] ?? 'printer_data'),
        bin,
        systemdDir,
        unit: join(systemdDir, 'moonraker-polarcloud.service'),
        run(script, args = [], env = {}) {
          writeFileSync(log, '');
          const r = spawnSync(bash, [join(repo, script), ...args], {
            cwd: base,
            encoding: 'utf8',
            input: '', // not a terminal: the scripts take their defaults
            timeout: 60_000,
            env: { HOME: home, USER: 'pi', LANG: 'C', PATH: bin, POLARCLOUD_SYSTEMD_DIR: systemdDir, STUB_LOG: log, STUB_STATE: state, ...env },
          });
          const calls = readFileSync(log, 'utf8').split('\n').filter(Boolean);
          return { code: r.status, out: r.stdout, err: r.stderr, calls };
        },
      };
    },
  };
}

export const read = (p: string): string => readFileSync(p, 'utf8');
export const count = (text: string, part: string): number => text.split(part).length - 1;

/** Every file and folder under the roots: mode, inode, mtime, then the content. */
export function snapshot(...roots: string[]): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (p: string): void => {
    const st = lstatSync(p);
    const meta = `${st.mode.toString(8)} ino=${st.ino} mtime=${st.mtimeMs}`;
    if (st.isDirectory()) {
      out.set(p, `dir ${meta}`);
      for (const n of readdirSync(p).sort()) walk(join(p, n));
    } else out.set(p, `${meta}\n${readFileSync(p, 'latin1')}`);
  };
  for (const r of roots) if (existsSync(r)) walk(r);
  return out;
}

/** The same without the metadata line: what the files say. */
export function contents(...roots: string[]): Map<string, string> {
  return new Map([...snapshot(...roots)].map(([p, v]) => [p, v.startsWith('dir ') ? 'dir' : v.slice(v.indexOf('\n') + 1)]));
}

/** Moves every mtime under the roots into the past, so any rewrite shows. */
export function ageAll(...roots: string[]): void {
  const past = new Date('2001-01-01T00:00:00Z');
  for (const p of snapshot(...roots).keys()) utimesSync(p, past, past);
}

export function ok(r: Run): Run {
  assert.equal(r.code, 0, `exit ${r.code}\nstdout:\n${r.out}\nstderr:\n${r.err}`);
  return r;
}
