import { Backoff } from '../lib/backoff.ts';
import { diagError, type Diagnostic } from '../lib/diagnostics.ts';
import { errorMessage } from '../lib/errors.ts';
import type { Logger } from '../lib/logger.ts';
import { retryAfterMs, type DnsProvider } from './cloudflare.ts';
import { DnsRecordsManager, type HostIdentity } from './records-manager.ts';

/** What `/health` shows of DNS automation. */
export interface DnsAutomationState {
  /** `ok`: every wanted record is in place; `pending`: work in progress; `failing`: the last attempt failed and a retry is scheduled. */
  readonly status: 'ok' | 'pending' | 'failing';
  readonly publicIPv4?: string;
  readonly publicIPv6?: string;
  /** Record names in place for the current addresses. */
  readonly records: readonly string[];
  /** Record names still to create or update. */
  readonly pending: readonly string[];
  /** Consecutive failed attempts. */
  readonly failures: number;
  readonly error?: string;
  readonly nextAttemptAt?: string;
  readonly lastSuccessAt?: string;
}

/** Options of {@link DnsAutomation}. */
export interface DnsAutomationOptions {
  /** Builds the provider; called again after a failure until it succeeds (a token file may appear later). */
  readonly provider: () => DnsProvider;
  readonly identity: HostIdentity;
  readonly ttl?: number;
  readonly proxied?: boolean;
  readonly logger: Logger;
  /** Retry delays (default 1 s doubling up to 5 min); `Retry-After` is honoured when longer. */
  readonly backoff?: Backoff;
}

/**
 * DNS automation (SPEC §7) as a lifecycle: the host's records (`{machine}.{base}`,
 * `*.{machine}.{base}`) and one wildcard per repository that has a running container, kept in place
 * until they are. A failure — Cloudflare down, a token not valid yet — is retried with capped
 * backoff, forever; a new public address (SIGHUP) updates every record. Routing never waits on it.
 */
export class DnsAutomation {
  /** The name `/health` shows it under. */
  readonly name = 'dns';
  readonly #opts: DnsAutomationOptions;
  readonly #backoff: Backoff;
  #identity: HostIdentity;
  #manager: DnsRecordsManager | undefined;
  readonly #repositories = new Set<string>();
  /** Names in place for `#identity`. */
  readonly #done = new Set<string>();
  #running: Promise<void> | undefined;
  #again = false;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;
  #failures = 0;
  #error: string | undefined;
  #nextAttemptAt: number | undefined;
  #lastSuccessAt: number | undefined;
  #idle: (() => void)[] = [];

  constructor(opts: DnsAutomationOptions) {
    this.#opts = opts;
    this.#identity = opts.identity;
    this.#backoff = opts.backoff ?? new Backoff(1000, 300_000);
  }

  /** Starts ensuring the host's records. */
  start(): void {
    this.#kick();
  }

  /** The repositories with a running container; each gets its wildcard (once per address). */
  setRepositories(repos: readonly string[]): void {
    let added = false;
    for (const r of repos) {
      const k = r.toLowerCase();
      if (!this.#repositories.has(k)) {
        this.#repositories.add(k);
        added = true;
      }
    }
    if (added) this.#kick();
  }

