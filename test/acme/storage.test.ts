import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateKeyPairSync } from 'node:crypto';
import { pino } from 'pino';
import { FileAcmeStorage, decodeStore } from '../../src/acme/storage.ts';
import { accountKeyPem } from '../../src/acme/account.ts';
import { CertificateManager } from '../../src/acme/certificate-manager.ts';
import { CertificateStore } from '../../src/tls/certificate-store.ts';
import { buildCertificate } from '../../src/tls/x509-builder.ts';
import { tempDir } from '../helpers/temp.ts';

const quiet = pino({ level: 'silent' });
const b64 = (s: string) => Buffer.from(s).toString('base64');

/** An acme.json as Traefik v3 writes it (PKCS#1 account key, base64 PEMs, nulls where Go has nil). */
function traefikFile(): { text: string; leafCert: string } {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const leaf = buildCertificate({ commonName: '*.example.com', dnsNames: ['*.example.com', 'example.com'] });
  const doc = {
    letsencrypt: {
      Account: {
        Email: 'ops@example.com',
        Registration: {
          body: { status: 'valid', contact: ['mailto:ops@example.com'] },
          uri: 'https://acme-v02.api.letsencrypt.org/acme/acct/123',
        },
        PrivateKey: privateKey.export({ type: 'pkcs1', format: 'der' }).toString('base64'),
        KeyType: '4096',
      },
      Certificates: [
        {
          domain: { main: '*.example.com', sans: ['example.com'] },
          certificate: b64(leaf.cert),
          key: b64(leaf.key),
          Store: 'default',
        },
        { domain: { main: 'empty.example.com' }, certificate: '', key: '', Store: 'default' },
      ],
    },
    other: { Account: null, Certificates: null },
  };
  return { text: JSON.stringify(doc, null, 2), leafCert: leaf.cert };
}

describe('FileAcmeStorage', () => {
  test('a Traefik-written acme.json loads as is; empty entries are dropped as Traefik does', async () => {
    const dir = tempDir('berth-acmejson-');
    const path = join(dir, 'acme.json');
    writeFileSync(path, traefikFile().text, { mode: 0o600 });
    const doc = await new FileAcmeStorage(path).read();
    assert.equal(doc['letsencrypt']?.Certificates?.length, 1);
    assert.equal(doc['letsencrypt']?.Account?.Email, 'ops@example.com');
    assert.match(accountKeyPem(doc['letsencrypt']!.Account!), /BEGIN PRIVATE KEY/);
    assert.deepEqual(doc['other'], { Account: null, Certificates: [] });
  });

  test('certificates from a Traefik file are served after start, with zero orders', async () => {
    const dir = tempDir('berth-acmejson-');
    const path = join(dir, 'acme.json');
    writeFileSync(path, traefikFile().text, { mode: 0o600 });
    const store = new CertificateStore();
    // caServer is unreachable on purpose: any order attempt would fail and show up in status().
    const m = new CertificateManager({
      logger: quiet,
      store,
      resolvers: {
        letsencrypt: {
          acme: { storage: path, caServer: 'https://127.0.0.1:1/dir', dnsChallenge: { provider: 'cloudflare' } },
        },
      },
    });
    await m.start();
    m.update(
      {
        http: {
          routers: { a: { rule: 'Host(`www.example.com`)', service: 's', tls: { certResolver: 'letsencrypt' } } },
        },
      },
      {},
    );
    await m.whenIdle();
    assert.equal(store.select('www.example.com').match, 'wildcard');
    assert.deepEqual(
      m.status().map((s) => s.state),
      ['valid'],
    );
    await m.stop();
  });

  const corrupt = [
    { desc: 'truncated JSON', text: '{"le": {"Account": ' },
    { desc: 'not an object', text: '[1,2,3]' },
    { desc: 'resolver is a string', text: '{"le": "x"}' },
    { desc: 'Certificates is not a list', text: '{"le": {"Certificates": 5}}' },
  ];
  for (const c of corrupt) {
    test(`corrupt file is quarantined: ${c.desc}`, async () => {
      const dir = tempDir('berth-acmejson-');
      const path = join(dir, 'acme.json');
      writeFileSync(path, c.text, { mode: 0o600 });
      const lines: string[] = [];
      const log = pino({ level: 'info' }, { write: (s: string) => lines.push(s) });
      const doc = await new FileAcmeStorage(path, log).read();
      assert.deepEqual(doc, {});
      const names = readdirSync(dir);
      const aside = names.find((n) => n.startsWith('acme.json.corrupt-'));
      assert.ok(aside, names.join(','));
      assert.equal(readFileSync(join(dir, aside), 'utf8'), c.text);
      assert.ok(!names.includes('acme.json'));
      assert.ok(lines.some((l) => l.includes('corrupt')));
    });
  }

  test('missing and empty files are an empty store', async () => {
    const dir = tempDir('berth-acmejson-');
    assert.deepEqual(await new FileAcmeStorage(join(dir, 'none.json')).read(), {});
    writeFileSync(join(dir, 'empty.json'), '');
    assert.deepEqual(await new FileAcmeStorage(join(dir, 'empty.json')).read(), {});
  });

  test('writes are 0600, in a created directory, and too-open files are tightened on read', async () => {
    const dir = tempDir('berth-acmejson-');
    const path = join(dir, 'sub', 'acme.json');
    const s = new FileAcmeStorage(path, quiet);
    await Promise.all([
      s.write({ a: { Account: null, Certificates: [] } }),
      s.write({ b: { Account: null, Certificates: [] } }),
    ]);
    assert.deepEqual(Object.keys(JSON.parse(readFileSync(path, 'utf8'))), ['b'], 'writes land in call order');
    assert.equal(statSync(path).mode & 0o777, 0o600);
    chmodSync(path, 0o644);
    await s.read();
    assert.equal(statSync(path).mode & 0o777, 0o600);
  });

  test('stale temp files of interrupted writes are removed on read', async () => {
    const dir = tempDir('berth-acmejson-');
    const path = join(dir, 'acme.json');
    writeFileSync(path, '{}');
    writeFileSync(join(dir, '.acme.json.123.abc.tmp'), '{"half');
    await new FileAcmeStorage(path).read();
    assert.deepEqual(readdirSync(dir), ['acme.json']);
  });

  test('decodeStore tolerates null sections', () => {
    assert.deepEqual(decodeStore({ a: null }), {});
  });
});
