// Typed wrappers for the Moonraker APIs the bridge uses; every reply is
// validated (MoonrakerReplyError when it does not match the docs) and the
// related notifications are re-emitted as typed events.
import type { z } from 'zod';
import {
  deleteFileSchema,
  directorySchema,
  fileListSchema,
  fileMetadataSchema,
  filelistChangedParams,
  historyChangedParams,
  historyGetJobSchema,
  historyListSchema,
  jobQueueChangedParams,
  jobQueueStatusSchema,
  okSchema,
  statusReplySchema,
  systemInfoSchema,
  updateResponseParams,
  updateStatusSchema,
  fileRootsSchema,
  webcamListSchema,
  webcamsChangedParams,
  type DeleteFileResult,
  type DirectoryInfo,
  type FileInfo,
  type FileRoot,
  type FileMetadata,
  type FilelistChanged,
  type HistoryChanged,
  type HistoryJob,
  type HistoryList,
  type JobQueueChanged,
  type JobQueueStatus,
  type StatusReply,
  type SystemInfo,
  type UpdateResponse,
  type UpdateStatus,
  type Webcam,
} from './api-schemas.js';
import type { BridgeLogger } from './deps.js';
import { errorText } from './deps.js';
import { Emitter } from './emitter.js';
import { MoonrakerRpcError, parseReply, type CallOptions, type RpcParams } from './json-rpc.js';

/** What the API needs from the connection (MoonrakerClient satisfies it). */
export interface MoonrakerRpc {
  call(method: string, params?: RpcParams, options?: CallOptions): Promise<unknown>;
  on(event: 'notification', listener: (p: { method: string; params: unknown }) => void): () => void;
  on(event: 'gcodeResponse', listener: (p: { line: string }) => void): () => void;
}

export interface MoonrakerApiEvents {
  historyChanged: HistoryChanged;
  jobQueueChanged: JobQueueChanged;
  webcamsChanged: { webcams: Webcam[] };
  filelistChanged: FilelistChanged;
  updateResponse: UpdateResponse;
}

export interface MoonrakerApiOptions {
  rpc: MoonrakerRpc;
  log: BridgeLogger;
}

export interface HistoryListParams {
  limit?: number;
  start?: number;
  since?: number;
  before?: number;
  order?: 'asc' | 'desc';
}

/** A G-code script failed; `lines` are the G-code responses seen while it ran. */
export class GcodeError extends MoonrakerRpcError {
  constructor(
    cause: MoonrakerRpcError,
    readonly lines: string[],
  ) {
    super(cause.code, cause.message, cause.method, cause.data);
    this.name = 'GcodeError';
  }
}

const NOTIFICATIONS: { [K in keyof MoonrakerApiEvents]: { method: string; schema: z.ZodType<readonly unknown[]> } } = {
  historyChanged: { method: 'notify_history_changed', schema: historyChangedParams },
  jobQueueChanged: { method: 'notify_job_queue_changed', schema: jobQueueChangedParams },
  webcamsChanged: { method: 'notify_webcams_changed', schema: webcamsChangedParams },
  filelistChanged: { method: 'notify_filelist_changed', schema: filelistChangedParams },
  updateResponse: { method: 'notify_update_response', schema: updateResponseParams },
};

export class MoonrakerApi {
  private readonly emitter: Emitter<MoonrakerApiEvents>;
  private off: (() => void) | undefined;

  constructor(private readonly opts: MoonrakerApiOptions) {
    this.emitter = new Emitter<MoonrakerApiEvents>((event, err) => opts.log.error(`'${event}' listener failed: ${errorText(err)}`));
  }

  on<K extends keyof MoonrakerApiEvents & string>(event: K, listener: (p: MoonrakerApiEvents[K]) => void): () => void {
    return this.emitter.on(event, listener);
  }

  /** Starts re-emitting notifications as typed events. */
  start(): void {
    if (this.off) return;
    const byMethod = new Map(Object.entries(NOTIFICATIONS).map(([event, n]) => [n.method, { event, schema: n.schema }]));
    this.off = this.opts.rpc.on('notification', ({ method, params }) => {
      const n = byMethod.get(method);
      if (!n) return;
      const r = n.schema.safeParse(params);
      if (!r.success) {
        this.opts.log.warn(`dropped invalid ${method}: ${r.error.issues[0]?.message ?? 'invalid'}`);
        return;
      }
      this.emitter.emit(n.event as keyof MoonrakerApiEvents, r.data[0] as MoonrakerApiEvents[keyof MoonrakerApiEvents]);
    });
  }

  stop(): void {
    this.off?.();
    this.off = undefined;
  }

  // ---- print job control (printer.md) ----

  async printStart(filename: string): Promise<void> {
    await this.ok('printer.print.start', { filename });
  }
  async printPause(): Promise<void> {
    await this.ok('printer.print.pause');
  }
  async printResume(): Promise<void> {
    await this.ok('printer.print.resume');
  }
  async printCancel(): Promise<void> {
    await this.ok('printer.print.cancel');
  }
  async emergencyStop(): Promise<void> {
    await this.ok('printer.emergency_stop');
  }
  async firmwareRestart(): Promise<void> {
    await this.ok('printer.firmware_restart');
  }
  /** Klipper host ("soft") restart. */
  async hostRestart(): Promise<void> {
    await this.ok('printer.restart');
  }

