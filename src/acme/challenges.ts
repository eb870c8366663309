import * as acme from 'acme-client';
import type { CertificateStore } from '../tls/certificate-store.ts';
import type { DnsProvider } from '../dns/cloudflare.ts';
import { waitForTxt, type PropagationOptions } from '../dns/propagation.ts';
import type { Logger } from '../lib/logger.ts';
import type { ChallengeType } from './wanted.ts';
import { Http01Responder } from './http01-responder.ts';

export { Http01Responder };

type Authz = Parameters<NonNullable<acme.ClientAutoOptions['challengeCreateFn']>>[0];
type Challenge = Parameters<NonNullable<acme.ClientAutoOptions['challengeCreateFn']>>[1];

/** Presents and removes one kind of ACME challenge. */
export interface ChallengeSolver {
  readonly type: ChallengeType;
  present(authz: Authz, challenge: Challenge, keyAuthorization: string): Promise<void>;
  cleanup(authz: Authz, challenge: Challenge, keyAuthorization: string): Promise<void>;
}

/** HTTP-01 through the shared responder. */
export function http01Solver(responder: Http01Responder): ChallengeSolver {
  return {
    type: 'http-01',
    present: async (_a, c, keyAuth) => responder.set(c.token, keyAuth),
    cleanup: async (_a, c) => responder.delete(c.token),
  };
}

/** TLS-ALPN-01: the store serves a challenge certificate for the name while validation runs. */
export function tlsAlpn01Solver(store: CertificateStore): ChallengeSolver {
  return {
    type: 'tls-alpn-01',
    present: async (authz, _c, keyAuth) => {
      const key = await acme.crypto.createPrivateEcdsaKey('P-256');
      const [, cert] = await acme.crypto.createAlpnCertificate(authz, keyAuth, key);
      store.setChallenge(authz.identifier.value, { key, cert });
    },
    cleanup: async (authz) => store.clearChallenge(authz.identifier.value),
  };
}

/**
 * DNS-01: a TXT record `_acme-challenge.<name>` through the DNS provider, checked on the configured
 * resolvers before the CA is asked, removed afterwards whatever happened.
 */
export function dns01Solver(provider: DnsProvider, propagation: PropagationOptions & { disableChecks?: boolean }, log?: Logger): ChallengeSolver {
  const created = new Map<string, { zoneId: string; id: string }>();
  const keyOf = (fqdn: string, value: string) => `${fqdn}|${value}`;
  return {
    type: 'dns-01',
    present: async (authz, _c, value) => {
      const fqdn = `_acme-challenge.${authz.identifier.value}`;
      const zone = await provider.findZone(fqdn);
      const rec = await provider.createRecord(zone.id, { type: 'TXT', name: fqdn, content: value, ttl: 120 });
      created.set(keyOf(fqdn, value), { zoneId: zone.id, id: rec.id });
      log?.debug({ fqdn, zone: zone.name }, 'dns-01 TXT record created');
      if (!propagation.disableChecks) await waitForTxt(fqdn, value, propagation);
    },
    cleanup: async (authz, _c, value) => {
      const fqdn = `_acme-challenge.${authz.identifier.value}`;
      const rec = created.get(keyOf(fqdn, value));
      if (!rec) return;
      created.delete(keyOf(fqdn, value));
      try {
        await provider.deleteRecord(rec.zoneId, rec.id);
      } catch (err) {
        log?.warn({ fqdn, err: String(err) }, 'dns-01 TXT record could not be removed');
        throw err;
      }
    },
  };
}
