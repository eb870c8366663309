import type { StaticConfig } from '../config/static/types.ts';
import type { Logger } from '../lib/logger.ts';
import type { CertificateStore } from '../tls/certificate-store.ts';
import type { ChallengeRelay } from './challenges.ts';
import type { AcmeStorage } from './storage.ts';

/**
 * Options for the certificate manager: resolvers, the TLS store it serves into, and the clocks,
 * storage and timings tests and fleets replace. Apart from the manager so callers build them
 * without reading the planning code.
 */
export interface CertificateManagerOptions {
  resolvers: StaticConfig['certificatesResolvers'];
  store: CertificateStore;
  logger?: Logger;
  env?: NodeJS.ProcessEnv;
  /** Storage per `acme.storage` path (default: the acme.json file; a fleet gives Redis). */
  storageFactory?: (path: string) => AcmeStorage;
  /** Publishes HTTP-01 / TLS-ALPN-01 answers to every fleet host. */
  relay?: ChallengeRelay;
  /** Clock (tests move it to reach the renewal window). */
  now?: () => number;
  /** Retry backoff after a failed order: doubles from `initialMs` up to `maxMs`. */
  backoff?: { initialMs?: number; maxMs?: number };
  /** How often certificates are checked for renewal (default: Traefik's interval for `certificatesDuration`). */
  renewCheckIntervalMs?: number;
  /** Upper bound for a DNS-01 propagation check. */
  propagationTimeoutMs?: number;
  /** Time between DNS-01 propagation checks (default 2 s, as lego). */
  propagationIntervalMs?: number;
  /** While the shared storage is unreachable, only certificates expiring within this are ordered (default 7 days). */
  localOrderWindowMs?: number;
}
