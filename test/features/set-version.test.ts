// Issue 14.5: setVersion's runningVersion and latestVersion in one scheme from one source.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { versionsFromUpdater } from '../../src/features/cloud-session.js';

const rows: Array<[string, string | undefined, string | undefined, ReturnType<typeof versionsFromUpdater>]> = [
  ['up to date: equal', 'v0.1.0', 'v0.1.0', { runningVersion: 'v0.1.0', latestVersion: 'v0.1.0' }],
  ['commits after a tag, up to date', 'v0.1.0-3', 'v0.1.0-3', { runningVersion: 'v0.1.0-3', latestVersion: 'v0.1.0-3' }],
  ['update available', 'v0.1.0', 'v0.2.0', { runningVersion: 'v0.1.0', latestVersion: 'v0.2.0' }],
  ["remote unknown ('?'): no latest, so no update offered", 'v0.1.0', '?', { runningVersion: 'v0.1.0' }],
  ['not managed by update_manager: null (own version, no latest)', undefined, undefined, null],
  ["version '?': null", '?', 'v0.2.0', null],
];
for (const [name, version, remote, want] of rows) {
  test(`versionsFromUpdater: ${name}`, () => assert.deepEqual(versionsFromUpdater(version, remote), want));
}
