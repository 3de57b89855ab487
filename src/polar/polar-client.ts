// The long-running link to the Polar Cloud: connect, answer the welcome
// challenge with a signed hello, stay online, and reconnect forever with
// capped exponential backoff. Cloud commands for our serial are validated and
// handed to the features; nothing is sent to the cloud before hello SUCCESS.
import type { Logger } from '../util/log.js';
import { monoNow, type Clock, type TimerHandle } from '../util/clock.js';
import { Backoff, FailureLog } from '../util/backoff.js';
import { TypedEmitter } from '../util/typed-emitter.js';
import { errText } from '../util/log.js';
import type { IdentityStore } from '../identity/identity-store.js';
import { signChallenge } from '../identity/keys.js';
import { PolarConnection, UnknownEvents } from './connection.js';
import { CLOUD_COMMANDS, type CloudCommandName, type CloudToPrinter, type PrinterCommandName, type PrinterToCloud } from './messages.js';
import type { TransportFactory } from './transport.js';

export type PolarClientState =
  | 'stopped'
  /** No serial number: waiting for registration (CLI, macro or config). */
  | 'unregistered'
  /** The cloud deleted this printer: no cloud traffic until registered again. */
  | 'deleted'
  | 'connecting'
  | 'authenticating'
  | 'online'
  /** Waiting before the next connection attempt. */
  | 'backoff';

/** Extra hello fields other features provide (network, camera, versions). */
export type HelloInfo = Omit<PrinterToCloud['hello'], 'serialNumber' | 'signature' | 'protocol'>;

export interface PolarClientOptions {
  serverUrl: string;
  identity: IdentityStore;
  transportFactory: TransportFactory;
  clock: Clock;
  log: Logger;
  helloInfo: () => HelloInfo;
  backoff?: Backoff;
  /** Wire log: every message in and out at debug level (secrets masked). */
  wire?: boolean;
  /** Minimum wait after a FAILED hello, so a bad key never loops hot. */
  failedHelloDelayMs?: number;
  /** How often to look for a new registration while unregistered/deleted. */
  identityPollMs?: number;
  /**
   * From starting a connection to hello SUCCESS (default 30 s). A cloud that accepts the
   * socket but never sends welcome or never answers hello must not hold the bridge offline.
   */
  handshakeTimeoutMs?: number;
}

export interface PolarClientEvents {
  state: { state: PolarClientState; detail: string };
  online: { serialNumber: string };
  offline: { reason: string };
  deleted: { reason: string };
  /** A connection attempt failed before hello SUCCESS, or hello was rejected (the CLI reports it at once). */
  problem: { reason: string };
}

const LINK_LOST_LOG_MS = 5 * 60_000;

const REGISTRATION_MESSAGES = new Set<CloudCommandName>(['welcome', 'helloResponse', 'registerResponse', 'keyPair']);

export class PolarClient {
  readonly events = new TypedEmitter<PolarClientEvents>();
  private readonly handlers = new Map<CloudCommandName, Set<(m: never) => void>>();
  private conn: PolarConnection | undefined;
  private st: PolarClientState = 'stopped';
  private serial: string | undefined;
  private timer: TimerHandle | undefined;
  private handshakeTimer: TimerHandle | undefined;
  /** Why we closed the connection ourselves during the handshake (reported instead of the transport's reason). */
  private handshakeFailure: string | undefined;
  private helloFailed = false;
  private problem: string | undefined;
  private linkLostLoggedAt = -Infinity;
  private linkLostSuppressed = 0;
  private backoff: Backoff;
  /** Unknown event names from the cloud: logged once each, then counted. */
  readonly unknownEvents: UnknownEvents;
  private failures: FailureLog;
  /** Its own rate limit: a rejected key must not hide behind a flapping link's warnings. */
  private helloFailures: FailureLog;

