// Fuzz (issue 13.4): console G-code from the cloud, with the commands that must
// never run from the cloud hidden every way Klipper might still read them —
// mixed case, line numbers, leading junk, comments, arguments, CR/CRLF line
// breaks, several per command, next to harmless lines. The oracle is the
// simulator's own port of klippy/gcode.py's parser (src/simulator/gcode-command.ts),
// not the bridge's: every script Moonraker received is parsed line by line and
// no denied command may appear; every refused command gets a commandResponse.
// POLARCLOUD_FUZZ_LONG=1 runs 20× the cases; POLARCLOUD_FUZZ_SEED replays a seed.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Bridge, eventually } from '../bridge/bridge-harness.js';
import { parseLine } from '../../src/simulator/gcode-command.js';
import { Rng, fuzzScale, fuzzSeed } from './gen.js';

const SEED = fuzzSeed(0xc0de50);
const CASES = 150 * fuzzScale();
const ALWAYS = ['POLAR_UNREGISTER', 'POLAR_REGISTER', 'POLAR_STATUS', 'POLAR_NEXT', 'POLAR_WHATEVER', 'RUN_SHELL_COMMAND'];
const WHILE_PRINTING = ['SAVE_CONFIG', 'RESTART', 'FIRMWARE_RESTART'];
const HARMLESS = ['M114', 'G4 P1', 'M117 POLAR_UNREGISTER is only text', 'M118 RUN_SHELL_COMMAND', 'GET_POSITION', 'STATUS', 'M115'];

let b: Bridge;
let rng: Rng;
before(async () => {
  b = await Bridge.start({ speedFactor: 20 });
  rng = new Rng(SEED);
});
after(async () => {
  await b.stop();
});

function randomCase(s: string): string {
  return [...s].map((c) => (rng.bool() ? c.toLowerCase() : c)).join('');
}

/** One denied command, disguised. */
function disguise(word: string): string {
  let w = randomCase(word);
  if (rng.bool(0.3)) w = `N${rng.int(0, 99999)}${rng.bool() ? ' ' : ''}${w}`;
  if (rng.bool(0.2)) w = `${rng.pick(['1', '-', '.', '0', '  ', '\t', '"'])}${w}`;
  if (rng.bool(0.4)) w += rng.pick([' CMD=x', '=1', ' A=1 B=2', '\t', ' ; comment', ';x', ' PIN=1 EMAIL=a@b.c']);
  return w;
}

function command(denied: readonly string[]): string {
  const lines: string[] = [];
  let hidden = 0;
  for (let i = 0, n = rng.int(1, 4); i < n; i++) {
    const deny = rng.bool(0.6);
    lines.push(deny ? disguise(rng.pick(denied)) : rng.pick(HARMLESS));
    if (deny) hidden++;
  }
  if (!hidden) lines.splice(rng.int(0, lines.length), 0, disguise(rng.pick(denied)));
  let text = lines[0]!;
  for (const l of lines.slice(1)) text += rng.pick(['\n', '\r\n', '\r']) + l;
  return text;
}

/** Commands Klipper would run from what Moonraker received since g0, read by the simulator's parser. */
function commandsRun(g0: number): string[] {
  return b.gcodeSince(g0).flatMap((script) => script.split('\n').map((l) => parseLine(l)?.command ?? ''));
}

async function run(denied: readonly string[], forbidden: readonly string[], what: string): Promise<void> {
  const g0 = b.sim.control.gcodeLog().length;
  let refused = 0;
  for (let i = 0; i < CASES; i++) {
    const text = command(denied);
    const n = b.commandResponses().length;
    b.send('command', { command: text });
    await eventually(() => b.commandResponses().length > n, 10_000, `answer to ${JSON.stringify(text)} (seed ${SEED})`);
    const answer = b.commandResponses().at(-1)!;
    if (answer.startsWith('!! refused:')) refused++;
    else assert.fail(`${what}: ${JSON.stringify(text)} was not refused (seed ${SEED}): ${answer}`);
  }
  const ran = commandsRun(g0).filter((c) => forbidden.some((f) => (f.endsWith('*') ? c.startsWith(f.slice(0, -1)) : c === f)));
  assert.deepEqual(ran, [], `${what}: denied commands Klipper would have run (seed ${SEED})`);
  assert.equal(refused, CASES);
}

test(`console: POLAR_* and RUN_SHELL_COMMAND never reach Klipper however written (${CASES} cases)`, { timeout: 300_000 }, async () => {
  await run(ALWAYS, ['POLAR_*', 'RUN_SHELL_COMMAND'], 'idle');
  assert.equal(b.c.polar.state, 'online');
  // No over-refusal: harmless lines (some naming a denied command only as text) still run.
  for (let i = 0; i < 20; i++) {
    // M114 last: it always answers, so the command gets a response.
    const text = [...Array.from({ length: rng.int(0, 2) }, () => randomCase(rng.pick(HARMLESS))), 'M114'].join(rng.pick(['\n', '\r\n']));
    const n = b.commandResponses().length;
    b.send('command', { command: text });
    await eventually(() => b.commandResponses().length > n, 10_000, `answer to ${JSON.stringify(text)}`);
    assert.doesNotMatch(b.commandResponses().at(-1)!, /refused/, `${JSON.stringify(text)} ran (seed ${SEED})`);
  }
});

test(`console: SAVE_CONFIG / RESTART / FIRMWARE_RESTART never reach Klipper while printing (${CASES} cases)`, { timeout: 300_000 }, async () => {
  await b.addGcode('long.gcode', 400, 60);
  await b.startCloudJob('fuzzprint', 'long.gcode');
  await eventually(() => b.c.printer.snapshot().print_stats.state === 'printing', 10_000, 'printing');
  await run(WHILE_PRINTING, WHILE_PRINTING, 'printing');
  assert.equal(b.c.printer.snapshot().print_stats.state, 'printing', 'the print survived');
  b.send('cancel');
  await eventually(() => b.jobReports().some((r) => r.jobId === 'fuzzprint'), 20_000, 'canceled');
});
