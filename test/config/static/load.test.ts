import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EMBEDDED_SOURCE, loadStaticConfig, parseStaticConfigText } from '../../../src/config/static/load.ts';
import { DEFAULT_CONFIG_YAML } from '../../../src/config/static/default-config.ts';

const fixtures = join(import.meta.dirname, '../../fixtures/static');
const dir = mkdtempSync(join(tmpdir(), 'berth-static-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function write(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

describe('a real Traefik v3 traefik.yml', async () => {
  const path = join(fixtures, 'traefik.yml');
  const r = await loadStaticConfig(path);
  test('decodes with one warning: the key berth accepts without effect', () => {
    assert.deepEqual(
      r.diagnostics.map((d) => `${d.level} ${d.element}`),
      ['warning entryPoints.websecure.transport.respondingTimeouts.writeTimeout'],
    );
    assert.equal(r.source, `file ${path}`);
    assert.ok(r.config);
  });
  const c = r.config!;
  const cases: { desc: string; got: unknown; want: unknown }[] = [
    { desc: 'entrypoints', got: Object.keys(c.entryPoints), want: ['web', 'websecure', 'dns', 'ping', 'metrics'] },
    {
      desc: 'redirection',
      got: c.entryPoints['web']?.http?.redirections?.entryPoint,
      want: { to: 'websecure', scheme: 'https', permanent: true },
    },
    {
      desc: 'entrypoint TLS',
      got: c.entryPoints['websecure']?.http?.tls,
      want: { certResolver: 'letsencrypt', domains: [{ main: 'example.com', sans: ['*.example.com'] }] },
    },
    {
      desc: 'entrypoint middlewares',
      got: c.entryPoints['websecure']?.http?.middlewares,
      want: ['security-headers@file'],
    },
    {
      desc: 'timeouts, number of seconds normalised',
      got: c.entryPoints['websecure']?.transport?.respondingTimeouts,
      want: { readTimeout: '30s', writeTimeout: '0s', idleTimeout: '3m' },
    },
    {
      desc: 'UDP entrypoint',
      got: [c.entryPoints['dns']?.protocol, c.entryPoints['dns']?.port, c.entryPoints['dns']?.udp?.timeout],
      want: ['udp', 53, '10s'],
    },
    {
      desc: 'http provider headers',
      got: c.providers.http?.headers,
      want: { Authorization: 'Bearer 0123456789abcdef', 'X-Proxy-Node': 'edge-1' },
    },
    { desc: 'file provider', got: c.providers.file, want: { directory: '/etc/traefik/dynamic', watch: true } },
    {
      desc: 'dns challenge',
      got: c.certificatesResolvers['letsencrypt']?.acme.dnsChallenge,
      want: {
        provider: 'cloudflare',
        resolvers: ['1.1.1.1:53', '1.0.0.1:53'],
        propagation: { delayBeforeChecks: '10s' },
      },
    },
    {
      desc: 'http challenge',
      got: c.certificatesResolvers['staging']?.acme.httpChallenge,
      want: { entryPoint: 'web' },
    },
    { desc: 'log', got: c.log, want: { level: 'info', format: 'json', filePath: '/var/log/traefik/traefik.log' } },
    {
      desc: 'access log status codes (numbers and strings)',
      got: c.accessLog?.filters?.statusCodes,
      want: ['400-499', '500-599'],
    },
    { desc: 'ping on its own entrypoint', got: c.ping?.entryPoint, want: 'ping' },
    { desc: 'no traefik entrypoint created', got: 'traefik' in c.entryPoints, want: false },
    {
      desc: 'serversTransport',
      got: c.serversTransport.forwardingTimeouts,
      want: { dialTimeout: '10s', responseHeaderTimeout: '60s', idleConnTimeout: '90s' },
    },
  ];
  for (const x of cases) test(x.desc, () => assert.deepEqual(x.got, x.want));
});

test('the Traefik config of the HTTP-provider guide decodes cleanly', async () => {
  const r = await loadStaticConfig(join(fixtures, 'seed-004-traefik.yml'));
  assert.deepEqual(r.diagnostics, []);
  assert.equal(r.config?.providers.http?.pollTimeout, '5s');
});

describe('the embedded default config', async () => {
  const r = await loadStaticConfig(undefined);
  test('decodes with no diagnostics', () => {
    assert.deepEqual(r.diagnostics, []);
    assert.equal(r.source, EMBEDDED_SOURCE);
  });
  const c = r.config!;
  test('binds nothing but loopback', () => {
    for (const [name, ep] of Object.entries(c.entryPoints))
      assert.ok(ep.host === '127.0.0.1' || ep.host === '::1', `${name} on "${ep.host}"`);
    assert.match(c.api.listen, /^127\.0\.0\.1:/);
  });
  const cases: { desc: string; got: unknown; want: unknown }[] = [
    { desc: 'web', got: c.entryPoints['web']?.address, want: '127.0.0.1:8080' },
    { desc: 'websecure', got: c.entryPoints['websecure']?.address, want: '127.0.0.1:8443' },
    { desc: 'api', got: c.api.listen, want: '127.0.0.1:7111' },
    {
      desc: 'docker endpoints',
      got: c.providers.docker?.endpoints,
      want: ['unix:///var/run/docker.sock', 'unix:///var/run/rediacc/docker-*.sock'],
    },
    { desc: 'opt-in exposure', got: c.providers.docker?.exposedByDefault, want: false },
    { desc: 'state dir under cwd', got: c.edge.stateDir, want: './.berth-state' },
    { desc: 'no generated entrypoints', got: Object.values(c.entryPoints).some((e) => e.generated), want: false },
  ];
  for (const x of cases) test(x.desc, () => assert.deepEqual(x.got, x.want));
  test('is what DEFAULT_CONFIG_YAML says', () =>
    assert.deepEqual(parseStaticConfigText(DEFAULT_CONFIG_YAML, EMBEDDED_SOURCE), { config: c, diagnostics: [] }));
});

describe('files that cannot be used', () => {
  const cases: { desc: string; setup: () => string; want: (p: string) => { element?: string; message: string }[] }[] = [
    { desc: 'file not found', setup: () => join(dir, 'missing.yaml'), want: () => [{ message: 'file not found' }] },
    { desc: 'a directory', setup: () => dir, want: () => [{ message: 'is a directory, not a file' }] },
    {
      desc: 'TOML syntax error with line and column',
      setup: () => write('bad.toml', '[entryPoints.web]\naddress = :80\n'),
      want: () => [{ message: 'TOML syntax error at line 2, column 11: invalid value' }],
    },
    {
      desc: 'YAML syntax error with line and column',
      setup: () => write('bad.yaml', 'entryPoints:\n  web:\n    address: ":80"\n   bad: 1\n'),
      want: () => [
        { element: 'line 4, column 4', message: 'YAML syntax error: All mapping items must start at the same column' },
      ],
    },
    {
      desc: 'duplicate YAML key',
      setup: () => write('dup.yaml', 'entryPoints:\n  web: {address: ":80"}\n  web: {address: ":81"}\n'),
      want: () => [{ element: 'line 3, column 3', message: 'YAML syntax error: Map keys must be unique' }],
    },
    {
      desc: 'JSON syntax error',
      setup: () => write('bad.json', '{"entryPoints": }'),
      want: () => [{ message: `JSON syntax error: Unexpected token '}', "{"entryPoints": }" is not valid JSON` }],
    },
    {
      desc: 'alias bomb',
      setup: () => write('bomb.yaml', bomb()),
      want: () => [{ message: 'YAML: Excessive alias count indicates a resource exhaustion attack' }],
    },
  ];
  for (const c of cases) {
    test(c.desc, async () => {
      const p = c.setup();
      const r = await loadStaticConfig(p);
      assert.equal(r.config, undefined);
      assert.equal(r.source, `file ${p}`);
      assert.deepEqual(
        r.diagnostics.map((d) =>
          d.element === undefined ? { message: d.message } : { element: d.element, message: d.message },
        ),
        c.want(p),
      );
      assert.ok(r.diagnostics.every((d) => d.level === 'error' && d.source === `file ${p}`));
    });
  }
});

test('JSON files decode like YAML', async () => {
  const p = write(
    'berth.json',
    JSON.stringify({
      entryPoints: { web: { address: '127.0.0.1:8080' } },
      edge: { publicIPv4: '127.0.0.1', webPort: 18080, websecurePort: 18443 },
    }),
  );
  const r = await loadStaticConfig(p);
  assert.deepEqual(r.diagnostics, []);
  assert.equal(r.config?.entryPoints['web']?.port, 8080, 'the user web wins over the generated one');
  assert.equal(r.config?.entryPoints['websecure']?.port, 18443);
});

test('YAML anchors and merge keys work', async () => {
  const p = write(
    'merge.yaml',
    'x-ep: &ep\n  transport: {respondingTimeouts: {readTimeout: 5s}}\nentryPoints:\n  web:\n    <<: *ep\n    address: ":80"\n',
  );
  const r = await loadStaticConfig(p);
  // `x-ep` is not a berth key: the anchor holder must live somewhere berth accepts.
  assert.deepEqual(
    r.diagnostics.map((d) => d.element),
    ['x-ep'],
  );
  assert.equal(r.config, undefined);
  const ok = await loadStaticConfig(
    write(
      'merge2.yaml',
      'entryPoints:\n  web: &ep\n    address: ":80"\n    transport: {respondingTimeouts: {readTimeout: 5s}}\n  web2:\n    <<: *ep\n    address: ":81"\n',
    ),
  );
  assert.deepEqual(ok.diagnostics, []);
  assert.equal(ok.config?.entryPoints['web2']?.transport?.respondingTimeouts?.readTimeout, '5s');
});

function bomb(): string {
  const lines = ['a: &a ["x","x","x","x","x","x","x","x","x","x"]'];
  for (let i = 0; i < 8; i++)
    lines.push(
      `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(10)
        .fill(`*${String.fromCharCode(97 + i)}`)
        .join(',')}]`,
    );
  return `${lines.join('\n')}\n`;
}

test('empty file: defaults', async () => {
  const r = await loadStaticConfig(write('empty.yaml', ''));
  assert.deepEqual(r.diagnostics, []);
  assert.deepEqual(Object.keys(r.config!.entryPoints), ['http']);
});

test('a YAML file holding JSON', async () => {
  const r = await loadStaticConfig(write('j.yaml', '{"entryPoints": {"web": {"address": ":80"}}}'));
  assert.deepEqual(r.diagnostics, []);
});

describe('a traefik.toml', () => {
  test('decodes to the same configuration as the same keys in YAML', async () => {
    const toml = write(
      'traefik.toml',
      [
        '[entryPoints.web]',
        'address = ":80"',
        '',
        '[entryPoints.web.http.redirections.entryPoint]',
        'to = "websecure"',
        '',
        '[entryPoints.websecure]',
        'address = ":443"',
        '',
        '[providers.docker]',
        'exposedByDefault = false',
        '',
        '[certificatesResolvers.le.acme]',
        'email = "a@example.com"',
        '[certificatesResolvers.le.acme.tlsChallenge]',
        '',
      ].join('\n'),
    );
    const yaml = write(
      'same.yaml',
      [
        'entryPoints:',
        '  web:',
        '    address: ":80"',
        '    http: {redirections: {entryPoint: {to: websecure}}}',
        '  websecure:',
        '    address: ":443"',
        'providers:',
        '  docker: {exposedByDefault: false}',
        'certificatesResolvers:',
        '  le:',
        '    acme: {email: a@example.com, tlsChallenge: {}}',
        '',
      ].join('\n'),
    );
    const [t, y] = [await loadStaticConfig(toml), await loadStaticConfig(yaml)];
    assert.deepEqual(t.diagnostics, []);
    assert.ok(t.config);
    assert.deepEqual(t.config, y.config);
  });
});
