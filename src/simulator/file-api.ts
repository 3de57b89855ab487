// server.files.* endpoints (uploads and downloads are HTTP-only: http-routes.ts).
import type { SimContext } from './context.js';
import { MoonrakerError } from './errors.js';

export function registerFileApi(ctx: SimContext): void {
  const r = ctx.router;
  const fm = ctx.files;
  r.register('server.files.list', (p) => fm.listFiles(p.str('root', 'gcodes')), { http: ['GET', '/server/files/list'] });
  r.register('server.files.roots', () =>
    Object.entries(fm.roots()).map(([name, path]) => ({ name, path, permissions: name === 'logs' ? 'r' : 'rw' })), {
    http: ['GET', '/server/files/roots'],
  });
  r.register('server.files.get_directory', (p) => fm.directory(p.str('path', 'gcodes'), p.bool('extended', false)), {
    http: ['GET', '/server/files/directory'],
  });
  r.register('server.files.post_directory', (p) => fm.makeDirectory(p.str('path')), { http: ['POST', '/server/files/directory'] });
  r.register('server.files.delete_directory', (p) => fm.removeDirectory(p.str('path'), p.bool('force', false)), {
    http: ['DELETE', '/server/files/directory'],
  });
  r.register('server.files.metadata', (p) => {
    const filename = p.str('filename');
    const md = fm.getMetadata(filename);
    if (!md) throw new MoonrakerError(`Metadata not available for <${filename}>`, 404);
    return { ...md, filename };
  }, { http: ['GET', '/server/files/metadata'] });
  r.register('server.files.metascan', async (p) => {
    const filename = p.str('filename');
    if (!(await fm.fileExists(filename))) throw new MoonrakerError(`File '${filename}' does not exist`, 404);
    return { ...(await fm.scanMetadata(filename)), filename };
  }, { http: ['POST', '/server/files/metascan'] });
  r.register('server.files.thumbnails', () => [], { http: ['GET', '/server/files/thumbnails'] });
  r.register('server.files.delete_file', (p) => fm.deleteFile(p.str('path')));
  r.register('server.files.move', (p) => fm.moveOrCopy(p.str('source'), p.str('dest'), false), { http: ['POST', '/server/files/move'] });
  r.register('server.files.copy', (p) => fm.moveOrCopy(p.str('source'), p.str('dest'), true), { http: ['POST', '/server/files/copy'] });
}
