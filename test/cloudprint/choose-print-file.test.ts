import { test } from 'node:test';
import assert from 'node:assert/strict';
import { choosePrintFile } from '../../src/features/cloud-print.js';
import type { PrintSpec } from '../../src/cloudprint/print-pipeline.js';
import type { CloudToPrinter } from '../../src/polar/messages.js';

type PrintMessage = CloudToPrinter['print'];

const G = 'https://cdn.example.com/job.gcode';
const S = 'https://cdn.example.com/job.stl';
const T = 'https://cdn.example.com/job.3mf';
const C = 'https://cdn.example.com/job.ini';

function msg(extra: Partial<PrintMessage>): PrintMessage {
  return { serialNumber: 'SN1', jobId: 'J1', ...extra };
}

interface Case {
  name: string;
  message: PrintMessage;
  /** The expected spec, or a RegExp the error must match. */
  want: PrintSpec | RegExp;
}

function run(cases: readonly Case[]): void {
  for (const c of cases) {
    const got = choosePrintFile(c.message);
    if (c.want instanceof RegExp) {
      assert.ok('error' in got, `${c.name}: expected an error, got ${JSON.stringify(got)}`);
      assert.match(got.error, c.want, c.name);
    } else {
      assert.deepEqual(got, c.want, c.name);
    }
  }
}

test('choosePrintFile: fileToPrint picks the named field', () => {
  run([
    {
      name: 'fileToPrint gcodeFile',
      message: msg({ fileToPrint: 'gcodeFile', gcodeFile: G, stlFile: S, jobName: 'Benchy' }),
      want: { jobId: 'J1', jobName: 'Benchy', url: G, kind: 'gcode', configUrl: undefined },
    },
    {
      name: 'fileToPrint stlFile wins over a present gcodeFile',
      message: msg({ fileToPrint: 'stlFile', gcodeFile: G, stlFile: S, configFile: C }),
      want: { jobId: 'J1', jobName: undefined, url: S, kind: 'model', configUrl: C },
    },
    {
      name: 'fileToPrint threemfFile',
      message: msg({ fileToPrint: 'threemfFile', stlFile: S, threemfFile: T, configFile: C }),
      want: { jobId: 'J1', jobName: undefined, url: T, kind: 'model', configUrl: C },
    },
    {
      name: 'fileToPrint stlFile without a configFile',
      message: msg({ fileToPrint: 'stlFile', stlFile: S }),
      want: { jobId: 'J1', jobName: undefined, url: S, kind: 'model', configUrl: undefined },
    },
  ]);
});

test('choosePrintFile: fileToPrint naming a missing field is an error, not a fallback', () => {
  run([
    { name: 'gcodeFile missing, stlFile present', message: msg({ fileToPrint: 'gcodeFile', stlFile: S }), want: /gcodeFile.*does not carry it/ },
    { name: 'stlFile missing, gcodeFile present', message: msg({ fileToPrint: 'stlFile', gcodeFile: G }), want: /stlFile.*does not carry it/ },
    { name: 'threemfFile missing', message: msg({ fileToPrint: 'threemfFile', stlFile: S, gcodeFile: G }), want: /threemfFile/ },
    { name: 'empty string counts as missing', message: msg({ fileToPrint: 'gcodeFile', gcodeFile: '' }), want: /does not carry it/ },
  ]);
});

test('choosePrintFile: without fileToPrint, gcodeFile first, then stlFile, then threemfFile', () => {
  run([
    {
      name: 'gcodeFile preferred over models',
      message: msg({ gcodeFile: G, stlFile: S, threemfFile: T, configFile: C, jobName: 'n' }),
      want: { jobId: 'J1', jobName: 'n', url: G, kind: 'gcode', configUrl: C },
    },
    {
      name: 'no gcodeFile: stlFile with configFile as configUrl',
      message: msg({ stlFile: S, threemfFile: T, configFile: C }),
      want: { jobId: 'J1', jobName: undefined, url: S, kind: 'model', configUrl: C },
    },
    {
      name: 'only threemfFile',
      message: msg({ threemfFile: T }),
      want: { jobId: 'J1', jobName: undefined, url: T, kind: 'model', configUrl: undefined },
    },
    {
      name: 'empty gcodeFile falls through to stlFile',
      message: msg({ gcodeFile: '', stlFile: S }),
      want: { jobId: 'J1', jobName: undefined, url: S, kind: 'model', configUrl: undefined },
    },
  ]);
});

test('choosePrintFile: a job with no printable file is an error', () => {
  run([
    { name: 'nothing at all', message: msg({}), want: /carries no file to print/ },
    { name: 'only a configFile', message: msg({ configFile: C }), want: /carries no file to print/ },
    { name: 'only images', message: msg({ imageFile: 'https://x/i.png', imageThumbnailFile: 'https://x/t.png' }), want: /carries no file to print/ },
  ]);
});
