// Polar's custom-command menu: the list comes from the config (Klipper macros,
// optionally with fixed arguments) plus built-ins (firmware restart); it is sent
// after every hello and whenever it changes. `customCommand` runs only an entry
// of that list — anything else is refused — and returns the console output.
import type { PrinterToCloud } from '../polar/messages.js';
import { GcodeError } from '../../moonraker-bridge/index.js';
import { errText } from '../util/log.js';
import { announce, type Feature, type FeatureContext } from './feature-context.js';
import type { MenuSource } from './power-devices.js';
import { gcodePolicy, printRunning, refusal } from './gcode-policy.js';

type Entry = PrinterToCloud['customCommandList']['customCommandList'][number];

/** Command text of the built-in firmware restart entry. */
export const FIRMWARE_RESTART_COMMAND = 'FIRMWARE_RESTART';

export class CustomCommands implements Feature {
  private offs: (() => void)[] = [];
  private lastSentJson: string | null = null;
  private warnedMissing = new Set<string>();

  /** `sources`: more entries with their own runner (Moonraker power devices). */
  constructor(
    private readonly ctx: FeatureContext,
    private readonly sources: readonly MenuSource[] = [],
  ) {}

  start(): void {
    const { polar, moonraker } = this.ctx;
    this.offs.push(
      polar.events.on('online', () => {
        this.lastSentJson = null;
        this.sendList();
      }),
      moonraker.on('ready', () => this.sendList()),
      polar.onCommand('customCommand', (m) => void this.run(m.customCommand)),
      ...this.sources.map((s) => s.events.on('changed', () => this.sendList())),
    );
  }

  stop(): void {
    for (const off of this.offs.splice(0)) off();
  }

  /** The menu as it would be sent now. Macros not (yet) known to Klipper are left out. */
  entries(): Entry[] {
    const s = this.ctx.printer.snapshot();
    const known = new Set(s.macros.map((m) => m.toUpperCase()));
    const out: Entry[] = [];
    for (const item of this.ctx.config.control.custom_commands) {
      const e: Entry =
        typeof item === 'string'
          ? { label: item, command: item }
          : {
              label: item.label,
              command: item.command,
              ...(item.help_text ? { helpText: item.help_text } : {}),
              ...(item.confirm_text ? { confirmText: item.confirm_text } : {}),
            };
      const macro = e.command.split(' ')[0]!.toUpperCase();
      if (!known.has(macro)) {
        if (s.connection === 'klippy_ready' && !this.warnedMissing.has(macro)) {
          this.warnedMissing.add(macro);
          this.ctx.log.warn(`custom command '${e.label}': Klipper has no macro ${macro}; left out of the Polar menu`);
        }
        continue;
      }
      out.push(e);
    }
    if (this.ctx.config.control.builtin_commands) {
      out.push({
        label: 'Firmware restart',
        command: FIRMWARE_RESTART_COMMAND,
        helpText: 'Restarts Klipper and the printer board (clears a shutdown)',
        confirmText: 'Restart the printer firmware? A running print will be lost.',
      });
    }
    for (const s of this.sources) out.push(...s.entries());
    return out;
  }

  private sendList(): void {
    const serialNumber = this.ctx.polar.serialNumber;
    if (!serialNumber || !this.ctx.polar.online) return;
    const link = this.ctx.printer.connectionState;
    const list = this.entries();
    // Wait for Klipper's macro list (an incomplete menu would be saved by the cloud) — unless
    // Klipper is down and Moonraker offers power devices: then the menu is what works now.
    const powerOnly = link.startsWith('klippy_') && this.sources.some((s) => s.entries().length > 0);
    if (link !== 'klippy_ready' && !powerOnly) return;
    const json = JSON.stringify(list);
    if (json === this.lastSentJson) return;
    // Both keys: the protocol document says customCommandList, the live cloud reads commandList.
    if (this.ctx.polar.send('customCommandList', { serialNumber, customCommandList: list, commandList: list })) this.lastSentJson = json;
  }

  private async run(command: string): Promise<void> {
    const serialNumber = this.ctx.polar.serialNumber;
    if (!serialNumber) return;
    const entry = this.entries().find((e) => e.command === command);
    if (!entry) {
      announce(this.ctx, `custom command refused: '${command.slice(0, 80)}' is not in this printer's list`);
      return;
    }
    // The same deny list as the console: the built-in Firmware restart would end a running print.
    const why = refusal(entry.command, gcodePolicy(this.ctx.config.control), printRunning(this.ctx));
    if (why) {
      this.ctx.log.warn(`custom command '${entry.label}' from Polar Cloud refused: ${why}`);
      this.ctx.polar.send('commandResponse', { serialNumber, response: `!! refused: ${why}` });
      return;
    }
    this.ctx.log.info(`custom command from Polar Cloud: ${entry.label}`);
    let response: string;
    try {
      const fromSource = this.sources.map((s) => s.run(entry.command)).find((p) => p !== undefined);
      if (fromSource) {
        response = await fromSource;
      } else if (entry.command === FIRMWARE_RESTART_COMMAND) {
        await this.ctx.api.firmwareRestart();
        response = 'firmware restart requested';
      } else {
        response = (await this.ctx.api.gcodeScriptCollect(entry.command, { timeoutMs: 15 * 60_000 })).join('\n') || 'ok';
      }
    } catch (err) {
      response = err instanceof GcodeError ? [...err.lines, `!! ${err.message}`].join('\n') : `!! ${errText(err)}`;
    }
    this.ctx.polar.send('commandResponse', { serialNumber, response });
    this.ctx.status.sendNow();
  }
}
