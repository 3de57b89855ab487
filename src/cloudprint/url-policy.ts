// Pure: which URLs the bridge downloads print files from. https always; http
// only from the Polar server's own host (the emulator on loopback) or hosts the
// config lists. Applied to the first URL and to every redirect.

export interface UrlPolicy {
  serverUrl: string;
  allowHttpHosts: readonly string[];
}

export type UrlCheck = { ok: true; url: URL } | { ok: false; reason: string };

export function checkDownloadUrl(raw: string, policy: UrlPolicy, base?: URL): UrlCheck {
  let url: URL;
  try {
    url = base ? new URL(raw, base) : new URL(raw);
  } catch {
    return { ok: false, reason: 'not a valid URL' };
  }
  if (url.username || url.password) return { ok: false, reason: 'URLs with credentials are not accepted' };
  if (url.protocol === 'https:') return { ok: true, url };
  if (url.protocol !== 'http:') return { ok: false, reason: `${url.protocol} URLs are not accepted (https only)` };
  const host = url.hostname.toLowerCase();
  let serverHost = '';
  try {
    serverHost = new URL(policy.serverUrl).hostname.toLowerCase();
  } catch {
    // An invalid server URL allows nothing extra.
  }
  if (host === serverHost || policy.allowHttpHosts.some((h) => h.toLowerCase() === host)) return { ok: true, url };
  return { ok: false, reason: `plain http from ${host} is not allowed (add it to cloud_print.allow_http_hosts to allow)` };
}
