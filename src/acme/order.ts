import * as acme from 'acme-client';
import type { Logger } from '../lib/logger.ts';
import type { ChallengeSolver } from './challenges.ts';

/** What one order needs besides the client. */
export interface OrderRequest {
  /** Names in order: the first is the CN unless `disableCommonName`. */
  readonly names: readonly string[];
  readonly csr: Buffer;
  readonly solver: ChallengeSolver;
  /** Let's Encrypt certificate profile (`acme.profile`, draft-aaron-acme-profiles). */
  readonly profile?: string;
  /** Issuer CN of the chain to prefer (`acme.preferredChain`). */
  readonly preferredChain?: string;
  /** Aborts between steps (berth stopping, a lost fleet lease). */
  readonly signal?: AbortSignal;
  readonly log?: Logger;
}

/**
 * RFC 8555 issuance, step by step: newOrder (with the profile when one is configured), every
 * authorisation through the solver (presented, validated, removed again whatever happened),
 * finalize with the CSR, download with the preferred chain. acme-client's `auto()` is not used:
 * it cannot send a profile, and berth wants to stop between steps when its lease is gone.
 */
export async function orderCertificate(client: acme.Client, req: OrderRequest): Promise<string> {
  const payload: Parameters<acme.Client['createOrder']>[0] & { profile?: string } = {
    identifiers: req.names.map((value) => ({ type: 'dns', value })),
    ...(req.profile ? { profile: req.profile } : {}),
  };
  const order = await client.createOrder(payload);
  stopIfAborted(req.signal);
  const authorizations = await client.getAuthorizations(order);
  const results = await Promise.allSettled(authorizations.map((authz) => solve(client, authz, req)));
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
  stopIfAborted(req.signal);
  const finalized = await client.finalizeOrder(order, req.csr);
  return client.getCertificate(finalized, req.preferredChain);
}

async function solve(client: acme.Client, authz: acme.Authorization, req: OrderRequest): Promise<void> {
  if (authz.status === 'valid') return;
  const challenge = authz.challenges.find((c) => c.type === req.solver.type);
  const name = authz.identifier.value;
  if (!challenge)
    throw new Error(
      `the CA offers no ${req.solver.type} challenge for ${name} (offered: ${authz.challenges.map((c) => c.type).join(', ')})`,
    );
  const keyAuthorization = await client.getChallengeKeyAuthorization(challenge);
  let completed = false;
  try {
    try {
      stopIfAborted(req.signal);
      await req.solver.present(authz, challenge, keyAuthorization);
      stopIfAborted(req.signal);
      await client.completeChallenge(challenge);
      completed = true;
      await client.waitForValidStatus(challenge);
    } finally {
      try {
        await req.solver.cleanup(authz, challenge, keyAuthorization);
      } catch (err) {
        req.log?.warn({ name, challenge: challenge.type, err: String(err) }, 'challenge cleanup failed');
      }
    }
  } catch (err) {
    // A pending authorisation left behind would be reused by the CA for the next order.
    if (!completed) await client.deactivateAuthorization(authz).catch(() => undefined);
    throw err;
  }
}

function stopIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw signal.reason instanceof Error ? signal.reason : new Error('order aborted');
}

/**
 * The profiles a CA advertises in its directory (`meta.profiles`), or undefined when it does not
 * advertise any (no profile support, e.g. pebble before 2.7).
 */
export async function advertisedProfiles(directoryUrl: string): Promise<string[] | undefined> {
  const res = await acme.axios.get(directoryUrl);
  const meta = (res.data as { meta?: { profiles?: Record<string, unknown> } } | undefined)?.meta;
  return meta?.profiles && typeof meta.profiles === 'object' ? Object.keys(meta.profiles) : undefined;
}
