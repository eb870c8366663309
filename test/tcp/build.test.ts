import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DynamicConfig, TcpRouter } from '../../src/config/dynamic/types.ts';
import type { EntryPointConfig } from '../../src/config/static/types.ts';
import { buildTcpRouting } from '../../src/tcp/build.ts';
import { PortAllocator } from '../../src/tcp/port-allocator.ts';
import { buildUdpRouting } from '../../src/udp/build.ts';
import { fakeTlsSource, selfSigned, silentLogger } from './harness.ts';

const eps: Record<string, EntryPointConfig> = {
  web: { address: ':80', host: '', port: 80, protocol: 'tcp' },
  'tcp-6379': { address: ':6379', host: '', port: 6379, protocol: 'tcp' },
  'udp-53': { address: ':53/udp', host: '', port: 53, protocol: 'udp' },
};
const svc = { loadBalancer: { servers: [{ address: '127.0.0.1:6379' }] } };
const pair = selfSigned('x.example.com');
const tls = fakeTlsSource({}, pair);

describe('buildTcpRouting: each broken router is dropped alone', () => {
  const cases: {
    desc: string;
    router: TcpRouter;
    services?: DynamicConfig['tcp'];
    noTls?: boolean;
    error?: RegExp;
    entrypoints?: string[];
  }[] = [
    {
      desc: 'catch-all on one entrypoint',
      router: { rule: 'HostSNI(`*`)', service: 's@file', entryPoints: ['tcp-6379'] },
      entrypoints: ['tcp-6379'],
    },
    {
      desc: 'no entryPoints: every TCP entrypoint',
      router: { rule: 'HostSNI(`*`)', service: 's@file' },
      entrypoints: ['tcp-6379', 'web'],
    },
    {
      desc: 'bad rule',
      router: { rule: 'HostSNI(`a`', service: 's@file', tls: { passthrough: true } },
      error: /invalid rule/,
    },
    {
      desc: 'unknown service',
      router: { rule: 'HostSNI(`*`)', service: 'nope@file' },
      error: /unknown service "nope@file"/,
    },
    {
      desc: 'SNI name on a plain router',
      router: { rule: 'HostSNI(`db.example.com`)', service: 's@file' },
      error: /needs TLS/,
    },
    {
      desc: 'termination without a certificate store',
      router: { rule: 'HostSNI(`db.example.com`)', service: 's@file', tls: {} },
      noTls: true,
      error: /certificate store/,
    },
    {
      desc: 'unknown entrypoint only',
      router: { rule: 'HostSNI(`*`)', service: 's@file', entryPoints: ['nope'] },
      error: /does not exist/,
    },
    {
      desc: 'UDP entrypoint for a TCP router',
      router: { rule: 'HostSNI(`*`)', service: 's@file', entryPoints: ['udp-53'] },
      error: /is UDP/,
    },
    {
      desc: 'dynamic entrypoint without allocator',
      router: { rule: 'HostSNI(`*`)', service: 's@file', entryPoints: ['tcp-dynamic'] },
      error: /dynamicPorts/,
    },
    {
      desc: 'broken service',
      router: { rule: 'HostSNI(`*`)', service: 'bad@file' },
      services: { services: { 'bad@file': { loadBalancer: { servers: [{ address: 'no-port' }] } } } },
      error: /is broken: .*host:port/,
    },
    {
      desc: 'service without servers',
      router: { rule: 'HostSNI(`*`)', service: 'bad@file' },
      services: { services: { 'bad@file': { loadBalancer: { servers: [] } } } },
      error: /no servers/,
    },
    {
      desc: 'bad proxyProtocol version',
      router: { rule: 'HostSNI(`*`)', service: 'bad@file' },
      services: {
        services: {
          'bad@file': { loadBalancer: { servers: [{ address: '127.0.0.1:1' }], proxyProtocol: { version: 3 } } },
        },
      },
      error: /proxyProtocol/,
    },
    {
      desc: 'weighted cycle',
      router: { rule: 'HostSNI(`*`)', service: 'w1@file' },
      services: {
        services: {
          'w1@file': { weighted: { services: [{ name: 'w2@file' }] } },
          'w2@file': { weighted: { services: [{ name: 'w1@file' }] } },
        },
      },
      error: /refers to itself/,
    },
    {
      desc: 'unknown serversTransport',
      router: { rule: 'HostSNI(`*`)', service: 'bad@file' },
      services: {
        services: { 'bad@file': { loadBalancer: { servers: [{ address: '127.0.0.1:1' }], serversTransport: 'nope' } } },
      },
      error: /serversTransport/,
    },
  ];
  for (const c of cases) {
    test(c.desc, () => {
      const config: DynamicConfig = {
        tcp: {
          routers: {
            'r@file': c.router,
            'good@file': { rule: 'HostSNI(`*`)', service: 's@file', entryPoints: ['tcp-6379'] },
          },
          services: { 's@file': svc, ...(c.services?.services ?? {}) },
        },
      };
      const res = buildTcpRouting(config, eps, { logger: silentLogger, ...(c.noTls ? {} : { tls }) });
      const status = res.elements.find((e) => e.name === 'r@file');
      assert.ok(
        res.routing.get('tcp-6379')?.routers.some((r) => r.name === 'good@file'),
        'the good router is unaffected',
      );
      if (c.error) {
        assert.equal(status?.status, 'disabled');
        assert.ok(
          res.diagnostics.some((d) => d.element === 'tcp.routers.r@file' && c.error!.test(d.message)),
          JSON.stringify(res.diagnostics),
        );
        for (const r of res.routing.values()) assert.ok(!r.routers.some((x) => x.name === 'r@file'));
      } else {
        assert.equal(status?.status, 'enabled', JSON.stringify(res.diagnostics));
        const on = [...res.routing.entries()]
          .filter(([, r]) => r.routers.some((x) => x.name === 'r@file'))
          .map(([n]) => n)
          .sort();
        assert.deepEqual(on, c.entrypoints);
      }
    });
  }

  test('routers sorted by priority; TLS flags and catch-all flag', () => {
    const config: DynamicConfig = {
      tcp: {
        routers: {
          'a@file': { rule: 'HostSNI(`*`)', service: 's@file', entryPoints: ['web'] },
          'b@file': {
            rule: 'HostSNI(`db.example.com`)',
            service: 's@file',
            entryPoints: ['web'],
            tls: { passthrough: true },
          },
          'c@file': { rule: 'HostSNI(`*`)', service: 's@file', entryPoints: ['web'], priority: 100 },
        },
        services: { 's@file': svc },
      },
    };
    const r = buildTcpRouting(config, eps, { logger: silentLogger }).routing.get('web')!;
    assert.deepEqual(
      r.routers.map((x) => x.name),
      ['c@file', 'b@file', 'a@file'],
    );
    assert.equal(r.hasCatchAllPlain, true);
    assert.equal(r.hasTlsRouters, true);
    assert.deepEqual(
      r.plain.map((x) => x.name),
      ['c@file', 'a@file'],
    );
  });

  test('dynamic entrypoint: a port from the range, an extra entrypoint, stable on rebuild', () => {
    const dir = mkdtempSync(join(tmpdir(), 'berth-ports-'));
    try {
      const allocator = new PortAllocator(dir, { from: 10000, to: 10010 });
      const config: DynamicConfig = {
        tcp: {
          routers: { 'db@docker': { rule: 'HostSNI(`*`)', service: 's@docker', entryPoints: ['tcp-dynamic'] } },
          services: { 's@docker': svc },
        },
      };
      const first = buildTcpRouting(config, eps, { logger: silentLogger, allocator });
      assert.deepEqual([...first.routing.keys()], ['tcp-10000']);
      assert.equal(first.extraEntrypoints['tcp-10000']?.port, 10000);
      const again = buildTcpRouting(config, eps, {
        logger: silentLogger,
        allocator: new PortAllocator(dir, { from: 10000, to: 10010 }),
      });
      assert.deepEqual([...again.routing.keys()], ['tcp-10000']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('buildUdpRouting', () => {
  test('one router per entrypoint; broken ones dropped alone', () => {
    const config: DynamicConfig = {
      udp: {
        routers: {
          'a@file': { entryPoints: ['udp-53'], service: 'dns@file' },
          'b@file': { entryPoints: ['udp-53'], service: 'dns@file' },
          'c@file': { service: 'missing@file' },
          'd@file': { entryPoints: ['web'], service: 'dns@file' },
        },
        services: {
          'dns@file': { loadBalancer: { servers: [{ address: '127.0.0.1:53' }] } },
          'bad@file': { loadBalancer: { servers: [{ address: 'x' }] } },
        },
      },
    };
    const res = buildUdpRouting(config, eps, { logger: silentLogger });
    assert.equal(res.routing.get('udp-53')?.router, 'a@file');
    const st = (n: string): string | undefined => res.elements.find((e) => e.name === n)?.status;
    assert.equal(st('a@file'), 'enabled');
    assert.equal(st('b@file'), 'disabled');
    assert.equal(st('c@file'), 'disabled');
    assert.equal(st('d@file'), 'disabled');
    assert.equal(st('bad@file'), 'disabled');
    assert.equal(st('dns@file'), 'enabled');
  });
});
