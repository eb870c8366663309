import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'yaml';
import { decodeStaticConfig } from '../../../src/config/static/decode.ts';
import type { StaticConfig } from '../../../src/config/static/types.ts';

function decode(yaml: string): StaticConfig {
  const r = decodeStaticConfig(parse(yaml), 'test');
  assert.deepEqual(r.diagnostics, []);
  assert.ok(r.config);
  return r.config;
}

describe('Traefik defaults', () => {
  const c = decode(`
entryPoints:
  web: {address: ":80"}
  traefik: {address: "127.0.0.1:8080"}
providers:
  docker: {}
  file: {filename: dyn.yml}
  http: {endpoint: "http://127.0.0.1:8081/config"}
certificatesResolvers:
  le: {acme: {tlsChallenge: {}}}
ping: {}
accessLog: {}
metrics: {prometheus: {}}
`);
  const cases: { desc: string; got: unknown; want: unknown }[] = [
    {
      desc: 'respondingTimeouts',
      got: c.entryPoints['web']?.transport?.respondingTimeouts,
      want: { readTimeout: '60s', writeTimeout: '0s', idleTimeout: '180s' },
    },
    {
      desc: 'lifeCycle',
      got: c.entryPoints['web']?.transport?.lifeCycle,
      want: { requestAcceptGraceTimeout: '0s', graceTimeOut: '10s' },
    },
    { desc: 'sanitizePath', got: c.entryPoints['web']?.http?.sanitizePath, want: true },
    { desc: 'udp session timeout', got: c.entryPoints['web']?.udp?.timeout, want: '3s' },
    { desc: 'docker exposedByDefault', got: c.providers.docker?.exposedByDefault, want: true },
    { desc: 'docker defaultRule', got: c.providers.docker?.defaultRule, want: 'Host(`{{ normalize .Name }}`)' },
    { desc: 'docker endpoints', got: c.providers.docker?.endpoints, want: ['unix:///var/run/docker.sock'] },
    { desc: 'docker watch', got: c.providers.docker?.watch, want: true },
    { desc: 'docker glob rescan', got: c.providers.docker?.rescanIntervalMs, want: 5000 },
    { desc: 'file watch', got: c.providers.file?.watch, want: true },
    {
      desc: 'http pollInterval/pollTimeout',
      got: [c.providers.http?.pollInterval, c.providers.http?.pollTimeout],
      want: ['5s', '5s'],
    },
    { desc: 'providersThrottleDuration', got: c.providers.providersThrottleDuration, want: '2s' },
    {
      desc: 'acme storage, CA, key type, duration',
      got: (({ storage, caServer, keyType, certificatesDuration }) => ({
        storage,
        caServer,
        keyType,
        certificatesDuration,
      }))(c.certificatesResolvers['le']!.acme),
      want: {
        storage: 'acme.json',
        caServer: 'https://acme-v02.api.letsencrypt.org/directory',
        keyType: 'RSA4096',
        certificatesDuration: 2160,
      },
    },
    { desc: 'tlsChallenge {} is enabled', got: c.certificatesResolvers['le']?.acme.tlsChallenge, want: {} },
    {
      desc: 'api',
      got: c.api,
      want: { listen: '127.0.0.1:7111', dashboard: true, insecure: false, debug: false, basePath: '/' },
    },
    { desc: 'ping', got: c.ping, want: { entryPoint: 'traefik', manualRouting: false, terminatingStatusCode: 503 } },
    { desc: 'log level', got: c.log.level, want: 'error' },
    { desc: 'accessLog format', got: c.accessLog, want: { format: 'common' } },
    {
      desc: 'prometheus',
      got: c.metrics?.prometheus,
      want: {
        buckets: [0.1, 0.3, 1.2, 5],
        addEntryPointsLabels: true,
        addRoutersLabels: false,
        addServicesLabels: true,
        entryPoint: 'traefik',
        manualRouting: false,
        prefix: 'traefik',
      },
    },
    {
      desc: 'serversTransport',
      got: c.serversTransport,
      want: {
        insecureSkipVerify: false,
        maxIdleConnsPerHost: 200,
        forwardingTimeouts: { dialTimeout: '30s', responseHeaderTimeout: '0s', idleConnTimeout: '90s' },
      },
    },
    {
      desc: 'edge',
      got: c.edge,
      want: {
        autoRoutes: true,
        bindAddress: '0.0.0.0',
        tcpPorts: [],
        udpPorts: [],
        dynamicPorts: { from: 10000, to: 10010 },
        stateDir: '/var/lib/berth',
        webPort: 80,
        websecurePort: 443,
        claimGracePeriod: '10m',
      },
    },
    { desc: 'workers', got: c.workers, want: 'auto' },
    {
      desc: 'limits',
      got: c.limits,
      want: {
        maxHeaderBytes: 32768,
        maxHeaderCount: 200,
        headersTimeout: '30s',
        handshakeTimeout: '10s',
        clientHelloTimeout: '10s',
        maxClientHelloBytes: 65536,
        http2MaxConcurrentStreams: 100,
        maxConnectionsPerEntrypoint: 0,
        udpMaxSessions: 4096,
      },
    },
    {
      desc: "the user's traefik entrypoint serves ping and metrics",
      got: c.entryPoints['traefik']?.generated,
      want: undefined,
    },
  ];
  for (const x of cases) test(x.desc, () => assert.deepEqual(x.got, x.want));
});

