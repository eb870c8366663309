import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** The one certificate every TLS target serves: files in each format the peers want. */
export interface BenchCert {
  readonly certFile: string;
  readonly keyFile: string;
  /** Certificate followed by key (HAProxy's `crt`). */
  readonly pemFile: string;
}

/**
 * A self-signed ECDSA P-256 certificate for bench.test, *.bench.test and localhost, made with
 * openssl. The same key type for every target, so handshake numbers compare the proxies, not RSA
 * against ECDSA.
 */
export function makeBenchCert(dir: string): BenchCert {
  const certFile = join(dir, 'bench.crt');
  const keyFile = join(dir, 'bench.key');
  const pemFile = join(dir, 'bench.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      keyFile,
      '-out',
      certFile,
      '-days',
      '30',
      '-subj',
      '/CN=bench.test',
      '-addext',
      'subjectAltName=DNS:bench.test,DNS:*.bench.test,DNS:localhost,IP:127.0.0.1',
    ],
    { stdio: 'ignore' },
  );
  writeFileSync(pemFile, readFileSync(certFile, 'utf8') + readFileSync(keyFile, 'utf8'));
  return { certFile, keyFile, pemFile };
}
