// Where the bridge may send an HTTP request named by the cloud (camera/timelapse
// upload URLs, print file downloads and their redirects). A hostile cloud must
// not reach the printer's own services: Moonraker reads query arguments on
// POST, so an upload "to" http://127.0.0.1:7125/printer/gcode/script?script=…
// runs G-code. Rules:
//  - production (polar.server_url not on loopback): https, to public unicast
//    addresses only — checked on the URL (IP literals, which Node connects to
//    without a lookup; 0x7f000001 is 127.0.0.1 once parsed) and again on every
//    address DNS returns (the `lookupFor` hook), so a name resolving to
//    127.0.0.1, 10.x, 169.254.169.254, ::ffff:127.0.0.1… is refused;
//  - local testing (server_url on loopback, as the emulator/demo/tests use):
//    http and loopback/private addresses are allowed, but never the configured
//    Moonraker's port on a loopback/unspecified address or on Moonraker's own
//    addresses, nor ports 80/443 on loopback (the front-end's web server
//    proxies Moonraker's API).
// Use: `checkUrl(url)` before each request (and each redirect), and pass
// `lookupFor(url)` as the request's `lookup` option.
import { lookup as dnsLookup, type LookupAddress, type LookupAllOptions, type LookupOneOptions } from 'node:dns';
import { isIP } from 'node:net';

export type AddressClass = 'public' | 'loopback' | 'private' | 'link-local' | 'unspecified' | 'multicast' | 'reserved' | 'translated';

function v4Class(a: number[]): AddressClass {
  const [x, y, z] = a as [number, number, number, number];
  if (x === 0) return 'unspecified';
  if (x === 127) return 'loopback';
  if (x === 10 || (x === 172 && y >= 16 && y <= 31) || (x === 192 && y === 168) || (x === 100 && y >= 64 && y <= 127)) return 'private';
  if (x === 169 && y === 254) return 'link-local';
  if (x >= 224 && x <= 239) return 'multicast';
  if (x >= 240) return 'reserved';
  if ((x === 192 && y === 0 && (z === 0 || z === 2)) || (x === 198 && (y === 18 || y === 19)) || (x === 198 && y === 51 && z === 100) || (x === 203 && y === 0 && z === 113)) return 'reserved';
  return 'public';
}

function parseV4(s: string): number[] | null {
  const parts = s.split('.');
  if (parts.length !== 4) return null;
  const n = parts.map((p) => (/^\d{1,3}$/.test(p) ? Number(p) : NaN));
  return n.every((v) => v >= 0 && v <= 255) ? n : null;
}

