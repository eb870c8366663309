import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'yaml';
import fc from 'fast-check';
import { decodeStaticConfig } from '../../../src/config/static/decode.ts';

/** Decodes YAML text and returns its diagnostics as `element: message` lines, by level. */
function problems(yaml: string): { config: boolean; errors: string[]; warnings: string[] } {
  const r = decodeStaticConfig(parse(yaml), 'test');
  const line = (d: { element?: string; message: string }): string => `${d.element ?? '(root)'}: ${d.message}`;
  return {
    config: r.config !== undefined,
    errors: r.diagnostics.filter((d) => d.level === 'error').map(line),
    warnings: r.diagnostics.filter((d) => d.level === 'warning').map(line),
  };
}

const WEB = 'entryPoints:\n  web:\n    address: ":80"\n';

describe('decodeStaticConfig: bad input becomes path-named errors and no config', () => {
  const cases: { desc: string; yaml: string; errors: string[] }[] = [
    {
      desc: 'unknown key with a suggestion',
      yaml: 'entryPoints:\n  web:\n    adress: ":80"\n',
      errors: [
        'entryPoints.web.adress: unknown key, did you mean "address"?',
        'entryPoints.web.address: missing required key',
      ],
    },
    {
      desc: 'unknown key without a close match',
      yaml: `${WEB}frobnicate: 1\n`,
      errors: [
        'frobnicate: unknown key (expected one of: entryPoints, providers, certificatesResolvers, api, log, accessLog, metrics, ping, serversTransport, global, edge, workers, limits, fleet, tracing, experimental, hostResolver, core, ocsp, spiffe, tcpServersTransport)',
      ],
    },
    {
      desc: 'unknown nested key',
      yaml: `${WEB}providers:\n  docker:\n    exposedbydefualt: false\n`,
      errors: ['providers.docker.exposedbydefualt: unknown key, did you mean "exposedByDefault"?'],
    },
    {
      desc: 'wrong type: number for a string',
      yaml: 'entryPoints:\n  web:\n    address: 80\n',
      errors: ['entryPoints.web.address: expected a string, got number 80'],
    },
    {
      desc: 'wrong type: string for a bool',
      yaml: `${WEB}providers:\n  docker:\n    exposedByDefault: nope\n`,
      errors: ['providers.docker.exposedByDefault: expected true or false, got the string "nope"'],
    },
    {
      desc: 'wrong type: list for an object',
      yaml: 'entryPoints:\n  - web\n',
      errors: ['entryPoints: expected an object (name → value), got a list'],
    },
    {
      desc: 'wrong type: object for a list',
      yaml: `${WEB}edge:\n  tcpPorts: {a: 1}\n`,
      errors: ['edge.tcpPorts: expected a list, got an object'],
    },
    { desc: 'root is not an object', yaml: '- a\n- b\n', errors: ['(root): expected an object, got a list'] },
    {
      desc: 'bad duration',
      yaml: `${WEB}providers:\n  http:\n    endpoint: http://127.0.0.1:1/\n    pollInterval: soon\n`,
      errors: [
        'providers.http.pollInterval: expected a duration such as "10s", "1m30s" or a number of seconds, got the string "soon"',
      ],
    },
    {
      desc: 'bad enum',
      yaml: `${WEB}accessLog:\n  format: xml\n`,
      errors: ['accessLog.format: expected one of json, common, genericCLF, got the string "xml"'],
    },
    {
      desc: 'bad log level',
      yaml: `${WEB}log:\n  level: loud\n`,
      errors: ['log.level: expected one of trace, debug, info, warn, error, fatal, got the string "loud"'],
    },
    {
      desc: 'port out of range',
      yaml: 'entryPoints:\n  web:\n    address: ":70000"\n',
      errors: ['entryPoints.web.address: invalid address ":70000": port 70000 is out of range (0-65535)'],
    },
    {
      desc: 'port not a number',
      yaml: 'entryPoints:\n  web:\n    address: ":http"\n',
      errors: ['entryPoints.web.address: invalid address ":http": port "http" is not a number'],
    },
    {
      desc: 'missing port',
      yaml: 'entryPoints:\n  web:\n    address: "127.0.0.1"\n',
      errors: ['entryPoints.web.address: invalid address "127.0.0.1": missing port (e.g. ":80" or "127.0.0.1:8080")'],
    },
    {
      desc: 'unknown protocol',
      yaml: 'entryPoints:\n  web:\n    address: ":53/sctp"\n',
      errors: ['entryPoints.web.address: unknown protocol "sctp" in ":53/sctp" (use /tcp or /udp)'],
    },
    {
      desc: 'IPv6 without brackets',
      yaml: 'entryPoints:\n  web:\n    address: "::1:443"\n',
      errors: ['entryPoints.web.address: invalid address "::1:443": put an IPv6 address in brackets, e.g. "[::1]:443"'],
    },
    {
      desc: 'bad IPv6 in brackets',
      yaml: 'entryPoints:\n  web:\n    address: "[::g]:443"\n',
      errors: ['entryPoints.web.address: invalid address "[::g]:443": "::g" is not an IPv6 address'],
    },
    {
      desc: 'two entrypoints on one address',
      yaml: `${WEB}  other:\n    address: ":80"\n`,
      errors: ['entryPoints.other.address: :80 is already used by entrypoint "web"'],
    },
    {
      desc: 'redirection to an unknown entrypoint',
      yaml: `${WEB}    http:\n      redirections:\n        entryPoint:\n          to: websecur\n  websecure:\n    address: ":443"\n`,
      errors: [
        'entryPoints.web.http.redirections.entryPoint.to: unknown entrypoint "websecur", did you mean "websecure"?',
      ],
    },
    {
      desc: 'redirection to a UDP entrypoint',
      yaml: `${WEB}    http:\n      redirections:\n        entryPoint:\n          to: dns\n  dns:\n    address: ":53/udp"\n`,
      errors: [
        'entryPoints.web.http.redirections.entryPoint.to: entrypoint "dns" is UDP; an HTTP entrypoint is needed',
      ],
    },
    {
      desc: 'redirection to itself',
      yaml: `${WEB}    http:\n      redirections:\n        entryPoint:\n          to: web\n`,
      errors: ['entryPoints.web.http.redirections.entryPoint.to: an entrypoint cannot redirect to itself'],
    },
    {
      desc: 'entrypoint TLS with an unknown resolver',
      yaml: `${WEB}    http:\n      tls:\n        certResolver: le\n`,
      errors: ['entryPoints.web.http.tls.certResolver: unknown certificate resolver "le"'],
    },
    {
      desc: 'httpChallenge on an unknown entrypoint',
      yaml: `${WEB}certificatesResolvers:\n  le:\n    acme:\n      httpChallenge:\n        entryPoint: http\n`,
      errors: ['certificatesResolvers.le.acme.httpChallenge.entryPoint: unknown entrypoint "http"'],
    },
    {
      desc: 'resolver without a challenge',
      yaml: `${WEB}certificatesResolvers:\n  le:\n    acme:\n      email: a@example.com\n`,
      errors: [
        'certificatesResolvers.le.acme: no challenge configured: set dnsChallenge, httpChallenge or tlsChallenge',
      ],
    },
    {
      desc: 'resolver without acme',
      yaml: `${WEB}certificatesResolvers:\n  le: {}\n`,
      errors: ['certificatesResolvers.le.acme: missing required key'],
    },
    {
      desc: 'unsupported DNS provider',
      yaml: `${WEB}certificatesResolvers:\n  le:\n    acme:\n      dnsChallenge:\n        provider: route53\n`,
      errors: [
        'certificatesResolvers.le.acme.dnsChallenge.provider: unsupported DNS provider "route53": berth implements cloudflare, rfc2136, exec, httpreq, acme-dns',
      ],
    },
    {
      desc: 'bad key type',
      yaml: `${WEB}certificatesResolvers:\n  le:\n    acme:\n      keyType: RSA1024\n      tlsChallenge: {}\n`,
      errors: [
        'certificatesResolvers.le.acme.keyType: expected one of EC256, EC384, RSA2048, RSA4096, RSA8192, got the string "RSA1024"',
      ],
    },
    {
      desc: 'ping on an unknown entrypoint',
      yaml: `${WEB}ping:\n  entryPoint: health\n`,
      errors: ['ping.entryPoint: unknown entrypoint "health"'],
    },
    {
      desc: 'prometheus on an unknown entrypoint',
      yaml: `${WEB}metrics:\n  prometheus:\n    entryPoint: metric\n`,
      errors: ['metrics.prometheus.entryPoint: unknown entrypoint "metric"'],
    },
    {
      desc: 'edge.certResolver must name a resolver',
      yaml: `${WEB}edge:\n  certResolver: letsencrypt\n`,
      errors: ['edge.certResolver: unknown certificate resolver "letsencrypt"'],
    },
    {
      desc: 'bad public IPv4',
      yaml: 'edge:\n  publicIPv4: 300.1.1.1\n',
      errors: ['edge.publicIPv4: "300.1.1.1" is not an IPv4 address'],
    },
    {
      desc: 'bad public IPv6',
      yaml: 'edge:\n  publicIPv6: "2001:db8::zz"\n',
      errors: ['edge.publicIPv6: "2001:db8::zz" is not an IPv6 address'],
    },
    {
      desc: 'bad machine name',
      yaml: `${WEB}edge:\n  machineName: "server_1"\n`,
      errors: ['edge.machineName: "server_1" is not a valid DNS label (letters, digits, "-")'],
    },
    {
      desc: 'bad base domain',
      yaml: `${WEB}edge:\n  baseDomain: "example..com"\n`,
      errors: ['edge.baseDomain: "example..com" is not a valid domain name'],
    },
    {
      desc: 'dynamic range reversed',
      yaml: `${WEB}edge:\n  dynamicPorts: 10010-10000\n`,
      errors: ['edge.dynamicPorts: port range starts after it ends (10010-10000)'],
    },
    {
      desc: 'dynamic range garbage',
      yaml: `${WEB}edge:\n  dynamicPorts: lots\n`,
      errors: ['edge.dynamicPorts: expected a port range such as "10000-10010" or {from, to}, got "lots"'],
    },
    {
      desc: 'dynamic range too large',
      yaml: `${WEB}edge:\n  dynamicPorts: {from: 1000, to: 60000}\n`,
      errors: ['edge.dynamicPorts: port range too large (59001 ports); at most 1024'],
    },
    {
      desc: 'dynamic range out of bounds',
      yaml: `${WEB}edge:\n  dynamicPorts: {from: 0, to: 10}\n`,
      errors: ['edge.dynamicPorts: port range bounds must be integers between 1 and 65535'],
    },
    {
      desc: 'tcp port out of range',
      yaml: `${WEB}edge:\n  tcpPorts: [25, 99999]\n`,
      errors: ['edge.tcpPorts[1]: expected an integer between 1 and 65535, got 99999'],
    },
    {
      desc: 'extra tcp port on the https port',
      yaml: 'edge:\n  publicIPv4: 203.0.113.7\n  tcpPorts: [443]\n',
      errors: [
        "edge.tcpPorts[0]: port 443 is already the websecure entrypoint's port",
        'entryPoints.tcp-443.address: 0.0.0.0:443 is already used by entrypoint "websecure"',
      ],
    },
    {
      desc: 'web port inside the dynamic range',
      yaml: 'edge:\n  publicIPv4: 127.0.0.1\n  webPort: 10005\n',
      errors: [
        'edge.webPort: port 10005 is also a preconfigured or dynamic TCP port',
        'entryPoints.tcp-10005.address: 127.0.0.1:10005 is already used by entrypoint "web"',
      ],
    },
    {
      desc: 'dns without a base domain',
      yaml: `${WEB}edge:\n  publicIPv4: 203.0.113.7\n  dns:\n    provider: cloudflare\n`,
      errors: ['edge.dns: needs edge.baseDomain (the zone the records go in)'],
    },
    {
      desc: 'dns provider other than cloudflare',
      yaml: `${WEB}edge:\n  baseDomain: example.com\n  dns:\n    provider: route53\n`,
      errors: ['edge.dns.provider: expected one of cloudflare, got the string "route53"'],
    },
    {
      desc: 'workers neither auto nor a count',
      yaml: `${WEB}workers: many\n`,
      errors: ['workers: expected "auto" or a number of workers (1-1024), got the string "many"'],
    },
    {
      desc: 'workers as a fraction',
      yaml: `${WEB}workers: 1.5\n`,
      errors: ['workers: expected "auto" or a number of workers (1-1024), got 1.5'],
    },
    {
      desc: 'workers as an object',
      yaml: `${WEB}workers: {n: 1}\n`,
      errors: ['workers: expected "auto" or a number of workers (1-1024), got an object'],
    },
    {
      desc: 'reserved entrypoint name',
      yaml: `${WEB}  __proto__:\n    address: ":81"\n`,
      errors: ['entryPoints.__proto__: reserved name; choose another'],
    },
    {
      desc: 'limits below their floor',
      yaml: `${WEB}limits:\n  maxHeaderBytes: 10\n`,
      errors: ['limits.maxHeaderBytes: expected an integer between 1024 and 1048576, got 10'],
    },
    {
      desc: 'docker endpoint with a bad scheme',
      yaml: `${WEB}providers:\n  docker:\n    endpoints: ["/var/run/docker.sock"]\n`,
      errors: [
        'providers.docker.endpoints[0]: "/var/run/docker.sock" is not a Docker endpoint (expected unix:///path/docker.sock, tcp://host:port or a glob of unix sockets)',
      ],
    },
    {
      desc: 'glob on a tcp endpoint',
      yaml: `${WEB}providers:\n  docker:\n    endpoint: "tcp://127.0.0.*:2375"\n`,
      errors: ['providers.docker.endpoint: globs are only supported for unix:// sockets, got "tcp://127.0.0.*:2375"'],
    },
    {
      desc: 'file provider without a file',
      yaml: `${WEB}providers:\n  file:\n    watch: true\n`,
      errors: ['providers.file: set filename or directory'],
    },
    {
      desc: 'http provider without endpoint',
      yaml: `${WEB}providers:\n  http:\n    pollInterval: 5s\n`,
      errors: ['providers.http.endpoint: missing required key'],
    },
    {
      desc: 'http provider endpoint not a URL',
      yaml: `${WEB}providers:\n  http:\n    endpoint: "127.0.0.1:8081"\n`,
      errors: ['providers.http.endpoint: "127.0.0.1:8081" is not an http:// or https:// URL'],
    },
    {
      desc: 'bad trusted IP',
      yaml: `${WEB}    forwardedHeaders:\n      trustedIPs: ["127.0.0.0/8", "127.0.0.0/99"]\n`,
      errors: ['entryPoints.web.forwardedHeaders.trustedIPs[1]: "127.0.0.0/99" is not an IP address or CIDR range'],
    },
    {
      desc: 'bad edge trusted IP',
      yaml: `${WEB}edge:\n  forwardedHeaders:\n    trustedIPs: ["173.245.48.0/20", "cloudflare"]\n`,
      errors: ['edge.forwardedHeaders.trustedIPs[1]: "cloudflare" is not an IP address or CIDR range'],
    },
    {
      desc: 'bind address with a port',
      yaml: `${WEB}edge:\n  bindAddress: "127.0.0.5:80"\n`,
      errors: ['edge.bindAddress: "127.0.0.5:80" is not an IP address (no brackets, no port)'],
    },
    {
      desc: 'bad api.listen',
      yaml: `${WEB}api:\n  listen: "localhost"\n`,
      errors: ['api.listen: invalid address "localhost": missing port (e.g. ":80" or "127.0.0.1:8080")'],
    },
    {
      desc: 'same key twice in different case',
      yaml: 'entryPoints:\n  web:\n    address: ":80"\n    Address: ":81"\n',
      errors: [
        'entryPoints.web.Address: duplicate key: "address" and "Address" name the same setting (keys are case-insensitive)',
      ],
    },
    {
      desc: 'wildcard and specific address on one port',
      yaml: `${WEB}  local:\n    address: "127.0.0.1:80"\n`,
      errors: ['entryPoints.local.address: 127.0.0.1:80 overlaps :80, which is already used by entrypoint "web"'],
    },
    {
      desc: 'IPv4 wildcard and specific IPv4',
      yaml: 'entryPoints:\n  a: {address: "0.0.0.0:80"}\n  b: {address: "127.0.0.9:80"}\n',
      errors: ['entryPoints.b.address: 127.0.0.9:80 overlaps 0.0.0.0:80, which is already used by entrypoint "a"'],
    },
    {
      desc: 'user wildcard entrypoint next to a generated one',
      yaml: 'edge: {publicIPv4: 203.0.113.7, publicIPv6: "2001:db8::7"}\nentryPoints:\n  http: {address: ":80"}\n',
      errors: ['entryPoints.http.address: :80 overlaps 0.0.0.0:80, which is already used by entrypoint "web"'],
    },
    {
      desc: 'entrypoint on the API port',
      yaml: 'entryPoints:\n  admin: {address: ":7111"}\n',
      errors: [
        'entryPoints.admin.address: :7111 overlaps 127.0.0.1:7111, which is already used by the API (api.listen)',
      ],
    },
    {
      desc: 'dynamic configuration in the static file',
      yaml: `${WEB}http:\n  routers: {}\n`,
      errors: ['http: unknown key (dynamic configuration: put it in a file read by providers.file)'],
    },
    {
      desc: 'status code filter not a code',
      yaml: `${WEB}accessLog:\n  filters:\n    statusCodes: ["5xx"]\n`,
      errors: ['accessLog.filters.statusCodes[0]: "5xx" is not a status code or range such as 500-599'],
    },
  ];
  for (const c of cases) {
    test(c.desc, () => {
      const p = problems(c.yaml);
      assert.deepEqual(p.errors, c.errors);
      assert.equal(p.config, false, 'no config when there is an error');
    });
  }
});