  constructor(private readonly o: PolarClientOptions) {
    this.backoff = o.backoff ?? new Backoff({ initialMs: 1000, maxMs: 120_000 });
    this.unknownEvents = new UnknownEvents(o.log);
    this.failures = new FailureLog(o.log, 'Polar Cloud connection', 5 * 60_000, () => monoNow(o.clock));
    this.helloFailures = new FailureLog(o.log, 'Polar Cloud hello', 5 * 60_000, () => monoNow(o.clock));
  }

  get state(): PolarClientState {
    return this.st;
  }

  get serialNumber(): string | undefined {
    return this.serial;
  }

  get online(): boolean {
    return this.st === 'online';
  }

  /** Why the last attempt to get online failed (cleared once online), for answers like "not connected (…)". */
  get lastProblem(): string | undefined {
    return this.problem;
  }

  start(): void {
    if (this.st !== 'stopped') return;
    this.connect();
  }

  stop(): void {
    this.setState('stopped', 'stopped');
    this.o.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.clearHandshakeTimer();
    this.dropConnection();
  }

  /** Registers a handler for a cloud command addressed to us (called only while online). */
  onCommand<K extends CloudCommandName>(name: K, handler: (m: CloudToPrinter[K]) => void): () => void {
    let set = this.handlers.get(name);
    if (!set) this.handlers.set(name, (set = new Set()));
    set.add(handler as (m: never) => void);
    return () => set.delete(handler as (m: never) => void);
  }

  /** Sends a command if online; returns false (and sends nothing) otherwise. */
  send<K extends PrinterCommandName>(name: K, payload: PrinterToCloud[K]): boolean {
    if (!this.online || !this.conn) return false;
    return this.conn.send(name, payload);
  }

  /** Sends a request and waits for its reply on the current authenticated connection. */
  async request<K extends PrinterCommandName, R extends CloudCommandName>(
    name: K,
    payload: PrinterToCloud[K],
    reply: R,
    timeoutMs: number,
    accept?: (m: CloudToPrinter[R]) => boolean,
  ): Promise<CloudToPrinter[R]> {
    const conn = this.conn;
    if (!this.online || !conn) throw new Error('not connected to Polar Cloud');
    const pending = conn.next(reply, timeoutMs, accept);
    conn.send(name, payload);
    return pending;
  }

  /** Asks the cloud to unregister this printer; forgets the serial on success. */
  async unregister(timeoutMs: number): Promise<void> {
    const serialNumber = this.serial;
    if (!serialNumber || !this.online) throw new Error('not connected to Polar Cloud as a registered printer');
    const res = await this.request('unregister', { serialNumber }, 'unregisterResponse', timeoutMs);
    if (res.status !== 'SUCCESS') throw new Error(`Polar Cloud refused to unregister: ${res.message ?? 'no reason given'}`);
    await this.forgetSerial('unregistered', `unregistered ${serialNumber} from Polar Cloud`);
  }

  /** Picks up a registration made elsewhere (CLI, macro) without waiting for the poll. */
  async reloadIdentity(): Promise<void> {
    await this.o.identity.load();
    const serial = this.o.identity.serialFor(this.o.serverUrl);
    if (serial && (this.st === 'unregistered' || this.st === 'deleted')) {
      this.o.clock.clearTimeout(this.timer);
      this.connect();
    } else if (serial !== this.serial && this.conn) {
      // A different identity now: start over with it.
      this.dropConnection();
      this.connect();
    }
  }

  // ------------------------------------------------------------ internals

