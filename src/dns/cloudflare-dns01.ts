import { CloudflareDns } from './cloudflare.ts';
import type { Dns01Challenge, Dns01Provider, Dns01Timing } from './dns01-provider.ts';
import { ProviderEnv } from './env.ts';

/**
 * DNS-01 through Cloudflare's API: the zone by longest suffix, a TXT record created per
 * challenge and deleted by its id afterwards.
 */
export class CloudflareDns01 implements Dns01Provider {
  readonly name = 'cloudflare';
  readonly timing: Dns01Timing;
  private readonly api: CloudflareDns;
  private readonly ttl: number;
  private readonly created = new Map<string, { zoneId: string; id: string }>();

  constructor(api: CloudflareDns, opts: { ttl?: number; timing?: Dns01Timing } = {}) {
    this.api = api;
    this.ttl = opts.ttl ?? 120;
    this.timing = opts.timing ?? {};
  }

  async present(c: Dns01Challenge): Promise<void> {
    const name = c.effectiveFqdn.replace(/\.$/, '');
    const zone = await this.api.findZone(name);
    const rec = await this.api.createRecord(zone.id, { type: 'TXT', name, content: c.value, ttl: this.ttl });
    this.created.set(`${name}|${c.value}`, { zoneId: zone.id, id: rec.id });
  }

  async cleanup(c: Dns01Challenge): Promise<void> {
    const key = `${c.effectiveFqdn.replace(/\.$/, '')}|${c.value}`;
    const rec = this.created.get(key);
    if (!rec) return;
    await this.api.deleteRecord(rec.zoneId, rec.id);
    this.created.delete(key);
  }
}

/**
 * Builds the provider from the environment: `CF_DNS_API_TOKEN` / `_FILE` (checked when the first
 * challenge runs, so only this resolver fails without it), `CLOUDFLARE_TTL`,
 * `CLOUDFLARE_PROPAGATION_TIMEOUT`, `CLOUDFLARE_POLLING_INTERVAL` as lego reads them.
 */
export function createCloudflareDns01(env: NodeJS.ProcessEnv): CloudflareDns01 {
  const e = new ProviderEnv('cloudflare', env);
  return new CloudflareDns01(new CloudflareDns({ env }), {
    ttl: e.integer('CLOUDFLARE_TTL', 120),
    timing: e.timing('CLOUDFLARE'),
  });
}