describe('decodeStaticConfig: warnings keep the config', () => {
  const cases: { desc: string; yaml: string; warnings: string[] }[] = [
    {
      desc: 'unimplemented Traefik section',
      yaml: `${WEB}tracing:\n  otlp: {}\n`,
      warnings: ['tracing: tracing has no effect in berth: berth has no tracing; requests are not traced'],
    },
    {
      desc: 'unimplemented provider',
      yaml: `${WEB}providers:\n  kubernetesCRD: {namespaces: [default]}\n`,
      warnings: [
        'providers.kubernetesCRD: kubernetesCRD has no effect in berth: berth reads only the docker, file and http providers; this provider is not started',
      ],
    },
    { desc: 'empty ignored section is silent', yaml: `${WEB}experimental: {}\n`, warnings: [] },
    {
      desc: 'deprecated ACME keys',
      yaml: `${WEB}certificatesResolvers:\n  le:\n    acme:\n      dnsChallenge:\n        provider: cloudflare\n        delayBeforeCheck: 10\n`,
      warnings: [
        'certificatesResolvers.le.acme.dnsChallenge.delayBeforeCheck: deprecated: use propagation.delayBeforeChecks',
      ],
    },
    {
      desc: 'file provider with both filename and directory',
      yaml: `${WEB}providers:\n  file:\n    filename: a.yml\n    directory: /etc/dyn\n`,
      warnings: ['providers.file.filename: ignored: directory is set and takes precedence, as in Traefik'],
    },
    {
      desc: 'ping creates the internal entrypoint as Traefik does',
      yaml: `${WEB}ping: {}\n`,
      warnings: [
        'entryPoints.traefik: not defined; created on :8080 (all interfaces) for ping, as Traefik does — define it (e.g. address "127.0.0.1:8080") to choose where it listens',
      ],
    },
    {
      desc: 'dns without a public address',
      yaml: `${WEB}edge:\n  baseDomain: example.com\n  dns:\n    provider: cloudflare\n`,
      warnings: ['edge.dns: no edge.publicIPv4 or edge.publicIPv6: there is no address to publish'],
    },
    {
      desc: 'log rotation by size is left to logrotate',
      yaml: `${WEB}log:\n  filePath: /var/log/berth.log\n  maxSize: 100\n`,
      warnings: [
        'log.maxSize: maxSize has no effect in berth: berth does not rotate its log file: rotate it with logrotate, then send SIGUSR1',
      ],
    },
    {
      desc: 'HTTP/3 is not implemented',
      yaml: `${WEB}    http3:\n      advertisedPort: 443\n`,
      warnings: [
        'entryPoints.web.http3: http3 has no effect in berth: HTTP/3 is not implemented; the entrypoint serves HTTP/1.1 and HTTP/2 only',
      ],
    },
  ];
  for (const c of cases) {
    test(c.desc, () => {
      const p = problems(c.yaml);
      assert.deepEqual(p.errors, []);
      assert.deepEqual(p.warnings, c.warnings);
      assert.equal(p.config, true);
    });
  }
});

