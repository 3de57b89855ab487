// The running version. The bundle embeds package.json's version at build time
// (scripts/build.mjs); at service start it is refined from `git describe` of
// the checkout the service runs from — the same source Moonraker's
// update_manager reports — because a committed bundle cannot contain the hash
// of the commit that contains it (and CI checks the bundle is reproducible).
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

declare const __POLARCLOUD_VERSION__: string | undefined;

const BUILT: string = typeof __POLARCLOUD_VERSION__ === 'string' ? __POLARCLOUD_VERSION__ : '0.0.0-dev';

export let VERSION: string = BUILT;
export const CLIENT_NAME = 'moonraker-polarcloud';

/**
 * `git describe --tags --always` of the repository holding this file (dist/.. for
 * the bundle), e.g. `v0.2.0-3-g1a2b3c4`; with no tags, `<package version>+g<hash>`.
 * Keeps the built version when git or the repository is not there.
 */
export function refineVersionFromGit(): string {
  try {
    const here = dirname(fileURLToPath(import.meta.url));
    const repo = join(here, '..');
    const out = execFileSync('git', ['-C', repo, 'describe', '--tags', '--always'], { timeout: 2000, stdio: ['ignore', 'pipe', 'ignore'] })
      .toString()
      .trim();
    if (/^[0-9a-f]{7,40}$/.test(out)) VERSION = `${BUILT}+g${out.slice(0, 7)}`;
    else if (/^[\w.+-]{1,64}$/.test(out)) VERSION = out;
  } catch {
    // Not a git checkout (a tarball, a test build): the built version stands.
  }
  return VERSION;
}
