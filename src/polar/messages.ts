// Every Polar Cloud protocol 2.0 command, both directions, as runtime schemas
// with their TypeScript types. The client validates what the cloud sends and
// the emulator validates what printers send, both against these definitions.
// Where real clients differ from the protocol text, the differences are noted.
import { z } from 'zod';
import { JOB_ID_PATTERN } from '../util/safe-path.js';

const str = z.string();
const serial = z.string().min(1).max(128);
const int = z.number().int();
const finite = z.number().finite();

/** Temperatures may arrive as numbers or numeric strings; anything else is rejected. */
const temperatureValue = z.union([
  finite,
  z
    .string()
    .regex(/^\s*-?\d{1,4}(\.\d+)?\s*$/, 'must be a number')
    .transform((s) => Number(s)),
]);

// ---------------------------------------------------------------- cloud -> printer

export const welcomeSchema = z.object({ challenge: z.string().min(1).max(4096) });
export const helloResponseSchema = z.object({
  status: z.enum(['SUCCESS', 'FAILED', 'DELETED']),
  message: str.optional(),
});
export const registerReasons = ['SUCCESS', 'SERVER_ERROR', 'MFG_MISSING', 'MFG_UNKNOWN', 'EMAIL_PIN_ERROR', 'FORBIDDEN', 'INVALID_KEY'] as const;
export const registerResponseSchema = z.object({
  status: z.enum(['SUCCESS', 'FAILED']),
  serialNumber: str.optional(),
  // Unknown reasons are kept as text so a newer cloud does not break registration errors.
  reason: z.union([z.enum(registerReasons), z.string().max(200)]).optional(),
  message: str.optional(),
});
export const keyPairSchema = z.object({
  status: z.enum(['SUCCESS', 'FAILED']).optional(),
  public: z.string().max(8192).optional(),
  private: z.string().max(16384).optional(),
  message: str.optional(),
});
export const unregisterResponseSchema = z.object({
  serialNumber: str.optional(),
  status: z.enum(['SUCCESS', 'FAILED']),
  message: str.optional(),
});
export const capabilitiesResponseSchema = z.object({
  serialNumber: serial,
  capabilities: z.array(z.string().max(200)).max(100),
});
export const cancelSchema = z.object({ serialNumber: serial });
export const deleteSchema = z.object({ serialNumber: serial });
export const resumeSchema = z.object({ serialNumber: serial });
export const updateSchema = z.object({ serialNumber: serial });
export const connectPrinterSchema = z.object({ serialNumber: serial });
export const pauseSchema = z.object({
  serialNumber: serial,
  type: z.enum(['pause', 'cold', 'filament']).default('pause'),
});
export const commandSchema = z.object({ serialNumber: serial, command: z.string().max(65536) });
/** The protocol text says `customCommand`; its example uses `command`. Both are accepted. */
export const customCommandSchema = z
  .object({
    serialNumber: serial,
    customCommand: z.string().min(1).max(1024).optional(),
    command: z.string().min(1).max(1024).optional(),
  })
  .refine((m) => m.customCommand !== undefined || m.command !== undefined, 'customCommand (or command) is required')
  .transform((m) => ({ serialNumber: m.serialNumber, customCommand: (m.customCommand ?? m.command) as string }));
const url = z.string().min(1).max(4096);
/**
 * What Polar sends as a jobId ([A-Za-z0-9_-], bounded). A jobId names files and folders
 * (timelapse frames, downloads): ".." or "a/b" once made a cleanup delete the data folder.
 */
export const jobIdString = z.string().regex(JOB_ID_PATTERN, 'must be 1-128 letters, digits, _ or -');
export const printSchema = z.object({
  serialNumber: serial,
  jobId: jobIdString,
  gcodeFile: url.optional(),
  stlFile: url.optional(),
  threemfFile: url.optional(),
  configFile: url.optional(),
  imageFile: url.optional(),
  imageThumbnailFile: url.optional(),
  jobName: z.string().max(1024).optional(),
  /** Real cloud: names the field holding the file to print (gcodeFile, stlFile, threemfFile). */
  fileToPrint: z.enum(['gcodeFile', 'stlFile', 'threemfFile']).optional(),
});
/**
 * Each field on its own: a bad value (or an unusable tool key) is listed in `ignored` and
 * the valid fields still apply (a whole command was once dropped for one bad field).
 */
export const temperatureSchema = z
  .object({ serialNumber: serial })
  .catchall(z.unknown())
  .transform((m) => {
    const tools: Record<number, number> = {};
    const ignored: string[] = [];
    let bed: number | undefined;
    let chamber: number | undefined;
    for (const [k, v] of Object.entries(m)) {
      if (k === 'serialNumber' || v === undefined) continue;
      const tool = /^tool(\d{1,2})$/.exec(k);
      if (k !== 'bed' && k !== 'chamber' && !tool) {
        if (/^tool/i.test(k)) ignored.push(k.slice(0, 32));
        continue;
      }
      const parsed = temperatureValue.safeParse(v);
      if (!parsed.success) ignored.push(k);
      else if (k === 'bed') bed = parsed.data;
      else if (k === 'chamber') chamber = parsed.data;
      else tools[Number(tool![1])] = parsed.data;
    }
    return { serialNumber: m.serialNumber, bed, chamber, tools, ignored };
  });
