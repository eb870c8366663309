import type { IncomingMessage, ServerResponse } from 'node:http';
import type { EntryPointConfig, StaticConfig } from '../config/static/types.ts';
import type { DynamicConfig } from '../config/dynamic/types.ts';
import type { CertificateStore } from '../tls/certificate-store.ts';
import { nameMatches } from '../tls/certificate-info.ts';
import { retryAfterMs } from '../dns/cloudflare.ts';
import { BerthError, ErrorCodes, errorMessage } from '../lib/errors.ts';
import { logger as rootLogger, type Logger } from '../lib/logger.ts';
import { mergeStores, StaleLeaseError, type AcmeStorage, type StorageLease } from './storage.ts';
import { CertificateIssuer } from './certificate-issuer.ts';
import type { CertificateManagerOptions } from './certificate-manager-options.ts';
import { caPause, installAcmeHttp } from './acme-http.ts';
import { Http01Responder } from './challenges.ts';
import { buildRuntimes, checkProfile, type Runtime } from './resolver-runtime.ts';
import { dueForRenewal, renewDurations } from './renewal.ts';
import { StorageKeeper } from './storage-keeper.ts';
import {
  jobKey,
  statusRows,
  type CertificateStatus,
  type Job,
  type Managed,
  type StorageStatus,
} from './certificate-status.ts';
import { wantedCertificates, type WantedCertificate } from './wanted.ts';

export type { CertificateState, CertificateStatus, StorageStatus } from './certificate-status.ts';
export { renewBefore } from './renewal.ts';

export { LETS_ENCRYPT_DIRECTORY } from './resolver-runtime.ts';

const DAY = 86_400_000;

/** Jobs waiting for the shared storage or for another host's order (re-tried when it reports news). */
interface FleetWait {
  waitingFleet?: boolean;
}

/**
 * The ACME certificate manager: loads stored certificates into the TLS store, orders what routers
 * need and nothing already covered, renews ahead of expiry, and retries failures with backoff
 * (honouring `Retry-After` and rate limits) while the old certificate keeps serving. With a shared
 * storage each order runs under a lease, so a fleet orders every certificate once.
 */
export class CertificateManager {
  private readonly opts: CertificateManagerOptions;
  private readonly store: CertificateStore;
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly env: NodeJS.ProcessEnv;
  private readonly responder = new Http01Responder();
  private readonly runtimes = new Map<string, Runtime>();
  private readonly keeper: StorageKeeper;
  private readonly issuer: CertificateIssuer;
  private readonly managed = new Map<string, Managed>();
  private readonly jobs = new Map<string, Job & FleetWait>();
  private readonly unsubscribe: (() => void)[] = [];
  private wanted: WantedCertificate[] = [];
  private renewTimer: NodeJS.Timeout | undefined;
  private readonly abort = new AbortController();
  private stopped = false;
  /** Until stored certificates are loaded, nothing may be ordered (they may cover everything). */
  private started = false;

  constructor(opts: CertificateManagerOptions) {
    this.opts = opts;
    this.store = opts.store;
    this.log = opts.logger ?? rootLogger('acme');
    this.now = opts.now ?? Date.now;
    this.env = opts.env ?? process.env;
    this.keeper = new StorageKeeper(this.log, (n) => this.backoff(n));
    this.issuer = new CertificateIssuer({
      store: this.store,
      managed: this.managed,
      keeper: this.keeper,
      responder: this.responder,
      log: this.log,
      env: this.env,
      signal: this.abort.signal,
      ...(opts.relay ? { relay: opts.relay } : {}),
      propagationTimeoutMs: opts.propagationTimeoutMs ?? 120_000,
      propagationIntervalMs: opts.propagationIntervalMs ?? 2000,
      refresh: (rt) => this.refresh(rt),
    });
    installAcmeHttp();
    for (const rt of buildRuntimes(opts.resolvers ?? {}, this.log, opts.storageFactory)) this.runtimes.set(rt.name, rt);
  }

  /** Loads every resolver's stored certificates into the TLS store and starts the renewal timer. */
  async start(): Promise<void> {
    const seen = new Set<AcmeStorage>();
    for (const rt of this.runtimes.values()) {
      const doc = await this.keeper.doc(rt.storage);
      for (const rec of doc[rt.name]?.Certificates ?? []) this.issuer.installRecord(rt.name, rec);
      if (rt.storage.onChange && !seen.has(rt.storage))
        this.unsubscribe.push(rt.storage.onChange(() => void this.refreshAll()));
      seen.add(rt.storage);
      if (rt.config.profile) void checkProfile(rt, this.log);
    }
    const hours = Math.min(...[...this.runtimes.values()].map((rt) => rt.config.certificatesDuration ?? 2160));
    const every = this.opts.renewCheckIntervalMs ?? renewDurations(hours).intervalMs;
    this.renewTimer = setInterval(() => this.reconcile(), every);
    this.renewTimer.unref();
    this.log.info({ certificates: this.managed.size }, 'acme certificates loaded');
    this.started = true;
    this.reconcile();
  }

