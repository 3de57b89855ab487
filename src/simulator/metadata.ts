// G-code metadata extraction, following Moonraker's metadata.py: only the
// first and last MiB of the file are read; the slicer is identified from the
// header and each field comes from the slicer's comments. Supported: the
// PrusaSlicer family (PrusaSlicer, SuperSlicer, OrcaSlicer, ...), Cura, and
// Moonraker's "Unknown" fallback. Thumbnails are not extracted.
import { promises as fs } from 'node:fs';
import { randomUUID } from 'node:crypto';

const READ_SIZE = 1024 * 1024;
const F = '([0-9]*\\.?[0-9]+)';
const D = '([0-9]+)';

function pat(p: string): RegExp {
  return new RegExp(p.replace(/\(%F\)/g, F).replace(/\(%D\)/g, D).replace(/\(%S\)/g, '(.*)'));
}

function findFloat(p: string, data: string): number | undefined {
  const m = pat(p).exec(data);
  return m ? Number(m[1]) : undefined;
}

function findFloats(p: string, data: string): number[] {
  const re = new RegExp(pat(p).source, 'g');
  return [...data.matchAll(re)].map((m) => Number(m[1])).filter((n) => Number.isFinite(n));
}

function findInt(p: string, data: string): number | undefined {
  const m = pat(p).exec(data);
  return m ? parseInt(m[1] as string, 10) : undefined;
}

function findString(p: string, data: string): string | undefined {
  const m = pat(p).exec(data);
  return m ? (m[1] as string).replace(/^"+|"+$/g, '') : undefined;
}

