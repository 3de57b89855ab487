// Public types of the Polar Cloud emulator: what tests and the CLI see through
// `control` (programmatic) and `/control/...` (HTTP/JSON).

export type EmulatorEventKind =
  | 'connect' // a socket.io connection was accepted
  | 'refused' // a connection attempt was refused (refuseConnections)
  | 'disconnect' // a socket went away (reason says why)
  | 'in' // printer -> cloud message (also the invalid ones)
  | 'out' // cloud -> printer message
  | 'violation' // the printer broke the protocol; see `reason`
  | 'upload' // an S3 POST was accepted
  | 'upload-rejected' // an S3 POST was refused (reason: S3 error code + message)
  | 'download'; // a print file was requested (reason: outcome)

export interface EmulatorEvent {
  /** 1-based, strictly increasing for the emulator's lifetime (also across reset()). */
  seq: number;
  /** Wall time (the `now` option) in ms. */
  time: number;
  kind: EmulatorEventKind;
  socketId?: string;
  serialNumber?: string;
  /** Event name for in/out; HTTP path for upload/download. */
  name?: string;
  /** Payload as sent/received, with `pin` and `private` masked. */
  payload?: unknown;
  reason?: string;
}

export type EventPredicate = (e: EmulatorEvent) => boolean;

export const REGISTER_FAILURE_REASONS = [
  'SERVER_ERROR',
  'MFG_MISSING',
  'MFG_UNKNOWN',
  'EMAIL_PIN_ERROR',
  'FORBIDDEN',
  'INVALID_KEY',
] as const;
export type RegisterFailureReason = (typeof REGISTER_FAILURE_REASONS)[number];

/** How the next makeKeyPair requests are answered. */
export type KeyPairBehavior = 'normal' | 'fail' | 'mismatch';

/** How refused connections are turned away. */
export type RefuseMode =
  /** engine.io rejects the HTTP handshake/upgrade (client sees a transport error and retries by itself). */
  | 'http'
  /** socket.io middleware rejects the namespace connect (client gets connect_error). */
  | 'middleware';

export interface PrinterInfo {
  serialNumber: string;
  mac: string;
  email: string;
  mfg: string;
  mfgSn?: string;
  publicKey: string;
  deleted: boolean;
  /** Some open socket has registered as or said hello for this serial. */
  connected: boolean;
  /** Some open socket passed hello for this serial. */
  authenticated: boolean;
  /** Number of open sockets authenticated for this serial. */
  connections: number;
  /** Last valid hello payload, without the signature. */
  hello?: Record<string, unknown>;
  /** Last status payload as received. */
  lastStatus?: unknown;
  statusCount: number;
  customCommandList?: unknown;
  /** The same list under the key the live cloud reads (absent if the printer sent only customCommandList). */
  commandList?: unknown;
  version?: { runningVersion: string; latestVersion?: string };
  /** Every `job` report, in order. */
  jobReports: unknown[];
  /** Every `commandResponse.response`, in order. */
  commandResponses: string[];
}

export interface AddPrinterSpec {
  publicKey: string;
  mac?: string;
  email?: string;
  mfg?: string;
}

/** A job added to a printer's queue. Exactly one of content / size / url (default: size 64 KiB). */
export interface AddJobSpec {
  jobId?: string;
  jobName?: string;
  owner?: string;
  ownerPhotoFile?: string;
  imageFile?: string;
  imageThumbnailFile?: string;
  /** false = queued but not ready (e.g. reslicing): hidden from getQueue and sendNextPrint. */
  ready?: boolean;
  /** Inline file content served at /files/<fileName>. */
  content?: string | Uint8Array;
  /** Generated deterministic G-code of exactly this many bytes, streamed (never held in memory). */
  size?: number;
  /** External URL put in gcodeFile as is (nothing served by the emulator). */
  url?: string;
  /** Name under /files/ (default `<jobId>.gcode`). */
  fileName?: string;
  /** Merged over the generated `print` payload (e.g. to send stlFile, or drop gcodeFile with undefined). */
  printFields?: Record<string, unknown>;
}

export interface QueuedJobInfo {
  jobId: string;
  jobName?: string;
  owner?: string;
  ownerPhotoFile?: string;
  imageFile?: string;
  imageThumbnailFile?: string;
  ready: boolean;
  /** What `print` carries in gcodeFile. */
  gcodeUrl: string;
  /** Name under /files/ when the emulator serves the file. */
  fileName?: string;
  /** How many times a `print` was sent for this job. */
  printsSent: number;
  state: 'queued' | 'completed';
}

