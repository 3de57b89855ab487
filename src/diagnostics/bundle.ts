// The diagnostics archive (`polarcloud diagnose`, the POLAR_DIAG macro): one
// .tar.gz in printer_data/logs/ — which Mainsail/Fluidd list and download —
// with what a helper needs to answer "why is my printer not in Polar Cloud":
//   summary.txt       versions, identity, every live check PASS/FAIL/SKIP
//   diagnostics.json  the same, machine-readable
//   config.yaml       the config file with secrets masked
//   log-tail.txt      the last lines of the bridge's log file
//   journal.txt       the last lines of the unit's journal (when there is one)
// Never in it: the private key, the PIN, Moonraker's API key, signed URLs.
import { execFile } from 'node:child_process';
import { readFile, mkdir } from 'node:fs/promises';
import { arch, cpus, freemem, loadavg, release, totalmem, uptime } from 'node:os';
import { dirname, join } from 'node:path';
import { isMap, isScalar, parseDocument, Scalar, visit } from 'yaml';
import type { Config } from '../config.js';
import { IdentityStore } from '../identity/identity-store.js';
import { writeFileAtomic } from '../util/atomic-file.js';
import { errText } from '../util/log.js';
import { VERSION } from '../version.js';
import { runChecks, type CheckOptions, type CheckResult } from './checks.js';
import { tarGz } from './tar.js';

export const MASK = '***masked***';
const SECRET_KEY = /(^|_)(pin|api_?key|token|secret|password|passwd|private_?key|signature|credential)s?$/i;
const LOG_TAIL_LINES = 400;

export interface DiagnosticsResult {
  path: string;
  checks: CheckResult[];
  failed: CheckResult[];
}

export interface DiagnosticsOptions extends CheckOptions {
  /** Folder for the archive (default: printer_data/logs). */
  outDir?: string;
  /** Extra facts from the running service (connection state, current job...). */
  service?: Record<string, unknown>;
  now?: Date;
}

/** printer_data/logs: the log file's folder, else beside the data folder. */
export function defaultLogsDir(config: Config): string {
  return config.log.file ? dirname(config.log.file) : join(dirname(config.data_dir), 'logs');
}

/** The config text with every secret-looking value replaced (comments and layout kept). */
export function maskConfig(text: string): string {
  const doc = parseDocument(text);
  if (doc.errors.length) return maskText(text);
  visit(doc, {
    Pair(_, pair) {
      const key = isScalar(pair.key) ? String(pair.key.value) : '';
      if (SECRET_KEY.test(key) && pair.value !== null && !isMap(pair.value)) {
        if (isScalar(pair.value)) {
          // Changing the value in place keeps its trailing comment.
          pair.value.value = MASK;
          pair.value.type = Scalar.QUOTE_DOUBLE;
        } else pair.value = new Scalar(MASK);
        return visit.SKIP;
      }
      return undefined;
    },
  });
  return doc.toString();
}

/** Masks secrets in free text (log lines, a config that does not parse). */
export function maskText(text: string): string {
  return text
    .replace(/-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(-----END [A-Z ]*PRIVATE KEY-----|$)/g, '[private key removed]')
    .replace(/\b(pin|api_?key|token|secret|password|signature|x-amz-signature|sig)(["']?\s*[:=]\s*["']?)[^\s"',&}]+/gi, `$1$2${MASK}`)
    .replace(/([?&](?:X-Amz-[A-Za-z-]+|Signature|Policy|token|key)=)[^&\s"']+/g, `$1${MASK}`);
}

async function tailFile(path: string, lines: number): Promise<string | undefined> {
  const parts: string[] = [];
  for (const p of [path, `${path}.1`]) {
    const text = await readFile(p, 'utf8').catch(() => undefined);
    if (text === undefined) continue;
    parts.unshift(text);
    if (parts.join('').split('\n').length > lines) break;
  }
  if (parts.length === 0) return undefined;
  return parts.join('').split('\n').slice(-lines).join('\n');
}

function run(cmd: string, args: string[], timeoutMs = 5000): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: timeoutMs, maxBuffer: 4 * 1024 * 1024 }, (err, stdout) => resolve(err ? undefined : stdout));
  });
}

async function osName(): Promise<string> {
  const text = await readFile('/etc/os-release', 'utf8').catch(() => '');
  const pretty = /^PRETTY_NAME="?([^"\n]*)"?/m.exec(text)?.[1];
  return `${pretty ?? process.platform} (kernel ${release()}, ${arch()})`;
}

