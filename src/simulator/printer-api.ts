// printer.* endpoints: passed to the simulated Klippy as Moonraker does
// (gcode-backed ones run through the G-code queue; errors carry Klipper's text).
import { hostname } from 'node:os';
import type { SimContext } from './context.js';
import { MoonrakerError } from './errors.js';
import { queryObjects, type Subscription } from './connections.js';
import type { Params } from './params.js';
import { objectNames } from './printer-status.js';

function parseObjects(p: Params): Subscription {
  const raw = p.object('objects');
  const out: Subscription = {};
  for (const [name, fields] of Object.entries(raw)) {
    if (fields === null || fields === undefined) out[name] = null;
    else if (Array.isArray(fields) && fields.every((f) => typeof f === 'string')) out[name] = fields as string[];
    else if (typeof fields === 'string') out[name] = fields.split(',').map((s) => s.trim()).filter(Boolean);
    else throw new MoonrakerError(`Invalid argument for object '${name}': expected a list of attribute names or null`);
  }
  return out;
}

export function registerPrinterApi(ctx: SimContext): void {
  const r = ctx.router;
  const k = (): SimContext['klippy'] => ctx.klippy;
  const script = (s: string): Promise<string> =>
    k().request(async () => {
      await ctx.runner.runScript(s, () => ctx.klippy.generation);
      return 'ok';
    });
  /** RESTART/FIRMWARE_RESTART answer "ok" although Klippy drops the link. */
  const restart = async (s: string): Promise<string> => {
    try {
      return await script(s);
    } catch (err) {
      if (err instanceof MoonrakerError && err.message === 'Klippy Disconnected') return 'ok';
      throw err;
    }
  };

  r.register('printer.info', () =>
    k().request(() => ({
      state: ctx.printer.state,
      state_message: ctx.printer.stateMessage,
      hostname: hostname(),
      klipper_path: '/home/pi/klipper',
      python_path: '/home/pi/klippy-env/bin/python',
      process_id: process.pid,
      user_id: 1000,
      group_id: 1000,
      log_file: '/home/pi/printer_data/logs/klippy.log',
      config_file: '/home/pi/printer_data/config/printer.cfg',
      software_version: ctx.settings.klipperVersion,
      cpu_info: '4 core ARMv7 Processor rev 4 (v7l)',
    })), { http: ['GET', '/printer/info'] });
  r.register('printer.emergency_stop', () =>
    k().request(async () => {
      await ctx.klippy.shutdown('Shutdown due to webhooks request');
      return 'ok';
    }), { http: ['POST', '/printer/emergency_stop'] });
  r.register('printer.restart', () => restart('RESTART'), { http: ['POST', '/printer/restart'] });
  r.register('printer.firmware_restart', () => restart('FIRMWARE_RESTART'), { http: ['POST', '/printer/firmware_restart'] });
  r.register('printer.objects.list', () => k().request(() => ({ objects: objectNames(ctx.printer) })), {
    http: ['GET', '/printer/objects/list'],
  });
  const query = (p: Params): Promise<unknown> => {
    const objects = parseObjects(p);
    return k().request(() => ({ eventtime: ctx.sim.now(), status: queryObjects(ctx, objects) }));
  };
  r.register('printer.objects.query', query, { http: ['GET', '/printer/objects/query'] });
  r.addRoute('POST', '/printer/objects/query', 'printer.objects.query');
  r.register('printer.objects.subscribe', (p, c) => {
    const objects = parseObjects(p);
    return k().request(() => ctx.connections.subscribe(c.connectionId, objects));
  }, { websocketOnly: true });
  r.register('printer.query_endstops.status', () =>
    k().request(() => {
      if (!ctx.printer.isReady) throw new MoonrakerError(ctx.printer.stateMessage);
      return { x: 'open', y: 'open', z: 'open' };
    }), { http: ['GET', '/printer/query_endstops/status'] });
  r.register('printer.gcode.script', (p) => script(p.str('script')), { http: ['POST', '/printer/gcode/script'] });
  r.register('printer.gcode.help', () => k().request(() => ctx.interp.help()), { http: ['GET', '/printer/gcode/help'] });
  r.register('printer.print.start', (p) => {
    ctx.history.noteJobRequested(ctx.settings.apiKey === null ? '_TRUSTED_USER_' : '_API_KEY_USER_');
    let filename = p.str('filename');
    if (filename.startsWith('/')) filename = filename.slice(1);
    return script(`SDCARD_PRINT_FILE FILENAME="${filename.replace(/"/g, '\\"')}"`);
  }, { http: ['POST', '/printer/print/start'] });
  r.register('printer.print.pause', () => script('PAUSE'), { http: ['POST', '/printer/print/pause'] });
  r.register('printer.print.resume', () => script('RESUME'), { http: ['POST', '/printer/print/resume'] });
  r.register('printer.print.cancel', () => script('CANCEL_PRINT'), { http: ['POST', '/printer/print/cancel'] });
}
