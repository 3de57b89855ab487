// Pure: the name a cloud job's G-code gets on the printer. Built only from
// [A-Za-z0-9._-], length-limited, never starting with a dot, always ending in
// .gcode — so a job name like "../../printer.cfg" or odd Unicode can never
// escape the cloud folder or hide the file.

const MAX_NAME = 60;
const MAX_ID = 40;

function clean(text: string, max: number): string {
  return (
    text
      // é → e, ﬁ → fi: keep what is readable, drop the rest.
      .normalize('NFKD')
      .replace(/[\u0300-\u036f]/g, '')
      .replace(/[^A-Za-z0-9._-]+/g, '_')
      .replace(/_{2,}/g, '_')
      .replace(/\.{2,}/g, '.')
      .replace(/^[._-]+/, '')
      .slice(0, max)
      .replace(/[._-]+$/, '')
  );
}

/** `<name>-<jobId>.gcode`, or `job-<jobId>.gcode` when the name has nothing usable. */
export function cloudFileName(jobName: string | undefined, jobId: string): string {
  const id = clean(jobId, MAX_ID) || 'unknown';
  const withoutExt = (jobName ?? '').replace(/\.(gcode|gco|g|stl|3mf|obj)$/i, '');
  const name = clean(withoutExt, MAX_NAME);
  return `${name || 'job'}-${id}.gcode`;
}

/** Another name for the same job when `name` is the file currently loaded (never overwrite it). */
export function alternateFileName(name: string, attempt: number): string {
  return name.replace(/\.gcode$/, `-${attempt}.gcode`);
}
