// Live checks for the diagnostics bundle: can this host reach Polar Cloud
// (DNS, TLS, socket.io), Moonraker (and is Klippy ready), the webcam's
// snapshot URL (a JPEG?), is ffmpeg there, how much disk is free, and what
// systemd says about the unit. Every check has a deadline and never throws.
import { execFile } from 'node:child_process';
import { lookup } from 'node:dns/promises';
import { statfs } from 'node:fs/promises';
import * as http from 'node:http';
import * as https from 'node:https';
import { connect as netConnect } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { dirname, join } from 'node:path';
import type { Config } from '../config.js';
import { describeConnectError } from '../polar/connect-error.js';
import { SocketIoTransport } from '../polar/socketio-transport.js';
import { chooseCamera, type WebcamEntry } from '../camera-policy/webcam-choice.js';
import { fetchSnapshot, describeUrl } from '../../camera/snapshot-fetch.js';
import { probeFfmpeg } from '../../camera/ffmpeg.js';
import { errText } from '../util/log.js';

export interface CheckResult {
  name: string;
  /** true passed, false failed, null not applicable (skipped). */
  ok: boolean | null;
  detail: string;
}

export interface CheckOptions {
  timeoutMs?: number;
  /** The running service's own Polar Cloud state: used instead of a second connection. */
  polarState?: { state: string; detail: string };
  /** systemd unit to ask about. */
  unit?: string;
}

const MB = 1024 * 1024;

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  return Promise.race([p, new Promise<T>((_, reject) => (t = setTimeout(() => reject(new Error(`${what}: no answer within ${ms / 1000} s`)), ms)))]).finally(() => clearTimeout(t));
}

async function check(name: string, fn: () => Promise<{ ok: boolean | null; detail: string }>): Promise<CheckResult> {
  try {
    return { name, ...(await fn()) };
  } catch (err) {
    return { name, ok: false, detail: errText(err) };
  }
}

/** GET a JSON document from Moonraker (`result` unwrapped). */
export function moonrakerGet(config: Config, path: string, timeoutMs: number): Promise<Record<string, unknown>> {
  const u = new URL(config.moonraker.url + path);
  const lib = u.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = lib.get(u, { timeout: timeoutMs, headers: config.moonraker.api_key ? { 'x-api-key': config.moonraker.api_key } : {} }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (s: string) => {
        if (text.length < 1_000_000) text += s;
      });
      res.on('end', () => {
        if (res.statusCode !== 200) return reject(new Error(`${describeUrl(u.href)}: HTTP status ${res.statusCode}`));
        try {
          const body = JSON.parse(text) as { result?: Record<string, unknown> };
          resolve(body.result ?? {});
        } catch {
          reject(new Error(`${describeUrl(u.href)}: not JSON`));
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error(`${describeUrl(u.href)}: no answer within ${timeoutMs / 1000} s`)));
    req.on('error', (err: NodeJS.ErrnoException) => reject(new Error(`${describeUrl(u.href)}: ${err.code === 'ECONNREFUSED' ? 'connection refused (is Moonraker running? systemctl status moonraker)' : errText(err)}`)));
  });
}

function polarDns(url: URL, timeoutMs: number): Promise<CheckResult> {
  return check('polar_dns', async () => {
    try {
      const addrs = await withTimeout(lookup(url.hostname, { all: true }), timeoutMs, `DNS lookup of ${url.hostname}`);
      return { ok: true, detail: `${url.hostname} → ${addrs.map((a) => a.address).join(', ')}` };
    } catch (err) {
      return { ok: false, detail: describeConnectError(url.origin, err, timeoutMs) };
    }
  });
}

