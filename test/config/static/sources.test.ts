import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import {
  chooseStaticSource,
  documentFromEnv,
  documentFromFlags,
  isTraefikFlag,
  type StartContext,
} from '../../../src/config/static/sources.ts';
import { loadStaticSource } from '../../../src/config/static/load.ts';

const BASE: StartContext = { traefikFlags: [], env: { HOME: '/home/u' }, cwd: '/srv' };

describe("chooseStaticSource: one source, in Traefik's order", () => {
  const cases: { desc: string; start: Partial<StartContext>; files?: string[]; want: string; warnings?: RegExp[] }[] = [
    { desc: 'nothing given: the embedded default', start: {}, want: 'embedded' },
    { desc: 'a named file', start: { configFile: 'b.yaml' }, want: 'file b.yaml' },
    {
      desc: 'traefik.yml in /etc/traefik',
      start: {},
      files: ['/etc/traefik/traefik.yml'],
      want: 'file /etc/traefik/traefik.yml',
    },
    {
      desc: 'traefik.toml in ~/.config',
      start: {},
      files: ['/home/u/.config/traefik.toml'],
      want: 'file /home/u/.config/traefik.toml',
    },
    {
      desc: '$XDG_CONFIG_HOME before ~/.config',
      start: { env: { HOME: '/home/u', XDG_CONFIG_HOME: '/x' } },
      files: ['/x/traefik.yaml', '/home/u/.config/traefik.yml'],
      want: 'file /x/traefik.yaml',
    },
    {
      desc: 'traefik.yml in the working directory',
      start: {},
      files: ['/srv/traefik.yml'],
      want: 'file /srv/traefik.yml',
    },
    { desc: 'flags', start: { traefikFlags: ['--entrypoints.web.address=:80'] }, want: 'flags' },
    { desc: 'TRAEFIK_* variables', start: { env: { TRAEFIK_ENTRYPOINTS_WEB_ADDRESS: ':80' } }, want: 'env' },
    {
      desc: 'a file wins over flags and variables, which are reported as ignored',
      start: { configFile: 'b.yaml', traefikFlags: ['--log.level=DEBUG'], env: { TRAEFIK_LOG_LEVEL: 'DEBUG' } },
      want: 'file b.yaml',
      warnings: [
        /1 configuration flag\(s\) ignored \(--log.level=DEBUG, …\): the static configuration is read from file b.yaml only/,
        /1 TRAEFIK_\* variable\(s\) ignored \(TRAEFIK_LOG_LEVEL, …\)/,
      ],
    },
    {
      desc: 'a file in a default location wins over flags',
      start: { traefikFlags: ['--log.level=DEBUG'] },
      files: ['/srv/traefik.yml'],
      want: 'file /srv/traefik.yml',
      warnings: [/flag\(s\) ignored/],
    },
    {
      desc: 'flags win over variables',
      start: { traefikFlags: ['--api'], env: { TRAEFIK_API: 'true' } },
      want: 'flags',
      warnings: [/TRAEFIK_API, …\): the static configuration is read from command line only/],
    },
  ];
  for (const c of cases) {
    test(c.desc, () => {
      const files = new Set(c.files ?? []);
      const { source, diagnostics } = chooseStaticSource({ ...BASE, ...c.start }, (p) => files.has(p));
      assert.equal(source.kind === 'file' ? `file ${source.path}` : source.kind, c.want);
      assert.equal(diagnostics.length, c.warnings?.length ?? 0, JSON.stringify(diagnostics));
      c.warnings?.forEach((w, i) => {
        assert.match(diagnostics[i]!.message, w);
      });
      assert.ok(diagnostics.every((d) => d.level === 'warning'));
    });
  }
});

describe('isTraefikFlag', () => {
  for (const [arg, want] of [
    ['--entrypoints.web.address=:80', true],
    ['--providers.docker', true],
    ['--API', true],
    ['--EntryPoints.web.address=:80', true],
    ['--log', true],
    ['-c', false],
    ['--labels', false],
    ['--configFile=x', false],
    ['run', false],
  ] as const) {
    test(`${arg} → ${want}`, () => assert.equal(isTraefikFlag(arg), want));
  }
});

