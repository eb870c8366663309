import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { parseTraefikLabels } from '../../../src/config/labels/parse.ts';
import { convertScalar, hostileReason, parseBool } from '../../../src/config/labels/values.ts';
import { suggest } from '../../../src/config/labels/suggest.ts';

const src = 'container "t" on daemon d';

function element(
  labels: Record<string, string>,
  proto: 'http' | 'tcp' | 'udp',
  section: 'routers' | 'services' | 'middlewares' | 'serversTransports',
  name: string,
) {
  const p = parseTraefikLabels(labels, src);
  const e = p[proto][section].get(name);
  assert.ok(e, `element ${name} missing`);
  return e;
}

describe('parseTraefikLabels', () => {
  const ok: {
    desc: string;
    labels: Record<string, string>;
    proto: 'http' | 'tcp' | 'udp';
    section: 'routers' | 'services' | 'middlewares' | 'serversTransports';
    name: string;
    want: unknown;
  }[] = [
    {
      desc: 'keys are case-insensitive, names keep case',
      labels: { 'Traefik.HTTP.Routers.MyR.RULE': 'Host(`a`)', 'traefik.http.routers.MyR.EntryPoints': 'a, b' },
      proto: 'http',
      section: 'routers',
      name: 'MyR',
      want: { rule: 'Host(`a`)', entryPoints: ['a', 'b'] },
    },
    {
      desc: 'indexed lists',
      labels: {
        'traefik.http.routers.r.tls.domains[1].main': 'b.com',
        'traefik.http.routers.r.tls.domains[0].main': 'a.com',
        'traefik.http.routers.r.tls.domains[0].sans': 'x.a.com,y.a.com',
      },
      proto: 'http',
      section: 'routers',
      name: 'r',
      want: { tls: { domains: [{ main: 'a.com', sans: ['x.a.com', 'y.a.com'] }, { main: 'b.com' }] } },
    },
    {
      desc: 'allowEmpty objects',
      labels: { 'traefik.http.routers.r.tls': 'true', 'traefik.http.routers.r.observability.accesslogs': 'false' },
      proto: 'http',
      section: 'routers',
      name: 'r',
      want: { tls: {}, observability: { accessLogs: false } },
    },
    {
      desc: 'header names keep their case',
      labels: { 'traefik.http.middlewares.m.headers.customRequestHeaders.X-Forwarded-Proto': 'https' },
      proto: 'http',
      section: 'middlewares',
      name: 'm',
      want: { headers: { customRequestHeaders: { 'X-Forwarded-Proto': 'https' } } },
    },
    {
      desc: 'canonical middleware option names',
      labels: {
        'traefik.http.middlewares.m.headers.stsseconds': '10',
        'traefik.http.middlewares.m.headers.stspreload': 'TRUE',
      },
      proto: 'http',
      section: 'middlewares',
      name: 'm',
      want: { headers: { stsSeconds: 10, stsPreload: true } },
    },
    {
      desc: 'TCP server port and proxy protocol',
      labels: {
        'traefik.tcp.services.s.loadbalancer.server.port': '5432',
        'traefik.tcp.services.s.loadbalancer.proxyprotocol.version': '2',
      },
      proto: 'tcp',
      section: 'services',
      name: 's',
      want: { loadBalancer: { server: { port: 5432 }, proxyProtocol: { version: 2 } } },
    },
    {
      desc: 'weighted services by index',
      labels: {
        'traefik.http.services.w.weighted.services[0].name': 'a',
        'traefik.http.services.w.weighted.services[0].weight': '3',
      },
      proto: 'http',
      section: 'services',
      name: 'w',
      want: { weighted: { services: [{ name: 'a', weight: 3 }] } },
    },
    {
      desc: 'durations stay strings',
      labels: { 'traefik.http.serverstransports.t.forwardingtimeouts.dialtimeout': '30' },
      proto: 'http',
      section: 'serversTransports',
      name: 't',
      want: { forwardingTimeouts: { dialTimeout: '30' } },
    },
    {
      desc: 'UDP router',
      labels: { 'traefik.udp.routers.u.entrypoints': 'udp-53' },
      proto: 'udp',
      section: 'routers',
      name: 'u',
      want: { entryPoints: ['udp-53'] },
    },
    {
      desc: "a value on the element itself makes the element, as Traefik's parser",
      labels: { 'traefik.udp.routers.foo': 'true' },
      proto: 'udp',
      section: 'routers',
      name: 'foo',
      want: {},
    },
    {
      desc: 'whatever the value',
      labels: { 'traefik.http.routers.r': 'x' },
      proto: 'http',
      section: 'routers',
      name: 'r',
      want: {},
    },
    {
      desc: 'an empty server port is unset (Traefik reads a string)',
      labels: {
        'traefik.http.services.s.loadbalancer.server.port': '',
        'traefik.http.services.s.loadbalancer.passhostheader': 'false',
      },
      proto: 'http',
      section: 'services',
      name: 's',
      want: { loadBalancer: { passHostHeader: false } },
    },
    {
      desc: 'an empty server scheme and url are unset',
      labels: {
        'traefik.http.services.s.LoadBalancer.Server.Scheme': ' ',
        'traefik.http.services.s.loadbalancer.server.url': '',
      },
      proto: 'http',
      section: 'services',
      name: 's',
      want: { loadBalancer: {} },
    },
  ];
  for (const c of ok) {
    test(c.desc, () => {
      const e = element(c.labels, c.proto, c.section, c.name);
      assert.deepEqual(e.errors, []);
      assert.deepEqual(e.value, c.want);
    });
  }

  const bad: { desc: string; labels: Record<string, string>; name: string; match: RegExp }[] = [
    {
      desc: 'unknown key with suggestion',
      labels: { 'traefik.http.routers.r.entrypoint': 'web' },
      name: 'r',
      match: /unknown key "entrypoint" \(did you mean "entryPoints"\?\)/,
    },
    {
      desc: 'sub-key of a scalar',
      labels: { 'traefik.http.routers.r.rule.x': 'a' },
      name: 'r',
      match: /has no sub-keys/,
    },
    { desc: 'index on a non-list', labels: { 'traefik.http.routers.r.rule[0]': 'a' }, name: 'r', match: /not a list/ },
    {
      desc: 'object given a non-bool value',
      labels: { 'traefik.http.routers.r.tls': 'yes please' },
      name: 'r',
      match: /expected true or false/,
    },
    {
      desc: 'map without a key',
      labels: { 'traefik.http.middlewares.r.headers.customrequestheaders': 'x' },
      name: 'r',
      match: /expects a name/,
    },
    {
      desc: 'bad duration',
      labels: { 'traefik.http.middlewares.r.ratelimit.period': 'soon' },
      name: 'r',
      match: /expected a duration/,
    },
    {
      desc: 'weird segment',
      labels: { 'traefik.http.routers.r.tls.domains[x].main': 'a' },
      name: 'r',
      match: /invalid key segment/,
    },
  ];
  for (const c of bad) {
    test(`error: ${c.desc}`, () => {
      const p = parseTraefikLabels(c.labels, src);
      const e = p.http.routers.get(c.name) ?? p.http.middlewares.get(c.name);
      assert.ok(e && e.errors.length > 0 && c.match.test(e.errors[0]?.message ?? ''), JSON.stringify(e?.errors));
      assert.equal(e.errors[0]?.element, `label ${Object.keys(c.labels)[0]}`);
      assert.equal(e.errors[0]?.source, src);
    });
  }

  test('container-level labels', () => {
    const p = parseTraefikLabels(
      {
        'traefik.enable': 'True',
        'traefik.docker.network': 'front',
        'traefik.docker.allownonrunning': '1',
        'other.label': 'x',
      },
      src,
    );
    assert.equal(p.enable, true);
    assert.equal(p.network, 'front');
    assert.equal(p.allowNonRunning, true);
    assert.equal(p.containerError, false);
    assert.deepEqual(p.diagnostics, []);
  });

  test('bad traefik.docker.allownonrunning is a container error', () => {
    const p = parseTraefikLabels({ 'traefik.docker.allownonrunning': 'maybe' }, src);
    assert.equal(p.containerError, true);
  });

  test('default TLS store labels', () => {
    const p = parseTraefikLabels(
      {
        'traefik.tls.stores.default.defaultgeneratedcert.resolver': 'le',
        'traefik.tls.stores.default.defaultgeneratedcert.domain.main': 'example.com',
      },
      src,
    );
    assert.deepEqual(p.tlsDefaultStore, { defaultGeneratedCert: { resolver: 'le', domain: { main: 'example.com' } } });
  });
});

