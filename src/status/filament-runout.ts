// Which filament runout sensor explains a pause. Klipper's sensors pause the
// print themselves (pause_on_runout → PAUSE); print_stats then only says
// "paused", so the reason is read from the sensors: an enabled one that sees
// no filament. Kept apart from the mapper's job logic on purpose.
import { filamentSensorsOf, type PrinterSnapshot } from '../../moonraker-bridge/index.js';

/** The name of an enabled runout sensor reporting no filament, or null. */
export function runoutSensor(p: PrinterSnapshot): string | null {
  return filamentSensorsOf(p).find((s) => s.enabled && s.filamentDetected === false)?.name ?? null;
}

/** progressDetail of a print paused for runout: the sensor first, then the usual job line. */
export function runoutDetail(sensor: string, printingDetail: string): string {
  return `Filament runout (sensor ${sensor}): ${printingDetail}`;
}
