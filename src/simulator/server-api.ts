// server.*, access.*, connection.* and machine.* endpoints that belong to
// Moonraker itself, plus the gcode and temperature stores.
import type { TimerHandle } from '../util/clock.js';
import type { SimContext } from './context.js';
import { MoonrakerError } from './errors.js';

const STORE_SIZE = 1000;
const TEMP_STORE_SIZE = 1200;

export class ServerApi {
  private readonly gcodeStore: Array<{ message: string; time: number; type: 'command' | 'response' }> = [];
  private readonly temps = new Map<string, { temperatures: number[]; targets: number[]; powers: number[] }>();
  private tempTimer: TimerHandle | undefined;
  /** Set by the simulator: restarts Moonraker (server.restart). */
  restartMoonraker: () => void = () => undefined;

  constructor(private readonly ctx: SimContext) {}

  start(): void {
    this.ctx.printer.on('response', (msg) => {
      if (!this.ctx.klippy.connected) return;
      this.store(msg, 'response');
      this.ctx.connections.notify('notify_gcode_response', [msg]);
    });
    this.ctx.runner.onScript = (script) => this.store(script, 'command');
    this.sampleTemps();
  }

  stop(): void {
    this.ctx.clock.clearTimeout(this.tempTimer);
  }

  private store(message: string, type: 'command' | 'response'): void {
    this.gcodeStore.push({ message, time: this.ctx.clock.now() / 1000, type });
    if (this.gcodeStore.length > STORE_SIZE) this.gcodeStore.shift();
  }

  private sampleTemps(): void {
    for (const h of this.ctx.printer.heaters) {
      let s = this.temps.get(h.name);
      if (!s) this.temps.set(h.name, (s = { temperatures: [], targets: [], powers: [] }));
      const st = h.baseStatus();
      s.temperatures.push(st.temperature);
      s.targets.push(st.target);
      s.powers.push(st.power);
      if (s.temperatures.length > TEMP_STORE_SIZE) {
        s.temperatures.shift();
        s.targets.shift();
        s.powers.shift();
      }
    }
    this.tempTimer = this.ctx.clock.setTimeout(() => this.sampleTemps(), 1000);
  }

