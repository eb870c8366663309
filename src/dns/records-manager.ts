import type { DnsProvider } from './cloudflare.ts';
import type { Logger } from '../lib/logger.ts';

/** The host's identity, from the static config's `edge` section. */
export interface HostIdentity {
  machineName: string;
  baseDomain: string;
  publicIPv4?: string;
  publicIPv6?: string;
}

/** What one ensure call did, per record name and type. */
export interface RecordChange {
  name: string;
  type: 'A' | 'AAAA';
  action: 'created' | 'updated' | 'unchanged';
  content: string;
}

/**
 * DNS automation (`edge.dns.provider: cloudflare`): A/AAAA for `{machine}.{base}`,
 * `*.{machine}.{base}` and, per repository, `*.{repo}.{machine}.{base}`, all pointing at the host's
 * public addresses. Idempotent: missing records are created, changed ones updated, equal ones
 * left alone (no write at all), extra duplicates untouched.
 */
export class DnsRecordsManager {
  private readonly provider: DnsProvider;
  private readonly log: Logger | undefined;
  private readonly ttl: number;
  private readonly proxied: boolean | undefined;
  private identity: HostIdentity | undefined;
  private readonly ensuredRepos = new Set<string>();

  constructor(opts: { provider: DnsProvider; logger?: Logger; ttl?: number; proxied?: boolean }) {
    this.provider = opts.provider;
    this.log = opts.logger;
    this.ttl = opts.ttl ?? 1;
    this.proxied = opts.proxied;
  }

  /**
   * Ensures the host's own records; remembers the identity for {@link ensureRepository}. A new
   * identity (the public address changed) makes every repository's records due again.
   */
  async ensureHostRecords(id: HostIdentity): Promise<RecordChange[]> {
    if (!sameIdentity(this.identity, id)) this.ensuredRepos.clear();
    this.identity = id;
    const host = `${id.machineName}.${id.baseDomain}`.toLowerCase();
    return this.ensureNames([host, `*.${host}`], id);
  }

  /**
   * Ensures `*.{repo}.{machine}.{base}`; a repository already ensured in this process is skipped
   * (its first container is what triggers this).
   */
  async ensureRepository(repo: string): Promise<RecordChange[]> {
    const id = this.identity;
    if (!id) throw new Error('ensureHostRecords must run before ensureRepository');
    const key = repo.toLowerCase();
    if (this.ensuredRepos.has(key)) return [];
    const changes = await this.ensureNames([`*.${key}.${id.machineName}.${id.baseDomain}`.toLowerCase()], id);
    this.ensuredRepos.add(key);
    return changes;
  }

  private async ensureNames(names: string[], id: HostIdentity): Promise<RecordChange[]> {
    const wanted: { type: 'A' | 'AAAA'; content: string }[] = [];
    if (id.publicIPv4) wanted.push({ type: 'A', content: id.publicIPv4 });
    if (id.publicIPv6) wanted.push({ type: 'AAAA', content: id.publicIPv6 });
    const changes: RecordChange[] = [];
    for (const name of names) {
      const zone = await this.provider.findZone(name);
      for (const w of wanted) {
        const existing = await this.provider.listRecords(zone.id, { type: w.type, name });
        const record = {
          type: w.type,
          name,
          content: w.content,
          ttl: this.ttl,
          ...(this.proxied !== undefined ? { proxied: this.proxied } : {}),
        };
        if (existing.some((r) => r.content === w.content)) {
          changes.push({ name, type: w.type, action: 'unchanged', content: w.content });
        } else if (existing[0]) {
          await this.provider.updateRecord(zone.id, existing[0].id, record);
          changes.push({ name, type: w.type, action: 'updated', content: w.content });
          this.log?.info({ name, type: w.type, from: existing[0].content, to: w.content }, 'dns record updated');
        } else {
          await this.provider.createRecord(zone.id, record);
          changes.push({ name, type: w.type, action: 'created', content: w.content });
          this.log?.info({ name, type: w.type, content: w.content }, 'dns record created');
        }
      }
    }
    return changes;
  }
}

function sameIdentity(a: HostIdentity | undefined, b: HostIdentity): boolean {
  return (
    a !== undefined &&
    a.machineName === b.machineName &&
    a.baseDomain === b.baseDomain &&
    a.publicIPv4 === b.publicIPv4 &&
    a.publicIPv6 === b.publicIPv6
  );
}