async function identityInfo(config: Config): Promise<Record<string, unknown>> {
  const store = new IdentityStore(config.data_dir);
  try {
    await store.load();
  } catch (err) {
    return { error: errText(err) };
  }
  const serial = store.serialFor(config.polar.server_url);
  return {
    serialNumber: serial ?? null,
    registered: serial !== undefined,
    keyPresent: store.hasKey,
    mode: serial ? 'registered' : store.hasKey ? 'key present, not registered on this server' : 'not registered',
    registeredAt: store.file.registeredAt ?? null,
    serverUrl: config.polar.server_url,
  };
}

function summary(d: Record<string, unknown>, checks: CheckResult[]): string {
  const mark = (c: CheckResult): string => (c.ok === true ? 'PASS' : c.ok === false ? 'FAIL' : 'SKIP');
  const lines = [`moonraker-polarcloud diagnostics, ${String(d.generatedAt)}`, ''];
  for (const [k, v] of Object.entries(d.versions as Record<string, unknown>)) lines.push(`${k.padEnd(10)} ${String(v ?? 'unknown')}`);
  lines.push('', 'Identity:');
  for (const [k, v] of Object.entries(d.identity as Record<string, unknown>)) lines.push(`  ${k}: ${String(v)}`);
  if (d.service) {
    lines.push('', 'Running service:');
    for (const [k, v] of Object.entries(d.service as Record<string, unknown>)) lines.push(`  ${k}: ${typeof v === 'object' ? JSON.stringify(v) : String(v)}`);
  }
  lines.push('', 'Checks:');
  for (const c of checks) lines.push(`  ${mark(c)}  ${c.name.padEnd(18)} ${c.detail}`);
  return lines.join('\n') + '\n';
}

/** Collects everything, runs the live checks and writes the archive. */
export async function writeDiagnostics(config: Config, opts: DiagnosticsOptions = {}): Promise<DiagnosticsResult> {
  const now = opts.now ?? new Date();
  const [live, identity, os] = await Promise.all([runChecks(config, opts), identityInfo(config), osName()]);
  const data: Record<string, unknown> = {
    generatedAt: now.toISOString(),
    versions: {
      bridge: VERSION,
      node: process.version,
      klipper: live.facts.klipperVersion ?? null,
      moonraker: live.facts.moonrakerVersion ?? null,
      ffmpeg: live.facts.ffmpegVersion ?? null,
      os,
    },
    host: { uptimeS: Math.round(uptime()), loadavg: loadavg(), cpus: cpus().length, memFreeMb: Math.round(freemem() / 1048576), memTotalMb: Math.round(totalmem() / 1048576) },
    identity,
    ...(opts.service ? { service: opts.service } : {}),
    checks: live.checks,
    configFile: config.configFile ?? null,
    dataDir: config.data_dir,
  };
  const entries = [
    { name: 'summary.txt', data: maskText(summary(data, live.checks)) },
    { name: 'diagnostics.json', data: maskText(JSON.stringify(data, null, 2) + '\n') },
  ];
  if (config.configFile) {
    const text = await readFile(config.configFile, 'utf8').catch((err) => `# cannot read ${config.configFile}: ${errText(err)}\n`);
    entries.push({ name: 'config.yaml', data: maskConfig(text) });
  }
  if (config.log.file) {
    const tail = await tailFile(config.log.file, LOG_TAIL_LINES);
    entries.push({ name: 'log-tail.txt', data: maskText(tail ?? `(no log file at ${config.log.file})\n`) });
  }
  const journal = await run('journalctl', ['-u', opts.unit ?? 'moonraker-polarcloud', '-n', '200', '--no-pager', '-o', 'short-iso']);
  if (journal && journal.trim() && !/No entries/.test(journal)) entries.push({ name: 'journal.txt', data: maskText(journal) });

  const outDir = opts.outDir ?? defaultLogsDir(config);
  await mkdir(outDir, { recursive: true });
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z').replace('T', '-');
  const path = join(outDir, `polarcloud-diag-${stamp}.tar.gz`);
  await writeFileAtomic(path, tarGz(entries, now), { mode: 0o644 });
  return { path, checks: live.checks, failed: live.checks.filter((c) => c.ok === false) };
}
