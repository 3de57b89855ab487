// Reply and notification shapes of the Moonraker APIs the bridge uses
// (docs/external_api/*.md). Loose objects: fields Moonraker adds later are kept;
// fields the docs mark as optional or slicer-dependent are optional here.
import { z } from 'zod';

const optNum = z.number().nullable().optional();
const optStr = z.string().nullable().optional();

/** Most action endpoints answer the string "ok". */
export const okSchema = z.string();

export const statusReplySchema = z.looseObject({
  eventtime: z.number(),
  status: z.record(z.string(), z.record(z.string(), z.unknown())),
});

export const thumbnailSchema = z.looseObject({
  width: z.number(),
  height: z.number(),
  size: z.number(),
  relative_path: z.string(),
});

export const fileMetadataSchema = z.looseObject({
  filename: z.string().optional(),
  size: z.number(),
  modified: z.number(),
  uuid: optStr,
  slicer: optStr,
  slicer_version: optStr,
  gcode_start_byte: optNum,
  gcode_end_byte: optNum,
  object_height: optNum,
  estimated_time: optNum,
  nozzle_diameter: optNum,
  layer_height: optNum,
  first_layer_height: optNum,
  first_layer_extr_temp: optNum,
  first_layer_bed_temp: optNum,
  chamber_temp: optNum,
  filament_name: optStr,
  filament_type: optStr,
  filament_total: optNum,
  filament_weight_total: optNum,
  thumbnails: z.array(thumbnailSchema).nullable().optional(),
  job_id: optStr,
  print_start_time: optNum,
});

export const fileInfoSchema = z.looseObject({
  path: z.string(),
  modified: z.number(),
  size: z.number(),
  permissions: z.string().optional(),
});
export const fileListSchema = z.array(fileInfoSchema);
/** server.files.roots: every folder Moonraker serves (config, gcodes, logs, …) with its path on disk. */
export const fileRootsSchema = z.array(z.looseObject({ name: z.string(), path: z.string(), permissions: z.string().optional() }));

export const diskUsageSchema = z.looseObject({ total: z.number(), used: z.number(), free: z.number() });

export const directorySchema = z.looseObject({
  dirs: z.array(z.looseObject({ dirname: z.string(), modified: z.number(), size: z.number(), permissions: z.string().optional() })),
  files: z.array(z.looseObject({ filename: z.string(), modified: z.number(), size: z.number(), permissions: z.string().optional() })),
  disk_usage: diskUsageSchema,
  root_info: z.looseObject({ name: z.string(), permissions: z.string() }).optional(),
});

export const fileItemSchema = z.looseObject({
  path: z.string(),
  root: z.string(),
  modified: z.number().optional(),
  size: z.number().optional(),
  permissions: z.string().optional(),
});

export const deleteFileSchema = z.looseObject({ item: fileItemSchema, action: z.string() });

export const historyJobSchema = z.looseObject({
  job_id: z.string(),
  filename: z.string(),
  status: z.string(),
  start_time: z.number(),
  end_time: z.number().nullable(),
  print_duration: z.number(),
  total_duration: z.number(),
  filament_used: z.number(),
  exists: z.boolean().optional(),
  user: z.string().nullable().optional(),
  metadata: z.record(z.string(), z.unknown()).nullable().optional(),
  auxiliary_data: z.array(z.looseObject({ provider: z.string(), name: z.string(), value: z.unknown() })).optional(),
});
export const historyListSchema = z.looseObject({ count: z.number(), jobs: z.array(historyJobSchema) });
export const historyGetJobSchema = z.looseObject({ job: historyJobSchema });

export const queuedJobSchema = z.looseObject({
  filename: z.string(),
  job_id: z.string(),
  time_added: z.number(),
  time_in_queue: z.number(),
});
export const jobQueueStatusSchema = z.looseObject({
  queued_jobs: z.array(queuedJobSchema),
  queue_state: z.string(),
});