  /**
   * Recomputes wanted certificates from the dynamic config and orders what is missing. Safe to call
   * before {@link start} has finished: orders wait for the stored certificates.
   */
  update(config: DynamicConfig, entryPoints: StaticConfig['entryPoints'] | Record<string, EntryPointConfig>): void {
    this.wanted = wantedCertificates(config, entryPoints, this.opts.resolvers ?? {});
    const unknown = new Set(
      Object.values(config.http?.routers ?? {})
        .map((r) => r.tls?.certResolver)
        .filter((n): n is string => !!n && !this.runtimes.has(n)),
    );
    for (const r of unknown) this.log.warn({ resolver: r }, 'routers name an unknown certificate resolver');
    this.reconcile();
  }

  /** Every certificate berth manages or wants, for `/health` and `berth certs`. */
  status(): CertificateStatus[] {
    return statusRows(this.managed, this.jobs, this.wanted, this.now(), (r) => this.keeper.unstored(r));
  }

  /** Per resolver: whether its storage holds everything it issued, and how many writes failed (metrics). */
  storageStatus(): StorageStatus[] {
    return [...this.runtimes.values()].map((rt) => ({
      resolver: rt.name,
      storage: rt.storage.location,
      stored: this.keeper.unstored(rt.name) === undefined,
      failedWrites: this.keeper.failedWrites(rt.name),
    }));
  }

  /** The HTTP-01 responder, so worker processes (and fleet hosts) can be kept in step with its tokens. */
  get http01Responder(): Http01Responder {
    return this.responder;
  }

  /** Answers HTTP-01 validations; the `web` entrypoint calls this before routing. */
  http01(req: IncomingMessage, res: ServerResponse): boolean {
    return this.responder.handle(req, res);
  }

  /** Resolves once no order is running (tests, graceful shutdown). */
  async whenIdle(): Promise<void> {
    for (;;) {
      const running = [...this.jobs.values()].map((j) => j.running).filter((p): p is Promise<void> => p !== undefined);
      if (running.length === 0) return;
      await Promise.allSettled(running);
    }
  }

  /** Stops timers and pending propagation waits; running orders end as failures. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.renewTimer) clearInterval(this.renewTimer);
    for (const u of this.unsubscribe) u();
    for (const j of this.jobs.values()) if (j.timer) clearTimeout(j.timer);
    this.abort.abort(new BerthError(ErrorCodes.ACME_ORDER, 'certificate manager stopped'));
    await this.whenIdle();
    await this.keeper.stop();
  }

  // ------------------------------------------------------------------ planning

  private reconcile(): void {
    if (this.stopped || !this.started) return;
    const now = this.now();
    for (const w of this.wanted) {
      if (!this.runtimes.has(w.resolver) || this.covered(w.mustCover, now)) continue;
      this.schedule(jobKey(w.resolver, w.main, w.sans), w.resolver, w.main, w.sans, false);
    }
    for (const [key, m] of this.managed) {
      const rt = this.runtimes.get(m.resolver);
      if (rt && dueForRenewal(m, now, rt.config.certificatesDuration))
        this.schedule(`renew|${key}`, m.resolver, m.main, m.sans, true);
    }
  }

  /** Whether every name has a valid certificate: ACME-managed or any other in the store. */
  private covered(names: string[], now: number): boolean {
    const patterns: string[] = [];
    for (const m of this.managed.values()) if (m.notAfter > now) patterns.push(...m.names);
    for (const c of this.store.list())
      if (c.source !== 'generated' && c.source !== 'acme' && c.notAfter.getTime() > now) patterns.push(...c.names);
    return names.every((n) => patterns.some((p) => nameMatches(p, n)));
  }

  /** Whether a job's want is gone or satisfied (covered, or renewed out of its window). */
  private satisfied(job: Job): boolean {
    const now = this.now();
    if (!job.renewal)
      return !this.wanted.some(
        (w) => jobKey(w.resolver, w.main, w.sans) === job.key && !this.covered(w.mustCover, now),
      );
    const m = this.managed.get(job.key.slice('renew|'.length));
    const rt = this.runtimes.get(job.resolver);
    return !m || !rt || !dueForRenewal(m, now, rt.config.certificatesDuration);
  }

  private schedule(key: string, resolver: string, main: string, sans: string[], renewal: boolean): void {
    let job = this.jobs.get(key);
    if (!job) {
      job = { key, resolver, main, sans, renewal, state: renewal ? 'renewing' : 'pending', attempts: 0 };
      this.jobs.set(key, job);
    }
    if (job.running || job.timer) return; // one order in flight per certificate; a retry is already planned
    if (job.nextAttempt && job.nextAttempt > this.now()) return;
    const j = job;
    j.running = this.run(j).finally(() => {
      delete j.running;
    });
  }

