import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { hostsFromRule, wantedCertificates } from '../../src/acme/wanted.ts';
import { renewBefore } from '../../src/acme/certificate-manager.ts';
import type { CertResolverConfig, EntryPointConfig } from '../../src/config/static/types.ts';
import type { DynamicConfig } from '../../src/config/dynamic/types.ts';

const resolvers: Record<string, CertResolverConfig> = {
  dns: { acme: { storage: 'acme.json', dnsChallenge: { provider: 'cloudflare' } } },
  http: { acme: { storage: 'acme.json', httpChallenge: { entryPoint: 'web' } } },
  alpn: { acme: { storage: 'acme.json', tlsChallenge: {} } },
};
const ep = (tls?: NonNullable<EntryPointConfig['http']>['tls']): EntryPointConfig => ({
  address: ':443',
  host: '',
  port: 443,
  protocol: 'tcp',
  ...(tls ? { http: { tls } } : {}),
});

describe('hostsFromRule', () => {
  const cases = [
    { desc: 'single host', rule: 'Host(`a.example.com`)', want: ['a.example.com'] },
    {
      desc: 'several hosts and case',
      rule: 'Host(`A.example.com`, `b.example.com`) && PathPrefix(`/x`)',
      want: ['a.example.com', 'b.example.com'],
    },
    {
      desc: 'or-ed Host matchers',
      rule: 'Host(`a.example.com`) || Host("c.example.com")',
      want: ['a.example.com', 'c.example.com'],
    },
    { desc: 'HostSNI', rule: 'HostSNI(`db.example.com`)', want: ['db.example.com'] },
    {
      desc: 'HostSNI * and HostRegexp are not names',
      rule: 'HostSNI(`*`) || HostRegexp(`^.+\\.example\\.com$`)',
      want: [],
    },
  ];
  for (const c of cases) test(c.desc, () => assert.deepEqual(hostsFromRule(c.rule), c.want));
});

describe('wantedCertificates', () => {
  const cases: {
    desc: string;
    config: DynamicConfig;
    eps?: Record<string, EntryPointConfig>;
    want: { resolver: string; main: string; sans: string[]; mustCover: string[] }[];
  }[] = [
    {
      desc: 'DNS-01: host plus its wildcard, only the host must be covered',
      config: {
        http: { routers: { r: { rule: 'Host(`app.example.com`)', service: 's', tls: { certResolver: 'dns' } } } },
      },
      want: [{ resolver: 'dns', main: 'app.example.com', sans: ['*.example.com'], mustCover: ['app.example.com'] }],
    },
    {
      desc: 'DNS-01 on an apex: no wildcard of the TLD',
      config: { http: { routers: { r: { rule: 'Host(`example.com`)', service: 's', tls: { certResolver: 'dns' } } } } },
      want: [{ resolver: 'dns', main: 'example.com', sans: [], mustCover: ['example.com'] }],
    },
    {
      desc: 'HTTP-01 and TLS-ALPN-01: the exact host',
      config: {
        http: {
          routers: {
            h: { rule: 'Host(`h.example.com`)', service: 's', tls: { certResolver: 'http' } },
            a: { rule: 'Host(`a.example.com`)', service: 's', tls: { certResolver: 'alpn' } },
          },
        },
      },
      want: [
        { resolver: 'http', main: 'h.example.com', sans: [], mustCover: ['h.example.com'] },
        { resolver: 'alpn', main: 'a.example.com', sans: [], mustCover: ['a.example.com'] },
      ],
    },
    {
      desc: 'tls.domains wins and every name must be covered; duplicates merge',
      config: {
        http: {
          routers: {
            x: {
              rule: 'Host(`x.marketing.server-1.example.com`)',
              service: 's',
              tls: { certResolver: 'dns', domains: [{ main: '*.marketing.server-1.example.com' }] },
            },
            y: {
              rule: 'Host(`y.marketing.server-1.example.com`)',
              service: 's',
              tls: { certResolver: 'dns', domains: [{ main: '*.Marketing.server-1.example.com.' }] },
            },
          },
        },
      },
      want: [
        {
          resolver: 'dns',
          main: '*.marketing.server-1.example.com',
          sans: [],
          mustCover: ['*.marketing.server-1.example.com'],
        },
      ],
    },
    {
      desc: 'entrypoint http.tls applies to routers without tls; its domains are wanted',
      config: { http: { routers: { r: { rule: 'Host(`e.example.com`)', service: 's', entryPoints: ['websecure'] } } } },
      eps: {
        websecure: ep({
          certResolver: 'http',
          domains: [{ main: 'static.example.com', sans: ['www.static.example.com'] }],
        }),
      },
      want: [
        {
          resolver: 'http',
          main: 'static.example.com',
          sans: ['www.static.example.com'],
          mustCover: ['static.example.com', 'www.static.example.com'],
        },
      ],
    },
    {
      desc: 'entrypoint certResolver without domains derives from the rule',
      config: { http: { routers: { r: { rule: 'Host(`e.example.com`)', service: 's', entryPoints: ['websecure'] } } } },
      eps: { websecure: ep({ certResolver: 'http' }) },
      want: [{ resolver: 'http', main: 'e.example.com', sans: [], mustCover: ['e.example.com'] }],
    },
    {
      desc: 'unknown resolver and routers without tls want nothing; TCP passthrough neither',
      config: {
        http: {
          routers: {
            a: { rule: 'Host(`a.example.com`)', service: 's', tls: { certResolver: 'nope' } },
            b: { rule: 'Host(`b.example.com`)', service: 's' },
          },
        },
        tcp: {
          routers: {
            p: { rule: 'HostSNI(`p.example.com`)', service: 's', tls: { passthrough: true, certResolver: 'http' } },
            t: { rule: 'HostSNI(`t.example.com`)', service: 's', tls: { certResolver: 'http' } },
          },
        },
      },
      want: [{ resolver: 'http', main: 't.example.com', sans: [], mustCover: ['t.example.com'] }],
    },
  ];
  for (const c of cases) {
    test(c.desc, () => {
      const got = wantedCertificates(c.config, c.eps ?? {}, resolvers).map(({ resolver, main, sans, mustCover }) => ({
        resolver,
        main,
        sans,
        mustCover,
      }));
      assert.deepEqual(got, c.want);
    });
  }
});

describe('renewBefore', () => {
  const DAY = 86_400_000;
  const cases = [
    { desc: '90-day certificate: 30 days', lifetime: 90 * DAY, want: 30 * DAY },
    { desc: '5-year certificate: 30 days', lifetime: 1825 * DAY, want: 30 * DAY },
    { desc: '6-day certificate: a third', lifetime: 6 * DAY, want: 2 * DAY },
  ];
  for (const c of cases) test(c.desc, () => assert.equal(renewBefore({ notBefore: 0, notAfter: c.lifetime }), c.want));
});
