// Public API of the Moonraker adapter.
export type { BridgeBackoff, BridgeClock, BridgeFailureLog, BridgeLogger } from './deps.js';
export { errorText, silentLogger } from './deps.js';
export {
  DEFAULT_GCODE_TIMEOUT_MS,
  DEFAULT_RPC_TIMEOUT_MS,
  JsonRpcPeer,
  METHOD_NOT_FOUND,
  MoonrakerReplyError,
  MoonrakerRpcError,
  RpcAbortedError,
  RpcClosedError,
  RpcMethodError,
  RpcTimeoutError,
  parseReply,
} from './json-rpc.js';
export type { CallOptions, InboundRequestHandler, JsonRpcPeerOptions, RpcParams } from './json-rpc.js';
export { ExtensionMethods } from './extension-methods.js';
export type { ExtensionMethodHandler } from './extension-methods.js';
export { TransportError, connectWebSocket, createWsConnector, websocketUrl } from './ws-transport.js';
export type { RpcSocket, SocketConnector, SocketHandlers, TransportErrorKind, WsTransportOptions } from './ws-transport.js';
export { MoonrakerClient, isUnauthorized } from './moonraker-client.js';
export type { MoonrakerClientEvents, MoonrakerClientOptions } from './moonraker-client.js';
export { PrinterModel, deepEqual, diffFields, filamentSensorsOf, klippyStateOf, mergeDeep } from './printer-model.js';
export type {
  ConnectionState,
  FilamentSensorView,
  HeaterView,
  KlippyState,
  ObjectStatus,
  PrinterModelEvents,
  PrinterModelOptions,
  PrinterSnapshot,
} from './printer-model.js';
export { BASE_SUBSCRIPTION, PRINT_STATES, filamentSensorName, isTemperatureObject } from './printer-objects.js';
export type {
  DisplayStatus,
  FilamentSensorStatus,
  HeatersStatus,
  IdleTimeoutStatus,
  PauseResumeStatus,
  PrintState,
  PrintStatsStatus,
  TemperatureObjectStatus,
  ToolheadStatus,
  VirtualSdcardStatus,
  WebhooksStatus,
} from './printer-objects.js';
export { GcodeError, MoonrakerApi } from './moonraker-api.js';
export type { HistoryListParams, MoonrakerApiEvents, MoonrakerApiOptions, MoonrakerRpc } from './moonraker-api.js';
export type {
  DeleteFileResult,
  DirectoryInfo,
  DiskUsage,
  FileInfo,
  FileMetadata,
  FileRoot,
  FilelistChanged,
  HistoryChanged,
  HistoryJob,
  HistoryList,
  JobQueueChanged,
  JobQueueStatus,
  QueuedJob,
  StatusReply,
  SystemInfo,
  UpdateResponse,
  UpdateStatus,
  Webcam,
} from './api-schemas.js';
export { PowerDevicesApi, powerDeviceSchema } from './power-devices.js';
export type { PowerAction, PowerDevice, PowerDevicesEvents } from './power-devices.js';
export { UploadAbortedError, UploadError, buildMultipart, sha256File, uploadFile } from './file-upload.js';
export type { UploadOptions, UploadProgress, UploadResult } from './file-upload.js';
export { StreamUpload } from './stream-upload.js';
export type { StreamUploadOptions } from './stream-upload.js';
