import { createPrivateKey, createPublicKey, webcrypto } from 'node:crypto';
import { isIP } from 'node:net';
import * as x509 from '@peculiar/x509';

/** What goes into a certificate request besides the key. */
export interface CsrOptions {
  /** DNS names; the first is the subject CN unless `disableCommonName` (or over 64 characters). */
  readonly names: readonly string[];
  /** `acme.emailAddresses`: e-mail SANs (rfc822Name), as lego puts them into the CSR. */
  readonly emailAddresses?: readonly string[];
  /** `acme.disableCommonName`: no subject CN at all. */
  readonly disableCommonName?: boolean;
}

x509.cryptoProvider.set(webcrypto);

/**
 * A PKCS#10 request for `keyPem` (PKCS#8 PEM, EC or RSA). acme-client's own helper cannot add
 * e-mail SANs or leave the CN out, which Traefik's `emailAddresses` and `disableCommonName` need.
 */
export async function createCsr(keyPem: string, opts: CsrOptions): Promise<Buffer> {
  const key = createPrivateKey(keyPem);
  const curve = key.asymmetricKeyDetails?.namedCurve;
  const algorithm =
    key.asymmetricKeyType === 'ec'
      ? {
          name: 'ECDSA',
          namedCurve: curve === 'secp384r1' ? 'P-384' : 'P-256',
          hash: curve === 'secp384r1' ? 'SHA-384' : 'SHA-256',
        }
      : { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };
  const privateKey = await webcrypto.subtle.importKey(
    'pkcs8',
    key.export({ type: 'pkcs8', format: 'der' }),
    algorithm,
    true,
    ['sign'],
  );
  const publicKey = await webcrypto.subtle.importKey(
    'spki',
    createPublicKey(key).export({ type: 'spki', format: 'der' }),
    algorithm,
    true,
    ['verify'],
  );
  const first = opts.names[0];
  const cn = !opts.disableCommonName && first !== undefined && first.length <= 64 ? first : undefined;
  const san = [
    ...opts.names.map((value) => ({ type: isIP(value) ? ('ip' as const) : ('dns' as const), value })),
    ...(opts.emailAddresses ?? []).map((value) => ({ type: 'email' as const, value })),
  ];
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    ...(cn ? { name: [{ CN: [cn] }] } : {}),
    keys: { privateKey, publicKey },
    signingAlgorithm: algorithm,
    extensions: [
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment),
      new x509.SubjectAlternativeNameExtension(san),
    ],
  });
  return Buffer.from(csr.toString('pem'));
}
