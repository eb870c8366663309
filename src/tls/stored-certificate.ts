/*
 * The certificate store's data: what is stored, what it reports, what crosses to workers, and the
 * rule choosing between two certificates for one name. Apart from the store so the worker protocol
 * and readers name these types without the store's behaviour.
 */

/** Where a certificate came from. */
export type CertificateSource = 'file' | 'acme' | 'default' | 'generated' | 'api';

/** A key/certificate pair as handed to {@link CertificateStore.put}. */
export interface CertificatePair {
  key: string | Buffer;
  /** The leaf first, then the chain. */
  cert: string | Buffer;
  source: CertificateSource;
}

/** The store's state as it crosses to worker processes. */
export interface ReplicatedCertificates {
  entries: { id: string; key: string; cert: string; source: CertificateSource }[];
  default: { id: string; key: string; cert: string; source: CertificateSource };
  challenges: { name: string; key: string; cert: string }[];
}

/** One row of {@link CertificateStore.list}. */
export interface StoredCertificate {
  id: string;
  names: string[];
  notAfter: Date;
  notBefore: Date;
  issuer: string;
  source: CertificateSource;
}

/** A stored certificate; replaced (never mutated) on swap, so per-entry context caches stay correct. */
export interface CertificateEntry extends StoredCertificate {
  key: string | Buffer;
  cert: string | Buffer;
}

/** The indexes SNI selection reads; rebuilt whole and published by one assignment. */
export interface CertificateIndex {
  exact: Map<string, CertificateEntry>;
  /** `example.com` → the certificate for `*.example.com`. */
  wildcard: Map<string, CertificateEntry>;
}

/** How the SNI lookup ended: which certificate, and whether the default was a fallback. */
export interface Selection {
  id: string;
  names: string[];
  match: 'exact' | 'wildcard' | 'default' | 'challenge';
}

/** A valid certificate beats an expired one; among equals the one that lives longer wins. */
export function better(a: CertificateEntry, b: CertificateEntry, now: number): boolean {
  const aValid = a.notAfter.getTime() > now;
  const bValid = b.notAfter.getTime() > now;
  if (aValid !== bValid) return aValid;
  return a.notAfter.getTime() > b.notAfter.getTime();
}

/** A row for {@link CertificateStore.list}: a copy, so callers cannot edit the stored entry. */
export function summary(e: CertificateEntry): StoredCertificate {
  return {
    id: e.id,
    names: [...e.names],
    notAfter: e.notAfter,
    notBefore: e.notBefore,
    issuer: e.issuer,
    source: e.source,
  };
}
