import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decodeContainers } from '../../../src/config/labels/decode.ts';
import { ruleHosts } from '../../../src/config/labels/claims.ts';
import type { ContainerView } from '../../../src/config/labels/types.ts';
import { container, options } from './fixtures.ts';

describe('decodeContainers', () => {
  test('claim order decides who keeps a contested host, whatever the daemon names', () => {
    const mk = (name: string, daemon: string, ip: string): ContainerView =>
      container({
        name,
        daemon,
        networks: { n: ip },
        labels: {
          'traefik.enable': 'true',
          [`traefik.http.routers.${name}.rule`]: 'Host(`x.example.com`)',
          [`traefik.http.services.${name}.loadbalancer.server.port`]: '80',
        },
      });
    const r1 = decodeContainers([mk('b', 'docker-9', '127.0.10.9'), mk('a', 'docker-1', '127.0.10.1')], options());
    assert.deepEqual(Object.keys(r1.config.http?.routers ?? {}), ['b']);
    assert.equal(r1.diagnostics.length, 1);
    assert.match(r1.diagnostics[0]?.message ?? '', /host x\.example\.com belongs to container "b" \(daemon docker-9\)/);
    assert.equal(r1.diagnostics[0]?.source, 'container "a" on daemon docker-1');
  });

  test('loadbalancer.server.url names the server, as Traefik v3.7 allows; port and scheme then do not apply', () => {
    const r = decodeContainers(
      [
        container({
          name: 'a',
          networks: { n: '127.0.10.1' },
          labels: {
            'traefik.enable': 'true',
            'traefik.http.routers.a.rule': 'Host(`a.example.com`)',
            'traefik.http.services.a.loadbalancer.server.url': 'https://upstream.internal:8443/api',
            'traefik.http.services.a.loadbalancer.server.weight': '2',
          },
        }),
      ],
      options(),
    );
    assert.deepEqual(r.diagnostics, []);
    assert.deepEqual(r.config.http?.services?.['a']?.loadBalancer?.servers, [
      { url: 'https://upstream.internal:8443/api', weight: 2 },
    ]);
  });

  test('same host on the same daemon is allowed (path split between two containers)', () => {
    const r = decodeContainers(
      [
        container({
          name: 'a',
          networks: { n: '127.0.10.1' },
          labels: {
            'traefik.enable': 'true',
            'traefik.http.routers.a.rule': 'Host(`x.example.com`) && PathPrefix(`/a`)',
            'traefik.http.services.a.loadbalancer.server.port': '80',
          },
        }),
        container({
          name: 'b',
          networks: { n: '127.0.10.2' },
          labels: {
            'traefik.enable': 'true',
            'traefik.http.routers.b.rule': 'Host(`x.example.com`) && PathPrefix(`/b`)',
            'traefik.http.services.b.loadbalancer.server.port': '80',
          },
        }),
      ],
      options(),
    );
    assert.deepEqual(Object.keys(r.config.http?.routers ?? {}), ['a', 'b']);
    assert.deepEqual(r.diagnostics, []);
  });

  test('exposedByDefault does not turn rediacc containers into Traefik ones', () => {
    const r = decodeContainers(
      [
        container({
          name: 'svc',
          networkMode: 'host',
          networks: {},
          labels: { 'rediacc.service_name': 'svc', 'rediacc.repo_name': 'repo', 'rediacc.service_ip': '127.0.0.9' },
        }),
      ],
      options({ exposedByDefault: true }),
    );
    assert.deepEqual(Object.keys(r.config.http?.routers ?? {}), ['svc-repo-auto']);
  });

  describe('exposedByDefault, traefik.enable and rediacc auto-routes', () => {
    const rediacc = { 'rediacc.service_name': 'svc', 'rediacc.repo_name': 'repo', 'rediacc.service_ip': '127.0.0.9' };
    const cases: { desc: string; exposed: boolean; labels: Record<string, string>; want: string[] }[] = [
      { desc: 'plain container, exposedByDefault=false: nothing', exposed: false, labels: {}, want: [] },
      { desc: 'plain container, exposedByDefault=true: the default router', exposed: true, labels: {}, want: ['web'] },
      {
        desc: 'plain container, traefik.enable=true beats exposedByDefault=false',
        exposed: false,
        labels: { 'traefik.enable': 'true' },
        want: ['web'],
      },
      {
        desc: 'plain container, traefik.enable=false beats exposedByDefault=true',
        exposed: true,
        labels: { 'traefik.enable': 'false' },
        want: [],
      },
      {
        desc: 'traefik.enable is case-insensitive in key and value (Go ParseBool)',
        exposed: false,
        labels: { 'Traefik.Enable': 'TRUE' },
        want: ['web'],
      },
      {
        desc: 'traefik.enable=1 is true (Go ParseBool)',
        exposed: false,
        labels: { 'traefik.enable': '1' },
        want: ['web'],
      },
      {
        desc: 'traefik.enable=yes is no boolean: the container is not exposed',
        exposed: true,
        labels: { 'traefik.enable': 'yes' },
        want: [],
      },
      {
        desc: 'rediacc container, exposedByDefault=false: its auto-route',
        exposed: false,
        labels: rediacc,
        want: ['svc-repo-auto'],
      },
      {
        desc: 'rediacc container, exposedByDefault=true: still only its auto-route',
        exposed: true,
        labels: rediacc,
        want: ['svc-repo-auto'],
      },
      {
        desc: 'rediacc container with traefik.enable=true: its Traefik labels instead',
        exposed: false,
        labels: { ...rediacc, 'traefik.enable': 'true' },
        want: ['web'],
      },
      {
        desc: 'rediacc container with traefik.enable=false: nothing at all',
        exposed: true,
        labels: { ...rediacc, 'traefik.enable': 'false' },
        want: [],
      },
    ];
    for (const c of cases) {
      test(c.desc, () => {
        const r = decodeContainers(
          [container({ name: 'web', ports: [{ port: 80, protocol: 'tcp' }], labels: c.labels })],
          options({ exposedByDefault: c.exposed }),
        );
        assert.deepEqual(Object.keys(r.config.http?.routers ?? {}), c.want);
      });
    }
  });

  test('auto-routes off, or no base domain: no auto-route, repository still reported', () => {
    const c = container({
      name: 'svc',
      networkMode: 'host',
      networks: {},
      labels: { 'rediacc.service_name': 'svc', 'rediacc.repo_name': 'repo:tag', 'rediacc.service_ip': '127.0.0.9' },
    });
    for (const edge of [{ autoRoutes: false, baseDomain: 'example.com' }, { autoRoutes: true }]) {
      const r = decodeContainers([c], options({ edge }));
      assert.deepEqual(r.config, {});
      assert.deepEqual(r.repositories, ['repo']);
    }
  });

  test('a bad rediacc.service_port is a diagnostic', () => {
    const r = decodeContainers(
      [
        container({
          name: 'svc',
          networkMode: 'host',
          networks: {},
          labels: { 'rediacc.service_name': 'svc', 'rediacc.repo_name': 'repo', 'rediacc.service_port': 'eighty' },
        }),
      ],
      options(),
    );
    assert.deepEqual(r.config, {});
    assert.match(r.diagnostics[0]?.message ?? '', /expected a port/);
    assert.equal(r.diagnostics[0]?.element, 'label rediacc.service_port');
  });

  test('a hostile tcp_ports label: at most 32 public ports, one warning for the rest and one for the garbage', () => {
    const ports = Array.from({ length: 5000 }, (_, i) => String(20000 + i));
    const r = decodeContainers(
      [
        container({
          name: 'svc',
          networkMode: 'host',
          networks: {},
          labels: {
            'rediacc.service_name': 'svc',
            'rediacc.repo_name': 'repo',
            'rediacc.service_ip': '127.0.0.9',
            'rediacc.service_port': '80',
            'rediacc.tcp_ports': [...ports, 'x', 'y', '0', '70000', 'z'].join(','),
          },
        }),
      ],
      options(),
    );
    assert.equal(Object.keys(r.config.tcp?.routers ?? {}).length, 32);
    assert.deepEqual(
      r.diagnostics.map((d) => `${d.level} ${d.element}: ${d.message}`),
      [
        'warning label rediacc.tcp_ports: "x", "y", "0" and 2 more are not ports (1-65535); ignored',
        'warning label rediacc.tcp_ports: 5000 ports: only the first 32 get a public port from edge.dynamicPorts; 20032, 20033, 20034, … left out',
      ],
    );
  });

  test('a hostile RPROXY: at most 32 entries, each a port that could become a listener', () => {
    const env = `RPROXY=${Array.from({ length: 2000 }, (_, i) => `tcp://t:${20000 + i}`).join(',')}`;
    const r = decodeContainers([container({ name: 'flood', networks: { n: '127.0.10.5' }, env: [env] })], options());
    assert.equal(Object.keys(r.config.tcp?.routers ?? {}).length, 32);
    assert.deepEqual(
      r.diagnostics.map((d) => `${d.element}: ${d.message}`),
      ['env RPROXY: 2000 entries: only the first 32 are used'],
    );
  });

  test('a fork without a tag gets no route and a diagnostic', () => {
    const r = decodeContainers(
      [
        container({
          name: 'svc',
          networkMode: 'host',
          networks: {},
          labels: { 'rediacc.service_name': 'svc', 'rediacc.repo_name': 'repo', 'rediacc.is_fork': 'true' },
        }),
      ],
      options(),
    );
    assert.deepEqual(r.config, {});
    assert.match(r.diagnostics[0]?.message ?? '', /fork needs rediacc.fork_tag/);
  });

  test('default TLS store from labels', () => {
    const r = decodeContainers(
      [
        container({
          name: 'a',
          ports: [{ port: 80, protocol: 'tcp' }],
          labels: { 'traefik.enable': 'true', 'traefik.tls.stores.default.defaultgeneratedcert.resolver': 'le' },
        }),
      ],
      options(),
    );
    assert.deepEqual(r.config.tls, { stores: { default: { defaultGeneratedCert: { resolver: 'le' } } } });
  });

  test('allowEmptyServices keeps the routers of an unhealthy container, without servers', () => {
    const c = container({
      name: 'sick',
      health: 'unhealthy',
      ports: [{ port: 80, protocol: 'tcp' }],
      labels: { 'traefik.enable': 'true' },
    });
    const r = decodeContainers([c], options({ allowEmptyServices: true }));
    assert.deepEqual(r.config.http?.routers?.['sick'], { rule: 'Host(`sick`)', service: 'sick' });
    assert.deepEqual(r.config.http?.services?.['sick'], { loadBalancer: { passHostHeader: true } });
    assert.deepEqual(r.diagnostics, []);
  });

  test('ruleHosts finds literal hosts only', () => {
    assert.deepEqual(ruleHosts('Host(`A.example.com.`) || (HostRegexp(`.+`) && Host("b.example.com"))', 'Host'), [
      'a.example.com',
      'b.example.com',
    ]);
    assert.deepEqual(ruleHosts('HostSNI(`*`) || HostSNI(`db.example.com`)', 'HostSNI'), ['*', 'db.example.com']);
  });

  test('ruleHosts reads v2 rules: every host of a list, and HostHeader', () => {
    assert.deepEqual(ruleHosts('Host(`a.example.com`, `B.example.com`) || HostHeader(`c.example.com`)', 'Host'), [
      'a.example.com',
      'b.example.com',
      'c.example.com',
    ]);
    assert.deepEqual(ruleHosts('HostSNI(`a.example.com`, `b.example.com`)', 'HostSNI'), [
      'a.example.com',
      'b.example.com',
    ]);
  });
});

