import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import * as acme from 'acme-client';
import type { CertResolverConfig, EntryPointConfig, StaticConfig } from '../config/static/types.ts';
import type { DynamicConfig } from '../config/dynamic/types.ts';
import type { CertificateStore } from '../tls/certificate-store.ts';
import { nameMatches, readCertificateInfo } from '../tls/certificate-info.ts';
import { CloudflareDns, retryAfterMs } from '../dns/cloudflare.ts';
import { BerthError, ErrorCodes, errorMessage } from '../lib/errors.ts';
import { logger as rootLogger, type Logger } from '../lib/logger.ts';
import { parseDuration } from '../lib/duration.ts';
import { FileAcmeStorage, type AcmeStorage, type AcmeStore } from './storage.ts';
import { accountKeyPem, createCertificateKey, newAccountKey, storedKeyType } from './account.ts';
import { caPause, installAcmeHttp, trustAcmeRoots } from './acme-http.ts';
import { Http01Responder, dns01Solver, http01Solver, tlsAlpn01Solver, type ChallengeSolver } from './challenges.ts';
import { challengeOf, wantedCertificates, type WantedCertificate } from './wanted.ts';

/** Let's Encrypt production, Traefik's default `caServer`. */
export const LETS_ENCRYPT_DIRECTORY = 'https://acme-v02.api.letsencrypt.org/directory';

const DAY = 86_400_000;

/** Life-cycle state of one certificate, as `/health` and `berth certs` show it. */
export type CertificateState = 'pending' | 'ordering' | 'valid' | 'renewing' | 'failed' | 'expired';

/** One row of {@link CertificateManager.status}. */
export interface CertificateStatus {
  resolver: string;
  main: string;
  sans: string[];
  /** Names of the certificate in hand (empty until one is issued). */
  names: string[];
  notAfter?: string;
  state: CertificateState;
  lastError?: string;
  nextAttempt?: string;
  routers: string[];
}

/** One row of {@link CertificateManager.storageStatus}: whether a resolver's storage holds what it should. */
export interface StorageStatus {
  resolver: string;
  /** Where the resolver's account and certificates are written (`acme.storage`). */
  storage: string;
  /** False while something (account, certificate) exists only in memory and its write is being retried. */
  stored: boolean;
  /** Writes of the storage that failed since start. */
  failedWrites: number;
}

/** Options for {@link CertificateManager}. */
export interface CertificateManagerOptions {
  resolvers: StaticConfig['certificatesResolvers'];
  store: CertificateStore;
  logger?: Logger;
  env?: NodeJS.ProcessEnv;
  /** Storage per `acme.storage` path (default: the acme.json file). */
  storageFactory?: (path: string) => AcmeStorage;
  /** Clock (tests move it to reach the renewal window). */
  now?: () => number;
  /** Retry backoff after a failed order: doubles from `initialMs` up to `maxMs`. */
  backoff?: { initialMs?: number; maxMs?: number };
  /** How often certificates are checked for renewal. */
  renewCheckIntervalMs?: number;
  /** Upper bound for a DNS-01 propagation check. */
  propagationTimeoutMs?: number;
}

interface Managed {
  resolver: string;
  main: string;
  sans: string[];
  names: string[];
  notBefore: number;
  notAfter: number;
  /** Set while the certificate is served but could not be written to the storage. */
  storeError?: string;
}

interface Job {
  key: string;
  resolver: string;
  main: string;
  sans: string[];
  renewal: boolean;
  state: CertificateState;
  attempts: number;
  lastError?: string;
  nextAttempt?: number;
  timer?: NodeJS.Timeout;
  running?: Promise<void>;
}

interface Runtime {
  name: string;
  config: CertResolverConfig['acme'];
  directoryUrl: string;
  storage: AcmeStorage;
  client?: Promise<acme.Client>;
  solver?: ChallengeSolver;
}

/**
 * The ACME certificate manager: loads stored certificates into the TLS store, orders what routers
 * need and nothing already covered, renews ahead of expiry, and retries failures with backoff
 * (honouring `Retry-After` and rate limits) while the old certificate keeps serving.
 */