const queueJob = z.object({
  jobId: str,
  jobName: str.optional(),
  imageFile: str.optional(),
  imageThumbnailFile: str.optional(),
  owner: str.optional(),
  ownerPhotoFile: str.optional(),
});
export const getQueueResponseSchema = z.object({
  serialNumber: serial,
  totalCount: int,
  skip: int.optional(),
  limit: int.optional(),
  jobCount: int.optional(),
  jobs: z.array(queueJob).max(10000),
});
export const getUrlResponseSchema = z.discriminatedUnion('status', [
  z.object({
    status: z.literal('SUCCESS'),
    serialNumber: serial.optional(),
    type: z.enum(['idle', 'printing', 'timelapse']),
    jobId: str.optional(),
    expires: z.number().nonnegative(),
    maxSize: z.number().int().positive(),
    contentType: str,
    method: str.optional(),
    url: url,
    fields: z.record(z.string(), z.string()),
  }),
  z.object({ status: z.literal('FAILED'), serialNumber: serial.optional(), type: str.optional(), message: str.optional() }),
]);
export const sendNextPrintResponseSchema = z.object({
  serialNumber: serial,
  status: z.enum(['NONE', 'FAILED']),
  message: str.optional(),
});
/** Undocumented; the body is OctoPrint's printhead/tool API object (jog, home, extrude). */
export const jogPrinterSchema = z.object({
  serialNumber: serial,
  jogPrinter: z
    .object({
      command: z.string().max(32),
      x: finite.optional(),
      y: finite.optional(),
      z: finite.optional(),
      absolute: z.boolean().optional(),
      speed: finite.optional(),
      axes: z.array(z.string().max(4)).max(4).optional(),
      amount: finite.optional(),
    })
    .loose(),
});

export const cloudToPrinterSchemas = {
  welcome: welcomeSchema,
  helloResponse: helloResponseSchema,
  registerResponse: registerResponseSchema,
  keyPair: keyPairSchema,
  unregisterResponse: unregisterResponseSchema,
  capabilitiesResponse: capabilitiesResponseSchema,
  cancel: cancelSchema,
  delete: deleteSchema,
  resume: resumeSchema,
  update: updateSchema,
  /** The protocol's heading says `connect`; real clients listen for `connectPrinter`. */
  connectPrinter: connectPrinterSchema,
  pause: pauseSchema,
  command: commandSchema,
  customCommand: customCommandSchema,
  print: printSchema,
  temperature: temperatureSchema,
  getQueueResponse: getQueueResponseSchema,
  getUrlResponse: getUrlResponseSchema,
  sendNextPrintResponse: sendNextPrintResponseSchema,
  jogPrinter: jogPrinterSchema,
} as const;

export type CloudCommandName = keyof typeof cloudToPrinterSchemas;
export type CloudToPrinter = { [K in CloudCommandName]: z.output<(typeof cloudToPrinterSchemas)[K]> };
export const CLOUD_COMMANDS = Object.keys(cloudToPrinterSchemas) as CloudCommandName[];

// ---------------------------------------------------------------- printer -> cloud

const optInt01 = z.union([z.literal(0), z.literal(1)]).optional();
export const helloSchema = z.object({
  serialNumber: serial,
  signature: z.string().min(1),
  MAC: str.optional(),
  /** The text says "2.0"; real clients send "2". */
  protocol: z.enum(['2', '2.0']),
  mfgSn: str.optional(),
  printerMake: str.optional(),
  machineType: str.optional(),
  version: str.optional(),
  localIP: str.optional(),
  rotateImg: optInt01,
  transformImg: z.number().int().min(0).max(7).optional(),
  camOff: optInt01,
  camUrl: str.optional(),
});
export const registerSchema = z.object({
  mfg: z.string().min(1),
  email: z.string().min(1),
  pin: z.string().min(1),
  publicKey: z.string().min(1),
  mfgSn: str.optional(),
  myInfo: z.object({ MAC: z.string().min(1) }).loose(),
});
export const makeKeyPairSchema = z.object({ type: z.literal('RSA'), bits: z.literal(2048) });
export const unregisterSchema = z.object({ serialNumber: serial });
export const capabilitiesSchema = z.object({ serialNumber: serial });
export const commandResponseSchema = z.object({ serialNumber: serial, response: str });
export const customCommandEntry = z.object({
  label: z.string().min(1),
  command: z.string().min(1),
  helpText: str.optional(),
  confirmText: str.optional(),
});
/**
 * The document names the list `customCommandList`; Polar staff said (OctoPrint-PolarCloud #37)
 * the live cloud reads `commandList`. Printers send both; when both are there they must agree.
 */