  private connect(): void {
    this.timer = undefined;
    const serial = this.o.identity.serialFor(this.o.serverUrl);
    if (!serial || !this.o.identity.hasKey) {
      if (this.st !== 'deleted') this.setState('unregistered', 'not registered with Polar Cloud yet');
      this.pollIdentity();
      return;
    }
    this.serial = serial;
    this.setState('connecting', `connecting to ${this.o.serverUrl}`);
    const conn = new PolarConnection(this.o.transportFactory(this.o.serverUrl), this.o.log, this.o.clock, this.o.wire ?? false, this.unknownEvents);
    this.conn = conn;
    conn.messages.on('welcome', ({ challenge }) => this.onWelcome(conn, serial, challenge));
    conn.messages.on('helloResponse', (m) => void this.onHelloResponse(conn, serial, m));
    for (const name of CLOUD_COMMANDS) {
      if (REGISTRATION_MESSAGES.has(name)) continue;
      conn.messages.on(name, (m) => this.dispatch(conn, serial, name, m));
    }
    conn.events.on('close', ({ reason, serverInitiated }) => this.onClose(conn, reason, serverInitiated));
    this.clearHandshakeTimer();
    const limit = this.o.handshakeTimeoutMs ?? 30_000;
    this.handshakeTimer = this.o.clock.setTimeout(() => {
      this.handshakeTimer = undefined;
      if (conn !== this.conn || this.st === 'online') return;
      this.handshakeFailure = `no ${this.st === 'authenticating' ? 'answer to hello' : 'welcome'} from Polar Cloud within ${Math.round(limit / 1000)} s`;
      conn.close();
      // socket.io reports no close for a socket that never finished connecting: handle it here.
      if (conn === this.conn) this.onClose(conn, this.handshakeFailure, false);
    }, limit);
    conn.open();
  }

  private clearHandshakeTimer(): void {
    this.o.clock.clearTimeout(this.handshakeTimer);
    this.handshakeTimer = undefined;
  }

  private onWelcome(conn: PolarConnection, serial: string, challenge: string): void {
    if (conn !== this.conn) return;
    let signature: string;
    try {
      signature = signChallenge(this.o.identity.getPrivateKey(), challenge);
    } catch (err) {
      this.o.log.error(`cannot sign the welcome challenge: ${errText(err)}`);
      conn.close();
      return;
    }
    this.setState('authenticating', 'sent hello');
    conn.send('hello', { ...this.o.helloInfo(), serialNumber: serial, signature, protocol: '2' });
  }

  private async onHelloResponse(conn: PolarConnection, serial: string, m: CloudToPrinter['helloResponse']): Promise<void> {
    if (conn !== this.conn) return;
    if (m.status === 'SUCCESS') {
      this.clearHandshakeTimer();
      this.backoff.reset();
      this.helloFailed = false;
      this.problem = undefined;
      this.failures.success(`connected to Polar Cloud as ${serial}`);
      this.helloFailures.success(`hello accepted again for ${serial}`);
      this.setState('online', `online as ${serial}`);
      this.o.log.info(`hello accepted: online as ${serial}`);
      this.events.emit('online', { serialNumber: serial });
    } else if (m.status === 'FAILED') {
      this.helloFailed = true;
      const reason = `hello rejected (${m.message ?? 'no reason given'}); the key may not match the one registered for ${serial}`;
      this.helloFailures.failure(reason);
      this.noteProblem(reason);
      conn.close();
    } else {
      this.o.log.error(
        `Polar Cloud says printer ${serial} was deleted or never registered${m.message ? ` (${m.message})` : ''}. ` +
          'Cloud traffic stopped; register again (polarcloud register, or POLAR_REGISTER in the console).',
      );
      await this.forgetSerial('deleted', `deleted by Polar Cloud`);
    }
  }

  private dispatch(conn: PolarConnection, serial: string, name: CloudCommandName, m: unknown): void {
    if (conn !== this.conn) return;
    const target = (m as { serialNumber?: unknown }).serialNumber;
    if (typeof target === 'string' && target !== serial) {
      this.o.log.warn(`ignored '${name}' for serial ${target} (this printer is ${serial})`);
      return;
    }
    if (!this.online) {
      this.o.log.debug(`ignored '${name}' before hello succeeded`);
      return;
    }
    if (name === 'delete') {
      this.o.log.warn(`Polar Cloud deleted printer ${serial}; cloud traffic stopped until it is registered again`);
      void this.forgetSerial('deleted', 'deleted from Polar Cloud');
      return;
    }
    for (const h of this.handlers.get(name) ?? []) {
      try {
        (h as (x: unknown) => void)(m);
      } catch (err) {
        this.o.log.error(`'${name}' handler failed: ${(err as Error).stack ?? String(err)}`);
      }
    }
  }