export const webcamSchema = z.looseObject({
  name: z.string(),
  location: z.string().optional(),
  service: z.string().optional(),
  enabled: z.boolean().optional(),
  target_fps: z.number().optional(),
  target_fps_idle: z.number().optional(),
  stream_url: z.string().optional(),
  snapshot_url: z.string().optional(),
  flip_horizontal: z.boolean().optional(),
  flip_vertical: z.boolean().optional(),
  rotation: z.number().optional(),
  aspect_ratio: z.string().optional(),
  uid: z.string().optional(),
  source: z.string().optional(),
});
export const webcamListSchema = z.looseObject({ webcams: z.array(webcamSchema) });

export const systemInfoSchema = z.looseObject({
  system_info: z.looseObject({
    provider: z.string().optional(),
    cpu_info: z.record(z.string(), z.unknown()).optional(),
    sd_info: z.record(z.string(), z.unknown()).optional(),
    distribution: z.record(z.string(), z.unknown()).optional(),
    virtualization: z.record(z.string(), z.unknown()).optional(),
    network: z.record(z.string(), z.record(z.string(), z.unknown())).optional(),
    available_services: z.array(z.string()).optional(),
    service_state: z.record(z.string(), z.record(z.string(), z.unknown())).optional(),
    python: z.record(z.string(), z.unknown()).optional(),
  }),
});

export const updaterStatusSchema = z.looseObject({
  name: z.string().optional(),
  configured_type: z.string().optional(),
  version: z.string().optional(),
  remote_version: z.string().optional(),
  rollback_version: z.string().optional(),
  is_valid: z.boolean().optional(),
  is_dirty: z.boolean().optional(),
  corrupt: z.boolean().optional(),
  package_count: z.number().optional(),
});
export const updateStatusSchema = z.looseObject({
  busy: z.boolean(),
  github_rate_limit: z.number().nullable().optional(),
  github_requests_remaining: z.number().nullable().optional(),
  github_limit_reset_time: z.number().nullable().optional(),
  version_info: z.record(z.string(), updaterStatusSchema),
});

// ---- notifications (params are always a positional array) ----

export const historyChangedParams = z.tuple([z.looseObject({ action: z.string(), job: historyJobSchema })]).rest(z.unknown());
export const jobQueueChangedParams = z
  .tuple([z.looseObject({ action: z.string(), updated_queue: z.array(queuedJobSchema).nullable(), queue_state: z.string() })])
  .rest(z.unknown());
export const webcamsChangedParams = z.tuple([webcamListSchema]).rest(z.unknown());
export const filelistChangedParams = z
  .tuple([z.looseObject({ action: z.string(), item: fileItemSchema, source_item: z.looseObject({ path: z.string(), root: z.string() }).optional() })])
  .rest(z.unknown());
export const updateResponseParams = z
  .tuple([z.looseObject({ application: z.string(), proc_id: z.number(), message: z.string(), complete: z.boolean() })])
  .rest(z.unknown());

export type FileMetadata = z.infer<typeof fileMetadataSchema>;
export type FileInfo = z.infer<typeof fileInfoSchema>;
export type FileRoot = z.infer<typeof fileRootsSchema>[number];
export type DirectoryInfo = z.infer<typeof directorySchema>;
export type DiskUsage = z.infer<typeof diskUsageSchema>;
export type DeleteFileResult = z.infer<typeof deleteFileSchema>;
export type HistoryJob = z.infer<typeof historyJobSchema>;
export type HistoryList = z.infer<typeof historyListSchema>;
export type QueuedJob = z.infer<typeof queuedJobSchema>;
export type JobQueueStatus = z.infer<typeof jobQueueStatusSchema>;
export type Webcam = z.infer<typeof webcamSchema>;
export type SystemInfo = z.infer<typeof systemInfoSchema>['system_info'];
export type UpdateStatus = z.infer<typeof updateStatusSchema>;
export type StatusReply = z.infer<typeof statusReplySchema>;
export type HistoryChanged = z.infer<typeof historyChangedParams>[0];
export type JobQueueChanged = z.infer<typeof jobQueueChangedParams>[0];
export type FilelistChanged = z.infer<typeof filelistChangedParams>[0];
export type UpdateResponse = z.infer<typeof updateResponseParams>[0];