test('internal traefik entrypoint is created on :8080 for ping and prometheus', () => {
  const r = decodeStaticConfig(
    parse('entryPoints: {web: {address: ":80"}}\nping: {}\nmetrics: {prometheus: {}}\napi: {insecure: true}'),
    'test',
  );
  const ep = r.config?.entryPoints['traefik'];
  assert.deepEqual([ep?.host, ep?.port, ep?.protocol, ep?.generated], ['', 8080, 'tcp', true]);
  assert.deepEqual(
    r.diagnostics.map((d) => d.level),
    ['warning'],
  );
  assert.match(r.diagnostics[0]!.message, /for api\.insecure, ping, metrics\.prometheus/);
});

test('a defined traefik entrypoint is used as is, without a warning', () => {
  const c = decode('entryPoints: {traefik: {address: "127.0.0.1:8080"}}\nping: {}');
  assert.equal(c.entryPoints['traefik']?.host, '127.0.0.1');
  assert.equal(c.entryPoints['traefik']?.generated, undefined);
});

test("no entrypoint at all: Traefik's `http` on :80", () => {
  const c = decode('{}');
  assert.deepEqual(Object.keys(c.entryPoints), ['http']);
  assert.equal(c.entryPoints['http']?.port, 80);
});

test('empty document decodes to defaults', () => {
  const r = decodeStaticConfig(null, 'test');
  assert.ok(r.config);
  assert.equal(r.config.api.listen, '127.0.0.1:7111');
});

describe('keys are case-insensitive and come out canonical; names keep their spelling', () => {
  const c = decode(`
ENTRYPOINTS:
  WebSecure:
    ADDRESS: ":443"
    Http:
      TLS:
        certresolver: LE
    forwardedheaders:
      trustedips: 10.0.0.0/8, 192.168.0.0/16
certificatesresolvers:
  LE:
    ACME:
      dnschallenge: {provider: Cloudflare}
      keytype: ec384
providers:
  Docker:
    exposedbydefault: "false"
    usebindportip: true
  http:
    endpoint: "http://127.0.0.1:1/"
    headers:
      x-Custom-Header: 1
Log: {Level: WARNING}
`);
  const cases: { desc: string; got: unknown; want: unknown }[] = [
    { desc: 'entrypoint name kept', got: Object.keys(c.entryPoints), want: ['WebSecure'] },
    { desc: 'nested keys canonical', got: c.entryPoints['WebSecure']?.http?.tls, want: { certResolver: 'LE' } },
    {
      desc: 'comma-separated list',
      got: c.entryPoints['WebSecure']?.forwardedHeaders?.trustedIPs,
      want: ['10.0.0.0/8', '192.168.0.0/16'],
    },
    { desc: 'resolver name kept', got: Object.keys(c.certificatesResolvers), want: ['LE'] },
    { desc: 'enum canonical', got: c.certificatesResolvers['LE']?.acme.keyType, want: 'EC384' },
    { desc: 'string bool accepted as Traefik does', got: c.providers.docker?.exposedByDefault, want: false },
    { desc: 'canonical docker key', got: c.providers.docker?.useBindPortIP, want: true },
    {
      desc: 'header names keep their case, numbers become strings',
      got: c.providers.http?.headers,
      want: { 'x-Custom-Header': '1' },
    },
    { desc: 'Traefik level names map to pino', got: c.log.level, want: 'warn' },
  ];
  for (const x of cases) test(x.desc, () => assert.deepEqual(x.got, x.want));
});

