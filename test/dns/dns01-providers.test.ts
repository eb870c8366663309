import { describe, before, after, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { dns01Contract, challenge } from './dns01-contract.ts';
import { startKnot, type Knot } from '../helpers/knot.ts';
import { startCloudflareEmulator, type CloudflareEmulator } from '../helpers/cloudflare-emulator.ts';
import {
  startAcmeDnsServer,
  startHttpReqEndpoint,
  writeExecScript,
  type AcmeDnsServer,
  type HttpReqEndpoint,
} from '../helpers/dns01-backends.ts';
import { needTools, requireIntegration, hasTool } from '../helpers/tools.ts';
import { tempDir } from '../helpers/temp.ts';
import { loadDns01Provider, DNS01_PROVIDERS } from '../../src/dns/providers.ts';
import { createRfc2136Provider } from '../../src/dns/rfc2136.ts';
import { createExecProvider } from '../../src/dns/exec.ts';
import { createHttpReqProvider } from '../../src/dns/httpreq.ts';
import { createAcmeDnsProvider } from '../../src/dns/acme-dns.ts';
import { createCloudflareDns01 } from '../../src/dns/cloudflare-dns01.ts';

describe('rfc2136 against Knot DNS', () => {
  let knot: Knot | undefined;
  before(async () => {
    if (!hasTool('knotd')) {
      if (requireIntegration) throw new Error('knotd is required');
      return;
    }
    knot = await startKnot({ 'example.com': [] });
  });
  after(() => knot?.stop());
  const env = (k: Knot, extra: Record<string, string> = {}) => ({
    RFC2136_NAMESERVER: k.server,
    RFC2136_TSIG_KEY: k.keyName,
    RFC2136_TSIG_SECRET: k.secret,
    RFC2136_TSIG_ALGORITHM: 'hmac-sha256.',
    ...extra,
  });

  dns01Contract('rfc2136', async () => {
    const k = knot!;
    return {
      zone: 'example.com',
      provider: createRfc2136Provider(env(k)),
      values: (fqdn) => k.txt(fqdn),
      badCredentials: () =>
        createRfc2136Provider(env(k, { RFC2136_TSIG_SECRET: Buffer.alloc(32, 7).toString('base64') })),
    };
  });

  test('rfc2136: the key from a BIND key file (RFC2136_TSIG_FILE) signs the same way', async (t) => {
    if (!knot) return t.skip('knotd not installed');
    const file = join(tempDir('berth-tsig-'), 'berth.key');
    writeFileSync(file, `key "${knot.keyName}" {\n\talgorithm hmac-sha256;\n\tsecret "${knot.secret}";\n};\n`);
    const p = createRfc2136Provider({ RFC2136_NAMESERVER: knot.server, RFC2136_TSIG_FILE: file });
    const c = challenge('file.example.com');
    await p.present(c);
    assert.deepEqual(await knot.txt(c.fqdn), [c.value]);
    await p.cleanup(c);
    assert.deepEqual(await knot.txt(c.fqdn), []);
  });

  const refusals = [
    { desc: 'an unknown key name', env: { RFC2136_TSIG_KEY: 'other-key' }, error: /BADKEY/ },
    { desc: 'a wrong algorithm', env: { RFC2136_TSIG_ALGORITHM: 'hmac-sha512' }, error: /BADKEY|BADSIG/ },
    { desc: 'unsigned updates', env: { RFC2136_TSIG_KEY: '', RFC2136_TSIG_SECRET: '' }, error: /NOTAUTH|REFUSED/ },
    { desc: 'a zone the server does not serve', env: {}, domain: 'x.example.org', error: /not authoritative/ },
  ];
  for (const r of refusals) {
    test(`rfc2136: ${r.desc} is refused with a clear error`, async (t) => {
      if (!knot) return t.skip('knotd not installed');
      const p = createRfc2136Provider(env(knot, r.env));
      await assert.rejects(p.present(challenge(r.domain ?? 'r.example.com')), r.error);
    });
  }

  const bad = [
    { desc: 'no nameserver', env: {}, error: /RFC2136_NAMESERVER is not set/ },
    {
      desc: 'key without secret',
      env: { RFC2136_NAMESERVER: '127.0.0.1:1', RFC2136_TSIG_KEY: 'k' },
      error: /go together/,
    },
    {
      desc: 'unknown algorithm',
      env: {
        RFC2136_NAMESERVER: '127.0.0.1:1',
        RFC2136_TSIG_KEY: 'k',
        RFC2136_TSIG_SECRET: 'c2VjcmV0',
        RFC2136_TSIG_ALGORITHM: 'hmac-foo',
      },
      error: /not supported/,
    },
    {
      desc: 'secret not base64',
      env: { RFC2136_NAMESERVER: '127.0.0.1:1', RFC2136_TSIG_KEY: 'k', RFC2136_TSIG_SECRET: 'not base64!' },
      error: /not valid base64/,
    },
    {
      desc: 'unreadable key file',
      env: { RFC2136_NAMESERVER: '127.0.0.1:1', RFC2136_TSIG_FILE: '/nonexistent/key' },
      error: /cannot read RFC2136_TSIG_FILE/,
    },
  ];
  for (const b of bad)
    test(`rfc2136 configuration: ${b.desc}`, () => assert.throws(() => createRfc2136Provider(b.env), b.error));
});

describe('exec with a hook script', () => {
  const dir = tempDir('berth-exec-');
  const script = writeExecScript(dir);
  const lines = () => readFileSync(script.records, 'utf8').split('\n').filter(Boolean);
  dns01Contract('exec', async () => ({
    zone: 'example.com',
    provider: createExecProvider({ EXEC_PATH: script.path }),
    values: async (fqdn) =>
      lines()
        .filter((l) => l.startsWith(`${fqdn} `))
        .map((l) => l.split(' ')[1]!),
  }));

  test('exec RAW mode hands over domain, token and key authorisation', async () => {
    const p = createExecProvider({ EXEC_PATH: script.path, EXEC_MODE: 'RAW' });
    const c = challenge('raw.example.com');
    await p.present(c);
    assert.ok(lines().includes(`raw.example.com ${c.token} ${c.keyAuthorization}`));
    await p.cleanup(c);
    assert.ok(!lines().includes(`raw.example.com ${c.token} ${c.keyAuthorization}`));
  });

  test('exec: a failing program fails the challenge with its status and output', async () => {
    const failing = join(dir, 'fail.sh');
    writeFileSync(failing, '#!/bin/sh\necho "zone is locked" >&2\nexit 3\n', { mode: 0o755 });
    await assert.rejects(
      createExecProvider({ EXEC_PATH: failing }).present(challenge('f.example.com')),
      /exited with status 3: zone is locked/,
    );
  });

  test('exec: values reach the program as arguments, never through a shell', async () => {
    const marker = join(dir, 'pwned');
    const c = { ...challenge('q.example.com'), value: `$(touch ${marker})` };
    await createExecProvider({ EXEC_PATH: script.path }).present(c);
    assert.ok(lines().includes(`${c.fqdn} ${c.value}`), 'the script got the literal text');
    assert.equal(existsSync(marker), false);
  });

  test('exec configuration: no EXEC_PATH, unknown mode', () => {
    assert.throws(() => createExecProvider({}), /EXEC_PATH is not set/);
    assert.throws(() => createExecProvider({ EXEC_PATH: '/bin/true', EXEC_MODE: 'FANCY' }), /EXEC_MODE "FANCY"/);
  });
});

describe('httpreq against an HTTP endpoint', () => {
  let ep: HttpReqEndpoint;
  let raw: HttpReqEndpoint;
  before(async () => {
    ep = await startHttpReqEndpoint({ username: 'berth', password: 's3cret' });
    raw = await startHttpReqEndpoint({ raw: true });
  });
  after(async () => {
    await ep.close();
    await raw.close();
  });
  dns01Contract('httpreq', async () => ({
    zone: 'example.com',
    provider: createHttpReqProvider({
      HTTPREQ_ENDPOINT: `${ep.url}/dns`,
      HTTPREQ_USERNAME: 'berth',
      HTTPREQ_PASSWORD: 's3cret',
    }),
    values: async (fqdn) => ep.book.values(fqdn),
    badCredentials: () =>
      createHttpReqProvider({ HTTPREQ_ENDPOINT: ep.url, HTTPREQ_USERNAME: 'berth', HTTPREQ_PASSWORD: 'wrong' }),
  }));

  test("httpreq posts lego's bodies to <endpoint>/present and /cleanup; RAW mode sends domain, token, keyAuth", async () => {
    const c = challenge('raw.example.com');
    const p = createHttpReqProvider({ HTTPREQ_ENDPOINT: raw.url, HTTPREQ_MODE: 'RAW' });
    await p.present(c);
    assert.deepEqual(raw.seen.at(-1), {
      path: '/present',
      body: { domain: 'raw.example.com', token: c.token, keyAuth: c.keyAuthorization },
    });
    assert.deepEqual(raw.book.values(c.fqdn), [c.value]);
    await p.cleanup(c);
    assert.equal(raw.seen.at(-1)?.path, '/cleanup');
    assert.deepEqual(raw.book.values(c.fqdn), []);
  });

  test('httpreq: password from HTTPREQ_PASSWORD_FILE', async () => {
    const file = join(tempDir('berth-httpreq-'), 'password');
    writeFileSync(file, 's3cret\n');
    const p = createHttpReqProvider({
      HTTPREQ_ENDPOINT: ep.url,
      HTTPREQ_USERNAME: 'berth',
      HTTPREQ_PASSWORD_FILE: file,
    });
    const c = challenge('file.example.com');
    await p.present(c);
    assert.deepEqual(ep.book.values(c.fqdn), [c.value]);
  });

  test('httpreq configuration and unreachable endpoint', async () => {
    assert.throws(() => createHttpReqProvider({}), /HTTPREQ_ENDPOINT is not set/);
    assert.throws(() => createHttpReqProvider({ HTTPREQ_ENDPOINT: 'ftp://x' }), /http:\/\/ or https:\/\//);
    assert.throws(() => createHttpReqProvider({ HTTPREQ_ENDPOINT: 'http://x', HTTPREQ_USERNAME: 'u' }), /go together/);
    await assert.rejects(
      createHttpReqProvider({ HTTPREQ_ENDPOINT: 'http://127.0.0.1:1' }).present(challenge('x.example.com')),
      /httpreq: POST http:\/\/127\.0\.0\.1:1\/present failed/,
    );
  });
});

describe('acme-dns against an acme-dns server', () => {
  let server: AcmeDnsServer;
  const dir = tempDir('berth-acmedns-');
  const storage = join(dir, 'acme-dns.json');
  before(async () => {
    server = await startAcmeDnsServer();
  });
  after(() => server.close());
  const provider = () => createAcmeDnsProvider({ ACME_DNS_API_BASE: server.url, ACME_DNS_STORAGE_PATH: storage });

  test('acme-dns: the first challenge of a domain registers an account and names the CNAME to create', async () => {
    const c = challenge('reg.example.com');
    await assert.rejects(
      provider().present(c),
      /new account created for reg\.example\.com; create the DNS record "_acme-challenge\.reg\.example\.com\. CNAME [0-9a-f]+\.auth\.example\.org\."/,
    );
    const stored = JSON.parse(readFileSync(storage, 'utf8')) as Record<
      string,
      { fulldomain: string; username: string }
    >;
    assert.match(stored['reg.example.com']?.fulldomain ?? '', /\.auth\.example\.org$/);
    // Then the CNAME exists and the next attempt updates the account's record.
    await provider().present(c);
    assert.deepEqual(server.book.values(`${stored['reg.example.com']!.fulldomain}.`), [c.value]);
    assert.equal(server.registrations(), 1);
  });

  dns01Contract('acme-dns', async () => {
    // Accounts registered beforehand, as after the first run.
    for (const d of ['a', 'b', 'c', 'never'])
      await provider()
        .present(challenge(`${d}.example.com`))
        .catch(() => undefined);
    const accounts = () =>
      JSON.parse(readFileSync(storage, 'utf8')) as Record<string, { fulldomain: string; password: string }>;
    return {
      zone: 'example.com',
      provider: provider(),
      removes: false,
      values: async (fqdn) =>
        server.book.values(`${accounts()[fqdn.replace(/^_acme-challenge\./, '').replace(/\.$/, '')]?.fulldomain}.`),
      badCredentials: () => {
        const all = accounts();
        for (const a of Object.values(all)) a.password = 'wrong';
        const bad = join(dir, 'bad.json');
        writeFileSync(bad, JSON.stringify(all));
        return createAcmeDnsProvider({ ACME_DNS_API_BASE: server.url, ACME_DNS_STORAGE_PATH: bad });
      },
    };
  });

  test('acme-dns configuration', () => {
    assert.throws(() => createAcmeDnsProvider({ ACME_DNS_STORAGE_PATH: storage }), /ACME_DNS_API_BASE is not set/);
    assert.throws(() => createAcmeDnsProvider({ ACME_DNS_API_BASE: server.url }), /ACME_DNS_STORAGE_PATH is not set/);
  });
});

describe('cloudflare against the emulator', () => {
  let cf: CloudflareEmulator;
  before(async () => {
    cf = await startCloudflareEmulator();
    cf.addZone('example.com');
  });
  after(() => cf.close());
  dns01Contract('cloudflare', async () => ({
    zone: 'example.com',
    provider: createCloudflareDns01({ CF_DNS_API_TOKEN: cf.token, CLOUDFLARE_BASE_URL: cf.url }),
    values: async (fqdn) =>
      cf
        .records('TXT')
        .filter((r) => `${r.name}.` === fqdn)
        .map((r) => r.content),
    badCredentials: () => createCloudflareDns01({ CF_DNS_API_TOKEN: 'wrong', CLOUDFLARE_BASE_URL: cf.url }),
  }));
});

describe('provider registry', () => {
  test('every name loads; unknown names and lego aliases', async () => {
    assert.deepEqual([...DNS01_PROVIDERS].sort(), ['acme-dns', 'acmedns', 'cloudflare', 'exec', 'httpreq', 'rfc2136']);
    assert.equal(
      (await loadDns01Provider('acmedns', { ACME_DNS_API_BASE: 'http://127.0.0.1:1', ACME_DNS_STORAGE_PATH: '/tmp/x' }))
        .name,
      'acme-dns',
    );
    assert.equal((await loadDns01Provider('RFC2136', { RFC2136_NAMESERVER: '127.0.0.1' })).name, 'rfc2136');
    await assert.rejects(
      loadDns01Provider('route53', {}),
      /"route53" is not supported \(supported: cloudflare, rfc2136, exec, httpreq, acme-dns\)/,
    );
  });

  test('credentials from *_FILE; an empty or missing file is an error', async (t) => {
    if (!needTools(t, 'sh')) return;
    const dir = tempDir('berth-env-');
    writeFileSync(join(dir, 'ns'), '  127.0.0.1:53\n');
    writeFileSync(join(dir, 'empty'), '\n');
    assert.equal((await loadDns01Provider('rfc2136', { RFC2136_NAMESERVER_FILE: join(dir, 'ns') })).name, 'rfc2136');
    await assert.rejects(
      loadDns01Provider('rfc2136', { RFC2136_NAMESERVER_FILE: join(dir, 'empty') }),
      /RFC2136_NAMESERVER_FILE .* is empty/,
    );
    await assert.rejects(
      loadDns01Provider('exec', { EXEC_PATH_FILE: join(dir, 'missing') }),
      /cannot read EXEC_PATH_FILE/,
    );
  });
});