function polarTls(url: URL, timeoutMs: number): Promise<CheckResult> {
  return check(url.protocol === 'https:' ? 'polar_tls' : 'polar_tcp', () => {
    const port = Number(url.port) || (url.protocol === 'https:' ? 443 : 80);
    return new Promise((resolve) => {
      const done = (r: { ok: boolean; detail: string }): void => {
        sock.destroy();
        resolve(r);
      };
      const fail = (err: unknown): void => done({ ok: false, detail: describeConnectError(url.origin, err, timeoutMs) });
      const sock =
        url.protocol === 'https:'
          ? tlsConnect({ host: url.hostname, port, servername: url.hostname, timeout: timeoutMs }, function (this: TLSSocket) {
              const cert = this.getPeerCertificate();
              done({ ok: true, detail: `TLS ${this.getProtocol() ?? ''} to ${url.host} ok${cert?.valid_to ? `, certificate valid until ${cert.valid_to}` : ''}` });
            })
          : netConnect({ host: url.hostname, port, timeout: timeoutMs }, () => done({ ok: true, detail: `TCP to ${url.host} ok (plain http, no TLS)` }));
      sock.on('error', fail);
      sock.on('timeout', () => fail(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })));
    });
  });
}

function polarSocket(url: string, timeoutMs: number, live: CheckOptions['polarState']): Promise<CheckResult> {
  return check('polar_socket', async () => {
    if (live) return { ok: live.state === 'online', detail: `the running service is ${live.state}${live.detail ? ` (${live.detail})` : ''}` };
    return new Promise((resolve) => {
      const t = new SocketIoTransport(url, { connectTimeoutMs: timeoutMs });
      let settled = false;
      t.open({
        onOpen: () => {
          settled = true;
          t.close();
          resolve({ ok: true, detail: `socket.io connection to ${url} opened` });
        },
        onClose: (reason) => {
          if (!settled) resolve({ ok: false, detail: reason });
          settled = true;
        },
        onError: () => undefined,
        onMessage: () => undefined,
      });
    });
  });
}

async function freeSpace(name: string, dir: string, minMb: number): Promise<CheckResult> {
  return check(name, async () => {
    let probe = dir;
    for (let i = 0; i < 10; i++) {
      try {
        const s = await statfs(probe);
        const free = s.bavail * s.bsize;
        const total = s.blocks * s.bsize;
        return { ok: free / MB >= minMb, detail: `${(free / MB).toFixed(0)} MB free of ${(total / MB).toFixed(0)} MB at ${probe}${free / MB < minMb ? ` (less than ${minMb} MB)` : ''}` };
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || dirname(probe) === probe) throw err;
        probe = dirname(probe);
      }
    }
    throw new Error(`${dir}: not found`);
  });
}

