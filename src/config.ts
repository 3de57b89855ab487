// The YAML config file, checked by one schema that also defines the defaults.
// Errors are reported as `FILE: path.to.key: message`; unknown keys warn.
// Key names here are an interface contract (install kit, docs, later issues).
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, isAbsolute, resolve, sep } from 'node:path';
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { LOG_LEVELS, type LogLevel } from './util/log.js';
import { pinSourceText } from './config-pin.js';

const httpUrl = z
  .string()
  .refine((s) => {
    try {
      const u = new URL(s);
      return u.protocol === 'http:' || u.protocol === 'https:';
    } catch {
      return false;
    }
  }, 'must be an http:// or https:// URL')
  .transform((s) => s.replace(/\/+$/, ''));

/** A Klipper macro / extended G-code command name: letters, digits, underscores. */
const macroName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/, 'must be a Klipper macro name (letters, digits, _)');
/** A G-code command name, or a prefix ending in * (for control.deny_gcode). */
const gcodePattern = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,63}\*?$/, 'must be a G-code command name, or a prefix ending in *');
const customCommandEntry = z.object({
  label: z.string().min(1).max(64),
  /** A macro name, optionally with PARAM=value arguments (values: letters, digits, . _ -). */
  command: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,63}( +[A-Za-z_][A-Za-z0-9_]*=[A-Za-z0-9._-]{1,64}){0,8}$/, 'must be a macro name with optional NAME=value arguments'),
  help_text: z.string().max(256).optional(),
  confirm_text: z.string().max(256).optional(),
});

