import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { TlsOptions } from '../../src/config/dynamic/types.ts';
import {
  buildTlsPolicy,
  handshakePolicy,
  routerOptionsName,
  wantedOptionsName,
  type TlsRouterRef,
} from '../../src/tls/policy.ts';

const defs: Record<string, TlsOptions> = {
  default: { minVersion: 'VersionTLS12' },
  'modern@file': { minVersion: 'VersionTLS13' },
  'mtls@docker': { clientAuth: { clientAuthType: 'RequireAnyClientCert' } },
};

describe('buildTlsPolicy: the options per SNI and per router, compiled once', () => {
  const cases: {
    desc: string;
    routers: TlsRouterRef[];
    sni: string | undefined;
    handshake: string;
    wanted?: [string, string];
  }[] = [
    {
      desc: "a host takes the options of its HTTPS router (qualified in the router's provider)",
      routers: [{ name: 'app@file', hosts: ['a.test'], options: 'modern' }],
      sni: 'a.test',
      handshake: 'modern@file',
      wanted: ['app@file', 'modern@file'],
    },
    {
      desc: 'the SNI is matched case-insensitively',
      routers: [{ name: 'app@file', hosts: ['a.test'], options: 'modern' }],
      sni: 'A.Test',
      handshake: 'modern@file',
    },
    {
      desc: 'an explicit provider crosses providers',
      routers: [{ name: 'app@file', hosts: ['a.test'], options: 'mtls@docker' }],
      sni: 'a.test',
      handshake: 'mtls@docker',
    },
    {
      desc: 'a host no router names gets default',
      routers: [{ name: 'app@file', hosts: ['a.test'], options: 'modern' }],
      sni: 'b.test',
      handshake: 'default',
    },
    {
      desc: 'no SNI gets default',
      routers: [{ name: 'app@file', hosts: ['a.test'], options: 'modern' }],
      sni: undefined,
      handshake: 'default',
    },
    {
      desc: 'routers naming different options for one host: default',
      routers: [
        { name: 'a@file', hosts: ['a.test'], options: 'modern' },
        { name: 'b@docker', hosts: ['a.test'], options: 'mtls' },
      ],
      sni: 'a.test',
      handshake: 'default',
      wanted: ['b@docker', 'mtls@docker'],
    },
    {
      desc: 'options that do not exist fall back to default, for the handshake and the router',
      routers: [{ name: 'app@file', hosts: ['a.test'], options: 'missing' }],
      sni: 'a.test',
      handshake: 'default',
      wanted: ['app@file', 'default'],
    },
    {
      desc: 'a rule without literal hosts names none',
      routers: [{ name: 'app@file', hosts: null, options: 'modern' }],
      sni: 'a.test',
      handshake: 'default',
      wanted: ['app@file', 'modern@file'],
    },
  ];
  for (const c of cases) {
    test(c.desc, () => {
      const { policy, diagnostics } = buildTlsPolicy(c.routers, defs);
      assert.deepEqual(diagnostics, []);
      const p = handshakePolicy(policy, c.sni);
      assert.equal(p.name, c.handshake);
      if (c.wanted) assert.equal(wantedOptionsName({ tlsPolicy: policy }, c.wanted[0]), c.wanted[1]);
    });
  }

  test('each options entry is compiled once, shared by the hosts that use it', () => {
    const { policy } = buildTlsPolicy(
      [
        { name: 'a@file', hosts: ['a.test'], options: 'modern' },
        { name: 'b@file', hosts: ['b.test'], options: 'modern' },
      ],
      defs,
    );
    assert.equal(handshakePolicy(policy, 'a.test').options, handshakePolicy(policy, 'b.test').options);
    assert.equal(handshakePolicy(policy, 'a.test').options.minVersion, 'TLSv1.3');
    assert.equal(policy.fallback.options.minVersion, 'TLSv1.2');
  });

  test('problems of any options entry are reported, even one no router uses yet', () => {
    const { policy, diagnostics } = buildTlsPolicy([], {
      'odd@file': { cipherSuites: ['TLS_NOPE'], minVersion: 'TLS9' },
    });
    assert.deepEqual(
      diagnostics.map((d) => [d.level, d.element]),
      [
        ['error', 'tls.options.odd@file.minVersion'],
        ['warning', 'tls.options.odd@file.cipherSuites'],
      ],
    );
    assert.equal(policy.fallback.name, 'default');
  });

  test("routerOptionsName qualifies within the router's provider", () => {
    assert.equal(routerOptionsName('app@docker', undefined), 'default');
    assert.equal(routerOptionsName('app@docker', 'default'), 'default');
    assert.equal(routerOptionsName('app@docker', 'mtls'), 'mtls@docker');
    assert.equal(routerOptionsName('app@docker', 'mtls@file'), 'mtls@file');
    assert.equal(routerOptionsName('app', 'mtls'), 'mtls');
  });
});
