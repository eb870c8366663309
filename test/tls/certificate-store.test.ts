import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CertificateStore } from '../../src/tls/certificate-store.ts';
import { buildCertificate } from '../../src/tls/x509-builder.ts';
import { BerthError, ErrorCodes } from '../../src/lib/errors.ts';
import { tempDir } from '../helpers/temp.ts';

const ca = buildCertificate({ commonName: 'Test CA', isCA: true });
const leaf = (names: string[], notAfter?: Date) =>
  buildCertificate({
    commonName: names[0] ?? 'x',
    dnsNames: names,
    issuer: { commonName: 'Test CA', key: ca.key },
    ...(notAfter ? { notAfter } : {}),
  });

function storeWith(): CertificateStore {
  const store = new CertificateStore();
  store.put('exact', { ...leaf(['app.example.com']), source: 'acme' });
  store.put('wild', { ...leaf(['*.example.com', 'example.com']), source: 'acme' });
  store.put('deep', { ...leaf(['*.repo.server-1.example.com']), source: 'acme' });
  return store;
}

describe('CertificateStore selection', () => {
  const cases = [
    { desc: 'exact name wins over the wildcard', sni: 'app.example.com', id: 'exact', match: 'exact' },
    { desc: 'one-label wildcard', sni: 'other.example.com', id: 'wild', match: 'wildcard' },
    { desc: 'apex from the wildcard certificate SAN', sni: 'example.com', id: 'wild', match: 'exact' },
    { desc: 'a wildcard never covers two labels', sni: 'a.b.example.com', id: 'default@generated', match: 'default' },
    { desc: 'deeper wildcard', sni: 'web.repo.server-1.example.com', id: 'deep', match: 'wildcard' },
    { desc: 'upper-case SNI is normalised', sni: 'APP.Example.COM', id: 'exact', match: 'exact' },
    { desc: 'trailing dot is normalised', sni: 'app.example.com.', id: 'exact', match: 'exact' },
    { desc: 'unknown name gets the default', sni: 'unknown.test', id: 'default@generated', match: 'default' },
    { desc: 'no SNI gets the default', sni: undefined, id: 'default@generated', match: 'default' },
    { desc: 'bare label gets the default', sni: 'localhost', id: 'default@generated', match: 'default' },
  ] as const;
  const store = storeWith();
  for (const c of cases) {
    test(c.desc, () => {
      const sel = store.select(c.sni);
      assert.equal(sel.id, c.id);
      assert.equal(sel.match, c.match);
    });
  }
});

describe('CertificateStore put/remove', () => {
  test('a key that does not match is refused and the old pair keeps serving', () => {
    const store = new CertificateStore();
    const good = leaf(['a.example.com']);
    store.put('a', { ...good, source: 'acme' });
    const other = leaf(['a.example.com']);
    assert.throws(
      () => store.put('a', { key: other.key, cert: good.cert, source: 'acme' }),
      (err: unknown) => err instanceof BerthError && err.code === ErrorCodes.TLS_CERT_INVALID,
    );
    assert.equal(store.select('a.example.com').id, 'a');
    assert.equal(store.defaultCertificate().cert === good.cert, false);
    const row = store.list().find((r) => r.id === 'a');
    assert.ok(row);
  });

  test('garbage PEM is refused with a typed error', () => {
    const store = new CertificateStore();
    assert.throws(() => store.put('x', { key: 'nope', cert: 'nope', source: 'file' }), BerthError);
  });

  test('swap replaces the served certificate and remove falls back', () => {
    const store = new CertificateStore();
    const first = leaf(['a.example.com']);
    const second = leaf(['a.example.com']);
    store.put('a', { ...first, source: 'acme' });
    const seen: string[] = [];
    store.sniCallback('a.example.com', (err, ctx) => {
      assert.equal(err, null);
      assert.ok(ctx);
      seen.push('1');
    });
    store.put('a', { ...second, source: 'acme' });
    assert.equal(store.list().length, 2);
    assert.equal(store.remove('a'), true);
    assert.equal(store.remove('a'), false);
    assert.equal(store.select('a.example.com').match, 'default');
    assert.deepEqual(seen, ['1']);
  });

  test('a valid certificate is preferred over an expired one for the same name', () => {
    const store = new CertificateStore();
    store.put('old', { ...leaf(['a.example.com'], new Date(Date.now() - 1000)), source: 'acme' });
    store.put('new', { ...leaf(['a.example.com']), source: 'acme' });
    assert.equal(store.select('a.example.com').id, 'new');
  });

  test('list reports names, expiry, issuer and source', () => {
    const store = storeWith();
    const row = store.list().find((r) => r.id === 'wild');
    assert.deepEqual(row?.names, ['*.example.com', 'example.com']);
    assert.match(row?.issuer ?? '', /Test CA/);
    assert.equal(row?.source, 'acme');
    assert.ok(row && row.notAfter.getTime() > Date.now());
  });
});

describe('CertificateStore.syncFromConfig', () => {
  const dir = tempDir('berth-store-');
  const a = leaf(['file.example.com']);
  writeFileSync(join(dir, 'a.crt'), a.cert);
  writeFileSync(join(dir, 'a.key'), a.key);
  const inline = leaf(['inline.example.com']);
  const def = leaf(['default.example.com']);
  const mismatched = leaf(['bad.example.com']);

  test('loads paths and inline PEM, reports bad pairs, keeps the rest', () => {
    const store = new CertificateStore();
    const diags = store.syncFromConfig({
      certificates: [
        { certFile: join(dir, 'a.crt'), keyFile: join(dir, 'a.key') },
        { certFile: inline.cert, keyFile: inline.key },
        { certFile: mismatched.cert, keyFile: def.key },
        { certFile: join(dir, 'missing.crt'), keyFile: join(dir, 'missing.key') },
      ],
      stores: { default: { defaultCertificate: { certFile: def.cert, keyFile: def.key } } },
    });
    assert.equal(diags.length, 2);
    assert.deepEqual(
      diags.map((d) => d.element),
      ['tls.certificates[2]', 'tls.certificates[3]'],
    );
    assert.ok(diags.every((d) => d.level === 'error'));
    assert.equal(store.select('file.example.com').match, 'exact');
    assert.equal(store.select('inline.example.com').match, 'exact');
    assert.equal(store.select('bad.example.com').match, 'default');
    assert.equal(store.defaultCertificate().cert, def.cert);

    // A later config without them removes the file certificates and the configured default.
    assert.deepEqual(store.syncFromConfig(undefined), []);
    assert.equal(store.select('file.example.com').match, 'default');
    assert.notEqual(store.defaultCertificate().cert, def.cert);
  });

  test('a bad default certificate is a diagnostic and the generated one serves', () => {
    const store = new CertificateStore();
    const diags = store.syncFromConfig({
      stores: { default: { defaultCertificate: { certFile: def.cert, keyFile: mismatched.key } } },
    });
    assert.equal(diags.length, 1);
    assert.equal(diags[0]?.element, 'tls.stores.default.defaultCertificate');
    assert.equal(store.select(undefined).id, 'default@generated');
  });

  test('ACME certificates survive a file sync', () => {
    const store = storeWith();
    store.syncFromConfig({ certificates: [{ certFile: inline.cert, keyFile: inline.key }] });
    assert.equal(store.select('app.example.com').id, 'exact');
  });
});