test('listeners that can coexist are not conflicts', () => {
  for (const yaml of [
    'entryPoints:\n  a: {address: "0.0.0.0:80"}\n  b: {address: "[2001:db8::1]:80"}\n',
    'entryPoints:\n  a: {address: ":53"}\n  b: {address: ":53/udp"}\n',
    'entryPoints:\n  a: {address: ":80", reusePort: true}\n  b: {address: ":80", reusePort: true}\n',
    'entryPoints:\n  a: {address: "127.0.0.1:80"}\n  b: {address: "127.0.0.2:80"}\n',
  ])
    assert.deepEqual(problems(yaml).errors, [], yaml);
});

test('decodeStaticConfig never throws on arbitrary values', () => {
  const inputs: unknown[] = [
    undefined,
    null,
    0,
    'x',
    [],
    true,
    { entryPoints: null },
    { entryPoints: { a: null } },
    { entryPoints: { a: { address: null } } },
    { edge: null },
    { edge: { dynamicPorts: null } },
    { workers: null },
    { providers: { docker: 'yes' } },
    { certificatesResolvers: { x: { acme: null } } },
    { api: 'x' },
    { limits: [] },
  ];
  for (const raw of inputs) {
    const r = decodeStaticConfig(raw, 'test');
    assert.ok(Array.isArray(r.diagnostics));
    if (r.config === undefined)
      assert.ok(
        r.diagnostics.some((d) => d.level === 'error'),
        JSON.stringify(raw),
      );
  }
});