// ---------------------------------------------------------------- property

const segment = fc.oneof(
  fc.constantFrom(
    'traefik',
    'http',
    'tcp',
    'udp',
    'tls',
    'docker',
    'enable',
    'routers',
    'services',
    'middlewares',
    'serverstransports',
    'rule',
    'service',
    'entrypoints',
    'tls',
    'domains[0]',
    'main',
    'sans',
    'loadbalancer',
    'server',
    'port',
    'scheme',
    'headers',
    'customrequestheaders',
    'stsseconds',
    'plugin',
    'x',
    'stores',
    'default',
    'network',
    'priority',
    'passthrough',
    'weighted',
    'services[1]',
    'name',
  ),
  fc.string({ maxLength: 8 }),
);
const labelKey = fc
  .tuple(fc.constantFrom('traefik', 'traefik', 'rediacc', 'other'), fc.array(segment, { minLength: 0, maxLength: 7 }))
  .map(([root, rest]) => [root, ...rest].join('.'));
const labelValue = fc.oneof(
  fc.constantFrom(
    'true',
    'false',
    '80',
    '0',
    '-1',
    'Host(`a.example.com`)',
    'HostSNI(`*`)',
    'web,websecure',
    '',
    '{{ .Name }}',
    'a\r\nb',
    '\0',
  ),
  fc.string({ maxLength: 40 }),
  fc.string({ maxLength: 3 }).map((s) => s.repeat(30000)),
);
const rediaccLabels = fc.record(
  {
    'rediacc.service_name': fc.oneof(fc.constant('app'), fc.string({ maxLength: 10 })),
    'rediacc.repo_name': fc.oneof(fc.constant('repo:tag'), fc.string({ maxLength: 10 })),
    'rediacc.is_fork': fc.constantFrom('true', 'false', 'x'),
    'rediacc.domain': fc.oneof(fc.constant('cloud'), fc.string({ maxLength: 12 })),
    'rediacc.service_port': fc.oneof(fc.constant('8080'), fc.string({ maxLength: 6 })),
  },
  { requiredKeys: [] },
);
const containerArb = fc
  .record({
    name: fc.constantFrom('a', 'b', 'c', 'web_1'),
    daemon: fc.constantFrom('docker-1', 'docker-2'),
    labels: fc
      .tuple(fc.dictionary(labelKey, labelValue, { maxKeys: 12 }), rediaccLabels)
      .map(([a, b]) => ({ ...a, ...(b as Record<string, string>) })),
    env: fc.array(
      fc.oneof(
        fc.constant('RPROXY=http://a.example.com:8080/x,tcp://t:5432'),
        fc.string({ maxLength: 30 }).map((s) => `RPROXY=${s}`),
      ),
      { maxLength: 2 },
    ),
    running: fc.boolean(),
    health: fc.constantFrom('none', 'starting', 'healthy', 'unhealthy'),
    networkMode: fc.constantFrom('bridge', 'host', 'none'),
    ports: fc.array(fc.record({ port: fc.integer({ min: 1, max: 65535 }), protocol: fc.constantFrom('tcp', 'udp') }), {
      maxLength: 3,
    }),
  })
  .map((c) => container(c as Partial<ContainerView> & { name: string }));