  /** A new identity (the static file re-read): every record is due again when the addresses changed. */
  setIdentity(id: HostIdentity): void {
    const a = this.#identity;
    if (
      a.machineName === id.machineName &&
      a.baseDomain === id.baseDomain &&
      a.publicIPv4 === id.publicIPv4 &&
      a.publicIPv6 === id.publicIPv6
    )
      return;
    this.#identity = id;
    this.#done.clear();
    this.#opts.logger.info(
      { publicIPv4: id.publicIPv4, publicIPv6: id.publicIPv6 },
      'DNS records follow the new public address',
    );
    this.#backoff.reset();
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#kick();
  }

  /** The state for `/health`. */
  state(): DnsAutomationState {
    const id = this.#identity;
    const wanted = this.#wanted();
    const pending = wanted.filter((n) => !this.#done.has(n));
    const status = this.#error !== undefined ? 'failing' : pending.length > 0 || this.#running ? 'pending' : 'ok';
    return {
      status,
      ...(id.publicIPv4 !== undefined ? { publicIPv4: id.publicIPv4 } : {}),
      ...(id.publicIPv6 !== undefined ? { publicIPv6: id.publicIPv6 } : {}),
      records: wanted.filter((n) => this.#done.has(n)),
      pending,
      failures: this.#failures,
      ...(this.#error !== undefined ? { error: this.#error } : {}),
      ...(this.#nextAttemptAt !== undefined ? { nextAttemptAt: new Date(this.#nextAttemptAt).toISOString() } : {}),
      ...(this.#lastSuccessAt !== undefined ? { lastSuccessAt: new Date(this.#lastSuccessAt).toISOString() } : {}),
    };
  }

  /** A diagnostic while records cannot be put in place, for `/diagnostics`. */
  diagnostics(): Diagnostic[] {
    const s = this.state();
    if (s.status !== 'failing') return [];
    return [
      diagError(
        'edge.dns',
        s.pending.join(', '),
        `DNS records not in place after ${s.failures} attempt(s): ${s.error}; retrying${s.nextAttemptAt ? ` at ${s.nextAttemptAt}` : ''}`,
      ),
    ];
  }

  /** Resolves once every wanted record is in place (tests, and a clean stop). */
  settled(): Promise<void> {
    if (this.state().status === 'ok') return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #wanted(): string[] {
    const id = this.#identity;
    const host = `${id.machineName}.${id.baseDomain}`.toLowerCase();
    return [host, `*.${host}`, ...[...this.#repositories].sort().map((r) => `*.${r}.${host}`)];
  }

  #kick(): void {
    if (this.#stopped || this.#timer !== undefined) return;
    if (this.#running) {
      this.#again = true;
      return;
    }
    this.#running = this.#run().finally(() => {
      this.#running = undefined;
      if (this.state().status === 'ok') for (const r of this.#idle.splice(0)) r();
    });
  }

  async #run(): Promise<void> {
    do {
      this.#again = false;
      const id = this.#identity;
      try {
        this.#manager ??= new DnsRecordsManager({
          provider: this.#opts.provider(),
          logger: this.#opts.logger,
          ...(this.#opts.ttl !== undefined ? { ttl: this.#opts.ttl } : {}),
          ...(this.#opts.proxied !== undefined ? { proxied: this.#opts.proxied } : {}),
        });
        const host = `${id.machineName}.${id.baseDomain}`.toLowerCase();
        if (!this.#done.has(host) || !this.#done.has(`*.${host}`)) {
          await this.#manager.ensureHostRecords(id);
          if (id !== this.#identity) continue;
          this.#done.add(host).add(`*.${host}`);
        }
        for (const repo of [...this.#repositories].sort()) {
          const name = `*.${repo}.${host}`;
          if (this.#done.has(name)) continue;
          await this.#manager.ensureRepository(repo);
          if (id !== this.#identity) break;
          this.#done.add(name);
        }
        if (id !== this.#identity) {
          this.#again = true;
          continue;
        }
        if (this.#failures > 0) this.#opts.logger.info({ attempts: this.#failures + 1 }, 'DNS records in place');
        this.#failures = 0;
        this.#error = undefined;
        this.#nextAttemptAt = undefined;
        this.#lastSuccessAt = Date.now();
        this.#backoff.reset();
      } catch (err) {
        if (this.#stopped) return;
        this.#failures++;
        const message = errorMessage(err);
        const delay = Math.max(this.#backoff.next(), retryAfterMs(err) ?? 0);
        // Once per state change: the first failure and each new error, not every retry.
        if (message !== this.#error)
          this.#opts.logger.error({ err: message, retryInMs: delay }, `DNS records: ${message}; retrying with backoff`);
        this.#error = message;
        this.#nextAttemptAt = Date.now() + delay;
        this.#timer = setTimeout(() => {
          this.#timer = undefined;
          this.#kick();
        }, delay);
        this.#timer.unref();
        return;
      }
    } while (this.#again && !this.#stopped);
  }
}