describe("values in Traefik's other spellings", () => {
  const cases: { desc: string; yaml: string; pick: (c: StaticConfig) => unknown; want: unknown }[] = [
    {
      desc: 'duration as bare seconds',
      yaml: 'entryPoints: {web: {address: ":80", transport: {respondingTimeouts: {readTimeout: 42}}}}',
      pick: (c) => c.entryPoints['web']?.transport?.respondingTimeouts?.readTimeout,
      want: '42s',
    },
    {
      desc: 'duration as numeric string',
      yaml: 'entryPoints: {web: {address: ":80", transport: {respondingTimeouts: {idleTimeout: "7"}}}}',
      pick: (c) => c.entryPoints['web']?.transport?.respondingTimeouts?.idleTimeout,
      want: '7s',
    },
    {
      desc: 'number as string',
      yaml: 'entryPoints: {web: {address: ":80", http2: {maxConcurrentStreams: "50"}}}',
      pick: (c) => c.entryPoints['web']?.http2?.maxConcurrentStreams,
      want: 50,
    },
    {
      desc: 'toggle true',
      yaml: 'entryPoints: {web: {address: ":80"}}\naccessLog: true',
      pick: (c) => c.accessLog?.format,
      want: 'common',
    },
    {
      desc: 'toggle false',
      yaml: 'entryPoints: {web: {address: ":80"}}\naccessLog: false',
      pick: (c) => c.accessLog,
      want: undefined,
    },
    {
      desc: 'toggle null',
      yaml: 'entryPoints: {web: {address: ":80"}}\nping:',
      pick: (c) => c.ping?.entryPoint,
      want: 'traefik',
    },
    {
      desc: 'api: false turns the dashboard off',
      yaml: 'entryPoints: {web: {address: ":80"}}\napi: false',
      pick: (c) => c.api,
      want: { listen: '127.0.0.1:7111', dashboard: false },
    },
    {
      desc: 'docker endpoint and endpoints merge',
      yaml: 'entryPoints: {web: {address: ":80"}}\nproviders: {docker: {endpoint: "unix:///a.sock", endpoints: ["unix:///run/r/docker-*.sock", "unix:///a.sock", "tcp://127.0.0.1:2375"]}}',
      pick: (c) => [c.providers.docker?.endpoint, c.providers.docker?.endpoints],
      want: ['unix:///a.sock', ['unix:///a.sock', 'unix:///run/r/docker-*.sock', 'tcp://127.0.0.1:2375']],
    },
    {
      desc: 'rescanInterval in ms',
      yaml: 'entryPoints: {web: {address: ":80"}}\nproviders: {docker: {rescanInterval: 1m}}',
      pick: (c) => c.providers.docker?.rescanIntervalMs,
      want: 60000,
    },
    {
      desc: 'dynamicPorts as object',
      yaml: 'entryPoints: {web: {address: ":80"}}\nedge: {dynamicPorts: {from: 20000, to: 20004}}',
      pick: (c) => c.edge.dynamicPorts,
      want: { from: 20000, to: 20004 },
    },
    {
      desc: 'dynamicPorts as a single port',
      yaml: 'entryPoints: {web: {address: ":80"}}\nedge: {dynamicPorts: 20000}',
      pick: (c) => c.edge.dynamicPorts,
      want: { from: 20000, to: 20000 },
    },
    {
      desc: 'workers as a number',
      yaml: 'entryPoints: {web: {address: ":80"}}\nworkers: 4',
      pick: (c) => c.workers,
      want: 4,
    },
    {
      desc: 'publicIPv6 in brackets',
      yaml: 'edge: {publicIPv6: "[2001:db8::1]"}',
      pick: (c) => c.edge.publicIPv6,
      want: '2001:db8::1',
    },
    {
      desc: 'redirection to a bare port',
      yaml: 'entryPoints: {web: {address: ":80", http: {redirections: {entryPoint: {to: ":443"}}}}}',
      pick: (c) => c.entryPoints['web']?.http?.redirections?.entryPoint,
      want: { to: ':443', scheme: 'https', permanent: true },
    },
    {
      desc: 'port 0 is allowed twice (OS picks)',
      yaml: 'entryPoints: {a: {address: "127.0.0.1:0"}, b: {address: "127.0.0.1:0"}}',
      pick: (c) => [c.entryPoints['a']?.port, c.entryPoints['b']?.port],
      want: [0, 0],
    },
  ];
  for (const x of cases) {
    test(x.desc, () => {
      const r = decodeStaticConfig(parse(x.yaml), 'test');
      assert.deepEqual(
        r.diagnostics.filter((d) => d.level === 'error'),
        [],
      );
      assert.ok(r.config);
      assert.deepEqual(x.pick(r.config), x.want);
    });
  }
});
