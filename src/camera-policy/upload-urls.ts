// Pre-signed S3 POST URLs from the cloud (getUrl), cached per type and jobId
// and renewed before they expire; a URL S3 refused as expired is dropped.
// A URL the address guard refuses (not https, loopback/private/Moonraker) is
// never cached or used; the cloud's `expires` is capped at MAX_URL_LIFE_S.
import type { PolarClient } from '../polar/polar-client.js';
import type { CloudToPrinter } from '../polar/messages.js';
import { monoNow, type Clock } from '../util/clock.js';
import type { Logger } from '../util/log.js';
import type { AddressGuard } from '../net/address-guard.js';

/** Longest time a cloud-given upload URL is reused (s), whatever `expires` says. */
export const MAX_URL_LIFE_S = 3600;

export type UploadType = 'idle' | 'printing' | 'timelapse';
export type UploadUrl = Extract<CloudToPrinter['getUrlResponse'], { status: 'SUCCESS' }>;

interface Entry {
  url: UploadUrl;
  /** ms: renew after this. */
  /** Monotonic ms (a wall-clock jump must not keep an expired URL). */
  renewAt: number;
}

export class UploadUrlCache {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly polar: PolarClient,
    private readonly clock: Clock,
    private readonly replyTimeoutMs: number,
    private readonly guard?: AddressGuard,
    private readonly log?: Logger,
  ) {}

  /** The `lookup` to pass to the upload's request (checks every address DNS returns). */
  lookupFor(url: UploadUrl): ReturnType<AddressGuard['lookupFor']> | undefined {
    return this.guard?.lookupFor(url.url, 'the upload URL');
  }

  private key(type: UploadType, jobId?: string): string {
    return `${type}:${jobId ?? ''}`;
  }

  /** A URL valid for a while yet: cached, or freshly requested. Throws with the cloud's reason on FAILED. */
  async get(type: UploadType, jobId?: string): Promise<UploadUrl> {
    const k = this.key(type, jobId);
    const hit = this.entries.get(k);
    if (hit && monoNow(this.clock) < hit.renewAt) return hit.url;
    const serialNumber = this.polar.serialNumber;
    if (!serialNumber || !this.polar.online) throw new Error('not connected to Polar Cloud');
    const res = await this.polar.request(
      'getUrl',
      { serialNumber, method: 'post', type, ...(jobId ? { jobId } : {}) },
      'getUrlResponse',
      this.replyTimeoutMs,
      (m) => m.type === type && (m.status === 'FAILED' || !jobId || m.jobId === undefined || m.jobId === jobId),
    );
    if (res.status !== 'SUCCESS') throw new Error(`Polar Cloud refused an upload URL (${type}): ${res.message ?? 'no reason given'}`);
    const refused = this.guard?.checkUrl(res.url, 'the upload URL');
    if (refused) {
      this.log?.warn(`upload URL from Polar Cloud refused (${type}): ${refused}`);
      throw new Error(`Polar Cloud sent an upload URL this printer does not use (${refused})`);
    }
    // Renew a minute early (or a tenth of the lifetime for short ones) so a slow upload never starts on an expiring URL.
    const lifeMs = Math.min(res.expires, MAX_URL_LIFE_S) * 1000;
    const margin = Math.min(60_000, lifeMs / 10);
    this.entries.set(k, { url: res, renewAt: monoNow(this.clock) + lifeMs - margin });
    return res;
  }

  /** S3 said the policy expired (or refused it): ask again next time. */
  invalidate(type: UploadType, jobId?: string): void {
    this.entries.delete(this.key(type, jobId));
  }

  /** Drops every URL of other jobs (the job changed). */
  keepOnlyJob(jobId: string | null): void {
    for (const k of [...this.entries.keys()]) {
      const [, id] = k.split(':');
      if (id && id !== jobId) this.entries.delete(k);
    }
  }

  clear(): void {
    this.entries.clear();
  }
}
