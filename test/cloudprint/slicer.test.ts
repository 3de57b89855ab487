import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runSlicer, slicerArgs, splitCommand } from '../../src/cloudprint/slicer.js';

test('splitCommand: whitespace separates, quotes group', () => {
  const cases: { cmd: string; want: string[] }[] = [
    { cmd: 'prusa-slicer --export-gcode {input}', want: ['prusa-slicer', '--export-gcode', '{input}'] },
    { cmd: '  a \t b\n c  ', want: ['a', 'b', 'c'] },
    { cmd: '"/opt/My Slicer/bin" -o {output}', want: ['/opt/My Slicer/bin', '-o', '{output}'] },
    { cmd: "a 'b c' d", want: ['a', 'b c', 'd'] },
    { cmd: `a "it's" 'say "hi"'`, want: ['a', "it's", 'say "hi"'] },
    { cmd: 'a"b c"d', want: ['ab cd'] },
    { cmd: 'a "" b', want: ['a', '', 'b'] },
    { cmd: "''", want: [''] },
    { cmd: '--load={config}', want: ['--load={config}'] },
    { cmd: '', want: [] },
    { cmd: '   ', want: [] },
  ];
  for (const c of cases) assert.deepEqual(splitCommand(c.cmd), c.want, JSON.stringify(c.cmd));
});

test('splitCommand: an unclosed quote is an error', () => {
  assert.throws(() => splitCommand('a "b c'), /unclosed quote/);
  assert.throws(() => splitCommand("a 'b"), /unclosed quote/);
});

test('slicerArgs: placeholders are replaced inside arguments', () => {
  const cases: { name: string; command: string; config: string | null; want: string[] }[] = [
    {
      name: 'all three',
      command: 'slicer --load {config} -o {output} {input}',
      config: '/t/c.ini',
      want: ['slicer', '--load', '/t/c.ini', '-o', '/t/out.gcode', '/t/in file.stl'],
    },
    { name: 'inside an argument', command: 'slicer --load={config} --out={output} {input}', config: '/t/c.ini', want: ['slicer', '--load=/t/c.ini', '--out=/t/out.gcode', '/t/in file.stl'] },
    { name: 'twice in one argument', command: 'slicer {input}:{input}', config: null, want: ['slicer', '/t/in file.stl:/t/in file.stl'] },
    { name: 'no {config}, config null', command: 'slicer {input} {output}', config: null, want: ['slicer', '/t/in file.stl', '/t/out.gcode'] },
    { name: 'no {config}, config given: ignored', command: 'slicer {input}', config: '/t/c.ini', want: ['slicer', '/t/in file.stl'] },
    { name: 'quoted placeholder', command: 'slicer "{input}"', config: null, want: ['slicer', '/t/in file.stl'] },
  ];
  for (const c of cases) {
    assert.deepEqual(slicerArgs({ command: c.command, input: '/t/in file.stl', config: c.config, output: '/t/out.gcode' }), c.want, c.name);
  }
});

test('slicerArgs: without a config, a --load {config} pair is dropped, not passed empty', () => {
  const cases: { name: string; command: string; want: string[] }[] = [
    { name: '--load {config} pair', command: 'slicer --load {config} -o {output} {input}', want: ['slicer', '-o', 'out', 'in'] },
    { name: '--load={config} single', command: 'slicer --load={config} {input}', want: ['slicer', 'in'] },
    { name: 'positional {config}', command: 'slicer {input} {config} {output}', want: ['slicer', 'in', 'out'] },
    { name: 'pair at the end', command: 'slicer {input} -c {config}', want: ['slicer', 'in'] },
    { name: 'quoted pair', command: 'slicer "--load" "{config}" {input}', want: ['slicer', 'in'] },
  ];
  for (const c of cases) {
    const got = slicerArgs({ command: c.command, input: 'in', config: null, output: 'out' });
    assert.deepEqual(got, c.want, c.name);
    assert.ok(!got.includes(''), `${c.name}: an empty argument was passed`);
  }
});

test('slicerArgs: an empty command is an error', () => {
  assert.throws(() => slicerArgs({ command: '   ', input: 'in', config: null, output: 'out' }), /empty/);
});

// ------------------------------------------------------------ runSlicer with stand-in slicers

let dir = '';
const NODE = `"${process.execPath}"`;

