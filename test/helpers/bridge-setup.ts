// Builds a bridge Controller pointed at a running emulator, with a fresh data
// dir, a fixed network identity and fast reconnects, and captures its log.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { networkInterfaces } from 'node:os';
import { parseConfig, type Config } from '../../src/config.js';
import { Controller } from '../../src/controller.js';
import { Backoff } from '../../src/util/backoff.js';
import { systemClock, type Clock } from '../../src/util/clock.js';
import { Logger, type LogRecord } from '../../src/util/log.js';
import type { NetSource } from '../../src/identity/mac.js';
import { socketIoTransportFactory } from '../../src/polar/socketio-transport.js';

export const TEST_MAC = 'b8:27:eb:71:01:46';

export const fixedNet: NetSource = {
  routeTable: () => 'Iface\tDestination\tGateway\tFlags\tRefCnt\tUse\tMetric\tMask\teth0\t00000000\t0101A8C0\t0003\t0\t0\t100\t00000000\n'.replace('Mask\teth0', 'Mask\neth0'),
  sysInterfaces: () => ['eth0'],
  sysMac: () => TEST_MAC,
  isPhysical: () => true,
  osInterfaces: () => ({ eth0: [{ address: '192.168.1.50', netmask: '255.255.255.0', family: 'IPv4', mac: TEST_MAC, internal: false, cidr: null }] }) as ReturnType<typeof networkInterfaces>,
};

export class LogCapture {
  readonly records: LogRecord[] = [];
  readonly logger = Logger.create('debug', [(r) => this.records.push(r)]);

  lines(level?: LogRecord['level']): string[] {
    return this.records.filter((r) => !level || r.level === level).map((r) => `[${r.ns}] ${r.msg}`);
  }

  has(re: RegExp, level?: LogRecord['level']): boolean {
    return this.lines(level).some((l) => re.test(l));
  }
}

export async function makeDataDir(): Promise<string> {
  return join(await mkdtemp(join(tmpdir(), 'pc-bridge-')), 'data');
}

export function bridgeConfig(serverUrl: string, dataDir: string, extraYaml = ''): Config {
  return parseConfig(`data_dir: ${dataDir}\npolar:\n  server_url: ${serverUrl}\n  reply_timeout: 5\n${extraYaml}`, undefined).config;
}

/** YAML pointing the bridge at a Moonraker (simulator) URL. */
export function moonrakerYaml(url: string): string {
  return `moonraker:\n  url: ${url}\n`;
}

export interface BridgeOptions {
  clock?: Clock;
  failedHelloDelayMs?: number;
  extraYaml?: string;
  /** Start the Moonraker side too (needs moonraker.url in extraYaml). Default: cloud only. */
  withMoonraker?: boolean;
  statusSpacingMs?: number;
  /** Default: fast (20 ms → 200 ms) so tests on real time reconnect quickly. */
  polarBackoff?: Backoff;
}

export function makeController(serverUrl: string, dataDir: string, capture: LogCapture, o: BridgeOptions = {}): Controller {
  return new Controller({
    config: bridgeConfig(serverUrl, dataDir, o.extraYaml),
    log: capture.logger,
    clock: o.clock ?? systemClock,
    transportFactory: socketIoTransportFactory,
    netSource: fixedNet,
    polarBackoff: o.polarBackoff ?? new Backoff({ initialMs: 20, maxMs: 200 }),
    moonrakerBackoff: new Backoff({ initialMs: 20, maxMs: 200 }),
    withMoonraker: o.withMoonraker ?? false,
    ...(o.statusSpacingMs !== undefined ? { statusSpacingMs: o.statusSpacingMs } : {}),
    failedHelloDelayMs: o.failedHelloDelayMs ?? 100,
    identityPollMs: 50,
  });
}

/** Resolves when `cond` holds (checked every 10 ms), rejects after timeoutMs. */
export async function eventually(cond: () => boolean | Promise<boolean>, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