function noControlChars(v: unknown, path = 'config'): void {
  if (typeof v === 'string') assert.ok(!/[\r\n\0]/.test(v), `${path} holds a control character`);
  else if (Array.isArray(v))
    v.forEach((x, i) => {
      noControlChars(x, `${path}[${i}]`);
    });
  else if (typeof v === 'object' && v !== null)
    for (const [k, x] of Object.entries(v)) {
      noControlChars(k, path);
      noControlChars(x, `${path}.${k}`);
    }
}

test('property: random label maps never throw and always yield config + diagnostics without control characters', () => {
  fc.assert(
    fc.property(
      fc.array(containerArb, { maxLength: 5 }),
      fc.boolean(),
      fc.string({ maxLength: 30 }),
      (containers, exposed, constraints) => {
        const r = decodeContainers(
          containers,
          options({
            exposedByDefault: exposed,
            constraints,
            edge: { autoRoutes: true, machineName: 'm', baseDomain: 'example.com', certResolver: 'le' },
          }),
        );
        assert.equal(typeof r.config, 'object');
        assert.ok(Array.isArray(r.diagnostics));
        for (const d of r.diagnostics) {
          assert.ok(d.level === 'error' || d.level === 'warning');
          assert.equal(typeof d.source, 'string');
          assert.equal(typeof d.message, 'string');
          assert.ok(!d.message.startsWith('internal error'), d.message);
        }
        noControlChars(r.config);
        JSON.stringify(r);
      },
    ),
    { numRuns: 300 },
  );
});
