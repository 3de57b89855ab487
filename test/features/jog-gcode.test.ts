import { test } from 'node:test';
import assert from 'node:assert/strict';
import { jogGcode } from '../../src/features/print-control.js';

type Body = Parameters<typeof jogGcode>[0];
const FEED_XY = 6000;
const FEED_Z = 600;

interface Case {
  name: string;
  body: Body;
  /** Expected script, or a RegExp the error text must match. */
  want: string | RegExp;
}

function run(cases: readonly Case[]): void {
  for (const c of cases) {
    const got = jogGcode(c.body, FEED_XY, FEED_Z);
    if (typeof c.want === 'string') {
      assert.ok('script' in got, `${c.name}: expected a script, got ${JSON.stringify(got)}`);
      assert.equal(got.script, c.want, c.name);
    } else {
      assert.ok('error' in got, `${c.name}: expected an error, got ${JSON.stringify(got)}`);
      assert.match(got.error, c.want, c.name);
    }
  }
}

test('jog: relative and absolute moves with the right feed rate', () => {
  run([
    { name: 'relative XY', body: { command: 'jog', x: 10, y: -5 }, want: 'G91\nG1 X10 Y-5 F6000\nG90' },
    { name: 'absolute: false is relative', body: { command: 'jog', x: 1, absolute: false }, want: 'G91\nG1 X1 F6000\nG90' },
    { name: 'Z only uses feedZ', body: { command: 'jog', z: 2 }, want: 'G91\nG1 Z2 F600\nG90' },
    { name: 'Z with XY uses feedXY', body: { command: 'jog', x: 1, z: 2 }, want: 'G91\nG1 X1 Z2 F6000\nG90' },
    { name: 'zero axes are skipped', body: { command: 'jog', x: 0, y: 3, z: 0 }, want: 'G91\nG1 Y3 F6000\nG90' },
    { name: 'absolute uses G90', body: { command: 'jog', x: 100, y: 50, absolute: true }, want: 'G90\nG1 X100 Y50 F6000\nG90' },
    { name: 'speed overrides', body: { command: 'jog', x: 5, speed: 1200 }, want: 'G91\nG1 X5 F1200\nG90' },
    { name: 'speed overrides feedZ', body: { command: 'jog', z: -1, speed: 300 }, want: 'G91\nG1 Z-1 F300\nG90' },
    { name: 'speed capped at 60000', body: { command: 'jog', x: 5, speed: 1e9 }, want: 'G91\nG1 X5 F60000\nG90' },
    { name: 'non-positive speed ignored', body: { command: 'jog', x: 5, speed: -100 }, want: 'G91\nG1 X5 F6000\nG90' },
    { name: 'rounded to 0.001 mm', body: { command: 'jog', x: 1.23456, y: -0.0004 }, want: 'G91\nG1 X1.235 Y0 F6000\nG90' },
    { name: 'axis order is X Y Z', body: { command: 'jog', z: 1, y: 2, x: 3 }, want: 'G91\nG1 X3 Y2 Z1 F6000\nG90' },
    { name: '500 mm is allowed', body: { command: 'jog', x: -500 }, want: 'G91\nG1 X-500 F6000\nG90' },
  ]);
});

test('jog: refused moves', () => {
  run([
    { name: 'too large X', body: { command: 'jog', x: 500.1 }, want: /x move of 500\.1 mm is too large/ },
    { name: 'too large negative Z', body: { command: 'jog', z: -1000 }, want: /z move .* too large/ },
    { name: 'too large Y with a valid X', body: { command: 'jog', x: 1, y: 9999 }, want: /y move .* too large/ },
    { name: 'no axis', body: { command: 'jog' }, want: /no axis to move/ },
    { name: 'all zero', body: { command: 'jog', x: 0, y: 0, z: 0 }, want: /no axis to move/ },
  ]);
});

test('home: listed axes or all of them', () => {
  run([
    { name: 'x and y', body: { command: 'home', axes: ['x', 'y'] }, want: 'G28 X Y' },
    { name: 'default all', body: { command: 'home' }, want: 'G28 X Y Z' },
    { name: 'z only', body: { command: 'home', axes: ['z'] }, want: 'G28 Z' },
    { name: 'upper case accepted', body: { command: 'home', axes: ['X', 'Z'] }, want: 'G28 X Z' },
    { name: 'duplicates collapsed', body: { command: 'home', axes: ['x', 'X', 'x'] }, want: 'G28 X' },
    { name: 'empty list', body: { command: 'home', axes: [] }, want: /bad axes/ },
    { name: 'extruder axis', body: { command: 'home', axes: ['x', 'e'] }, want: /bad axes/ },
    { name: 'injection attempt', body: { command: 'home', axes: ['x\nM112'] }, want: /bad axes/ },
    { name: 'multi-letter', body: { command: 'home', axes: ['xy'] }, want: /bad axes/ },
  ]);
});

test('extrude: amount, speed and limits', () => {
  run([
    { name: 'extrude 5', body: { command: 'extrude', amount: 5 }, want: 'G91\nG1 E5 F300\nG90' },
    { name: 'retract', body: { command: 'extrude', amount: -2.5 }, want: 'G91\nG1 E-2.5 F300\nG90' },
    { name: 'speed', body: { command: 'extrude', amount: 10, speed: 120 }, want: 'G91\nG1 E10 F120\nG90' },
    { name: 'speed capped at 6000', body: { command: 'extrude', amount: 10, speed: 99999 }, want: 'G91\nG1 E10 F6000\nG90' },
    { name: '200 mm is allowed', body: { command: 'extrude', amount: 200 }, want: 'G91\nG1 E200 F300\nG90' },
    { name: 'too large', body: { command: 'extrude', amount: 200.5 }, want: /extrusion of 200\.5 mm is too large/ },
    { name: 'too large retract', body: { command: 'extrude', amount: -500 }, want: /too large/ },
    { name: 'no amount', body: { command: 'extrude' }, want: /no extrusion amount/ },
    { name: 'zero amount', body: { command: 'extrude', amount: 0 }, want: /no extrusion amount/ },
  ]);
});

test('unknown commands are refused', () => {
  run([
    { name: 'select', body: { command: 'select' }, want: /unknown jog command 'select'/ },
    { name: 'empty', body: { command: '' }, want: /unknown jog command/ },
    { name: 'case matters', body: { command: 'JOG', x: 1 }, want: /unknown jog command 'JOG'/ },
  ]);
});

test('absolute jog to coordinate 0 moves there', () => {
  run([
    { name: 'absolute X0', body: { command: 'jog', x: 0, absolute: true }, want: 'G90\nG1 X0 F6000\nG90' },
    { name: 'absolute X0 Y10', body: { command: 'jog', x: 0, y: 10, absolute: true }, want: 'G90\nG1 X0 Y10 F6000\nG90' },
  ]);
});
