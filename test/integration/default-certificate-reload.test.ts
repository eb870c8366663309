import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { stringify } from 'yaml';
import { startBerth, type BerthProcess } from '../helpers/berth.ts';
import { freePort, waitUntil } from '../helpers/net.ts';
import { createPki, type TestPki } from '../helpers/pki.ts';
import { tempDir } from '../helpers/temp.ts';

/**
 * `tls.stores.default.defaultCertificate` changed by a reload reaches every handshake: the ones
 * with an unknown SNI and the ones with no SNI at all (which node:tls answers from the listener's
 * own context, not from the SNI callback), with one worker and with several.
 */

/** The CN of the certificate served on `port`, with `servername` or without SNI. */
function servedCn(port: number, servername?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port, rejectUnauthorized: false, ...(servername ? { servername } : {}) });
    s.setTimeout(10_000, () => s.destroy(new Error(`no TLS handshake on ${port} within 10 s`)));
    s.once('secureConnect', () => {
      const cn = s.getPeerCertificate().subject?.CN ?? '';
      s.destroy();
      resolve(Array.isArray(cn) ? cn.join(',') : cn);
    });
    s.once('error', reject);
  });
}

for (const workers of [1, 2]) {
  describe(`the default certificate follows reloads (workers: ${workers})`, () => {
    let pki: TestPki;
    let berth: BerthProcess;
    let port: number;
    let dynamicFile: string;
    const dir = tempDir('berth-defcert-');

    const writeDynamic = (cn: string): void => {
      const pair = pki.issue(cn, `DNS:${cn}.example.test`);
      const tmp = `${dynamicFile}.tmp`;
      writeFileSync(
        tmp,
        stringify({
          http: {
            routers: { any: { rule: 'PathPrefix(`/`)', entryPoints: ['websecure'], service: 'up', tls: {} } },
            services: { up: { loadBalancer: { servers: [{ url: 'http://127.0.0.1:9' }] } } },
          },
          tls: { stores: { default: { defaultCertificate: { certFile: pair.cert, keyFile: pair.key } } } },
        }),
      );
      renameSync(tmp, dynamicFile);
    };

    before(async () => {
      pki = createPki();
      port = await freePort();
      dynamicFile = join(dir, 'dynamic.yaml');
      writeDynamic('first');
      berth = await startBerth({
        dir,
        config: {
          workers,
          entryPoints: { websecure: { address: `127.0.0.1:${port}` } },
          providers: { file: { filename: dynamicFile, watch: true } },
        },
      });
      await waitUntil(async () => (await servedCn(port, 'unknown.example.test')) === 'first', 'the first default');
    });

    after(async () => {
      await berth?.stop();
    });

    test('before the reload: with and without SNI, the configured default', async () => {
      assert.equal(await servedCn(port, 'unknown.example.test'), 'first');
      assert.equal(await servedCn(port), 'first');
    });

    test('after the reload: with and without SNI, the new default', async () => {
      writeDynamic('second');
      await waitUntil(
        async () => (await servedCn(port, 'unknown.example.test')) === 'second',
        'the new default for an unknown name',
        20_000,
      );
      // Every worker: several connections, each may land on another worker's listener.
      for (let i = 0; i < 8; i++) assert.equal(await servedCn(port), 'second', `connection ${i} without SNI`);
    });
  });
}
