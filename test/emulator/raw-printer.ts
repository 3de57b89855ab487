// A raw socket.io printer for driving the emulator in tests: sends whatever
// it is told and queues what the cloud sends, per event name.
import { createSign, generateKeyPairSync } from 'node:crypto';
import { io, type Socket } from 'socket.io-client';
import { after, before, beforeEach } from 'node:test';
import { startPolarEmulator, type PolarEmulator } from '../../src/emulator/index.js';

export interface Keys {
  publicKey: string;
  privateKey: string;
}

export function makeKeys(bits = 2048, publicType: 'spki' | 'pkcs1' = 'spki'): Keys {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', {
    modulusLength: bits,
    publicKeyEncoding: { type: publicType, format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  return { publicKey, privateKey };
}

export function sign(privateKey: string, challenge: string): string {
  const s = createSign('RSA-SHA256');
  s.update(challenge, 'utf8');
  return s.sign(privateKey, 'base64');
}

export class RawPrinter {
  readonly socket: Socket;
  private readonly inbox = new Map<string, unknown[]>();
  private readonly waiters = new Map<string, ((p: unknown) => void)[]>();
  challenge = '';
  readonly disconnects: string[] = [];

  constructor(url: string, opts: { reconnection?: boolean; transports?: string[] } = {}) {
    this.socket = io(url, {
      transports: opts.transports ?? ['websocket'],
      reconnection: opts.reconnection ?? false,
      reconnectionDelay: 50,
      reconnectionDelayMax: 100,
      forceNew: true,
      timeout: 2000,
    });
    this.socket.onAny((event: string, ...args: unknown[]) => {
      if (event === 'welcome') {
        const p = args[0] as { challenge?: unknown };
        if (typeof p?.challenge === 'string') this.challenge = p.challenge;
      }
      const payload = args.length === 1 ? args[0] : args;
      const waiting = this.waiters.get(event);
      if (waiting && waiting.length > 0) (waiting.shift() as (p: unknown) => void)(payload);
      else this.inbox.set(event, [...(this.inbox.get(event) ?? []), payload]);
    });
    this.socket.on('disconnect', (reason) => this.disconnects.push(reason));
  }

  /** The next (queued or future) payload of `event`. */
  next(event: string, timeoutMs = 3000): Promise<unknown> {
    const queued = this.inbox.get(event);
    if (queued && queued.length > 0) return Promise.resolve(queued.shift());
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        const list = this.waiters.get(event) ?? [];
        this.waiters.set(event, list.filter((w) => w !== done));
        reject(new Error(`no '${event}' within ${timeoutMs} ms`));
      }, timeoutMs);
      const done = (p: unknown): void => {
        clearTimeout(timer);
        resolve(p);
      };
      this.waiters.set(event, [...(this.waiters.get(event) ?? []), done]);
    });
  }

  /** Payloads of `event` received and not yet taken. */
  pending(event: string): unknown[] {
    return [...(this.inbox.get(event) ?? [])];
  }

  emit(event: string, ...args: unknown[]): void {
    this.socket.emit(event, ...args);
  }

  /** Waits for the welcome challenge of the current connection. */
  async welcome(timeoutMs = 3000): Promise<string> {
    const p = (await this.next('welcome', timeoutMs)) as { challenge: string };
    return p.challenge;
  }

  waitDisconnect(timeoutMs = 3000): Promise<string> {
    return new Promise((resolve, reject) => {
      if (!this.socket.connected && this.disconnects.length > 0) return resolve(this.disconnects[this.disconnects.length - 1]);
      const timer = setTimeout(() => reject(new Error('no disconnect')), timeoutMs);
      this.socket.once('disconnect', (reason) => {
        clearTimeout(timer);
        resolve(reason);
      });
    });
  }

  close(): void {
    this.socket.disconnect();
  }
}

/** Connects, registers with `keys` and `mac`, and returns the serial (the socket stays open). */
export async function register(emu: PolarEmulator, keys: Keys, mac = '02:00:00:00:00:01', extra: Record<string, unknown> = {}): Promise<string> {
  const p = new RawPrinter(emu.url);
  try {
    await p.welcome();
    p.emit('register', { mfg: 'kl', email: 'owner@example.com', pin: '1234', publicKey: keys.publicKey, myInfo: { MAC: mac }, ...extra });
    const res = (await p.next('registerResponse')) as { status: string; serialNumber?: string; reason?: string };
    if (res.status !== 'SUCCESS' || !res.serialNumber) throw new Error(`register failed: ${JSON.stringify(res)}`);
    return res.serialNumber;
  } finally {
    p.close();
  }
}

/** Connects and says a valid hello; resolves once the cloud answered SUCCESS. */
export async function connectAuthenticated(emu: PolarEmulator, serialNumber: string, keys: Keys): Promise<RawPrinter> {
  const p = new RawPrinter(emu.url);
  const challenge = await p.welcome();
  p.emit('hello', { serialNumber, signature: sign(keys.privateKey, challenge), protocol: '2', MAC: '02:00:00:00:00:01' });
  const res = (await p.next('helloResponse')) as { status: string };
  if (res.status !== 'SUCCESS') {
    p.close();
    throw new Error(`hello failed: ${JSON.stringify(res)}`);
  }
  return p;
}

export interface RegisteredSuite {
  readonly emu: PolarEmulator;
  /** Serial of the printer registered (with `keys`) before each test. */
  readonly serial: string;
  /** Closes `p` after the test. */
  track<T extends RawPrinter>(p: T): T;
}

/**
 * Installs the hooks most emulator suites share: one emulator for the suite,
 * reset and a freshly registered printer before each test, sockets closed after.
 */
export function registeredSuite(keys: Keys): RegisteredSuite {
  let emu: PolarEmulator | undefined;
  let serial = '';
  const printers: RawPrinter[] = [];
  before(async () => {
    emu = await startPolarEmulator();
  });
  beforeEach(async () => {
    for (const p of printers.splice(0)) p.close();
    emu!.control.reset();
    serial = await register(emu!, keys);
  });
  after(async () => {
    for (const p of printers.splice(0)) p.close();
    await emu?.stop();
  });
  return {
    get emu() {
      if (!emu) throw new Error('emulator not started yet (use inside a test)');
      return emu;
    },
    get serial() {
      return serial;
    },
    track: (p) => (printers.push(p), p),
  };
}