function systemdUnit(unit: string, timeoutMs: number): Promise<CheckResult> {
  return check('systemd_unit', () => new Promise((resolve) => {
    execFile('systemctl', ['show', unit, '--no-pager', '-p', 'LoadState', '-p', 'ActiveState', '-p', 'SubState', '-p', 'NRestarts', '-p', 'ExecMainStatus'], { timeout: timeoutMs }, (err, stdout, stderr) => {
      if (err && (err as NodeJS.ErrnoException).code === 'ENOENT') return resolve({ ok: null, detail: 'systemctl not found (not a systemd system)' });
      if (err) return resolve({ ok: null, detail: `systemctl cannot tell (${(stderr.trim().split('\n')[0] || errText(err).split('\n')[0])!.slice(0, 160)})` });
      const props = Object.fromEntries(stdout.trim().split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
      if (props.LoadState === 'not-found') return resolve({ ok: null, detail: `unit ${unit} is not installed` });
      resolve({ ok: props.ActiveState === 'active', detail: `${unit}: ${props.ActiveState ?? '?'} (${props.SubState ?? '?'}), restarts ${props.NRestarts ?? '?'}, last exit status ${props.ExecMainStatus ?? '?'}` });
    });
  }));
}

export interface LiveChecks {
  checks: CheckResult[];
  /** Versions and facts the checks learned on the way (Moonraker, Klipper). */
  facts: Record<string, unknown>;
}

/** Runs every check in parallel. */
export async function runChecks(config: Config, opts: CheckOptions = {}): Promise<LiveChecks> {
  const timeoutMs = opts.timeoutMs ?? 8000;
  const polarUrl = new URL(config.polar.server_url);
  const facts: Record<string, unknown> = {};

  const moonraker = (async (): Promise<CheckResult[]> => {
    let info: Record<string, unknown>;
    try {
      info = await moonrakerGet(config, '/server/info', timeoutMs);
    } catch (err) {
      const why = errText(err);
      return [
        { name: 'moonraker', ok: false, detail: why },
        { name: 'klippy', ok: null, detail: 'Moonraker not reachable' },
        { name: 'webcam_snapshot', ok: null, detail: 'Moonraker not reachable' },
        await freeSpace('free_space_gcodes', join(dirname(config.data_dir), 'gcodes'), config.cloud_print.free_space_margin),
      ];
    }
    facts.moonrakerVersion = info.moonraker_version;
    const klippyState = String(info.klippy_state ?? 'unknown');
    facts.klippyState = klippyState;
    const printerInfo = await moonrakerGet(config, '/printer/info', timeoutMs).catch(() => ({}) as Record<string, unknown>);
    facts.klipperVersion = printerInfo.software_version;
    const results: CheckResult[] = [
      { name: 'moonraker', ok: true, detail: `${config.moonraker.url} answers, Moonraker ${String(info.moonraker_version ?? '?')}` },
      { name: 'klippy', ok: klippyState === 'ready', detail: `Klippy ${klippyState}${printerInfo.state_message ? ` (${String(printerInfo.state_message).split('\n')[0]})` : ''}` },
    ];
    results.push(
      await check('webcam_snapshot', async () => {
        if (!config.camera.enabled) return { ok: null, detail: 'camera.enabled is false' };
        const list = ((await moonrakerGet(config, '/server/webcams/list', timeoutMs).catch(() => ({ webcams: [] }))) as { webcams?: WebcamEntry[] }).webcams ?? [];
        const choice = chooseCamera(list, config.camera, config.moonraker.url);
        if (!choice.camera) return { ok: null, detail: `no webcam: ${choice.reason}` };
        const img = await fetchSnapshot(choice.camera.snapshotUrl, { timeoutMs, maxBytes: 20 * MB });
        return { ok: true, detail: `${choice.camera.name}: ${describeUrl(choice.camera.snapshotUrl)} answered a ${img.length}-byte JPEG` };
      }),
    );
    results.push(
      await check('free_space_gcodes', async () => {
        const dir = (await moonrakerGet(config, '/server/files/directory?path=gcodes', timeoutMs)) as { disk_usage?: { free?: number; total?: number } };
        const free = dir.disk_usage?.free;
        if (typeof free !== 'number') throw new Error('Moonraker did not report disk usage');
        const min = config.cloud_print.free_space_margin;
        return { ok: free / MB >= min, detail: `${(free / MB).toFixed(0)} MB free of ${((dir.disk_usage?.total ?? 0) / MB).toFixed(0)} MB in gcodes (reported by Moonraker)${free / MB < min ? ` (less than ${min} MB)` : ''}` };
      }),
    );
    return results;
  })();

  const ffmpeg = check('ffmpeg', async () => {
    const p = await probeFfmpeg({ timeoutMs });
    if (!p.ok) return { ok: false, detail: p.reason };
    facts.ffmpegVersion = p.version;
    return { ok: true, detail: `ffmpeg ${p.version}${p.libx264 ? ' with libx264' : ' without libx264 (timelapses cannot be encoded)'}` };
  });

  const all = await Promise.all([
    polarDns(polarUrl, timeoutMs),
    polarTls(polarUrl, timeoutMs),
    polarSocket(config.polar.server_url, timeoutMs, opts.polarState),
    moonraker,
    ffmpeg,
    freeSpace('free_space_data', config.data_dir, 50),
    systemdUnit(opts.unit ?? 'moonraker-polarcloud', timeoutMs),
  ]);
  return { checks: all.flat(), facts };
}
