// Cloud-side fault storms against the whole bridge (real socket.io server, real
// Moonraker simulator on loopback): seeded random transport drops and server
// disconnects while idle and all through a cloud print, a rejected and an
// unanswered hello. Each scenario ends with the invariants of ./invariants.ts.
// The timelapse upload's faults are in timelapse-faults.test.ts. POLARCLOUD_FAULTS_LONG=1 storms 10×
// longer; POLARCLOUD_FUZZ_SEED replays a seed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Bridge } from '../bridge/bridge-harness.js';
import { prusaGcode } from '../simulator/gcode-samples.js';
import type { Rng } from '../fuzz/gen.js';
import {
  assertBackToBaseline,
  assertCompletionSeen,
  assertNoOrphans,
  assertNoViolations,
  assertOnlineWithin,
  faultAndReconnect,
  assertReportedExactlyOnce,
  assertStatusWithinHeartbeat,
  scenario,
  stormRng,
  stormScale,
  warmBaseline,
} from './invariants.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Where the cloud print is, from the bridge's own log lines (newest first). */
function cloudPrintPhase(b: Bridge): string {
  const marks: Array<[RegExp, string]> = [
    [/reported cloud job/, 'reported'],
    [/job finished/, 'finished'],
    [/cloud job \S+ started/, 'printing'],
    [/downloaded 100%/, 'uploading'],
    [/: downloading /, 'downloading'],
  ];
  for (let i = b.log.records.length - 1; i >= 0; i--) {
    const msg = b.log.records[i]!.msg;
    for (const [re, phase] of marks) if (re.test(msg)) return phase;
  }
  return 'asking';
}

/** One random link fault: mostly transport drops (a Wi-Fi blip), some server-side disconnects (a cloud redeploy). */
function linkFault(b: Bridge, r: Rng): 'drop' | 'disconnect' {
  if (r.bool(0.7)) {
    b.emu.control.dropConnections();
    return 'drop';
  }
  b.emu.control.disconnect();
  return 'disconnect';
}

test('idle: 50 random drops and server disconnects, one rejected and one unanswered hello; back online, status right, resources back', { timeout: 120_000 }, (t) =>
  scenario(t, { speedFactor: 50 }, async (b) => {
    const r = stormRng(t, 0x1d1e);
    const base = await warmBaseline(b);

    const n = 50 * stormScale();
    const counts = { drop: 0, disconnect: 0, whileOffline: 0 };
    for (let i = 0; i < n; i++) {
      await sleep(r.int(0, 150));
      if (!b.c.polar.online) counts.whileOffline++;
      counts[linkFault(b, r)]++;
    }
    t.diagnostic(`storm: ${JSON.stringify(counts)}`);
    await assertOnlineWithin(b);
    t.diagnostic(`last fault: online again after ${await faultAndReconnect(b, () => b.emu.control.dropConnections())} ms`);
    await assertStatusWithinHeartbeat(b, 0, 'idle');
    // Rate-limited: a storm of reconnects is a couple of warnings, not one per drop.
    const linkWarnings = b.log.lines('warn').filter((l) => /Polar Cloud/.test(l));
    assert.ok(linkWarnings.length <= 3, `${linkWarnings.length} link warnings for ${n} faults:\n${linkWarnings.join('\n')}`);

    // A rejected hello: back off (longer after FAILED), then online.
    b.emu.control.failNextHellos(1);
    t.diagnostic(`after a FAILED hello online in ${await faultAndReconnect(b, () => b.emu.control.dropConnections())} ms`);
    // An unanswered hello: given up after reply_timeout (5 s here), then online.
    b.emu.control.ignoreNextHellos(1);
    const unanswered = await faultAndReconnect(b, () => b.emu.control.dropConnections(), 5000 + 3000);
    t.diagnostic(`after an unanswered hello online in ${unanswered} ms`);
    assert.ok(unanswered >= 4500, 'it waited for the reply timeout');
    assert.ok(b.log.has(/hello rejected/, 'warn'), 'a rejected hello has its own warning');
    assert.ok(b.log.has(/no answer to hello from Polar Cloud within 5 s/), 'the unanswered hello is logged');
    await assertStatusWithinHeartbeat(b, 0, 'idle');
    assertNoViolations(b);
    await assertNoOrphans(b);
    const { heapDeltaMiB } = await assertBackToBaseline(base);
    t.diagnostic(`heap after GC: ${heapDeltaMiB >= 0 ? '+' : ''}${heapDeltaMiB.toFixed(2)} MiB`);
  }),
);

test('cloud print: 50 random drops and disconnects through download, upload, printing and the report, one FAILED hello; reported once, status right', { timeout: 120_000 }, (t) =>
  scenario(t, { speedFactor: 60 }, async (b) => {
    const r = stormRng(t, 0xc10d);
    const base = await warmBaseline(b);

    // ~1.4 MB served at 600 kB/s (a slow school network) and a Moonraker that answers the
    // upload 1.5 s late: the storm spans the download, the upload, the print and the report.
    const padding = `; ${'padding '.repeat(10)}\n`.repeat(17_000);
    const job = b.emu.control.addJob(b.serial, { jobName: 'Storm', content: prusaGcode({ layers: 25, movesPerLayer: 25 }) + padding });
    b.emu.control.faultFile(job.fileName!, { kind: 'slow', bytesPerSecond: 600_000 });
    b.sim.control.setReplyDelay(1500);
    b.preheat();
    await b.c.session.sendNextPrint(job.jobId);
    const n = 50 * stormScale();
    const phases = new Map<string, number>();
    for (let i = 0; i < n; i++) {
      await sleep(r.int(20, 250));
      const phase = cloudPrintPhase(b);
      if (phase === 'printing') b.sim.control.setReplyDelay(0);
      phases.set(phase, (phases.get(phase) ?? 0) + 1);
      if (i === Math.floor(n / 3)) b.emu.control.failNextHellos(1);
      linkFault(b, r);
    }
    t.diagnostic(`faults by phase: ${JSON.stringify(Object.fromEntries(phases))}`);
    for (const phase of ['downloading', 'uploading', 'printing']) assert.ok((phases.get(phase) ?? 0) > 0, `some faults hit the ${phase} phase`);
    b.sim.control.setReplyDelay(0);

    await assertOnlineWithin(b);
    await b.sim.control.waitForPrintState('complete', 60_000);
    await assertReportedExactlyOnce(b, [{ jobId: job.jobId, state: 'completed' }]);
    await assertCompletionSeen(b, job.jobId);
    assert.equal(b.emu.control.queue(b.serial).length, 0, 'the cloud moved the job to its history');
    assertNoViolations(b);
    await assertNoOrphans(b);
    await assertBackToBaseline(base);
  }),
);
