import type { CertResolverConfig } from '../config/static/types.ts';
import { loadDns01Provider } from '../dns/providers.ts';
import { parseDuration } from '../lib/duration.ts';
import { BerthError, ErrorCodes } from '../lib/errors.ts';
import type { Logger } from '../lib/logger.ts';
import type { CertificateStore } from '../tls/certificate-store.ts';
import { dns01Solver, http01Solver, tlsAlpn01Solver, type ChallengeRelay, type ChallengeSolver } from './challenges.ts';
import type { Http01Responder } from './http01-responder.ts';
import { challengeOf } from './wanted.ts';

/** What building a resolver's solver needs. */
export interface SolverDeps {
  readonly responder: Http01Responder;
  readonly store: CertificateStore;
  readonly env: NodeJS.ProcessEnv;
  readonly log: Logger;
  readonly signal: AbortSignal;
  readonly relay?: ChallengeRelay;
  /** Default bound of a DNS-01 propagation wait (a provider's `*_PROPAGATION_TIMEOUT` wins). */
  readonly propagationTimeoutMs: number;
  /** Default time between propagation checks (a provider's `*_POLLING_INTERVAL` wins). */
  readonly propagationIntervalMs: number;
}

/**
 * The challenge solver a resolver's configuration asks for, with Traefik's options: the DNS
 * provider (loaded now, credentials from the environment), `propagation.*` (and the deprecated
 * `delayBeforeCheck` / `disablePropagationCheck`), `httpChallenge.delay`, `tlsChallenge.delay`.
 * Throws for a provider that cannot be set up, so only this resolver's orders fail.
 */
export async function buildSolver(
  name: string,
  acme: CertResolverConfig['acme'],
  deps: SolverDeps,
): Promise<ChallengeSolver> {
  const type = challengeOf({ acme });
  const local = { signal: deps.signal, ...(deps.relay ? { relay: deps.relay } : {}) };
  if (type === 'http-01') return http01Solver(deps.responder, { ...local, ...delay(acme.httpChallenge?.delay) });
  if (type === 'tls-alpn-01') return tlsAlpn01Solver(deps.store, { ...local, ...delay(acme.tlsChallenge?.delay) });
  if (type !== 'dns-01' || !acme.dnsChallenge) {
    throw new BerthError(
      ErrorCodes.ACME_ORDER,
      `resolver ${name} has no challenge configured (dnsChallenge, httpChallenge or tlsChallenge)`,
    );
  }
  const dc = acme.dnsChallenge;
  const provider = await loadDns01Provider(dc.provider, deps.env, deps.log);
  const delayMs = parseDuration(dc.propagation?.delayBeforeChecks ?? dc.delayBeforeCheck);
  return dns01Solver(
    provider,
    {
      env: deps.env,
      resolvers: dc.resolvers ?? [],
      disableChecks: dc.propagation?.disableChecks === true || dc.disablePropagationCheck === true,
      requireAllRNS: dc.propagation?.requireAllRNS === true,
      disableANSChecks: dc.propagation?.disableANSChecks === true,
      timeoutMs: deps.propagationTimeoutMs,
      intervalMs: deps.propagationIntervalMs,
      signal: deps.signal,
      ...(delayMs ? { delayMs } : {}),
    },
    deps.log,
  );
}

function delay(value: string | undefined): { delayMs?: number } {
  const ms = parseDuration(value);
  return ms ? { delayMs: ms } : {};
}