export const configSchema = z.object({
  /** Where the key, serial number and pending job reports live. Never a folder Moonraker serves. */
  data_dir: z.string().min(1).optional(),
  log: z
    .object({
      level: z.enum(LOG_LEVELS as [LogLevel, ...LogLevel[]]).default('info'),
      /** Log every protocol message at debug level (opt-in; may be verbose). */
      wire: z.boolean().default(false),
      /** Log file (e.g. <printer_data>/logs/moonraker-polarcloud.log); the journal then gets warnings only. */
      file: z.string().min(1).max(1024).optional(),
      /** Rotate the log file at this size (MB). */
      max_size: z.number().min(0.1).max(100).default(5),
      /** Log files kept (current + rotated). */
      files: z.number().int().min(1).max(10).default(3),
    })
    .prefault({}),
  polar: z
    .object({
      server_url: httpUrl.default('https://printer4.polar3d.com'),
      /** Manufacturer code agreed with Polar; `kl` is generic Klipper. */
      mfg: z.string().min(1).max(32).default('kl'),
      /** Sent as `printerMake` in hello (one of Polar's printer make names). */
      printer_type: z.string().min(1).max(128).optional(),
      machine_type: z.string().min(1).max(128).optional(),
      /** Manufacturer's serial number, sent as mfgSn when set. */
      mfg_sn: z.string().min(1).max(128).optional(),
      /** Network interface whose MAC identifies the printer (default: the default-route interface). */
      interface: z.string().min(1).max(64).optional(),
      /** Seconds to wait for registerResponse / keyPair / other replies. */
      reply_timeout: z.number().positive().max(600).default(30),
      /**
       * Register at start with this Polar account e-mail and PIN when not registered yet;
       * the PIN is removed from the file after a successful registration.
       */
      email: z.string().email().max(254).optional(),
      pin: z.union([z.string().min(1).max(64), z.number().int().nonnegative().transform(String)]).optional(),
    })
    .prefault({}),
  moonraker: z
    .object({
      url: httpUrl.default('http://127.0.0.1:7125'),
      api_key: z.string().min(1).optional(),
    })
    .prefault({}),
  status: z
    .object({
      /** Heartbeat (seconds) while idle; changes are always sent at once. */
      idle_interval: z.number().min(5).max(3600).default(60),
      /** Heartbeat (seconds) while printing or heating. */
      active_interval: z.number().min(2).max(600).default(10),
      /** Klipper object reported as `chamber` (default: a heater/sensor/fan named "chamber"). */
      chamber: z.string().min(1).max(128).optional(),
    })
    .prefault({}),
  control: z
    .object({
      /** Let Polar's console send raw G-code (like the other Polar clients). */
      allow_remote_gcode: z.boolean().default(true),
      /** Macro run by a `filament` pause (M600 when it exists; otherwise a plain PAUSE). */
      filament_change_macro: macroName.default('M600'),
      /** Entries of Polar's custom-command menu: macro names, or {label, command, help_text, confirm_text}. */
      custom_commands: z.array(z.union([macroName, customCommandEntry])).max(50).default([]),
      /** Console commands never run from Polar Cloud, besides POLAR_* and RUN_SHELL_COMMAND (NAME, or PREFIX*). */
      deny_gcode: z.array(gcodePattern).max(100).default([]),
      /** Refused from Polar Cloud while a print runs, besides SAVE_CONFIG, RESTART, FIRMWARE_RESTART. */
      deny_gcode_while_printing: z.array(gcodePattern).max(100).default([]),
      /** Add firmware restart and Moonraker power devices to that menu. */
      builtin_commands: z.boolean().default(true),
      /** After a completed cloud print, ask Polar for the next job in the queue. */
      auto_next_print: z.boolean().default(false),
      /** Hold cloud jobs after a print until the build plate is confirmed clear (status 15). Default: as auto_next_print. */
      require_clear_plate: z.boolean().optional(),
      /** Jog feed rates (mm/min) for the web UI's jog buttons. */
      jog_feedrate_xy: z.number().positive().max(60000).default(6000),
      jog_feedrate_z: z.number().positive().max(60000).default(600),
    })
    .prefault({}),
  power: z
    .object({
      /** Switch this Moonraker power device off after `minutes` idle with every heater below 50 °C (announced first). */
      off_after_idle: z
        .object({
          device: z.string().min(1).max(128),
          minutes: z.number().min(1).max(10_080),
        })
        .optional(),
    })
    .prefault({}),
  cloud_print: z
    .object({
      /** Folder under Moonraker's gcodes root for files from the cloud. */
      folder: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be one folder name (letters, digits, _ -)').default('polarcloud'),
      /** Cloud files kept in that folder (older ones are deleted unless loaded or queued). */
      keep_files: z.number().int().min(1).max(1000).default(10),
      /** A print arriving while the printer is busy: queue it in Moonraker's job queue, or reject it. */
      when_busy: z.enum(['queue', 'reject']).default('queue'),
      /** Largest file accepted (MB). */
      max_file_size: z.number().positive().max(1_000_000).default(4096),
      /** Free space kept on the printer's disk beyond the file itself (MB). */
      free_space_margin: z.number().min(0).max(10_000_000).default(200),
      /** Hosts a plain http:// download may come from (besides polar.server_url's host). */
      allow_http_hosts: z.array(z.string().min(1).max(253)).max(50).default([]),
      /** Give up a download that received nothing for this long (s). */
      stall_timeout: z.number().positive().max(3600).default(60),
      /** Download attempts before the job fails. */
      download_attempts: z.number().int().min(1).max(20).default(5),
      /** The whole download, retries included, must finish within this (s). */
      download_deadline: z.number().positive().max(86_400).default(7200),
      /** A download slower than this over a minute is retried (KiB/s; 0: off). */
      min_download_speed: z.number().min(0).max(1_000_000).default(4),
    })
    .prefault({}),
  camera: z
    .object({
      /** false: hello says camOff and no image is uploaded. */
      enabled: z.boolean().default(true),
      /** Moonraker webcam (by name) to use; default: the first enabled one with a snapshot URL. */
      webcam: z.string().min(1).max(128).optional(),
      /** Moonraker webcam (by name) for timelapse frames; default: the snapshot webcam above. */
      timelapse_webcam: z.string().min(1).max(128).optional(),
      /** Overrides of the webcam's URLs and orientation (absolute http(s) URLs, or relative to Moonraker's host). */
      snapshot_url: z.string().min(1).max(2048).optional(),
      stream_url: z.string().min(1).max(2048).optional(),
      /** Base for relative webcam URLs (default: Moonraker's host on port 80, where Mainsail/Fluidd's web server serves /webcam/). */
      web_base_url: httpUrl.optional(),
      flip_horizontal: z.boolean().optional(),
      flip_vertical: z.boolean().optional(),
      rotation: z.union([z.literal(0), z.literal(90), z.literal(180), z.literal(270)]).optional(),
      /** Largest image uploaded (bytes); the cloud's own limit applies too. */
      max_image_size: z.number().int().min(10_000).max(10_000_000).default(150_000),
      /** Seconds between images while idle (or printing a local job). */
      idle_interval: z.number().min(10).max(3600).default(60),
      /** Seconds between images while a cloud job prints. */
      printing_interval: z.number().min(5).max(3600).default(10),
      timelapse: z
        .object({
          enabled: z.boolean().default(true),
          /** Frames kept per job (older ones are thinned out beyond this). */
          max_frames: z.number().int().min(30).max(20_000).default(1800),
          /** Disk space the frames of one job may take (MB). */
          max_disk: z.number().min(10).max(100_000).default(500),
        })
        .prefault({}),
    })
    .prefault({}),
  slicer: z
    .object({
      /**
       * Command that turns an STL/3MF and Polar's slicer config into G-code. Placeholders:
       * {input} model file, {config} the job's config file (INI), {output} G-code to write.
       */
      command: z.string().min(1).max(4096).optional(),
      /** Seconds before slicing is given up. */
      timeout: z.number().positive().max(86_400).default(1800),
    })
    .prefault({}),
});