/** regex_find_strings: a separated list, honouring double-quoted items. */
function findStrings(p: string, seps: string, data: string): string[] {
  const m = pat(p).exec(data);
  if (!m || !m[1]) return [];
  const esc = seps.replace(/[-\\^$*+?.()|[\]{}]/g, '\\$&');
  const item = new RegExp(`\\s*(")(?:\\\\"|[^"])*"\\s*|[^${esc}]+`, 'g');
  const out: string[] = [];
  for (const im of m[1].matchAll(item)) {
    let val = im[0].trim();
    if (im[1]) val = val.slice(1, -1).replace(/\\"/g, '"').trim();
    if (val) out.push(val);
  }
  return out;
}

const max = (xs: number[]): number | undefined => (xs.length ? Math.max(...xs) : undefined);
const min = (xs: number[]): number | undefined => (xs.length ? Math.min(...xs) : undefined);
const joinList = (xs: string[]): string | undefined => (xs.length > 1 ? JSON.stringify(xs) : xs[0]);
const ints = (xs: string[]): number[] | undefined => (xs.every((x) => /^-?\d+$/.test(x)) ? xs.map(Number) : undefined);

type Fields = Record<string, unknown>;

function baseFields(header: string, footer: string, size: number): Fields {
  const out: Fields = {};
  const start = /\n[MG]\d+\s.*\n/.exec(header);
  if (start) out['gcode_start_byte'] = Buffer.byteLength(header.slice(0, start.index));
  const rev = [...footer].reverse().join('');
  const end = /\n.*\s\d+[MG]\n/.exec(rev);
  if (end) out['gcode_end_byte'] = size - Buffer.byteLength(rev.slice(0, end.index));
  return out;
}

function prusaFields(footer: string): Fields {
  const c = footer;
  const layerHeight = findFloat('; layer_height = (%F)', c);
  const pct = findFloat('; first_layer_height = (%F)%', c);
  const firstLayer = pct !== undefined ? (layerHeight === undefined ? undefined : Math.round((pct / 100) * layerHeight * 1e6) / 1e6) : findFloat('; first_layer_height = (%F)', c);
  const heights = [...footer.matchAll(/;BEFORE_LAYER_CHANGE\n(?:.*\n)?;(\d+\.?\d*)/g)].map((m) => Number(m[1]));
  let estimated: number | undefined;
  const tm = /;\sestimated\sprinting\stime.*/.exec(c);
  if (tm) {
    estimated = 0;
    for (const [re, mult] of [[/(\d+)d/, 86400], [/(\d+)h/, 3600], [/(\d+)m/, 60], [/(\d+)s/, 1]] as const) {
      const t = re.exec(tm[0]);
      if (t) estimated += parseInt(t[1] as string, 10) * mult;
    }
  }
  const filamentLine = findString('filament\\sused\\s\\[mm\\]\\s=\\s(%S)\\n', c);
  const weightLine = findString('filament\\sused\\s\\[g\\]\\s=\\s(%S)\\n', c);
  const filament = filamentLine ? findFloats('(%F)', filamentLine) : [];
  const weights = weightLine ? findFloats('(%F)', weightLine) : [];
  return {
    layer_count: findInt('; total layers count = (%D)', c),
    object_height: max(heights) ?? max(findFloats('G1\\sZ(%F)\\sF', footer)),
    estimated_time: estimated,
    nozzle_diameter: findFloat(';\\snozzle_diameter\\s=\\s(%F)', c),
    layer_height: layerHeight,
    first_layer_height: firstLayer,
    first_layer_extr_temp: findFloat('; first_layer_temperature = (%F)', c),
    first_layer_bed_temp: findFloat('; first_layer_bed_temperature = (%F)', c),
    chamber_temp: findFloat('; chamber_temperature = (%F)', c),
    filament_name: joinList(findStrings(';\\sfilament_settings_id\\s=\\s(%S)', ',;', c)),
    filament_type: joinList(findStrings(';\\sfilament_type\\s=\\s(%S)', ',;', c)),
    filament_colors: findStrings(';\\sfilament_colour\\s=\\s(%S)', ',;', c),
    filament_change_count: findInt('; total toolchanges = (%D)', c) ?? findInt('; total filament change = (%D)', c),
    extruder_colors: findStrings(';\\sextruder_colour\\s=\\s(%S)', ',;', c),
    filament_temps: ints(findStrings(';\\s(?:nozzle_)?temperature\\s=\\s(%S)', ',;', c)),
    referenced_tools: ints(findStrings(';\\sreferenced_tools\\s=\\s(%S)', ',;', c)),
    mmu_print: findInt(';\\ssingle_extruder_multi_material\\s=\\s(%D)', c),
    filament_total: filament.length ? filament.reduce((a, b) => a + b, 0) : undefined,
    filament_weight_total: findFloat('total\\sfilament\\sused\\s\\[g\\]\\s=\\s(%F)', c),
    filament_weights: weights.length ? weights : undefined,
    printer_vendor: findString('; printer_vendor = (%S)', footer),
    printer_model: findString('; printer_model = (%S)', footer),
    printer_variant: findString('; printer_variant = (%S)', footer),
    profile_version: findString('; profile_version = (%S)', footer),
  };
}

function curaFields(header: string): Fields {
  const filamentLine = findString(';Filament\\sused:\\s(%S)\\n', header);
  const filament = filamentLine ? findFloats('(%F)', filamentLine) : [];
  const weightLine = findString(';Filament\\sweight\\s=\\s\\[(%S)\\]', header);
  const weights = weightLine ? findFloats('(%F)', weightLine) : [];
  return {
    layer_count: findInt(';LAYER_COUNT\\:(%D)', header),
    object_height: findFloat(';MAXZ:(%F)', header),
    estimated_time: max(findFloats(';TIME:(%F)', header)),
    nozzle_diameter: findFloat(';Nozzle\\sdiameter\\s=\\s(%F)', header),
    layer_height: findFloat(';Layer\\sheight:\\s(%F)', header),
    first_layer_height: findFloat(';MINZ:(%F)', header),
    first_layer_extr_temp: findFloat('M109 S(%F)', header),
    first_layer_bed_temp: findFloat('M190 S(%F)', header),
    chamber_temp: findFloat('M191 S(%F)', header),
    filament_name: findString(';Filament\\sname\\s=\\s(%S)', header),
    filament_type: findString(';Filament\\stype\\s=\\s(%S)', header),
    filament_total: filament.length ? filament.reduce((a, b) => a + b * 1000, 0) : undefined,
    filament_weight_total: weights.length ? weights.reduce((a, b) => a + b, 0) : undefined,
    filament_weights: weights.length ? weights : undefined,
  };
}

function unknownFields(header: string, footer: string): Fields {
  return {
    object_height: max(findFloats('G1\\sZ(%F)\\s', footer)),
    first_layer_height: min(findFloats('G1\\sZ(%F)\\s', header)),
    first_layer_extr_temp: findFloat('M109 S(%F)', header),
    first_layer_bed_temp: findFloat('M190 S(%F)', header),
    chamber_temp: findFloat('M191 S(%F)', header),
  };
}

function identify(header: string): { slicer: string; version: string; kind: 'prusa' | 'cura' | 'unknown' } {
  const gen = /; generated by (.+?) on \d{4}-\d{2}-\d{2} at \d{2}:\d{2}:\d{2}/.exec(header);
  if (gen) {
    const full = gen[1] as string;
    const cut = full.lastIndexOf(' ');
    const name = cut >= 0 ? full.slice(0, cut) : '';
    if (!/^(slic3r|slic3r prusa edition|bambustudio)$/i.test(name)) {
      return { slicer: name, version: cut >= 0 ? full.slice(cut + 1) : full, kind: 'prusa' };
    }
  }
  const alias = /(PrusaSlicer|SuperSlicer|OrcaSlicer|MomentSlicer|SliCR-3D|A3dp-Slicer|QIDISlicer)\s(.*)\son/.exec(header);
  if (alias) return { slicer: alias[1] as string, version: alias[2] as string, kind: 'prusa' };
  const cura = /Cura_SteamEngine\s(.*)/.exec(header);
  if (cura) return { slicer: 'Cura', version: cura[1] as string, kind: 'cura' };
  return { slicer: 'Unknown', version: '?', kind: 'unknown' };
}

/** Moonraker's metadata object for a G-code file (without `filename`). */
export async function extractMetadata(path: string): Promise<Record<string, unknown>> {
  const fh = await fs.open(path, 'r');
  let header = '';
  let tail = '';
  let size = 0;
  let mtime = 0;
  try {
    const st = await fh.stat();
    size = st.size;
    mtime = st.mtimeMs / 1000;
    const buf = Buffer.alloc(Math.min(READ_SIZE, size));
    await fh.read(buf, 0, buf.length, 0);
    header = buf.toString('utf8');
    if (size > READ_SIZE) {
      const from = size > READ_SIZE * 2 ? size - READ_SIZE : READ_SIZE;
      const tbuf = Buffer.alloc(size - from);
      await fh.read(tbuf, 0, tbuf.length, from);
      tail = tbuf.toString('utf8');
    }
  } finally {
    await fh.close();
  }
  const data = header + tail;
  const footer = data.slice(-READ_SIZE);
  const id = identify(header);
  const fields: Fields = {
    ...baseFields(header, footer, size),
    ...(id.kind === 'prusa' ? prusaFields(footer) : id.kind === 'cura' ? curaFields(header) : unknownFields(header, footer)),
  };
  const out: Record<string, unknown> = {
    size,
    modified: mtime,
    uuid: randomUUID(),
    file_processors: [],
    slicer: id.slicer,
    slicer_version: id.version,
  };
  for (const [k, v] of Object.entries(fields)) if (v !== undefined) out[k] = v;
  return out;
}