describe('values', () => {
  test('Go ParseBool spellings only', () => {
    for (const t of ['1', 't', 'T', 'TRUE', 'true', 'True']) assert.equal(parseBool(t), true);
    for (const f of ['0', 'f', 'F', 'FALSE', 'false', 'False']) assert.equal(parseBool(f), false);
    for (const x of ['yes', 'on', 'tRuE', '']) assert.equal(parseBool(x), undefined);
  });
  test('integers', () => {
    assert.deepEqual(convertScalar({ kind: 'int' }, ' 42 '), { ok: true, value: 42 });
    assert.equal(convertScalar({ kind: 'int' }, '4.2').ok, false);
    assert.equal(convertScalar({ kind: 'int' }, '99999999999999999999').ok, false);
    assert.equal(convertScalar({ kind: 'int', min: 1, max: 65535 }, '0').ok, false);
  });
  test('hostile values', () => {
    assert.match(hostileReason('a\rb') ?? '', /line break/);
    assert.match(hostileReason('a\0b') ?? '', /NUL/);
    assert.match(hostileReason('x'.repeat(64 * 1024 + 1)) ?? '', /longer/);
    assert.equal(hostileReason('x'.repeat(64 * 1024)), undefined);
  });
  test('suggestions', () => {
    assert.equal(suggest('rulee', ['rule', 'service']), 'rule');
    assert.equal(suggest('zzzzzz', ['rule', 'service']), undefined);
  });
});

describe('server URLs', () => {
  test('a server URL from labels is accepted, as Traefik v3.7 does (v3.0 refused it)', () => {
    const p = parseTraefikLabels({ 'traefik.http.services.s.loadbalancer.server.url': 'http://10.9.9.9:80' }, src);
    assert.deepEqual(p.http.services.get('s'), {
      value: { loadBalancer: { server: { url: 'http://10.9.9.9:80' } } },
      errors: [],
    });
  });

  test('an h2c:// server URL is accepted without a warning: it is served over HTTP/2', () => {
    const p = parseTraefikLabels({ 'traefik.http.services.s.loadbalancer.server.url': 'h2c://10.9.9.9:80' }, src);
    assert.equal(p.http.services.get('s')?.errors.length, 0);
    assert.deepEqual(p.diagnostics, []);
  });
});