export type Config = z.infer<typeof configSchema> & { data_dir: string; configFile: string | undefined };

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('\n'));
    this.name = 'ConfigError';
  }
}

export interface LoadResult {
  config: Config;
  warnings: string[];
}

/** Loads and checks a config file. Throws ConfigError with every problem found. */
export async function loadConfig(file: string, env: NodeJS.ProcessEnv = process.env): Promise<LoadResult> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ConfigError([`${file}: cannot read config file (${code ?? String(err)})`]);
  }
  return parseConfig(text, file, env);
}

export function parseConfig(text: string, file: string | undefined, env: NodeJS.ProcessEnv = process.env): LoadResult {
  const label = file ?? '<config>';
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(doc.errors.map((e) => yamlErrorText(label, text, e.message, e.linePos?.[0])));
  }
  const raw: unknown = doc.toJS() ?? {};
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new ConfigError([`${label}: the top level must be a mapping of keys`]);
  }
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((i) => `${label}: ${i.path.length ? i.path.join('.') : '(top level)'}: ${i.message}`),
    );
  }
  // `pin: 0123` unquoted is the number 123 to YAML; the PIN is what was written.
  const pinText = pinSourceText(doc, text);
  if (pinText !== undefined) parsed.data.polar.pin = pinText;
  const warnings = unknownKeys(configSchema, raw, []).map((p) => `${label}: ${p}: unknown key (ignored)`);
  const baseDir = file ? dirname(resolve(file)) : process.cwd();
  const dataDir = resolvePath(parsed.data.data_dir ?? env.POLARCLOUD_DATA_DIR ?? defaultDataDir(env), baseDir, env);
  const problems: string[] = [];
  const served = servedByMoonraker(dataDir);
  if (served) problems.push(`${label}: data_dir: ${dataDir} is or holds Moonraker's served '${served}' folder; the private key would be downloadable — use e.g. ~/printer_data/polarcloud`);
  for (const [key, url] of [['polar.server_url', parsed.data.polar.server_url], ['moonraker.url', parsed.data.moonraker.url]] as const) {
    const u = new URL(url);
    if (u.protocol === 'http:' && !isLoopbackHost(u.hostname) && key === 'polar.server_url') {
      warnings.push(`${label}: ${key}: plain http:// to a non-loopback host; traffic (including registration PIN) is not encrypted`);
    }
  }
  if (problems.length) throw new ConfigError(problems);
  const logFile = parsed.data.log.file ? resolvePath(parsed.data.log.file, baseDir, env) : undefined;
  const config: Config = {
    ...parsed.data,
    log: { ...parsed.data.log, ...(logFile ? { file: logFile } : {}) },
    data_dir: dataDir,
    configFile: file ? resolve(file) : undefined,
  };
  return { config, warnings };
}