export type FileFault =
  /** 404 NoSuchKey. */
  | { kind: 'notFound' }
  /** Full Content-Length, then the connection is closed after `afterBytes` body bytes. */
  | { kind: 'truncate'; afterBytes: number }
  /** Sends `afterBytes` body bytes, then nothing (connection stays open until the client gives up). */
  | { kind: 'stall'; afterBytes: number }
  /** Advertises `contentLength` instead of the real length, sends the real body, then closes. */
  | { kind: 'wrongLength'; contentLength: number }
  /** Answers with this HTTP status and an S3-style XML error. */
  | { kind: 'status'; status: number }
  /** Sends the whole file, but no faster than `bytesPerSecond` (a slow school network). */
  | { kind: 'slow'; bytesPerSecond: number };

export interface PrintFileInfo {
  name: string;
  size: number;
  generated: boolean;
  url: string;
  fault?: FileFault;
  /** Requests the fault still applies to (undefined = until cleared). */
  faultTimes?: number;
}

export interface UploadRecord {
  seq: number;
  time: number;
  bucket: string;
  key: string;
  contentType: string;
  size: number;
  sha256: string;
  /** Bytes, kept only for uploads up to 4 MiB (and while the total kept stays bounded). */
  body?: Buffer;
  serialNumber?: string;
  type?: string;
  jobId?: string;
}

export interface UrlOptions {
  /** Seconds the URL stays valid (default: idle/printing 86400, timelapse 3600). */
  expires?: number;
  /** Largest accepted upload (default: images 300000, timelapse 100 MB). */
  maxSize?: number;
  /** Answer getUrl with FAILED (string = the message). */
  fail?: boolean | string;
  /** A hostile cloud: this URL instead of the emulator's S3 endpoint (fields still signed for it). */
  url?: string;
}

/** An S3 outage: uploads are answered with this error instead of being checked and stored. */
export interface UploadFault {
  /** HTTP status, e.g. 503. */
  status: number;
  /** S3 error code (default: ServiceUnavailable for 503, InternalError otherwise). */
  code?: string;
  message?: string;
}

export interface EmulatorControl {
  /** Sends `event` to every socket authenticated as `serialNumber`; payload defaults to `{serialNumber}`. Returns sockets reached. */
  send(serialNumber: string, event: string, payload?: unknown): number;
  /** Sends `event` with exactly these arguments (none, several, non-objects: for malformed-message tests). */
  sendRaw(serialNumber: string, event: string, args: unknown[]): number;
  /** Closes the transport without a socket.io disconnect packet (client sees 'transport close' and reconnects). */
  dropConnections(serialNumber?: string): number;
  /** Server-side socket.disconnect(true) (client sees 'io server disconnect'). */
  disconnect(serialNumber?: string): number;
  /** Drops every socket and refuses new ones for `ms` (default: until acceptConnections()). */
  refuseConnections(ms?: number, mode?: RefuseMode): void;
  acceptConnections(): void;
  failNextHellos(n: number): void;
  /** The next `n` hellos get no helloResponse at all (an overloaded cloud); the socket stays open. */
  ignoreNextHellos(n: number): void;
  failNextRegister(reason: RegisterFailureReason): void;
  setKeyPairBehavior(behavior: KeyPairBehavior): void;
  /** Marks the printer deleted, sends `delete` to it if connected; later hellos get DELETED. */
  deletePrinter(serialNumber: string): boolean;
  /** Registers a printer directly (no socket), e.g. for a client that already has a key. */
  addPrinter(spec: AddPrinterSpec): PrinterInfo;
  printers(): PrinterInfo[];
  printer(serialNumber: string): PrinterInfo | undefined;
  queue(serialNumber: string): QueuedJobInfo[];
  /** Completed jobs, oldest first. */
  history(serialNumber: string): QueuedJobInfo[];
  addJob(serialNumber: string, job?: AddJobSpec): QueuedJobInfo;
  removeJob(serialNumber: string, jobId: string): boolean;
  /** Serves a file at /files/<name> (inline content or generated size); returns its info. */
  addFile(name: string, source: { content: string | Uint8Array } | { size: number }): PrintFileInfo;
  /** Sets (or clears with null) a fault on a served file, for the next `times` requests (default: all). */
  faultFile(name: string, fault: FileFault | null, times?: number): void;
  files(): PrintFileInfo[];
  uploads(): UploadRecord[];
  setUrlOptions(options: UrlOptions): void;
  /** Answers the next `times` S3 uploads (default: all, until cleared with null) with `fault`. */
  faultUploads(fault: UploadFault | null, times?: number): void;
  /** Events with seq > since (default: all kept). */
  events(since?: number): EmulatorEvent[];
  violations(since?: number): EmulatorEvent[];
  /** seq of the newest event (0 if none): pass as `since` to wait only for later events. */
  lastSeq(): number;
  /** First event with seq > since (default 0) matching, past or future; rejects after timeoutMs (default 5000). */
  waitFor(predicate: EventPredicate, timeoutMs?: number, since?: number): Promise<EmulatorEvent>;
  /** Forgets printers, jobs, files, uploads, events and faults; disconnects every socket. */
  reset(): void;
}
