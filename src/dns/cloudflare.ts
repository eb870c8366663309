import { readFileSync } from 'node:fs';
import Cloudflare from 'cloudflare';
import { BerthError, ErrorCodes, errorMessage } from '../lib/errors.ts';

/** A DNS record as berth manages it. */
export interface DnsRecord {
  id: string;
  type: string;
  name: string;
  content: string;
  ttl?: number;
  proxied?: boolean;
}

/** The DNS operations berth needs from a provider (ACME DNS-01 and host records). */
export interface DnsProvider {
  /** The zone that holds `name` (longest matching suffix). */
  findZone(name: string): Promise<{ id: string; name: string }>;
  listRecords(zoneId: string, filter: { type?: string; name?: string }): Promise<DnsRecord[]>;
  createRecord(zoneId: string, record: Omit<DnsRecord, 'id'>): Promise<DnsRecord>;
  updateRecord(zoneId: string, id: string, record: Omit<DnsRecord, 'id'>): Promise<DnsRecord>;
  deleteRecord(zoneId: string, id: string): Promise<void>;
}

/** Options for {@link CloudflareDns}. */
export interface CloudflareDnsOptions {
  /** Environment to read `CF_DNS_API_TOKEN`, `CF_DNS_API_TOKEN_FILE`, `CLOUDFLARE_BASE_URL` from. */
  env?: NodeJS.ProcessEnv;
  token?: string;
  baseURL?: string;
  /** Retries the SDK makes itself on 429/5xx (it honours Retry-After). */
  maxRetries?: number;
  timeoutMs?: number;
}

/** Reads the API token: `CF_DNS_API_TOKEN`, else the file named by `CF_DNS_API_TOKEN_FILE`. */
export function cloudflareToken(env: NodeJS.ProcessEnv): string {
  const direct = env['CF_DNS_API_TOKEN'];
  if (direct?.trim()) return direct.trim();
  const file = env['CF_DNS_API_TOKEN_FILE'];
  if (file) {
    try {
      const t = readFileSync(file, 'utf8').trim();
      if (t) return t;
    } catch (err) {
      throw new BerthError(
        ErrorCodes.DNS_PROVIDER,
        `cloudflare: cannot read CF_DNS_API_TOKEN_FILE ${file}: ${errorMessage(err)}`,
        { cause: err },
      );
    }
    throw new BerthError(ErrorCodes.DNS_PROVIDER, `cloudflare: CF_DNS_API_TOKEN_FILE ${file} is empty`);
  }
  throw new BerthError(
    ErrorCodes.DNS_PROVIDER,
    'cloudflare: no API token: set CF_DNS_API_TOKEN or CF_DNS_API_TOKEN_FILE (a token with Zone:Read and DNS:Edit)',
  );
}

/**
 * Cloudflare DNS through the official SDK. The API base URL follows the SDK's
 * `CLOUDFLARE_BASE_URL` (how tests point it at an emulator). Every failure is a `BerthError`
 * (DNS_PROVIDER) carrying the SDK error as cause, so callers can read its status and Retry-After.
 */
export class CloudflareDns implements DnsProvider {
  private readonly client: Cloudflare;
  private readonly zones = new Map<string, { id: string; name: string }>();

  constructor(opts: CloudflareDnsOptions = {}) {
    const env = opts.env ?? process.env;
    const baseURL = opts.baseURL ?? env['CLOUDFLARE_BASE_URL'];
    this.client = new Cloudflare({
      apiToken: opts.token ?? cloudflareToken(env),
      // Only the token authenticates: never pick up global-key variables from the environment.
      apiKey: null,
      apiEmail: null,
      userServiceKey: null,
      ...(baseURL ? { baseURL } : {}),
      maxRetries: opts.maxRetries ?? 2,
      timeout: opts.timeoutMs ?? 30_000,
    });
  }

