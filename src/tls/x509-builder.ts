import { createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';

/**
 * A minimal, synchronous X.509 builder for ECDSA P-256 and RSA certificates: enough for berth's generated
 * default certificate (and for tests that need a CA and leaves on the fly). Synchronous on purpose:
 * the store must have a default certificate from its first handshake on, without an async init.
 */

/** Input for {@link buildCertificate}. */
export interface CertificateSpec {
  /** Subject common name. */
  commonName: string;
  /** DNS names for subjectAltName (may include `*.` wildcards). */
  dnsNames?: string[];
  notBefore?: Date;
  notAfter?: Date;
  /** A CA certificate (basicConstraints cA=true, keyCertSign). */
  isCA?: boolean;
  /** Signs with this issuer; omitted = self-signed. */
  issuer?: { commonName: string; key: KeyObject | string };
  /** The subject's key; omitted = a fresh key of `keyType`. */
  key?: KeyObject | string;
  /** Type of a generated key (default EC P-256). */
  keyType?: 'ec' | 'rsa';
  /** Also valid as a TLS client certificate (extended key usage clientAuth). */
  clientAuth?: boolean;
}

/** A built certificate: PEM key (PKCS#8) and PEM certificate. */
export interface BuiltCertificate {
  key: string;
  cert: string;
}

/** Builds and signs a certificate (SHA-256 with the issuer's ECDSA or RSA key). */
export function buildCertificate(spec: CertificateSpec): BuiltCertificate {
  const subjectKey =
    spec.key !== undefined
      ? toKey(spec.key)
      : spec.keyType === 'rsa'
        ? generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey
        : generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
  const issuerKey = spec.issuer ? toKey(spec.issuer.key) : subjectKey;
  const notBefore = spec.notBefore ?? new Date(Date.now() - 60_000);
  const notAfter = spec.notAfter ?? new Date(notBefore.getTime() + 365 * 86_400_000);
  const spki = createPublicKey(subjectKey).export({ type: 'spki', format: 'der' });
  const serial = randomBytes(16);
  serial[0] = (serial[0] ?? 0) & 0x7f || 0x01; // positive and minimally encoded (no leading zero byte)

  const extensions: Buffer[] = [];
  const names = spec.dnsNames ?? [];
  if (names.length > 0) {
    extensions.push(extension('2.5.29.17', false, seq(...names.map((n) => tagged(0x82, Buffer.from(n, 'ascii'))))));
  }
  if (spec.isCA) {
    extensions.push(extension('2.5.29.19', true, seq(tlv(0x01, Buffer.from([0xff])))));
    extensions.push(extension('2.5.29.15', true, tlv(0x03, Buffer.from([0x01, 0x06])))); // keyCertSign | cRLSign
  } else {
    extensions.push(extension('2.5.29.19', true, seq()));
    // digitalSignature (+ keyEncipherment for RSA keys)
    const rsa = subjectKey.asymmetricKeyType === 'rsa';
    extensions.push(
      extension('2.5.29.15', true, tlv(0x03, rsa ? Buffer.from([0x05, 0xa0]) : Buffer.from([0x07, 0x80]))),
    );
    extensions.push(
      extension(
        '2.5.29.37',
        false,
        spec.clientAuth ? seq(oid('1.3.6.1.5.5.7.3.1'), oid('1.3.6.1.5.5.7.3.2')) : seq(oid('1.3.6.1.5.5.7.3.1')),
      ),
    );
  }

  // ecdsa-with-SHA256, or sha256WithRSAEncryption (with its NULL parameters) for an RSA issuer.
  const sigAlg =
    issuerKey.asymmetricKeyType === 'rsa'
      ? seq(oid('1.2.840.113549.1.1.11'), Buffer.from([0x05, 0x00]))
      : seq(oid('1.2.840.10045.4.3.2'));
  const tbs = seq(
    tagged(0xa0, tlv(0x02, Buffer.from([0x02]))),
    tlv(0x02, serial),
    sigAlg,
    name(spec.issuer?.commonName ?? spec.commonName),
    seq(time(notBefore), time(notAfter)),
    name(spec.commonName),
    spki,
    tagged(0xa3, seq(...extensions)),
  );
  const signature = sign('sha256', tbs, issuerKey);
  const der = seq(tbs, sigAlg, tlv(0x03, Buffer.concat([Buffer.from([0]), signature])));
  return {
    key: subjectKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    cert: toPem(der, 'CERTIFICATE'),
  };
}

function toKey(k: KeyObject | string): KeyObject {
  return typeof k === 'string' ? createPrivateKey(k) : k;
}

function toPem(der: Buffer, label: string): string {
  const b64 = der.toString('base64').replace(/.{64}/g, '$&\n');
  return `-----BEGIN ${label}-----\n${b64}${b64.endsWith('\n') ? '' : '\n'}-----END ${label}-----\n`;
}

function length(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v >>= 8) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

function tlv(tag: number, value: Buffer): Buffer {
  return Buffer.concat([Buffer.from([tag]), length(value.length), value]);
}

function tagged(tag: number, value: Buffer): Buffer {
  return tlv(tag, value);
}

function seq(...items: Buffer[]): Buffer {
  return tlv(0x30, Buffer.concat(items));
}

function oid(dotted: string): Buffer {
  const parts = dotted.split('.').map(Number);
  const bytes: number[] = [(parts[0] ?? 0) * 40 + (parts[1] ?? 0)];
  for (const p of parts.slice(2)) {
    const chunk: number[] = [p & 0x7f];
    for (let v = p >> 7; v > 0; v >>= 7) chunk.unshift((v & 0x7f) | 0x80);
    bytes.push(...chunk);
  }
  return tlv(0x06, Buffer.from(bytes));
}

function name(cn: string): Buffer {
  return seq(tlv(0x31, seq(oid('2.5.4.3'), tlv(0x0c, Buffer.from(cn, 'utf8')))));
}

function time(d: Date): Buffer {
  const iso = d.toISOString().replace(/[-:T]/g, '').slice(0, 14) + 'Z'; // YYYYMMDDHHMMSSZ
  const year = d.getUTCFullYear();
  // RFC 5280: UTCTime through 2049, GeneralizedTime from 2050.
  return year < 2050 ? tlv(0x17, Buffer.from(iso.slice(2), 'ascii')) : tlv(0x18, Buffer.from(iso, 'ascii'));
}

function extension(id: string, critical: boolean, value: Buffer): Buffer {
  return critical ? seq(oid(id), tlv(0x01, Buffer.from([0xff])), tlv(0x04, value)) : seq(oid(id), tlv(0x04, value));
}
