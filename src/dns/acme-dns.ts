import { chmod, mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { request } from 'undici';
import { writeFileAtomic } from '../lib/atomic-file.ts';
import { errorMessage } from '../lib/errors.ts';
import type { Logger } from '../lib/logger.ts';
import type { Dns01Challenge, Dns01Provider, Dns01Timing } from './dns01-provider.ts';
import { ProviderEnv } from './env.ts';

/** An acme-dns account, as lego (goacmedns) stores it per domain. */
export interface AcmeDnsAccount {
  fulldomain: string;
  subdomain: string;
  username: string;
  password: string;
  server_url?: string;
  allowfrom?: string[];
}

/** Settings of {@link AcmeDnsProvider} (lego's `ACME_DNS_*`). */
export interface AcmeDnsOptions {
  readonly apiBase: URL;
  /** JSON file of accounts by domain, shared format with lego's (`ACME_DNS_STORAGE_PATH`). */
  readonly storagePath: string;
  readonly timing: Dns01Timing;
}

/** Reads `ACME_DNS_API_BASE` and `ACME_DNS_STORAGE_PATH` (both required). */
export function acmeDnsOptions(env: ProviderEnv): AcmeDnsOptions {
  const base = env.require('ACME_DNS_API_BASE', 'the acme-dns server URL');
  let apiBase: URL;
  try {
    apiBase = new URL(base);
  } catch {
    throw env.error(`ACME_DNS_API_BASE "${base}" is not a URL`);
  }
  return {
    apiBase,
    storagePath: env.require('ACME_DNS_STORAGE_PATH', 'the JSON file that keeps the acme-dns accounts'),
    timing: env.timing('ACME_DNS'),
  };
}

/**
 * acme-dns (CNAME delegation): `_acme-challenge.<domain>` is a CNAME to a name the acme-dns server
 * owns, and the TXT value is set through its API with per-domain credentials. A domain without an
 * account gets one registered and stored, and that first challenge fails with the CNAME to
 * create, as lego does; once the CNAME exists, the next attempt succeeds. Cleanup is nothing:
 * acme-dns keeps the two latest values itself.
 */
export class AcmeDnsProvider implements Dns01Provider {
  readonly name = 'acme-dns';
  readonly timing: Dns01Timing;
  private readonly opts: AcmeDnsOptions;
  private readonly log: Logger | undefined;
  /** Serialises read-modify-write of the storage file. */
  private saving: Promise<void> = Promise.resolve();

  constructor(opts: AcmeDnsOptions, log?: Logger) {
    this.opts = opts;
    this.log = log;
    this.timing = opts.timing;
  }

  async present(c: Dns01Challenge): Promise<void> {
    const accounts = await this.load();
    const account = accounts[c.domain];
    if (!account) {
      const created = await this.register();
      await this.save(c.domain, created);
      this.log?.warn(
        { domain: c.domain, cname: `${c.fqdn} CNAME ${created.fulldomain}.` },
        'acme-dns account registered; the CNAME must be created before the challenge can succeed',
      );
      throw new Error(
        `acme-dns: new account created for ${c.domain}; create the DNS record "${c.fqdn} CNAME ${created.fulldomain}." and the next attempt will succeed`,
      );
    }
    const res = await this.call(
      '/update',
      { subdomain: account.subdomain, txt: c.value },
      { 'x-api-user': account.username, 'x-api-key': account.password },
    );
    if (res.status !== 200)
      throw new Error(
        `acme-dns: update for ${c.domain} answered ${res.status}${res.status === 401 ? ' (the stored credentials are not accepted)' : ''}: ${res.text}`,
      );
  }

  async cleanup(): Promise<void> {
    // acme-dns keeps the latest two values per subdomain; there is nothing to remove.
  }

  private async register(): Promise<AcmeDnsAccount> {
    const res = await this.call('/register', {}, {});
    if (res.status !== 201 && res.status !== 200)
      throw new Error(`acme-dns: registration answered ${res.status}: ${res.text}`);
    let a: Partial<AcmeDnsAccount>;
    try {
      a = JSON.parse(res.text) as Partial<AcmeDnsAccount>;
    } catch {
      throw new Error('acme-dns: registration answer is not JSON');
    }
    if (!a.fulldomain || !a.subdomain || !a.username || !a.password)
      throw new Error('acme-dns: registration answer lacks fulldomain, subdomain, username or password');
    return {
      fulldomain: a.fulldomain,
      subdomain: a.subdomain,
      username: a.username,
      password: a.password,
      server_url: this.opts.apiBase.href.replace(/\/$/, ''),
      allowfrom: a.allowfrom ?? [],
    };
  }

  private async call(
    path: string,
    body: unknown,
    headers: Record<string, string>,
  ): Promise<{ status: number; text: string }> {
    const url = new URL(this.opts.apiBase);
    url.pathname = url.pathname.replace(/\/?$/, path);
    try {
      const res = await request(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify(body),
        headersTimeout: 30_000,
        bodyTimeout: 30_000,
      });
      return { status: res.statusCode, text: (await res.body.text()).slice(0, 2000) };
    } catch (err) {
      throw new Error(`acme-dns: POST ${url.origin}${url.pathname} failed: ${errorMessage(err)}`, { cause: err });
    }
  }

  private async load(): Promise<Record<string, AcmeDnsAccount>> {
    let text: string;
    try {
      text = await readFile(this.opts.storagePath, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
      throw new Error(`acme-dns: cannot read ${this.opts.storagePath}: ${errorMessage(err)}`, { cause: err });
    }
    if (text.trim() === '') return {};
    try {
      const parsed = JSON.parse(text) as unknown;
      if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed))
        throw new Error('not an object of accounts by domain');
      return parsed as Record<string, AcmeDnsAccount>;
    } catch (err) {
      throw new Error(`acme-dns: ${this.opts.storagePath} is not valid: ${errorMessage(err)}`, { cause: err });
    }
  }

  private save(domain: string, account: AcmeDnsAccount): Promise<void> {
    const next = this.saving.then(async () => {
      const all = await this.load();
      all[domain] = account;
      await mkdir(dirname(this.opts.storagePath), { recursive: true, mode: 0o700 });
      await writeFileAtomic(this.opts.storagePath, JSON.stringify(all, null, 2), 0o600);
      await chmod(this.opts.storagePath, 0o600);
    });
    this.saving = next.catch(() => undefined);
    return next;
  }
}

/** Builds the provider from the environment. */
export function createAcmeDnsProvider(env: NodeJS.ProcessEnv, log?: Logger): AcmeDnsProvider {
  return new AcmeDnsProvider(acmeDnsOptions(new ProviderEnv('acme-dns', env)), log);
}