/** The 8 16-bit groups of an IPv6 address (a dotted IPv4 tail allowed), or null. */
function parseV6(s: string): number[] | null {
  let text = s.replace(/%.*$/, '');
  const tail = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (tail) {
    const v4 = parseV4(tail[1]!);
    if (!v4) return null;
    text = `${text.slice(0, -tail[1]!.length)}${((v4[0]! << 8) | v4[1]!).toString(16)}:${((v4[2]! << 8) | v4[3]!).toString(16)}`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const head = halves[0] ? halves[0].split(':') : [];
  const rest = halves.length === 2 && halves[1] ? halves[1].split(':') : [];
  const missing = 8 - head.length - rest.length;
  if ((halves.length === 1 && missing !== 0) || missing < 0) return null;
  const groups = [...head, ...Array.from({ length: halves.length === 2 ? missing : 0 }, () => '0'), ...rest];
  const out = groups.map((g) => (/^[0-9a-f]{1,4}$/i.test(g) ? parseInt(g, 16) : NaN));
  return out.length === 8 && out.every((v) => !Number.isNaN(v)) ? out : null;
}

/** What kind of address `addr` (an IP literal, brackets allowed) is; 'reserved' when it is not one. */
export function classifyAddress(addr: string): AddressClass {
  const a = addr.replace(/^\[|\]$/g, '');
  const family = isIP(a);
  if (family === 4) return v4Class(parseV4(a)!);
  if (family !== 6) return 'reserved';
  const g = parseV6(a);
  if (!g) return 'reserved';
  if (g.every((v) => v === 0)) return 'unspecified';
  if (g.slice(0, 7).every((v) => v === 0) && g[7] === 1) return 'loopback';
  // IPv4 inside IPv6 (mapped ::ffff:0:0/96, compatible ::/96, NAT64 64:ff9b::/96, 6to4 2002::/16,
  // Teredo 2001::/32): another address family's rules would apply; never needed for Polar's hosts.
  if (g.slice(0, 5).every((v) => v === 0) && (g[5] === 0xffff || g[5] === 0)) return 'translated';
  if (g[0] === 0x64 && g[1] === 0xff9b) return 'translated';
  if (g[0] === 0x2002 || (g[0] === 0x2001 && g[1] === 0)) return 'translated';
  if ((g[0]! & 0xfe00) === 0xfc00 || (g[0]! & 0xffc0) === 0xfec0) return 'private';
  if ((g[0]! & 0xffc0) === 0xfe80) return 'link-local';
  if ((g[0]! & 0xff00) === 0xff00) return 'multicast';
  if (g[0] === 0x2001 && g[1] === 0xdb8) return 'reserved';
  if ((g[0]! & 0xe000) !== 0x2000) return 'reserved';
  return 'public';
}

/** The embedded IPv4 of an IPv4-mapped IPv6 address (::ffff:a.b.c.d), else the address itself. */
function unmap(addr: string): string {
  const a = addr.replace(/^\[|\]$/g, '');
  if (isIP(a) !== 6) return a;
  const g = parseV6(a);
  if (g && g.slice(0, 5).every((v) => v === 0) && g[5] === 0xffff) return `${g[6]! >> 8}.${g[6]! & 255}.${g[7]! >> 8}.${g[7]! & 255}`;
  return a;
}

export interface AddressGuardOptions {
  /** polar.server_url: on loopback means local testing (emulator, demo, tests). */
  serverUrl: string;
  /** moonraker.url: its port is never reachable on local addresses. */
  moonrakerUrl: string;
  /** Hosts plain http is allowed from in production too (cloud_print.allow_http_hosts); addresses are still checked. */
  httpHosts?: readonly string[];
  /** DNS (tests replace it); default dns.lookup with all: true. */
  resolve?: (host: string) => Promise<LookupAddress[]>;
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;
/** The shape http.request's `lookup` option takes. */
export type GuardedLookup = (hostname: string, options: LookupOneOptions | LookupAllOptions | number, callback: LookupCallback) => void;

export class AddressRefusedError extends Error {
  readonly code = 'EADDRREFUSED_BY_POLICY';
  constructor(message: string) {
    super(message);
    this.name = 'AddressRefusedError';
  }
}

function defaultPort(u: URL): number {
  return u.port ? Number(u.port) : u.protocol === 'https:' ? 443 : 80;
}

function isLoopbackName(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h.endsWith('.localhost') || (isIP(h) !== 0 && classifyAddress(h) === 'loopback');
}

export class AddressGuard {
  /** Local testing: polar.server_url is on loopback. */
  readonly local: boolean;
  private readonly moonraker: { host: string; port: number } | null;
  private readonly resolve: (host: string) => Promise<LookupAddress[]>;
  private moonrakerAddrs: Promise<Set<string>> | null = null;
  private readonly httpHosts: Set<string>;

  constructor(o: AddressGuardOptions) {
    let local = false;
    try {
      local = isLoopbackName(new URL(o.serverUrl).hostname);
    } catch {
      // An invalid server URL: production rules.
    }
    this.local = local;
    let mr: { host: string; port: number } | null = null;
    try {
      const u = new URL(o.moonrakerUrl);
      mr = { host: u.hostname.replace(/^\[|\]$/g, ''), port: defaultPort(u) };
    } catch {
      mr = null;
    }
    this.moonraker = mr;
    this.httpHosts = new Set((o.httpHosts ?? []).map((h) => h.toLowerCase()));
    this.resolve = o.resolve ?? ((host) => new Promise((res, rej) => dnsLookup(host, { all: true, verbatim: true }, (err, addrs) => (err ? rej(err) : res(addrs)))));
  }

  /**
   * Why `raw` must not be requested, or null when it may (the address of a host name is
   * checked again by lookupFor). `what` names the URL in the reason.
   */
  checkUrl(raw: string | URL, what = 'URL'): string | null {
    let u: URL;
    try {
      u = typeof raw === 'string' ? new URL(raw) : raw;
    } catch {
      return `${what} is not a valid URL`;
    }
    if (u.username || u.password) return `${what} carries credentials`;
    const host = u.hostname.replace(/^\[|\]$/g, '');
    const httpOk = u.protocol === 'http:' && (this.local || this.httpHosts.has(host.toLowerCase()));
    if (u.protocol !== 'https:' && !httpOk) return `${what} is not https`;
    if (isIP(host)) return this.checkAddress(host, defaultPort(u), what);
    if (!this.local && isLoopbackName(host)) return `${what} names a loopback host`;
    if (this.local && isLoopbackName(host) && ((this.moonraker && defaultPort(u) === this.moonraker.port) || defaultPort(u) === 80 || defaultPort(u) === 443)) {
      return `${what} names Moonraker or the web server on this host`;
    }
    return null;
  }

  /** Why a connection to `address`:`port` is refused, or null. Synchronous part of the rules. */
  checkAddress(address: string, port: number, what = 'URL'): string | null {
    const a = unmap(address);
    const kind = classifyAddress(a);
    if (!this.local) return kind === 'public' ? null : `${what} resolves to a ${kind} address`;
    if (kind === 'multicast' || kind === 'reserved' || kind === 'translated') return `${what} resolves to a ${kind} address`;
    if (this.moonraker && port === this.moonraker.port && (kind === 'loopback' || kind === 'unspecified' || a === this.moonraker.host)) {
      return `${what} names Moonraker (port ${port})`;
    }
    // Mainsail/Fluidd's web server on this host proxies /printer, /server… to Moonraker.
    if ((kind === 'loopback' || kind === 'unspecified') && (port === 80 || port === 443)) return `${what} names this host's web server (port ${port})`;
    return null;
  }

  /** A `lookup` for http(s).request to `url`: resolves as dns.lookup does, refusing addresses checkAddress refuses. */
  lookupFor(url: string | URL, what = 'URL'): GuardedLookup {
    const port = defaultPort(typeof url === 'string' ? new URL(url) : url);
    return (hostname, options, callback) => {
      const all = typeof options === 'object' && options !== null && (options as LookupAllOptions).all === true;
      const family = typeof options === 'number' ? options : (options as { family?: number } | null)?.family ?? 0;
      void (async () => {
        const found = (await this.resolve(hostname)).filter((x) => !family || x.family === family);
        if (!found.length) throw Object.assign(new Error(`no address for ${hostname}`), { code: 'ENOTFOUND' });
        const mrAddrs = this.local && this.moonraker && port === this.moonraker.port ? await this.moonrakerAddresses() : new Set<string>();
        for (const x of found) {
          const why = this.checkAddress(x.address, port, what) ?? (mrAddrs.has(unmap(x.address)) ? `${what} names Moonraker (port ${port})` : null);
          if (why) throw new AddressRefusedError(why);
        }
        return found;
      })().then(
        (found) => (all ? callback(null, found) : callback(null, found[0]!.address, found[0]!.family)),
        (err: NodeJS.ErrnoException) => callback(err, all ? [] : '', 0),
      );
    };
  }

  private moonrakerAddresses(): Promise<Set<string>> {
    if (!this.moonraker) return Promise.resolve(new Set());
    const host = this.moonraker.host;
    this.moonrakerAddrs ??= (isIP(host) ? Promise.resolve([{ address: host, family: isIP(host) }]) : this.resolve(host))
      .then((list) => new Set(list.map((x) => unmap(x.address))))
      .catch(() => new Set<string>());
    return this.moonrakerAddrs;
  }
}

/** The guard for a bridge config. */
export function addressGuardFor(config: { polar: { server_url: string }; moonraker: { url: string } }, httpHosts: readonly string[] = []): AddressGuard {
  return new AddressGuard({ serverUrl: config.polar.server_url, moonrakerUrl: config.moonraker.url, httpHosts });
}
