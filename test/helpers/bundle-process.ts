// The bridge as shipped (dist/polarcloud.mjs `run`) as a child process in its
// own process group, like a systemd unit: a kill takes its ffmpeg children too.
// Used by the crash tests (SIGKILL at every phase) and the idle benchmark; plus
// the config-file-and-registration step both need before starting it.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseConfig } from '../../src/config.js';
import { Controller } from '../../src/controller.js';
import { socketIoTransportFactory } from '../../src/polar/socketio-transport.js';
import { systemClock } from '../../src/util/clock.js';
import { Logger } from '../../src/util/log.js';

const bundle = new URL('../../../dist/polarcloud.mjs', import.meta.url).pathname;
const unitTemplate = new URL('../../../moonraker-bridge/install/moonraker-polarcloud.service.template', import.meta.url).pathname;

/** The node flags of the shipped systemd unit's ExecStart (between node and the bundle). */
export function serviceNodeFlags(): string[] {
  const m = /^ExecStart=@NODE@ (.*?)@REPO@\/dist\/polarcloud\.mjs /m.exec(readFileSync(unitTemplate, 'utf8'));
  if (!m) throw new Error(`${unitTemplate}: no ExecStart=@NODE@ ... @REPO@/dist/polarcloud.mjs line`);
  return m[1]!.split(' ').filter(Boolean);
}

export class BundleProcess {
  private readonly tail: string[] = [];
  private readonly child: ChildProcess;
  readonly exited: Promise<void>;
  readonly startedAt = Date.now();
  /** Lines the bridge has logged (stderr) so far. */
  logLines = 0;

  constructor(
    configFile: string,
    readonly label: string,
    opts: { launcher?: string[] } = {},
  ) {
    // As the systemd unit starts it (its node flags), unless BENCH_NODE_ARGS says otherwise (bench/idle.ts).
    const envArgs = process.env['BENCH_NODE_ARGS'];
    const nodeArgs = envArgs === undefined ? serviceNodeFlags() : envArgs.split(' ').filter(Boolean);
    const [cmd, ...pre] = [...(opts.launcher ?? []), process.execPath];
    this.child = spawn(cmd!, [...pre, ...nodeArgs, bundle, 'run', '--config', configFile], { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
    let partial = '';
    this.child.stderr!.setEncoding('utf8').on('data', (s: string) => {
      const lines = (partial + s).split('\n');
      partial = lines.pop() ?? '';
      this.logLines += lines.length;
      this.tail.push(...lines);
      if (this.tail.length > 40) this.tail.splice(0, this.tail.length - 40);
    });
    this.exited = new Promise((resolve) => {
      this.child.once('exit', () => resolve());
      this.child.once('error', () => resolve());
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** SIGKILL to the whole process group; synchronous, so it also works from an 'exit' or signal handler. */
  killNow(): void {
    if (!this.running || this.child.pid === undefined) return;
    try {
      process.kill(-this.child.pid, 'SIGKILL');
    } catch {
      this.child.kill('SIGKILL');
    }
  }

  async kill(): Promise<void> {
    this.killNow();
    await this.exited;
  }

  /** The last lines it wrote to stderr (its log). */
  get logTail(): readonly string[] {
    return this.tail;
  }

  describe(): string {
    const how = this.running ? 'running' : `exited (code ${this.child.exitCode}, signal ${this.child.signalCode})`;
    return `--- bridge ${this.label}: ${how}; stderr tail:\n${this.tail.join('\n')}`;
  }
}

/** Writes `yaml` as work/polarcloud.yaml and registers the printer it describes; returns the file and the serial. */
export async function writeConfigAndRegister(work: string, yaml: string, email: string): Promise<{ configFile: string; serial: string }> {
  const configFile = join(work, 'polarcloud.yaml');
  await writeFile(configFile, yaml);
  const reg = new Controller({ config: parseConfig(yaml, undefined).config, log: Logger.silent(), clock: systemClock, transportFactory: socketIoTransportFactory, withMoonraker: false });
  try {
    return { configFile, serial: (await reg.register(email, '1234')).serialNumber };
  } finally {
    await reg.stop();
  }
}