export const customCommandListSchema = z
  .object({ serialNumber: serial, customCommandList: z.array(customCommandEntry), commandList: z.array(customCommandEntry).optional() })
  .refine((m) => m.commandList === undefined || JSON.stringify(m.commandList) === JSON.stringify(m.customCommandList), {
    message: 'commandList must be the same list as customCommandList',
    path: ['commandList'],
  });
export const getQueueSchema = z.object({ serialNumber: serial, skip: int.nonnegative().optional(), limit: int.nonnegative().optional() });
export const getUrlSchema = z
  .object({ serialNumber: serial, method: z.literal('post'), type: z.enum(['idle', 'printing', 'timelapse']), jobId: str.optional() })
  .refine((m) => m.type === 'idle' || (m.jobId !== undefined && m.jobId.length > 0), {
    message: 'jobId is required for printing and timelapse URLs',
    path: ['jobId'],
  });
export const jobSchema = z.object({
  serialNumber: serial,
  jobId: z.string().min(1),
  state: z.enum(['completed', 'canceled']),
  printSeconds: int.nonnegative().optional(),
  filamentUsed: int.nonnegative().optional(),
});
export const sendNextPrintSchema = z.object({ serialNumber: serial, jobId: str.optional() });
export const setVersionSchema = z.object({ serialNumber: serial, runningVersion: z.string().min(1), latestVersion: str.optional() });
export const POLAR_STATUS = {
  READY: 0,
  SERIAL: 1,
  PREPARING: 2,
  PRINTING: 3,
  PAUSED: 4,
  POSTPROCESSING: 5,
  CANCELING: 6,
  COMPLETE: 7,
  UPDATING: 8,
  COLD_PAUSE: 9,
  CHANGING_FILAMENT: 10,
  TCP_IP: 11,
  ERROR: 12,
  DISCONNECTED: 13,
  DOOR_OPEN: 14,
  CLEAR_BUILD_PLATE: 15,
} as const;
export const statusSchema = z.object({
  serialNumber: serial,
  status: z.number().int().min(0).max(15),
  progress: str.optional(),
  progressDetail: str.optional(),
  estimatedTime: int.nonnegative().optional(),
  filamentUsed: int.nonnegative().optional(),
  startTime: str.optional(),
  printSeconds: int.nonnegative().optional(),
  bytesRead: int.nonnegative().optional(),
  fileSize: int.nonnegative().optional(),
  tool0: finite.optional(),
  tool1: finite.optional(),
  tool2: finite.optional(),
  tool3: finite.optional(),
  bed: finite.optional(),
  chamber: finite.optional(),
  targetTool0: finite.optional(),
  targetTool1: finite.optional(),
  targetTool2: finite.optional(),
  targetTool3: finite.optional(),
  targetBed: finite.optional(),
  targetChamber: finite.optional(),
  door: z.number().int().min(0).max(3).optional(),
  jobId: str.optional(),
  file: str.optional(),
  config: str.optional(),
});

export const printerToCloudSchemas = {
  hello: helloSchema,
  register: registerSchema,
  makeKeyPair: makeKeyPairSchema,
  unregister: unregisterSchema,
  capabilities: capabilitiesSchema,
  commandResponse: commandResponseSchema,
  customCommandList: customCommandListSchema,
  getQueue: getQueueSchema,
  getUrl: getUrlSchema,
  job: jobSchema,
  sendNextPrint: sendNextPrintSchema,
  setVersion: setVersionSchema,
  status: statusSchema,
} as const;

export type PrinterCommandName = keyof typeof printerToCloudSchemas;
export type PrinterToCloud = { [K in PrinterCommandName]: z.input<(typeof printerToCloudSchemas)[K]> };
export const PRINTER_COMMANDS = Object.keys(printerToCloudSchemas) as PrinterCommandName[];

// ---------------------------------------------------------------- validation

export type Validated<T> = { ok: true; value: T } | { ok: false; reason: string };

/** Formats zod issues as `path: message; path: message`. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((i) => `${i.path.length ? i.path.join('.') : '(message)'}: ${i.message}`)
    .join('; ');
}

export function validateCloudCommand<K extends CloudCommandName>(name: K, payload: unknown): Validated<CloudToPrinter[K]> {
  const res = cloudToPrinterSchemas[name].safeParse(payload);
  return res.success ? { ok: true, value: res.data as CloudToPrinter[K] } : { ok: false, reason: describeIssues(res.error) };
}

export function validatePrinterCommand<K extends PrinterCommandName>(name: K, payload: unknown): Validated<z.output<(typeof printerToCloudSchemas)[K]>> {
  const res = printerToCloudSchemas[name].safeParse(payload);
  return res.success
    ? { ok: true, value: res.data as z.output<(typeof printerToCloudSchemas)[K]> }
    : { ok: false, reason: describeIssues(res.error) };
}
