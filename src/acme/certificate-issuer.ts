import type * as acme from 'acme-client';
import { errorMessage } from '../lib/errors.ts';
import type { Logger } from '../lib/logger.ts';
import type { CertificateStore } from '../tls/certificate-store.ts';
import { readCertificateInfo } from '../tls/certificate-info.ts';
import { createCertificateKey } from './account.ts';
import { openAccount } from './acme-account.ts';
import type { Job, Managed } from './certificate-status.ts';
import type { ChallengeRelay, ChallengeSolver, Http01Responder } from './challenges.ts';
import { createCsr } from './csr.ts';
import { orderCertificate } from './order.ts';
import type { Runtime } from './resolver-runtime.ts';
import { buildSolver } from './solvers.ts';
import type { StorageLease } from './storage.ts';
import type { StorageKeeper } from './storage-keeper.ts';

/** What the issuer works with: shared with the certificate manager that plans the orders. */
export interface CertificateIssuerDeps {
  readonly store: CertificateStore;
  /** The manager's record of the certificates it serves (written on install). */
  readonly managed: Map<string, Managed>;
  readonly keeper: StorageKeeper;
  readonly responder: Http01Responder;
  readonly log: Logger;
  readonly env: NodeJS.ProcessEnv;
  /** Aborted when the manager stops. */
  readonly signal: AbortSignal;
  readonly relay?: ChallengeRelay;
  readonly propagationTimeoutMs: number;
  readonly propagationIntervalMs: number;
  /** Merges what a resolver's storage holds now (the account may be another host's). */
  readonly refresh: (rt: Runtime) => Promise<void>;
}

/**
 * Carries out one order (account, challenge solver, key, CSR, ACME order, storage write) and
 * installs certificates into the TLS store. Apart from the manager so the manager holds only
 * the planning: what to order when, retries and fleet leases.
 */
export class CertificateIssuer {
  private readonly deps: CertificateIssuerDeps;
  private readonly log: Logger;

  constructor(deps: CertificateIssuerDeps) {
    this.deps = deps;
    this.log = deps.log;
  }

  /** Orders the certificate of `job` (under `lease` in a fleet), stores it, then serves it. */
  async order(rt: Runtime, job: Job, lease: StorageLease | undefined): Promise<void> {
    const client = await this.client(rt);
    const solver = await this.solver(rt);
    const names = [job.main, ...job.sans.filter((s) => s !== job.main)];
    const key = (await createCertificateKey(rt.config.keyType)).toString();
    const csr = await createCsr(key, {
      names,
      ...(rt.config.emailAddresses?.length ? { emailAddresses: rt.config.emailAddresses } : {}),
      disableCommonName: rt.config.disableCommonName === true,
    });
    this.log.info(
      {
        resolver: rt.name,
        names,
        challenge: solver.type,
        ...(rt.config.profile ? { profile: rt.config.profile } : {}),
      },
      'ordering certificate',
    );
    const signal = lease ? AbortSignal.any([this.deps.signal, lease.signal]) : this.deps.signal;
    const cert = await orderCertificate(client, {
      names,
      csr,
      solver,
      signal,
      log: this.log,
      ...(rt.config.profile ? { profile: rt.config.profile } : {}),
      ...(rt.config.preferredChain ? { preferredChain: rt.config.preferredChain } : {}),
    });
    // Stored before it is served: a crash right after the first handshake must not cost a new
    // order (CA rate limits). A certificate that cannot be stored is served all the same, and the
    // write is retried until it lands; the order itself succeeded and is not repeated.
    const rec = {
      domain: { main: job.main, ...(job.sans.length ? { sans: job.sans } : {}) },
      certificate: Buffer.from(cert).toString('base64'),
      key: Buffer.from(key).toString('base64'),
      Store: 'default',
    };
    await this.deps.keeper.putCertificate(rt.storage, rt.name, rec, lease);
    this.install(rt.name, job.main, job.sans, key, cert);
    this.log.info({ resolver: rt.name, names }, 'certificate issued');
  }

  /** Serves a certificate record read from the storage; a broken one is logged and skipped. */
  installRecord(
    resolver: string,
    rec: { domain: { main: string; sans?: string[] | null }; certificate: string; key: string },
  ): void {
    try {
      const cert = Buffer.from(rec.certificate, 'base64').toString('utf8');
      const key = Buffer.from(rec.key, 'base64').toString('utf8');
      this.install(resolver, rec.domain.main, (rec.domain.sans ?? []).filter(Boolean), key, cert);
    } catch (err) {
      this.log.error({ resolver, domain: rec.domain.main, err: errorMessage(err) }, 'stored certificate skipped');
    }
  }

  /** Puts a certificate into the TLS store and records it as managed (for renewal and status). */
  install(resolver: string, main: string, sans: string[], key: string, cert: string): void {
    this.deps.store.put(`acme:${resolver}:${main}`, { key, cert, source: 'acme' });
    const info = readCertificateInfo(cert);
    this.deps.managed.set(`${resolver}|${main}`, {
      resolver,
      main,
      sans,
      names: info.names,
      notBefore: info.notBefore.getTime(),
      notAfter: info.notAfter.getTime(),
    });
  }

  private client(rt: Runtime): Promise<acme.Client> {
    if (!rt.client) {
      rt.client = openAccount({
        resolver: rt.name,
        config: rt.config,
        directoryUrl: rt.directoryUrl,
        storage: rt.storage,
        keeper: this.deps.keeper,
        log: this.log,
        signal: this.deps.signal,
        refresh: () => this.deps.refresh(rt),
      });
      rt.client.catch(() => delete rt.client);
    }
    return rt.client;
  }

  private solver(rt: Runtime): Promise<ChallengeSolver> {
    if (!rt.solver) {
      rt.solver = buildSolver(rt.name, rt.config, {
        responder: this.deps.responder,
        store: this.deps.store,
        env: this.deps.env,
        log: this.log,
        signal: this.deps.signal,
        ...(this.deps.relay ? { relay: this.deps.relay } : {}),
        propagationTimeoutMs: this.deps.propagationTimeoutMs,
        propagationIntervalMs: this.deps.propagationIntervalMs,
      });
      rt.solver.catch(() => delete rt.solver);
    }
    return rt.solver;
  }
}