export class CertificateManager {
  private readonly opts: CertificateManagerOptions;
  private readonly store: CertificateStore;
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly responder = new Http01Responder();
  private readonly runtimes = new Map<string, Runtime>();
  private readonly docs = new Map<AcmeStorage, Promise<AcmeStore>>();
  private readonly managed = new Map<string, Managed>();
  /** Pending rewrites of a resolver's storage after a failed write. */
  private readonly storeRetries = new Map<string, { attempts: number; timer: NodeJS.Timeout }>();
  /** Failed writes of a resolver's storage since start (metrics). */
  private readonly storeFailures = new Map<string, number>();
  private readonly jobs = new Map<string, Job>();
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
    installAcmeHttp();
    const storages = new Map<string, AcmeStorage>();
    for (const [name, r] of Object.entries(opts.resolvers ?? {})) {
      const path = r.acme.storage || 'acme.json';
      let storage = storages.get(path);
      if (!storage) {
        storage = opts.storageFactory?.(path) ?? new FileAcmeStorage(path, this.log);
        storages.set(path, storage);
      }
      this.runtimes.set(name, { name, config: r.acme, directoryUrl: r.acme.caServer || LETS_ENCRYPT_DIRECTORY, storage });
      const roots: string[] = [];
      for (const file of r.acme.caCertificates ?? []) {
        try {
          roots.push(readFileSync(file, 'utf8'));
        } catch (err) {
          this.log.error({ resolver: name, file, err: errorMessage(err) }, 'caCertificates file unreadable');
        }
      }
      if (roots.length) trustAcmeRoots(roots);
    }
  }

  /** Loads every resolver's stored certificates into the TLS store and starts the renewal timer. */
  async start(): Promise<void> {
    for (const rt of this.runtimes.values()) {
      const doc = await this.doc(rt);
      for (const rec of doc[rt.name]?.Certificates ?? []) {
        try {
          const cert = Buffer.from(rec.certificate, 'base64').toString('utf8');
          const key = Buffer.from(rec.key, 'base64').toString('utf8');
          this.install(rt.name, rec.domain.main, (rec.domain.sans ?? []).filter(Boolean), key, cert);
        } catch (err) {
          this.log.error({ resolver: rt.name, domain: rec.domain.main, err: errorMessage(err) }, 'stored certificate skipped');
        }
      }
    }
    const every = this.opts.renewCheckIntervalMs ?? 12 * 3_600_000;
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
    for (const r of new Set(this.collectUnknownResolvers(config))) {
      this.log.warn({ resolver: r }, 'routers name an unknown certificate resolver');
    }
    this.reconcile();
  }

  /** Every certificate berth manages or wants, for `/health` and `berth certs`. */
  status(): CertificateStatus[] {
    const rows: CertificateStatus[] = [];
    const now = this.now();
    for (const [key, m] of this.managed) {
      const job = this.jobs.get(`renew|${key}`);
      const routers = this.wanted.filter((w) => w.mustCover.every((n) => m.names.some((p) => nameMatches(p, n)))).flatMap((w) => w.routers);
      const row: CertificateStatus = { resolver: m.resolver, main: m.main, sans: m.sans, names: m.names, notAfter: new Date(m.notAfter).toISOString(), state: m.notAfter <= now ? 'expired' : 'valid', routers };
      if (m.storeError !== undefined) row.lastError = m.storeError;
      if (job && job.state !== 'valid') {
        row.state = job.state === 'failed' ? 'failed' : 'renewing';
        if (job.lastError) row.lastError = job.lastError;
        if (job.nextAttempt) row.nextAttempt = new Date(job.nextAttempt).toISOString();
      }
      rows.push(row);
    }
    for (const job of this.jobs.values()) {
      if (job.renewal || job.state === 'valid') continue;
      const w = this.wanted.find((x) => jobKey(x.resolver, x.main, x.sans) === job.key);
      const row: CertificateStatus = { resolver: job.resolver, main: job.main, sans: job.sans, names: [], state: job.state, routers: w?.routers ?? [] };
      if (job.lastError) row.lastError = job.lastError;
      if (job.nextAttempt) row.nextAttempt = new Date(job.nextAttempt).toISOString();
      rows.push(row);
    }
    return rows;
  }

  /** Per resolver: whether its storage holds everything it issued, and how many writes failed (metrics). */
  storageStatus(): StorageStatus[] {
    return [...this.runtimes.values()].map((rt) => ({ resolver: rt.name, storage: rt.storage.location, stored: !this.storeRetries.has(rt.name), failedWrites: this.storeFailures.get(rt.name) ?? 0 }));
  }

  /** The HTTP-01 responder, so worker processes can be kept in step with its tokens. */
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
    for (const r of this.storeRetries.values()) clearTimeout(r.timer);
    for (const j of this.jobs.values()) if (j.timer) clearTimeout(j.timer);
    this.abort.abort(new BerthError(ErrorCodes.ACME_ORDER, 'certificate manager stopped'));
    await this.whenIdle();
    // A last try for what could not be stored: after this it exists nowhere but at the CA.
    await Promise.all([...this.storeRetries.keys()].map(async (name) => {
      const rt = this.runtimes.get(name);
      if (!rt) return;
      try {
        await this.writeStorage(rt);
      } catch (err) {
        this.log.error({ resolver: name, storage: rt.storage.location, err: errorMessage(err) }, 'ACME storage still cannot be written at shutdown; certificates issued since the last write will be ordered again');
      }
    }));
  }

  // ------------------------------------------------------------------ planning

  private reconcile(): void {
    if (this.stopped || !this.started) return;
    const now = this.now();
    for (const w of this.wanted) {
      if (!this.runtimes.has(w.resolver)) continue;
      if (this.covered(w.mustCover, now)) continue;
      this.schedule(jobKey(w.resolver, w.main, w.sans), w.resolver, w.main, w.sans, false);
    }
    for (const [key, m] of this.managed) {
      if (!this.runtimes.has(m.resolver)) continue;
      if (now >= m.notAfter - renewBefore(m)) this.schedule(`renew|${key}`, m.resolver, m.main, m.sans, true);
    }
  }

  /** Whether every name has a valid certificate: ACME-managed or any other in the store. */
  private covered(names: string[], now: number): boolean {
    const patterns: string[] = [];
    for (const m of this.managed.values()) if (m.notAfter > now) patterns.push(...m.names);
    for (const c of this.store.list()) if (c.source !== 'generated' && c.source !== 'acme' && c.notAfter.getTime() > now) patterns.push(...c.names);
    return names.every((n) => patterns.some((p) => nameMatches(p, n)));
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

  private async run(job: Job): Promise<void> {
    const rt = this.runtimes.get(job.resolver);
    if (!rt) return;
    const started = Date.now();
    job.state = job.renewal ? 'renewing' : 'ordering';
    job.attempts++;
    try {
      const release = await rt.storage.lock?.(job.key);
      try {
        await this.order(rt, job.main, job.sans);
      } finally {
        await release?.();
      }
      job.state = 'valid';
      job.attempts = 0;
      delete job.lastError;
      delete job.nextAttempt;
      this.jobs.delete(job.key);
    } catch (err) {
      if (this.stopped) return;
      let delay = this.backoff(job.attempts);
      const pause = caPause(rt.directoryUrl, started);
      const rateLimited = pause?.rateLimited === true || /rateLimited|too many/i.test(errorMessage(err));
      if (pause) delay = Math.max(delay, pause.until - Date.now());
      const dnsWait = retryAfterMs(err);
      if (dnsWait !== undefined) delay = Math.max(delay, dnsWait);
      job.state = 'failed';
      job.lastError = errorMessage(err);
      job.nextAttempt = this.now() + delay;
      this.log.error({ resolver: job.resolver, domain: job.main, sans: job.sans, attempt: job.attempts, retryInMs: delay, rateLimited, err: job.lastError }, 'certificate order failed; the current certificate (if any) keeps serving');
      job.timer = setTimeout(() => {
        delete job.timer;
        delete job.nextAttempt;
        this.retry(job);
      }, delay);
      job.timer.unref();
    }
  }

  private retry(job: Job): void {
    if (this.stopped) return;
    // The want may be gone or covered by now; renewals are re-checked against the window.
    if (!job.renewal) {
      const still = this.wanted.some((w) => jobKey(w.resolver, w.main, w.sans) === job.key && !this.covered(w.mustCover, this.now()));
      if (!still) {
        this.jobs.delete(job.key);
        return;
      }
    }
    this.schedule(job.key, job.resolver, job.main, job.sans, job.renewal);
  }

  // ------------------------------------------------------------------ ordering

  private async order(rt: Runtime, main: string, sans: string[]): Promise<void> {
    const client = await this.client(rt);
    const solver = this.solver(rt);
    const names = [main, ...sans.filter((s) => s !== main)];
    const key = await createCertificateKey(rt.config.keyType);
    const [, csr] = await acme.crypto.createCsr({ altNames: names, ...(main.length <= 64 ? { commonName: main } : {}) }, key);
    this.log.info({ resolver: rt.name, names, challenge: solver.type }, 'ordering certificate');
    const cert = await client.auto({
      csr,
      ...(rt.config.email ? { email: rt.config.email } : {}),
      termsOfServiceAgreed: true,
      // berth checks DNS propagation itself (on the configured resolvers); acme-client's own check
      // would use the system resolver and port 80/443.
      skipChallengeVerification: true,
      challengePriority: [solver.type],
      challengeCreateFn: (a, c, k) => solver.present(a, c, k),
      challengeRemoveFn: (a, c, k) => solver.cleanup(a, c, k),
    });
    const keyPem = key.toString();
    // Stored before it is served: a crash right after the first handshake must not cost a new
    // order (CA rate limits). A certificate that cannot be stored is served all the same, and the
    // write is retried until it lands; the order itself succeeded and is not repeated.
    let storeError: unknown;
    try {
      await this.persist(rt, main, sans, keyPem, cert);
    } catch (err) {
      storeError = err;
    }
    this.install(rt.name, main, sans, keyPem, cert);
    this.log.info({ resolver: rt.name, names }, 'certificate issued');
    if (storeError !== undefined) this.storeLater(rt, storeError);
  }

  /** The wait before attempt `attempts + 1` of an order or a storage write: doubles from `initialMs` up to `maxMs`. */
  private backoff(attempts: number): number {
    const initial = this.opts.backoff?.initialMs ?? 60_000;
    const max = this.opts.backoff?.maxMs ?? 6 * 3_600_000;
    return Math.min(max, initial * 2 ** Math.min(attempts - 1, 20));
  }

  /**
   * After a failed write of the storage (a new account or certificate): marks the resolver's
   * certificates as not stored (shown by `status`) and writes the document again with backoff
   * until it succeeds. What it holds stays in memory and in use meanwhile.
   */
  private storeLater(rt: Runtime, err: unknown): void {
    const attempts = (this.storeRetries.get(rt.name)?.attempts ?? 0) + 1;
    const delay = this.backoff(attempts);
    const message = `not stored in ${rt.storage.location}: ${errorMessage(err)}`;
    this.storeFailures.set(rt.name, (this.storeFailures.get(rt.name) ?? 0) + 1);
    for (const m of this.managed.values()) if (m.resolver === rt.name) m.storeError = message;
    this.log.error({ resolver: rt.name, storage: rt.storage.location, attempt: attempts, retryInMs: delay, err: errorMessage(err) }, 'ACME storage could not be written; what it holds is kept in memory and the write is retried');
    const previous = this.storeRetries.get(rt.name);
    if (previous) clearTimeout(previous.timer);
    if (this.stopped) return;
    const timer = setTimeout(() => {
      void (async () => {
        try {
          await this.writeStorage(rt);
        } catch (e) {
          this.storeLater(rt, e);
        }
      })();
    }, delay);
    timer.unref();
    this.storeRetries.set(rt.name, { attempts, timer });
  }

  /** After a successful write of a resolver's storage: whatever an earlier failure left unstored is stored now. */
  private stored(rt: Runtime): void {
    const retry = this.storeRetries.get(rt.name);
    if (!retry) return;
    clearTimeout(retry.timer);
    this.storeRetries.delete(rt.name);
    for (const m of this.managed.values()) if (m.resolver === rt.name) delete m.storeError;
    this.log.info({ resolver: rt.name, storage: rt.storage.location }, 'ACME storage written after earlier failures');
  }

  private install(resolver: string, main: string, sans: string[], key: string, cert: string): void {
    const id = `acme:${resolver}:${main}`;
    this.store.put(id, { key, cert, source: 'acme' });
    const info = readCertificateInfo(cert);
    this.managed.set(`${resolver}|${main}`, { resolver, main, sans, names: info.names, notBefore: info.notBefore.getTime(), notAfter: info.notAfter.getTime() });
  }

  private async persist(rt: Runtime, main: string, sans: string[], key: string, cert: string): Promise<void> {
    const doc = await this.doc(rt);
    const section = (doc[rt.name] ??= { Account: null, Certificates: [] });
    const list = (section.Certificates ??= []);
    const rec = { domain: { main, ...(sans.length ? { sans } : {}) }, certificate: Buffer.from(cert).toString('base64'), key: Buffer.from(key).toString('base64'), Store: 'default' };
    const i = list.findIndex((c) => c.domain.main === main);
    if (i >= 0) list[i] = rec;
    else list.push(rec);
    await this.writeStorage(rt);
  }

  /** Writes the resolver's storage document; a success stores whatever earlier failures left unstored. */
  private async writeStorage(rt: Runtime): Promise<void> {
    await rt.storage.write(await this.doc(rt));
    this.stored(rt);
  }

  private doc(rt: Runtime): Promise<AcmeStore> {
    let d = this.docs.get(rt.storage);
    if (!d) {
      d = rt.storage.read();
      this.docs.set(rt.storage, d);
      d.catch(() => this.docs.delete(rt.storage));
    }
    return d;
  }

  private client(rt: Runtime): Promise<acme.Client> {
    if (!rt.client) {
      rt.client = this.createClient(rt);
      rt.client.catch(() => {
        delete rt.client;
      });
    }
    return rt.client;
  }

  private async createClient(rt: Runtime): Promise<acme.Client> {
    const doc = await this.doc(rt);
    const section = (doc[rt.name] ??= { Account: null, Certificates: [] });
    const account = section.Account;
    const origin = new URL(rt.directoryUrl).origin;
    if (account?.PrivateKey && account.Registration?.uri && sameOrigin(account.Registration.uri, origin)) {
      return new acme.Client({ directoryUrl: rt.directoryUrl, accountKey: accountKeyPem(account), accountUrl: account.Registration.uri });
    }
    const key = await newAccountKey();
    const client = new acme.Client({ directoryUrl: rt.directoryUrl, accountKey: key.pem });
    let body: unknown;
    try {
      body = await client.createAccount({ termsOfServiceAgreed: true, ...(rt.config.email ? { contact: [`mailto:${rt.config.email}`] } : {}) });
    } catch (err) {
      if (err instanceof BerthError) throw err;
      throw new BerthError(ErrorCodes.ACME_ORDER, `account registration at ${rt.directoryUrl} failed: ${errorMessage(err)}`, { cause: err });
    }
    section.Account = { Email: rt.config.email ?? '', Registration: { body, uri: client.getAccountUrl() }, PrivateKey: key.stored, KeyType: storedKeyType(rt.config.keyType) };
    // The account works whether or not it could be stored: registering another one on every
    // retry would be worse than keeping this one in memory until the write succeeds.
    try {
      await this.writeStorage(rt);
    } catch (err) {
      this.storeLater(rt, err);
    }
    return client;
  }

  private solver(rt: Runtime): ChallengeSolver {
    if (rt.solver) return rt.solver;
    const type = challengeOf({ acme: rt.config });
    if (type === 'http-01') rt.solver = http01Solver(this.responder);
    else if (type === 'tls-alpn-01') rt.solver = tlsAlpn01Solver(this.store);
    else if (type === 'dns-01') {
      const dc = rt.config.dnsChallenge;
      if (dc?.provider !== 'cloudflare') {
        throw new BerthError(ErrorCodes.DNS_PROVIDER, `resolver ${rt.name}: DNS provider "${dc?.provider}" is not supported (supported: cloudflare)`);
      }
      // Throws (no token) per order, so only this resolver's certificates fail.
      const provider = new CloudflareDns({ env: this.opts.env ?? process.env });
      const delay = parseDuration(dc.propagation?.delayBeforeChecks ?? dc.delayBeforeCheck);
      rt.solver = dns01Solver(provider, {
        resolvers: dc.resolvers ?? [],
        disableChecks: dc.propagation?.disableChecks === true || dc.disablePropagationCheck === true,
        timeoutMs: this.opts.propagationTimeoutMs ?? 120_000,
        intervalMs: 250,
        signal: this.abort.signal,
        ...(delay ? { delayMs: delay } : {}),
      }, this.log);
    } else {
      throw new BerthError(ErrorCodes.ACME_ORDER, `resolver ${rt.name} has no challenge configured (dnsChallenge, httpChallenge or tlsChallenge)`);
    }
    return rt.solver;
  }

  private collectUnknownResolvers(config: DynamicConfig): string[] {
    const out: string[] = [];
    for (const r of Object.values(config.http?.routers ?? {})) {
      const n = r.tls?.certResolver;
      if (n && !this.runtimes.has(n)) out.push(n);
    }
    return out;
  }
}

function jobKey(resolver: string, main: string, sans: string[]): string {
  return `${resolver}|${[main, ...sans.filter((s) => s !== main)].sort().join(',')}`;
}

/** Renew 30 days before expiry, or a third of the lifetime for short-lived certificates. */
export function renewBefore(m: { notBefore: number; notAfter: number }): number {
  return Math.min(30 * DAY, (m.notAfter - m.notBefore) / 3);
}

function sameOrigin(url: string, origin: string): boolean {
  try {
    return new URL(url).origin === origin;
  } catch {
    return false;
  }
}
