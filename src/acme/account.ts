import { createPrivateKey, generateKeyPair } from 'node:crypto';
import { promisify } from 'node:util';
import * as acme from 'acme-client';
import type { AcmeAccountRecord } from './storage.ts';

const generateKeyPairAsync = promisify(generateKeyPair);

/** Traefik's certcrypto.KeyType strings for a resolver's `keyType`. */
const KEY_TYPES: Record<string, string> = {
  EC256: 'P256',
  EC384: 'P384',
  RSA2048: '2048',
  RSA4096: '4096',
  RSA8192: '8192',
};

/** Traefik's stored `KeyType` for a configured keyType (EC256 by default). */
export function storedKeyType(keyType: string | undefined): string {
  return KEY_TYPES[keyType ?? 'EC256'] ?? 'P256';
}

/** Creates the private key for a certificate of `keyType` (EC256, EC384, RSA2048/4096/8192). */
export async function createCertificateKey(keyType: string | undefined): Promise<Buffer> {
  switch (keyType ?? 'EC256') {
    case 'EC384':
      return acme.crypto.createPrivateEcdsaKey('P-384');
    case 'RSA2048':
      return acme.crypto.createPrivateRsaKey(2048);
    case 'RSA4096':
      return acme.crypto.createPrivateRsaKey(4096);
    case 'RSA8192':
      return acme.crypto.createPrivateRsaKey(8192);
    default:
      return acme.crypto.createPrivateEcdsaKey('P-256');
  }
}

/**
 * A new account key in Traefik's storage form: RSA, PKCS#1 DER, base64 (Traefik reads it with
 * x509.ParsePKCS1PrivateKey, so a berth-written acme.json stays usable by Traefik).
 */
export async function newAccountKey(): Promise<{ stored: string; pem: string }> {
  const { privateKey } = await generateKeyPairAsync('rsa', { modulusLength: 2048 });
  return {
    stored: privateKey.export({ type: 'pkcs1', format: 'der' }).toString('base64'),
    pem: privateKey.export({ type: 'pkcs1', format: 'pem' }).toString(),
  };
}

/** The PEM of a stored account key (PKCS#1 as Traefik writes it; PKCS#8 and SEC1 accepted too). */
export function accountKeyPem(account: AcmeAccountRecord): string {
  const der = Buffer.from(account.PrivateKey, 'base64');
  for (const type of ['pkcs1', 'pkcs8', 'sec1'] as const) {
    try {
      return createPrivateKey({ key: der, format: 'der', type })
        .export({ type: type === 'sec1' ? 'sec1' : 'pkcs8', format: 'pem' })
        .toString();
    } catch {
      // try the next encoding
    }
  }
  throw new Error('stored account private key is not a PKCS#1, PKCS#8 or SEC1 DER key');
}
