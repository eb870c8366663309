import * as acme from 'acme-client';
import type { CertificateStore } from '../tls/certificate-store.ts';
import type { Dns01Provider } from '../dns/dns01-provider.ts';
import { effectiveChallengeFqdn, sleep, waitForTxt, type PropagationOptions } from '../dns/propagation.ts';
import type { Logger } from '../lib/logger.ts';
import type { ChallengeType } from './wanted.ts';
import { Http01Responder } from './http01-responder.ts';

export { Http01Responder };

type Authz = Parameters<NonNullable<acme.ClientAutoOptions['challengeCreateFn']>>[0];
type Challenge = Parameters<NonNullable<acme.ClientAutoOptions['challengeCreateFn']>>[1];

/** Presents and removes one kind of ACME challenge. */
export interface ChallengeSolver {
  readonly type: ChallengeType;
  /**
   * `keyAuthorization` is the value for this challenge type (the TXT digest for DNS-01);
   * `rawKeyAuthorization` is `token.thumbprint` (lego's RAW provider modes hand it over).
   */
  present(authz: Authz, challenge: Challenge, keyAuthorization: string, rawKeyAuthorization?: string): Promise<void>;
  cleanup(authz: Authz, challenge: Challenge, keyAuthorization: string): Promise<void>;
}

/**
 * Makes challenge answers available on every host that the CA may reach (fleet mode); resolves
 * once they are. Without a fleet the local responder and store are all there is.
 */
export interface ChallengeRelay {
  publishHttp01(token: string, keyAuthorization: string): Promise<void>;
  withdrawHttp01(token: string): Promise<void>;
  publishTlsAlpn01(name: string, key: string, cert: string): Promise<void>;
  withdrawTlsAlpn01(name: string): Promise<void>;
}

/** Options shared by the HTTP-01 and TLS-ALPN-01 solvers. */
export interface LocalSolverOptions {
  /** `httpChallenge.delay` / `tlsChallenge.delay`: wait between presenting and validation. */
  readonly delayMs?: number;
  readonly relay?: ChallengeRelay;
  readonly signal?: AbortSignal;
}

/** HTTP-01 through the shared responder (and every fleet host's). */
export function http01Solver(responder: Http01Responder, opts: LocalSolverOptions = {}): ChallengeSolver {
  return {
    type: 'http-01',
    present: async (_a, c, keyAuth) => {
      responder.set(c.token, keyAuth);
      await opts.relay?.publishHttp01(c.token, keyAuth);
      if (opts.delayMs) await sleep(opts.delayMs, opts.signal);
    },
    cleanup: async (_a, c) => {
      responder.delete(c.token);
      await opts.relay?.withdrawHttp01(c.token);
    },
  };
}

/** TLS-ALPN-01: the store serves a challenge certificate for the name while validation runs. */
export function tlsAlpn01Solver(store: CertificateStore, opts: LocalSolverOptions = {}): ChallengeSolver {
  return {
    type: 'tls-alpn-01',
    present: async (authz, _c, keyAuth) => {
      const key = await acme.crypto.createPrivateEcdsaKey('P-256');
      const [, cert] = await acme.crypto.createAlpnCertificate(authz, keyAuth, key);
      store.setChallenge(authz.identifier.value, { key, cert });
      await opts.relay?.publishTlsAlpn01(authz.identifier.value, key.toString(), cert.toString());
      if (opts.delayMs) await sleep(opts.delayMs, opts.signal);
    },
    cleanup: async (authz) => {
      store.clearChallenge(authz.identifier.value);
      await opts.relay?.withdrawTlsAlpn01(authz.identifier.value);
    },
  };
}

/** Options of the DNS-01 solver. */
export interface Dns01SolverOptions extends PropagationOptions {
  /** Environment for `LEGO_DISABLE_CNAME_SUPPORT`. */
  readonly env: NodeJS.ProcessEnv;
}

/**
 * DNS-01 through any {@link Dns01Provider}: `_acme-challenge.<name>` (or the end of its CNAME
 * chain) gets the TXT value, propagation is checked as configured before the CA is asked, and the
 * record is removed afterwards whatever happened.
 */
export function dns01Solver(provider: Dns01Provider, opts: Dns01SolverOptions, log?: Logger): ChallengeSolver {
  const info = async (authz: Authz, c: Challenge, value: string, raw: string | undefined) => {
    const domain = authz.identifier.value;
    const fqdn = `_acme-challenge.${domain}.`;
    const effectiveFqdn = await effectiveChallengeFqdn(fqdn, opts.resolvers, opts.env);
    return { domain, fqdn, effectiveFqdn, value, token: c.token, keyAuthorization: raw ?? value };
  };
  const last = new Map<string, Awaited<ReturnType<typeof info>>>();
  return {
    type: 'dns-01',
    present: async (authz, c, value, raw) => {
      const ch = await info(authz, c, value, raw);
      last.set(`${c.token}`, ch);
      await provider.present(ch);
      log?.debug({ fqdn: ch.effectiveFqdn, provider: provider.name }, 'dns-01 TXT record presented');
      const timing = provider.timing ?? {};
      await waitForTxt(ch.effectiveFqdn, value, {
        ...opts,
        ...(timing.timeoutMs !== undefined ? { timeoutMs: timing.timeoutMs } : {}),
        ...(timing.intervalMs !== undefined ? { intervalMs: timing.intervalMs } : {}),
        disableChecks: opts.disableChecks === true || provider.checkable === false,
      });
    },
    cleanup: async (authz, c, value) => {
      const ch = last.get(c.token) ?? (await info(authz, c, value, undefined));
      last.delete(c.token);
      try {
        await provider.cleanup(ch);
      } catch (err) {
        log?.warn(
          { fqdn: ch.effectiveFqdn, provider: provider.name, err: String(err) },
          'dns-01 TXT record could not be removed',
        );
        throw err;
      }
    },
  };
}