  /** Runs G-code; resolves when Klipper has finished it (the call's timeout defaults to 1 h). */
  async gcodeScript(script: string, options?: CallOptions): Promise<void> {
    await this.ok('printer.gcode.script', { script }, options);
  }

  /**
   * Runs G-code and returns the notify_gcode_response lines received while it ran
   * (includes any other output Klipper produced meanwhile). Throws GcodeError with the lines on failure.
   */
  async gcodeScriptCollect(script: string, options?: CallOptions): Promise<string[]> {
    const lines: string[] = [];
    const off = this.opts.rpc.on('gcodeResponse', ({ line }) => lines.push(line));
    try {
      await this.ok('printer.gcode.script', { script }, options);
      // Responses precede the reply on the socket, so all lines of this script are in.
      return lines;
    } catch (err) {
      if (err instanceof MoonrakerRpcError) throw new GcodeError(err, lines);
      throw err;
    } finally {
      off();
    }
  }

  /** printer.objects.query; `null` requests all fields of an object. */
  queryObjects(objects: Record<string, readonly string[] | null>): Promise<StatusReply> {
    return this.parsed(statusReplySchema, 'printer.objects.query', { objects });
  }

  // ---- files (file_manager.md) ----

  fileMetadata(filename: string): Promise<FileMetadata> {
    return this.parsed(fileMetadataSchema, 'server.files.metadata', { filename });
  }

  listFiles(root = 'gcodes'): Promise<FileInfo[]> {
    return this.parsed(fileListSchema, 'server.files.list', { root });
  }

  getDirectory(path = 'gcodes', extended = false): Promise<DirectoryInfo> {
    return this.parsed(directorySchema, 'server.files.get_directory', { path, extended });
  }

  /** The folders Moonraker serves to any web client, with their paths on disk. */
  fileRoots(): Promise<FileRoot[]> {
    return this.parsed(fileRootsSchema, 'server.files.roots');
  }

  /** Free bytes on the disk holding `path` (a root or a folder in one). */
  async freeDiskSpace(path = 'gcodes'): Promise<number> {
    return (await this.getDirectory(path)).disk_usage.free;
  }

  /** Deletes `<root>/<filename>`. */
  deleteFile(filename: string, root = 'gcodes'): Promise<DeleteFileResult> {
    return this.parsed(deleteFileSchema, 'server.files.delete_file', { path: `${root}/${filename.replace(/^\/+/, '')}` });
  }

  // ---- history (history.md) ----

  historyList(params: HistoryListParams = {}): Promise<HistoryList> {
    return this.parsed(historyListSchema, 'server.history.list', { ...params });
  }

  async historyJob(uid: string): Promise<HistoryJob> {
    return (await this.parsed(historyGetJobSchema, 'server.history.get_job', { uid })).job;
  }

  // ---- job queue (job_queue.md) ----

  jobQueueStatus(): Promise<JobQueueStatus> {
    return this.parsed(jobQueueStatusSchema, 'server.job_queue.status');
  }
  jobQueuePost(filenames: readonly string[], reset = false): Promise<JobQueueStatus> {
    return this.parsed(jobQueueStatusSchema, 'server.job_queue.post_job', { filenames: [...filenames], reset });
  }
  jobQueueStart(): Promise<JobQueueStatus> {
    return this.parsed(jobQueueStatusSchema, 'server.job_queue.start');
  }
  jobQueuePause(): Promise<JobQueueStatus> {
    return this.parsed(jobQueueStatusSchema, 'server.job_queue.pause');
  }
  /** Removes the given jobs, or every job with 'all'. */
  jobQueueDelete(jobIds: readonly string[] | 'all'): Promise<JobQueueStatus> {
    const params = jobIds === 'all' ? { all: true } : { job_ids: [...jobIds] };
    return this.parsed(jobQueueStatusSchema, 'server.job_queue.delete_job', params);
  }

  // ---- webcams, machine, updates ----

  async webcams(): Promise<Webcam[]> {
    return (await this.parsed(webcamListSchema, 'server.webcams.list')).webcams;
  }

  async systemInfo(): Promise<SystemInfo> {
    return (await this.parsed(systemInfoSchema, 'machine.system_info')).system_info;
  }

  updateStatus(): Promise<UpdateStatus> {
    return this.parsed(updateStatusSchema, 'machine.update.status');
  }

  /** Upgrades `name`, or everything when omitted (API ≥ 1.5.0). */
  async updateUpgrade(name?: string): Promise<void> {
    await this.ok('machine.update.upgrade', name === undefined ? undefined : { name });
  }

  /** Deprecated predecessor of updateUpgrade for older Moonraker. */
  async updateClient(name: string): Promise<void> {
    await this.ok('machine.update.client', { name });
  }

  private async parsed<T>(schema: z.ZodType<T>, method: string, params?: RpcParams, options?: CallOptions): Promise<T> {
    return parseReply(schema, method, await this.opts.rpc.call(method, params, options));
  }

  private async ok(method: string, params?: RpcParams, options?: CallOptions): Promise<string> {
    return this.parsed(okSchema, method, params, options);
  }
}
