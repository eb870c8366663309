import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { tempDir } from './temp.ts';

/** PEM files of one certificate and its key. */
export interface IssuedFiles {
  readonly cert: string;
  readonly key: string;
}

/** A throwaway certificate authority on disk (openssl CLI), for servers and clients that check each other. */
export interface TestPki {
  readonly dir: string;
  /** The CA's certificate file. */
  readonly ca: string;
  /** Issues a leaf signed by the CA, named `name` (CN), with `san` (e.g. `IP:127.0.0.1,DNS:localhost`). */
  issue(name: string, san: string): IssuedFiles;
}

/** Creates a CA in a temp directory (removed at exit). */
export function createPki(cn = 'berth test CA'): TestPki {
  const dir = tempDir('berth-pki-');
  const ca = join(dir, 'ca.pem');
  const caKey = join(dir, 'ca.key');
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2'];
  execFileSync('openssl', ['req', '-x509', ...ec, '-keyout', caKey, '-out', ca, '-subj', `/CN=${cn}`], {
    stdio: 'ignore',
  });
  return {
    dir,
    ca,
    issue(name, san) {
      const cert = join(dir, `${name}.pem`);
      const key = join(dir, `${name}.key`);
      execFileSync(
        'openssl',
        [
          'req',
          '-x509',
          ...ec,
          '-keyout',
          key,
          '-out',
          cert,
          '-subj',
          `/CN=${name}`,
          '-CA',
          ca,
          '-CAkey',
          caKey,
          '-addext',
          'basicConstraints=critical,CA:FALSE',
          '-addext',
          `subjectAltName=${san}`,
        ],
        { stdio: 'ignore' },
      );
      return { cert, key };
    },
  };
}