test('decodeStaticConfig never throws on generated documents', () => {
  const key = fc.constantFrom(
    'entryPoints',
    'web',
    'address',
    'http',
    'tls',
    'providers',
    'docker',
    'edge',
    'publicIPv4',
    'dynamicPorts',
    'certificatesResolvers',
    'acme',
    'httpChallenge',
    'entryPoint',
    'ping',
    'api',
    'limits',
    'workers',
    'redirections',
    'to',
    'x',
  );
  const doc = fc.letrec((tie) => ({
    node: fc.oneof(
      { depthSize: 'small' },
      fc.jsonValue({ maxDepth: 1 }),
      fc.dictionary(key, tie('node'), { maxKeys: 4 }),
    ),
  })).node;
  fc.assert(
    fc.property(doc, (raw) => {
      const r = decodeStaticConfig(raw, 'test');
      return r.config !== undefined || r.diagnostics.some((d) => d.level === 'error');
    }),
    { numRuns: 300 },
  );
});

test('diagnostics carry the source', () => {
  const r = decodeStaticConfig({ nope: 1 }, 'file /etc/berth/berth.yaml');
  assert.deepEqual(r.diagnostics, [
    {
      level: 'error',
      source: 'file /etc/berth/berth.yaml',
      element: 'nope',
      message:
        'unknown key (expected one of: entryPoints, providers, certificatesResolvers, api, log, accessLog, metrics, ping, serversTransport, global, edge, workers, limits, fleet, tracing, experimental, hostResolver, core, ocsp, spiffe, tcpServersTransport)',
    },
  ]);
});