  private later(job: Job & FleetWait, delay: number): void {
    job.nextAttempt = this.now() + delay;
    job.timer = setTimeout(() => {
      delete job.timer;
      delete job.nextAttempt;
      if (this.stopped) return;
      // The want may be gone or covered by now; renewals are re-checked against the window.
      if (this.satisfied(job)) this.jobs.delete(job.key);
      else this.schedule(job.key, job.resolver, job.main, job.sans, job.renewal);
    }, delay);
    job.timer.unref();
  }

  private async run(job: Job & FleetWait): Promise<void> {
    const rt = this.runtimes.get(job.resolver);
    if (!rt) return;
    const started = Date.now();
    let lease: StorageLease | undefined;
    if (rt.storage.lock) {
      const r = await rt.storage.lock(job.key).catch((err: unknown) => ({ unavailable: errorMessage(err) }));
      if ('heldBy' in r) {
        // Another host orders it; its result arrives through the storage (or its lease runs out).
        job.waitingFleet = true;
        job.state = job.renewal ? 'renewing' : 'pending';
        this.later(job, r.retryInMs);
        return;
      }
      if ('unavailable' in r) {
        const m = job.renewal ? this.managed.get(job.key.slice('renew|'.length)) : undefined;
        const window = this.opts.localOrderWindowMs ?? 7 * DAY;
        if (!m || m.notAfter - this.now() > window) {
          job.waitingFleet = true;
          job.state = job.renewal ? 'renewing' : 'pending';
          job.lastError = `waiting for the fleet storage: ${r.unavailable}`;
          this.later(job, this.backoff(++job.attempts));
          return;
        }
        this.log.warn(
          { resolver: job.resolver, domain: job.main, expiresInDays: Math.round((m.notAfter - this.now()) / DAY) },
          'fleet storage unreachable and the certificate expires soon: renewing it locally, without a fleet lease',
        );
      } else {
        lease = r.lease;
        // Another host may have finished while this one waited for the lease.
        await this.refresh(rt).catch(() => undefined);
        if (this.satisfied(job)) {
          await lease.release();
          this.jobs.delete(job.key);
          return;
        }
      }
    }
    delete job.waitingFleet;
    job.state = job.renewal ? 'renewing' : 'ordering';
    job.attempts++;
    try {
      await this.issuer.order(rt, job, lease);
      this.jobs.delete(job.key);
    } catch (err) {
      if (this.stopped) return;
      if (err instanceof StaleLeaseError) {
        this.log.warn(
          { resolver: job.resolver, domain: job.main, err: err.message },
          'order lease lost to another host; its certificate is used instead',
        );
        this.later(job, 0);
        return;
      }
      let delay = this.backoff(job.attempts);
      const pause = caPause(rt.directoryUrl, started);
      const rateLimited = pause?.rateLimited === true || /rateLimited|too many/i.test(errorMessage(err));
      if (pause) delay = Math.max(delay, pause.until - Date.now());
      const dnsWait = retryAfterMs(err);
      if (dnsWait !== undefined) delay = Math.max(delay, dnsWait);
      job.state = 'failed';
      job.lastError = errorMessage(err);
      this.log.error(
        {
          resolver: job.resolver,
          domain: job.main,
          sans: job.sans,
          attempt: job.attempts,
          retryInMs: delay,
          rateLimited,
          err: job.lastError,
        },
        'certificate order failed; the current certificate (if any) keeps serving',
      );
      this.later(job, delay);
    } finally {
      await lease?.release().catch(() => undefined);
    }
  }

  /** The wait before attempt `attempts + 1` of an order or a storage write: doubles from `initialMs` up to `maxMs`. */
  private backoff(attempts: number): number {
    const initial = this.opts.backoff?.initialMs ?? 60_000;
    const max = this.opts.backoff?.maxMs ?? 6 * 3_600_000;
    return Math.min(max, initial * 2 ** Math.min(Math.max(attempts, 1) - 1, 20));
  }

  /** Merges what the resolver's storage holds now (another host's work) and serves what is new. */
  private async refresh(rt: Runtime): Promise<void> {
    const merged = mergeStores(await this.keeper.doc(rt.storage), await rt.storage.read());
    for (const { resolver, record } of merged.certificates)
      if (this.runtimes.has(resolver)) this.issuer.installRecord(resolver, record);
  }

  /** After the shared storage reported news: take it in, drop what it satisfied, retry what waited. */
  private async refreshAll(): Promise<void> {
    if (this.stopped) return;
    const seen = new Set<AcmeStorage>();
    for (const rt of this.runtimes.values()) {
      if (seen.has(rt.storage)) continue;
      seen.add(rt.storage);
      await this.refresh(rt).catch((err: unknown) =>
        this.log.debug({ storage: rt.storage.location, err: errorMessage(err) }, 'shared storage not read'),
      );
    }
    for (const job of [...this.jobs.values()]) {
      if (job.running) continue;
      if (this.satisfied(job)) {
        if (job.timer) clearTimeout(job.timer);
        this.jobs.delete(job.key);
      } else if (job.waitingFleet && job.timer) {
        clearTimeout(job.timer);
        delete job.timer;
        delete job.nextAttempt;
      }
    }
    this.reconcile();
  }
}