describe("documentFromFlags: Traefik's CLI flags", () => {
  test('keys are case-insensitive; names keep their case; a bare flag is true; indices address list items', () => {
    const r = documentFromFlags([
      '--entrypoints.Web.address=:80',
      '--providers.docker',
      '--providers.docker.exposedbydefault=false',
      '--api.insecure',
      '--certificatesresolvers.le.acme.dnschallenge.provider=cloudflare',
      '--entrypoints.Web.http.tls.domains[0].main=example.com',
      '--entrypoints.Web.http.tls.domains[0].sans=*.example.com',
      '--log',
      '--accesslog=true',
    ]);
    assert.deepEqual(r.diagnostics, []);
    assert.deepEqual(r.value, {
      entryPoints: {
        Web: { address: ':80', http: { tls: { domains: [{ main: 'example.com', sans: '*.example.com' }] } } },
      },
      providers: { docker: { exposedByDefault: 'false' } },
      api: { insecure: 'true' },
      certificatesResolvers: { le: { acme: { dnsChallenge: { provider: 'cloudflare' } } } },
      log: {},
      accessLog: {},
    });
  });

  test('an unknown flag is an error naming it, with a suggestion', () => {
    const r = documentFromFlags(['--entrypoints.web.adress=:80']);
    assert.deepEqual(
      r.diagnostics.map((d) => `${d.level} ${d.source} ${d.element}: ${d.message}`),
      [
        'error command line --entrypoints.web.adress: unknown key "adress" (did you mean "address"?); known keys: address, asDefault, allowACMEByPass, reusePort, http, http2, http3, forwardedHeaders, proxyProtocol, transport, udp, observability',
      ],
    );
  });

  test('decoded like a file: defaults, checks, warnings', async () => {
    const r = await loadStaticSource({
      kind: 'flags',
      flags: [
        '--entrypoints.web.address=127.0.0.1:0',
        '--providers.docker.exposedbydefault=false',
        '--entrypoints.web.http.encodequerysemicolons=true',
      ],
    });
    assert.ok(r.config, JSON.stringify(r.diagnostics));
    assert.equal(r.source, 'command line');
    assert.equal(r.config.providers.docker?.exposedByDefault, false);
    assert.equal(r.config.entryPoints['web']?.transport?.respondingTimeouts?.readTimeout, '60s');
    assert.deepEqual(
      r.diagnostics.map((d) => d.element),
      ['--entrypoints.web.http.encodequerysemicolons'],
    );
  });

  test("a bad value fails the load with the key's path", async () => {
    const r = await loadStaticSource({
      kind: 'flags',
      flags: ['--entrypoints.web.address=127.0.0.1:0', '--providers.docker.exposedbydefault=maybe'],
    });
    assert.equal(r.config, undefined);
    assert.deepEqual(
      r.diagnostics.map((d) => `${d.element}: ${d.message}`),
      ['providers.docker.exposedByDefault: expected true or false, got the string "maybe"'],
    );
  });
});

describe('documentFromEnv: TRAEFIK_* variables', () => {
  test('underscores separate keys; a number after a list is an index; names are lower case', () => {
    const r = documentFromEnv([
      ['TRAEFIK_ENTRYPOINTS_WEB_ADDRESS', ':80'],
      ['TRAEFIK_PROVIDERS_DOCKER', 'true'],
      ['TRAEFIK_ENTRYPOINTS_WEB_HTTP_TLS_DOMAINS_0_MAIN', 'example.com'],
      ['TRAEFIK_CERTIFICATESRESOLVERS_LE_ACME_EMAIL', 'a@example.com'],
    ]);
    assert.deepEqual(r.diagnostics, []);
    assert.deepEqual(r.value, {
      entryPoints: { web: { address: ':80', http: { tls: { domains: [{ main: 'example.com' }] } } } },
      providers: { docker: {} },
      certificatesResolvers: { le: { acme: { email: 'a@example.com' } } },
    });
  });

  test('an unknown variable is an error naming it', () => {
    const r = documentFromEnv([['TRAEFIK_LOG_LEVL', 'DEBUG']]);
    assert.match(r.diagnostics[0]?.message ?? '', /unknown key "levl" \(did you mean "level"\?\)/);
    assert.equal(r.diagnostics[0]?.element, 'TRAEFIK_LOG_LEVL');
  });
});
