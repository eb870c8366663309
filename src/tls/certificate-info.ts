import { X509Certificate, createPrivateKey } from 'node:crypto';
import { BerthError, ErrorCodes, errorMessage } from '../lib/errors.ts';

/** What berth needs to know about a certificate to select and renew it. */
export interface CertificateInfo {
  /** DNS names it is valid for, lower-case (SANs; the CN only when there are no DNS SANs). */
  names: string[];
  notBefore: Date;
  notAfter: Date;
  /** Issuer distinguished name, one line (`CN=Pebble Intermediate CA 2a1b, O=…`). */
  issuer: string;
  /** SHA-256 fingerprint of the leaf. */
  fingerprint: string;
}

/** Lower-cases a host name and drops one trailing dot: the one normal form for SNI, Host and SANs. */
export function normalizeName(name: string): string {
  const lower = name.toLowerCase();
  return lower.endsWith('.') ? lower.slice(0, -1) : lower;
}

/** Reads names and validity from the first certificate of a PEM chain. */
export function readCertificateInfo(certPem: string | Buffer): CertificateInfo {
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(certPem);
  } catch (err) {
    throw new BerthError(ErrorCodes.TLS_CERT_INVALID, `cannot parse certificate: ${errorMessage(err)}`, { cause: err });
  }
  return infoOf(x509);
}

/**
 * Parses a key/certificate pair and proves the key belongs to the certificate. A pair that does not
 * match is refused here, so a bad swap can never replace a working certificate.
 */
export function checkCertificatePair(keyPem: string | Buffer, certPem: string | Buffer): CertificateInfo {
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(certPem);
  } catch (err) {
    throw new BerthError(ErrorCodes.TLS_CERT_INVALID, `cannot parse certificate: ${errorMessage(err)}`, { cause: err });
  }
  let matches: boolean;
  try {
    matches = x509.checkPrivateKey(createPrivateKey(keyPem));
  } catch (err) {
    throw new BerthError(ErrorCodes.TLS_CERT_INVALID, `cannot parse private key: ${errorMessage(err)}`, { cause: err });
  }
  if (!matches) {
    throw new BerthError(
      ErrorCodes.TLS_CERT_INVALID,
      `private key does not match the certificate for ${infoOf(x509).names.join(', ') || x509.subject}`,
    );
  }
  return infoOf(x509);
}

function infoOf(x509: X509Certificate): CertificateInfo {
  const names: string[] = [];
  for (const part of splitSan(x509.subjectAltName ?? '')) {
    if (part.startsWith('DNS:')) names.push(normalizeName(unquote(part.slice(4))));
  }
  if (names.length === 0) {
    const cn = /(?:^|\n)CN=([^\n]+)/.exec(x509.subject)?.[1];
    if (cn) names.push(normalizeName(cn));
  }
  return {
    names: [...new Set(names)],
    notBefore: new Date(x509.validFrom),
    notAfter: new Date(x509.validTo),
    issuer: x509.issuer.split('\n').join(', '),
    fingerprint: x509.fingerprint256,
  };
}

// Node quotes SAN entries that contain commas or quotes: `DNS:"a,b"`.
function splitSan(san: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < san.length; i++) {
    const c = san[i];
    if (c === '"') quoted = !quoted;
    if (c === ',' && !quoted) {
      out.push(cur.trim());
      cur = '';
      continue;
    }
    cur += c;
  }
  if (cur.trim()) out.push(cur.trim());
  return out;
}

function unquote(v: string): string {
  return v.startsWith('"') && v.endsWith('"') ? v.slice(1, -1) : v;
}

/** Whether `name` is covered by `pattern` (exact, or a wildcard covering exactly one label). */
export function nameMatches(pattern: string, name: string): boolean {
  if (pattern === name) return true;
  if (!pattern.startsWith('*.')) return false;
  const dot = name.indexOf('.');
  return dot > 0 && name.slice(dot + 1) === pattern.slice(2);
}