  async findZone(name: string): Promise<{ id: string; name: string }> {
    const labels = name.toLowerCase().replace(/\.$/, '').split('.');
    for (let i = 0; i < labels.length - 1; i++) {
      const candidate = labels.slice(i).join('.');
      const cached = this.zones.get(candidate);
      if (cached) return cached;
      const page = await this.call(`find zone ${candidate}`, () => this.client.zones.list({ name: candidate }));
      const zone = page.result.find((z) => z.name === candidate);
      if (zone) {
        const found = { id: zone.id, name: zone.name };
        this.zones.set(candidate, found);
        return found;
      }
    }
    throw new BerthError(ErrorCodes.DNS_PROVIDER, `cloudflare: no zone for ${name} is visible to the API token`);
  }

  async listRecords(zoneId: string, filter: { type?: string; name?: string }): Promise<DnsRecord[]> {
    const out: DnsRecord[] = [];
    const params = {
      zone_id: zoneId,
      per_page: 100,
      ...(filter.type ? { type: filter.type as 'A' } : {}),
      ...(filter.name ? { name: { exact: filter.name } } : {}),
    };
    let page = await this.call('list records', () => this.client.dns.records.list(params));
    for (;;) {
      for (const r of page.result) out.push(toRecord(r));
      if (!page.hasNextPage()) break;
      page = await this.call('list records', () => page.getNextPage());
    }
    return out;
  }

  async createRecord(zoneId: string, record: Omit<DnsRecord, 'id'>): Promise<DnsRecord> {
    const r = await this.call(`create ${record.type} ${record.name}`, () =>
      this.client.dns.records.create({ zone_id: zoneId, ...recordFields(record) }),
    );
    return toRecord(r);
  }

  async updateRecord(zoneId: string, id: string, record: Omit<DnsRecord, 'id'>): Promise<DnsRecord> {
    const r = await this.call(`update ${record.type} ${record.name}`, () =>
      this.client.dns.records.edit(id, { zone_id: zoneId, ...recordFields(record) }),
    );
    return toRecord(r);
  }

  async deleteRecord(zoneId: string, id: string): Promise<void> {
    await this.call(`delete record ${id}`, () => this.client.dns.records.delete(id, { zone_id: zoneId }));
  }

  private async call<T>(what: string, fn: () => PromiseLike<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      const status = err instanceof Cloudflare.APIError ? err.status : undefined;
      const hint =
        status === 403 || status === 401 ? ' (token rejected: it needs Zone:Read and DNS:Edit on this zone)' : '';
      throw new BerthError(
        ErrorCodes.DNS_PROVIDER,
        `cloudflare: ${what} failed${status ? ` with HTTP ${status}` : ''}: ${errorMessage(err)}${hint}`,
        { cause: err },
      );
    }
  }
}

function toRecord(r: unknown): DnsRecord {
  const o = r as Record<string, unknown>;
  const rec: DnsRecord = {
    id: String(o['id']),
    type: String(o['type']),
    name: String(o['name']),
    content: String(o['content']),
  };
  if (typeof o['ttl'] === 'number') rec.ttl = o['ttl'];
  if (typeof o['proxied'] === 'boolean') rec.proxied = o['proxied'];
  return rec;
}

/**
 * Milliseconds a failed call asks us to wait (`Retry-After` of a 429/503 anywhere in the cause
 * chain), or undefined.
 */
export function retryAfterMs(err: unknown): number | undefined {
  for (let e: unknown = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const headers = (e as { headers?: unknown }).headers;
    const v = headers instanceof Headers ? headers.get('retry-after') : undefined;
    if (v) {
      const secs = Number(v);
      if (Number.isFinite(secs)) return Math.max(0, secs * 1000);
      const at = Date.parse(v);
      if (Number.isFinite(at)) return Math.max(0, at - Date.now());
    }
    if (typeof (e as { retryAfterMs?: unknown }).retryAfterMs === 'number')
      return (e as { retryAfterMs: number }).retryAfterMs;
  }
  return undefined;
}

/** The fields Cloudflare takes for a new or edited record (TTL 1 is Cloudflare's "automatic"). */
function recordFields(record: Omit<DnsRecord, 'id'>) {
  return {
    type: record.type as 'A',
    name: record.name,
    content: record.content,
    ttl: record.ttl ?? 1,
    ...(record.proxied !== undefined ? { proxied: record.proxied } : {}),
  };
}
