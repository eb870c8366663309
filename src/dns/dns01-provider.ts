/**
 * The contract every DNS-01 provider fulfils. It is lego's `challenge.Provider` seen from berth:
 * present a TXT record, remove it again. Zone discovery, credentials and the API are the
 * provider's business; propagation checks and CNAME following are the solver's, so every
 * provider gets them the same way.
 */

/** One DNS-01 challenge as a provider sees it (lego's `dns01.ChallengeInfo` plus the raw parts). */
export interface Dns01Challenge {
  /** The identifier being validated, without `*.` (`example.com` for `*.example.com`). */
  readonly domain: string;
  /** `_acme-challenge.<domain>.` with the trailing dot. */
  readonly fqdn: string;
  /** Where the record goes: `fqdn`, or the end of its CNAME chain (delegated validation). */
  readonly effectiveFqdn: string;
  /** The TXT value: base64url of the SHA-256 of the key authorisation. */
  readonly value: string;
  /** The challenge token and key authorisation (lego's RAW modes hand these over). */
  readonly token: string;
  readonly keyAuthorization: string;
}

/** Timing a provider asks for (lego's `*_PROPAGATION_TIMEOUT`, `*_POLLING_INTERVAL`). */
export interface Dns01Timing {
  readonly timeoutMs?: number;
  readonly intervalMs?: number;
}

/** A DNS provider able to answer DNS-01 challenges. */
export interface Dns01Provider {
  /** The `dnsChallenge.provider` name. */
  readonly name: string;
  /** Publishes the TXT record; resolves once the provider's API accepted it. */
  present(challenge: Dns01Challenge): Promise<void>;
  /** Removes exactly that record (other values on the same name stay). */
  cleanup(challenge: Dns01Challenge): Promise<void>;
  /** Timing from the provider's environment, overriding the defaults when set. */
  readonly timing?: Dns01Timing;
  /**
   * Whether the record's visibility can be checked through DNS. False for providers whose record
   * lives elsewhere than the name resolves to until a CNAME exists (acme-dns registration).
   */
  readonly checkable?: boolean;
}