/** Writes a stand-in slicer script; `body` sees `args` (process.argv after the script). */
async function script(name: string, body: string): Promise<string> {
  const file = join(dir, name);
  await writeFile(file, `import { writeFileSync, readFileSync } from 'node:fs';\nconst args = process.argv.slice(2);\n${body}\n`);
  return file;
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cp-slicer-'));
  await writeFile(join(dir, 'in.stl'), 'solid x\nendsolid x\n');
  await writeFile(join(dir, 'c.ini'), 'layer_height = 0.2\n');
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

function paths(tag: string): { input: string; config: string; output: string } {
  return { input: join(dir, 'in.stl'), config: join(dir, 'c.ini'), output: join(dir, `${tag}.gcode`) };
}

test('runSlicer: runs the slicer with input, config and output and resolves when G-code exists', async () => {
  const s = await script(
    'ok.mjs',
    `const [input, config, output] = args;
     const cfg = readFileSync(config, 'utf8').trim();
     writeFileSync(output, '; sliced ' + readFileSync(input, 'utf8').split('\\n')[0] + ' with ' + cfg + '\\nG28\\n');`,
  );
  const p = paths('ok');
  await runSlicer({ command: `${NODE} "${s}" {input} {config} {output}`, ...p, timeoutMs: 10_000 });
  assert.equal(await readFile(p.output, 'utf8'), '; sliced solid x with layer_height = 0.2\nG28\n');
});

test('runSlicer: without a config, the --load pair never reaches the slicer', async () => {
  const s = await script('args.mjs', `writeFileSync(args[args.indexOf('-o') + 1], JSON.stringify(args));`);
  const p = paths('noconfig');
  await runSlicer({ command: `${NODE} "${s}" --load {config} -o {output} {input}`, ...p, config: null, timeoutMs: 10_000 });
  assert.deepEqual(JSON.parse(await readFile(p.output, 'utf8')), ['-o', p.output, p.input]);
});

test('runSlicer: a non-zero exit is an error carrying the last stderr line', async () => {
  const s = await script('fail.mjs', `console.error('loading model'); console.error('Error: mesh is not manifold'); process.exit(3);`);
  const p = paths('fail');
  await assert.rejects(runSlicer({ command: `${NODE} "${s}" {input} {config} {output}`, ...p, timeoutMs: 10_000 }), (err: Error) => {
    assert.match(err.message, /slicer exited with 3/);
    assert.match(err.message, /Error: mesh is not manifold/);
    return true;
  });
});

test('runSlicer: a slicer that exits 0 without writing G-code is an error', async () => {
  const nothing = await script('nothing.mjs', `console.log('done');`);
  await assert.rejects(runSlicer({ command: `${NODE} "${nothing}" {input} {config} {output}`, ...paths('none'), timeoutMs: 10_000 }), /wrote no G-code/);
  const empty = await script('empty.mjs', `writeFileSync(args[2], '');`);
  await assert.rejects(runSlicer({ command: `${NODE} "${empty}" {input} {config} {output}`, ...paths('empty'), timeoutMs: 10_000 }), /wrote no G-code/);
});

test('runSlicer: a slicer that runs too long is killed', async () => {
  const s = await script('sleep.mjs', `setTimeout(() => writeFileSync(args[2], 'G28\\n'), 30_000);`);
  const started = Date.now();
  await assert.rejects(runSlicer({ command: `${NODE} "${s}" {input} {config} {output}`, ...paths('slow'), timeoutMs: 300 }), /timed out/);
  assert.ok(Date.now() - started < 5_000, `took ${Date.now() - started} ms`);
});

test('runSlicer: aborting the signal kills the slicer', async () => {
  const s = await script('sleep2.mjs', `setTimeout(() => writeFileSync(args[2], 'G28\\n'), 30_000);`);
  const ac = new AbortController();
  const started = Date.now();
  setTimeout(() => ac.abort(), 200);
  await assert.rejects(runSlicer({ command: `${NODE} "${s}" {input} {config} {output}`, ...paths('abort'), timeoutMs: 20_000, signal: ac.signal }), /slicing canceled/);
  assert.ok(Date.now() - started < 5_000, `took ${Date.now() - started} ms`);
});

// Known bug (see report): runSlicer only listens for a future 'abort', so a signal that is already
// aborted is ignored and the slicer runs to completion or to its timeout.
test('runSlicer: an already-aborted signal does not start the slicer', async () => {
  const s = await script('sleep3.mjs', `setTimeout(() => writeFileSync(args[2], 'G28\\n'), 30_000);`);
  const ac = new AbortController();
  ac.abort();
  await assert.rejects(runSlicer({ command: `${NODE} "${s}" {input} {config} {output}`, ...paths('preabort'), timeoutMs: 1_000, signal: ac.signal }), /slicing canceled/);
});

test('runSlicer: a missing executable is reported as such', async () => {
  await assert.rejects(
    runSlicer({ command: `"${join(dir, 'no-such-slicer')}" {input} {output}`, ...paths('missing'), config: null, timeoutMs: 10_000 }),
    /cannot run slicer '.*no-such-slicer'/,
  );
});
