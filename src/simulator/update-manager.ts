// Moonraker's [update_manager] with four updaters: system, moonraker, klipper
// and moonraker-polarcloud (git_repo). An upgrade reports progress through
// notify_update_response, then notify_update_refreshed, and answers "ok" when
// done, as Moonraker does; it is refused while Klippy is printing. Nothing
// restarts afterwards (a real Moonraker/Klipper update would restart them).
import { randomBytes } from 'node:crypto';
import { delay, type SimContext } from './context.js';
import { MoonrakerError } from './errors.js';

type Updater = Record<string, unknown> & { name: string; configured_type: string };

const STEP_MS = 100;

function hash(): string {
  return randomBytes(20).toString('hex');
}

function gitRepo(name: string, owner: string, version: string): Updater {
  const h = hash();
  return {
    name, configured_type: 'git_repo', detected_type: 'git_repo', channel: 'dev', channel_invalid: false,
    debug_enabled: false, is_valid: true, version, remote_version: version, rollback_version: version,
    full_version_string: `${version}-g${h.slice(0, 8)}`, remote_hash: h, current_hash: h, remote_alias: 'origin',
    remote_url: `https://github.com/${owner}/${name}.git`, recovery_url: `https://github.com/${owner}/${name}.git`,
    owner, branch: 'master', repo_name: name, repo_detected: true, is_dirty: false, corrupt: false, pristine: true,
    detached: false, git_messages: [], anomalies: [], warnings: [], commits_behind: [], commits_behind_count: 0, info_tags: {},
  };
}

export class UpdateManager {
  private readonly updaters = new Map<string, Updater>();
  private updating: string | null = null;
  private procId = 0;

  constructor(private readonly ctx: SimContext) {
    this.updaters.set('system', { name: 'system', configured_type: 'system', package_count: 0, package_list: [] });
    this.updaters.set('moonraker', gitRepo('moonraker', 'Arksine', ctx.settings.moonrakerVersion));
    this.updaters.set('klipper', gitRepo('klipper', 'Klipper3d', ctx.settings.klipperVersion));
    this.updaters.set('moonraker-polarcloud', gitRepo('moonraker-polarcloud', 'Polar3D', 'v0.1.0'));
  }

  status(): Record<string, unknown> {
    const version_info: Record<string, unknown> = {};
    for (const [name, u] of this.updaters) version_info[name] = structuredClone(u);
    return {
      busy: this.updating !== null,
      github_rate_limit: 60,
      github_requests_remaining: 57,
      github_limit_reset_time: Math.floor(this.ctx.clock.now() / 1000) + 3600,
      version_info,
    };
  }

  /** control.setUpdateAvailable: makes `name` report a newer remote version. */
  setUpdateAvailable(name: string, remoteVersion: string): void {
    const u = this.updaters.get(name);
    if (!u) throw new Error(`unknown updater ${name}`);
    if (u.configured_type === 'system') {
      u['package_count'] = 1;
      u['package_list'] = ['simulated-package'];
    } else {
      const h = hash();
      Object.assign(u, {
        remote_version: remoteVersion, remote_hash: h, commits_behind_count: 1,
        commits_behind: [{ sha: h, author: 'Simulator', date: String(Math.floor(this.ctx.clock.now() / 1000)), subject: `Release ${remoteVersion}`, message: '', tag: remoteVersion }],
      });
    }
    this.ctx.connections.notify('notify_update_refreshed', [this.status()]);
  }

  private respond(app: string, message: string, complete = false): void {
    this.ctx.connections.notify('notify_update_response', [{ application: app, proc_id: this.procId, message, complete }]);
  }

  private async updateOne(name: string): Promise<void> {
    const u = this.updaters.get(name) as Updater;
    this.respond(name, `Updating ${name}...`);
    await delay(this.ctx, STEP_MS);
    if (u.configured_type === 'system') {
      this.respond(name, 'Updating packages...');
      u['package_count'] = 0;
      u['package_list'] = [];
    } else {
      this.respond(name, `${name}: Pulling from origin/master...`);
      await delay(this.ctx, STEP_MS);
      Object.assign(u, {
        rollback_version: u['version'], version: u['remote_version'], current_hash: u['remote_hash'],
        full_version_string: `${String(u['remote_version'])}-g${String(u['remote_hash']).slice(0, 8)}`,
        commits_behind: [], commits_behind_count: 0,
      });
    }
    await delay(this.ctx, STEP_MS);
  }

  private async upgrade(name: string | undefined): Promise<string> {
    if (this.ctx.klippy.connected && this.ctx.printer.isReady && this.ctx.printer.printStats.state === 'printing') {
      throw new MoonrakerError('Update Refused: Klippy is printing', 503);
    }
    if (name !== undefined && !this.updaters.has(name)) throw new MoonrakerError(`Updater ${name} not available`, 404);
    const app = name ?? 'full';
    if (this.updating !== null) throw new MoonrakerError(`Item ${app} is currently updating`, 503);
    this.updating = app;
    this.procId = Math.floor(Math.random() * 1e6);
    try {
      if (name === undefined) {
        this.respond(app, 'Preparing full software update...');
        for (const n of ['system', 'moonraker-polarcloud', 'klipper', 'moonraker']) await this.updateOne(n);
        this.respond(app, 'Full Update Complete', true);
      } else {
        await this.updateOne(name);
        this.respond(app, `Update Done: ${name}`, true);
      }
    } finally {
      this.updating = null;
    }
    this.ctx.connections.notify('notify_update_refreshed', [this.status()]);
    return 'ok';
  }

  register(): void {
    const r = this.ctx.router;
    r.register('machine.update.status', () => this.status(), { http: ['GET', '/machine/update/status'] });
    r.register('machine.update.refresh', (p) => {
      const name = p.optStr('name');
      if (name !== undefined && !this.updaters.has(name)) throw new MoonrakerError(`Updater ${name} not available`, 404);
      const printing = this.ctx.printer.printStats.state === 'printing';
      if (this.updating !== null || printing) throw new MoonrakerError('Server is busy, cannot perform refresh', 503);
      const st = this.status();
      this.ctx.connections.notify('notify_update_refreshed', [st]);
      return st;
    }, { http: ['POST', '/machine/update/refresh'] });
    r.register('machine.update.upgrade', (p) => this.upgrade(p.optStr('name')), { http: ['POST', '/machine/update/upgrade'] });
    r.register('machine.update.client', (p) => this.upgrade(p.optStr('name')), { http: ['POST', '/machine/update/client'] });
    r.register('machine.update.full', () => this.upgrade(undefined), { http: ['POST', '/machine/update/full'] });
    for (const app of ['moonraker', 'klipper', 'system'] as const) {
      r.register(`machine.update.${app}`, () => this.upgrade(app), { http: ['POST', `/machine/update/${app}`] });
    }
  }
}