  private onClose(conn: PolarConnection, reason: string, serverInitiated: boolean): void {
    if (conn !== this.conn) return;
    this.conn = undefined;
    this.clearHandshakeTimer();
    if (this.handshakeFailure !== undefined) reason = this.handshakeFailure;
    this.handshakeFailure = undefined;
    const wasOnline = this.st === 'online';
    if (this.st === 'stopped' || this.st === 'deleted' || this.st === 'unregistered') return;
    if (wasOnline) {
      this.logLinkLost(serverInitiated ? 'closed by server' : reason);
      this.events.emit('offline', { reason });
    } else if (!this.helloFailed) {
      this.failures.failure(reason);
      this.noteProblem(`cannot connect to ${this.o.serverUrl}: ${reason}`);
    }
    let delay = this.backoff.next();
    if (this.helloFailed) delay = Math.max(delay, this.o.failedHelloDelayMs ?? 30_000);
    this.setState('backoff', `reconnecting in ${Math.round(delay / 1000)} s`);
    this.timer = this.o.clock.setTimeout(() => this.connect(), delay);
  }

  /** A flapping link is one warning per LINK_LOST_LOG_MS with a count, not one per drop (the SD card). */
  private logLinkLost(reason: string): void {
    const t = monoNow(this.o.clock);
    if (t - this.linkLostLoggedAt >= LINK_LOST_LOG_MS) {
      const more = this.linkLostSuppressed > 0 ? `; lost ${this.linkLostSuppressed} more times in the last ${Math.round((t - this.linkLostLoggedAt) / 60_000)} min` : '';
      this.o.log.warn(`lost Polar Cloud connection (${reason})${more}`);
      this.linkLostLoggedAt = t;
      this.linkLostSuppressed = 0;
    } else {
      this.linkLostSuppressed++;
      this.o.log.debug(`lost Polar Cloud connection (${reason})`);
    }
  }

  private async forgetSerial(state: 'deleted' | 'unregistered', detail: string): Promise<void> {
    this.serial = undefined;
    this.dropConnection();
    // The file first, then the state: whoever sees 'deleted' also sees no serial on disk.
    try {
      await this.o.identity.clearSerial();
    } catch (err) {
      this.o.log.error(`could not update the identity file: ${errText(err)}`);
    }
    this.setState(state, detail);
    if (state === 'deleted') this.events.emit('deleted', { reason: detail });
    this.pollIdentity();
  }

  private pollIdentity(): void {
    if (this.st === 'stopped') return;
    this.o.clock.clearTimeout(this.timer);
    this.timer = this.o.clock.setTimeout(() => {
      this.timer = undefined;
      this.reloadIdentity().catch((err) => {
        this.o.log.debug(`identity reload failed: ${errText(err)}`);
        this.pollIdentity();
      }).then(() => {
        if ((this.st === 'unregistered' || this.st === 'deleted') && !this.timer) this.pollIdentity();
      });
    }, this.o.identityPollMs ?? 10_000);
  }

  private dropConnection(): void {
    const conn = this.conn;
    this.conn = undefined;
    conn?.close();
  }

  private noteProblem(reason: string): void {
    this.problem = reason;
    this.events.emit('problem', { reason });
  }

  private setState(state: PolarClientState, detail: string): void {
    if (this.st === state) return;
    this.st = state;
    this.o.log.debug(`state: ${state} (${detail})`);
    this.events.emit('state', { state, detail });
  }
}