/** `FILE:LINE:COL: message`, then the offending line and a caret under the column. */
function yamlErrorText(label: string, text: string, message: string, pos: { line: number; col: number } | undefined): string {
  const first = message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
  if (!pos) return `${label}: ${first}`;
  const lines = text.split(/\r?\n/);
  let { line, col } = pos;
  // An error at the end of the file (an unclosed bracket) points past the last line: show that line instead.
  while (line > 1 && (lines[line - 1] ?? '').trim() === '') {
    line--;
    col = (lines[line - 1] ?? '').length + 1;
  }
  const src = (lines[line - 1] ?? '').replace(/\t/g, ' ');
  const num = String(line);
  return `${label}:${line}:${col}: YAML syntax error: ${first}\n  ${num} | ${src}\n  ${' '.repeat(num.length)} | ${' '.repeat(Math.max(0, col - 1))}^`;
}

export function defaultDataDir(env: NodeJS.ProcessEnv = process.env): string {
  return resolve(env.HOME ?? homedir(), 'printer_data', 'polarcloud');
}

function resolvePath(p: string, baseDir: string, env: NodeJS.ProcessEnv): string {
  const home = env.HOME ?? homedir();
  const expanded = p === '~' ? home : p.startsWith('~/') ? resolve(home, p.slice(2)) : p;
  return isAbsolute(expanded) ? resolve(expanded) : resolve(baseDir, expanded);
}

/** Moonraker serves these roots of a printer_data folder to any web client. */
const SERVED_ROOTS = ['config', 'gcodes', 'logs', 'docs', 'config_examples', 'timelapse'];
/** Folder names of the layout before printer_data (each one was a served root). */
const LEGACY_ROOTS = ['klipper_config', 'klipper_logs', 'gcode_files'];
/** printer_data, printer_1_data, printer_voron_data (KIAUH's instance folders). */
const PRINTER_DATA = /^printer(_[A-Za-z0-9.-]+)?_data$/;

/**
 * The name of the served folder `dir` is in (or, for a printer_data folder itself,
 * the one it contains), guessed from folder names. Only a fallback: once Moonraker
 * is connected, its own list of roots decides (features/served-folders.ts).
 */
export function servedByMoonraker(dir: string): string | undefined {
  const parts = resolve(dir).split(sep).filter(Boolean);
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i]!;
    if (LEGACY_ROOTS.includes(p)) return p;
    if (!PRINTER_DATA.test(p)) continue;
    const next = parts[i + 1];
    if (next === undefined) return SERVED_ROOTS.slice(0, 3).join(', ');
    if (SERVED_ROOTS.includes(next)) return next;
  }
  return undefined;
}

export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || /^127\.\d+\.\d+\.\d+$/.test(h);
}

/** Walks the schema beside the input and lists keys the schema does not define. */
function unknownKeys(schema: z.ZodType, value: unknown, path: string[]): string[] {
  const obj = unwrapObject(schema);
  if (!obj || typeof value !== 'object' || value === null || Array.isArray(value)) return [];
  const out: string[] = [];
  for (const [k, v] of Object.entries(value)) {
    const child = obj.shape[k] as z.ZodType | undefined;
    if (!child) out.push([...path, k].join('.'));
    else out.push(...unknownKeys(child, v, [...path, k]));
  }
  return out;
}

function unwrapObject(schema: z.ZodType): z.ZodObject | undefined {
  let s: z.ZodType = schema;
  for (let i = 0; i < 10; i++) {
    if (s instanceof z.ZodObject) return s;
    const inner = (s as unknown as { def?: { innerType?: z.ZodType; in?: z.ZodType } }).def;
    const next = inner?.innerType ?? inner?.in;
    if (!next) return undefined;
    s = next;
  }
  return undefined;
}