  register(): void {
    const ctx = this.ctx;
    const r = ctx.router;
    r.register('server.info', () => ({
      klippy_connected: ctx.klippy.connected,
      klippy_state: ctx.klippy.state,
      components: [
        'application', 'websockets', 'klippy_connection', 'jsonrpc', 'internal_transport', 'dbus_manager', 'database',
        'file_manager', 'authorization', 'klippy_apis', 'secrets', 'template', 'shell_command', 'machine', 'data_store',
        'proc_stats', 'job_state', 'job_queue', 'history', 'http_client', 'announcements', 'webcam', 'extensions', 'update_manager',
        ...(ctx.power.configured ? ['power'] : []),
      ],
      failed_components: [],
      registered_directories: Object.keys(ctx.files.roots()),
      warnings: [],
      websocket_count: ctx.connections.count,
      moonraker_version: ctx.settings.moonrakerVersion,
      missing_klippy_requirements: [],
      api_version: [1, 5, 0],
      api_version_string: '1.5.0',
    }), { http: ['GET', '/server/info'] });
    r.register('server.config', () => ({
      config: {
        server: { host: ctx.settings.host, port: Number(new URL(ctx.baseUrl()).port), klippy_uds_address: '~/printer_data/comms/klippy.sock', max_upload_size: 1024 },
        file_manager: { enable_object_processing: false, queue_gcode_uploads: ctx.settings.queueGcodeUploads },
        job_queue: { load_on_startup: true, automatic_transition: true, job_transition_delay: 0.01, job_transition_gcode: '' },
        authorization: { force_logins: false, trusted_clients: ctx.settings.apiKey === null ? ['127.0.0.0/8'] : [] },
        history: {},
        update_manager: {},
      },
      orig: {},
      files: [{ filename: 'moonraker.conf', sections: ['server', 'file_manager', 'job_queue', 'authorization', 'history', 'update_manager'] }],
    }), { http: ['GET', '/server/config'] });
    r.register('server.connection.identify', (p, c) => ctx.connections.identify(c.connectionId, p), { websocketOnly: true, noAuth: true });
    r.register('server.websocket.id', (_p, c) => ({ websocket_id: c.connectionId }), { websocketOnly: true });
    r.register('connection.register_remote_method', (p, c) => {
      ctx.connections.registerRemoteMethod(c.connectionId, p.str('method_name'));
      return 'ok';
    }, { websocketOnly: true });
    r.register('server.gcode_store', (p) => {
      const count = p.int('count', STORE_SIZE);
      return { gcode_store: this.gcodeStore.slice(-count) };
    }, { http: ['GET', '/server/gcode_store'] });
    r.register('server.temperature_store', () => {
      const out: Record<string, unknown> = {};
      for (const [name, s] of this.temps) out[name] = { temperatures: [...s.temperatures], targets: [...s.targets], powers: [...s.powers] };
      return out;
    }, { http: ['GET', '/server/temperature_store'] });
    r.register('server.restart', () => {
      ctx.clock.setTimeout(() => this.restartMoonraker(), 20);
      return 'ok';
    }, { http: ['POST', '/server/restart'] });
    r.register('access.oneshot_token', () => ctx.oneshot.issue(), { http: ['GET', '/access/oneshot_token'] });
    r.register('access.info', () => ({
      default_source: 'moonraker', available_sources: ['moonraker'], login_required: false, trusted: ctx.settings.apiKey === null,
    }), { http: ['GET', '/access/info'], noAuth: true });
    r.register('access.get_api_key', () => {
      if (ctx.settings.apiKey === null) throw new MoonrakerError('API Key authentication is disabled', 401);
      return ctx.settings.apiKey;
    }, { http: ['GET', '/access/api_key'] });
    r.register('machine.system_info', () => ({ system_info: systemInfo() }), { http: ['GET', '/machine/system_info'] });
    r.register('machine.proc_stats', () => ({
      moonraker_stats: [{ time: ctx.clock.now() / 1000, cpu_usage: 1.5, memory: 40000, mem_units: 'kB' }],
      throttled_state: { bits: 0, flags: [] },
      cpu_temp: 45.1,
      network: { lo: { rx_bytes: 1000, tx_bytes: 1000, bandwidth: 0 } },
      system_cpu_usage: { cpu: 2.5, cpu0: 2.5 },
      system_memory: { total: 3_900_000, available: 3_500_000, used: 400_000 },
      system_uptime: process.uptime(),
      websocket_connections: ctx.connections.count,
    }), { http: ['GET', '/machine/proc_stats'] });
  }
}

function systemInfo(): Record<string, unknown> {
  return {
    provider: 'none',
    cpu_info: {
      cpu_count: 4, bits: '64bit', processor: 'aarch64', cpu_desc: 'Cortex-A72', serial_number: '10000000simulated',
      hardware_desc: 'BCM2835', model: 'Raspberry Pi 4 Model B Rev 1.4 (simulated)', total_memory: 3884096, memory_units: 'kB',
    },
    sd_info: {},
    distribution: {
      name: 'Debian GNU/Linux 12 (bookworm)', id: 'debian', version: '12',
      version_parts: { major: '12', minor: '', build_number: '' }, like: '', codename: 'bookworm',
    },
    available_services: ['klipper', 'moonraker', 'moonraker-polarcloud'],
    instance_ids: { moonraker: 'moonraker', klipper: 'klipper' },
    service_state: {
      klipper: { active_state: 'active', sub_state: 'running' },
      moonraker: { active_state: 'active', sub_state: 'running' },
      'moonraker-polarcloud': { active_state: 'active', sub_state: 'running' },
    },
    virtualization: { virt_type: 'none', virt_identifier: 'none' },
    python: { version: [3, 11, 2, 'final', 0], version_string: '3.11.2 (main, Mar 13 2023, 12:18:29) [GCC 12.2.0]' },
    network: {
      eth0: {
        mac_address: '02:00:00:00:00:01',
        ip_addresses: [{ family: 'ipv4', address: '127.0.0.1', is_link_local: false }],
      },
    },
    canbus: {},
  };
}
