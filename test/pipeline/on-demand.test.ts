import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeStaticConfig } from '../../src/config/static/decode.ts';
import type { DynamicConfig } from '../../src/config/dynamic/types.ts';
import type { StaticConfig } from '../../src/config/static/types.ts';
import { portReference, resolveOnDemand } from '../../src/pipeline/on-demand.ts';
import { compileSnapshot, type CompileEnv } from '../../src/pipeline/compile.ts';
import { ServicePool } from '../../src/http/service-builder.ts';
import { middlewareFactories } from '../../src/http/middlewares/registry.ts';
import { buildTcpRouting } from '../../src/tcp/build.ts';
import { logger } from '../../src/lib/logger.ts';

function staticConfig(extra: Record<string, unknown> = {}): StaticConfig {
  const r = decodeStaticConfig(
    {
      edge: {
        publicIPv4: '127.0.0.1',
        bindAddress: '127.0.0.7',
        webPort: 18080,
        websecurePort: 18443,
        dynamicPorts: '20000-20001',
      },
      api: { listen: '127.0.0.1:7111' },
      ...extra,
    },
    'test',
  );
  assert.ok(r.config, JSON.stringify(r.diagnostics));
  return r.config;
}

const http = (entryPoint: string): DynamicConfig => ({
  http: { routers: { r: { rule: 'Host(`a.test`)', service: 's', entryPoints: [entryPoint] } } },
});
const tcp = (entryPoint: string): DynamicConfig => ({
  tcp: { routers: { t: { rule: 'HostSNI(`*`)', service: 's', entryPoints: [entryPoint] } } },
});

describe(':PORT entrypoint references', () => {
  const refs: { desc: string; ref: string; want: number | undefined }[] = [
    { desc: 'a port', ref: ':6667', want: 6667 },
    { desc: 'a name', ref: 'tcp-6667', want: undefined },
    { desc: 'port 0', ref: ':0', want: undefined },
    { desc: 'out of range', ref: ':70000', want: undefined },
  ];
  for (const c of refs) test(c.desc, () => assert.equal(portReference(c.ref), c.want));

  const cases: {
    desc: string;
    config: DynamicConfig;
    extra?: Record<string, unknown>;
    entryPoints?: Record<string, string[] | undefined>;
    opened?: string[];
    refused?: string[];
  }[] = [
    {
      desc: 'TCP on a port no entrypoint has: tcp-PORT opened on demand',
      config: tcp(':6667'),
      entryPoints: { 't@tcp': ['tcp-6667'] },
      opened: ['tcp-6667 127.0.0.7:6667'],
    },
    {
      desc: 'HTTP on a port no entrypoint has: opened too',
      config: http(':8088'),
      entryPoints: { 'r@http': ['tcp-8088'] },
      opened: ['tcp-8088 127.0.0.7:8088'],
    },
    {
      desc: 'a configured TCP entrypoint on the port is used, whatever its name',
      config: tcp(':6697'),
      extra: { entryPoints: { irc: { address: '127.0.0.1:6697' } } },
      entryPoints: { 't@tcp': ['irc'] },
      opened: [],
    },
    {
      desc: 'a generated TCP entrypoint is used',
      config: tcp(':5432'),
      entryPoints: { 't@tcp': ['tcp-5432'] },
      opened: [],
    },
    {
      desc: 'a plain entrypoint on the port serves HTTP',
      config: http(':8081'),
      extra: { entryPoints: { alt: { address: '127.0.0.1:8081' } } },
      entryPoints: { 'r@http': ['alt'] },
    },
    {
      desc: 'TCP on the web entrypoint is refused',
      config: tcp(':18080'),
      refused: [
        't@tcp: port 18080 is entrypoint "web", which serves HTTP; a TCP route there would take every connection',
      ],
    },
    {
      desc: 'plain HTTP on a TLS entrypoint is refused',
      config: http(':18443'),
      refused: [
        'r@http: port 18443 is entrypoint "websecure", which terminates TLS; a plain HTTP route needs a plain port',
      ],
    },
    {
      desc: 'a UDP entrypoint named tcp-PORT is refused',
      config: tcp(':5353'),
      extra: { entryPoints: { 'tcp-5353': { address: '127.0.0.1:5353/udp' } } },
      refused: ['t@tcp: port 5353: entrypoint "tcp-5353" is configured for UDP; rename it or choose another port'],
    },
    {
      desc: 'the API port is refused',
      config: http(':7111'),
      refused: ["r@http: port 7111 is the API's (api.listen); choose another port"],
    },
    {
      desc: 'HTTP and TCP on one new port: the TCP route is refused',
      config: { ...http(':9000'), ...tcp(':9000') },
      entryPoints: { 'r@http': ['tcp-9000'] },
      opened: ['tcp-9000 127.0.0.7:9000'],
      refused: ['t@tcp: port 9000 is asked for HTTP by "r@http"; a TCP route there would take every connection'],
    },
    {
      desc: 'names and ports mix',
      config: {
        http: { routers: { r: { rule: 'Host(`a.test`)', service: 's', entryPoints: ['websecure', ':8088'] } } },
      },
      entryPoints: { 'r@http': ['websecure', 'tcp-8088'] },
    },
  ];
  for (const c of cases) {
    test(c.desc, () => {
      const qualified: DynamicConfig = {
        ...(c.config.http
          ? {
              http: {
                routers: Object.fromEntries(
                  Object.entries(c.config.http.routers ?? {}).map(([n, r]) => [`${n}@http`, r]),
                ),
              },
            }
          : {}),
        ...(c.config.tcp
          ? {
              tcp: {
                routers: Object.fromEntries(
                  Object.entries(c.config.tcp.routers ?? {}).map(([n, r]) => [`${n}@tcp`, r]),
                ),
              },
            }
          : {}),
      };
      const r = resolveOnDemand(qualified, staticConfig(c.extra));
      for (const [name, want] of Object.entries(c.entryPoints ?? {})) {
        const got = name.endsWith('@http')
          ? r.config.http?.routers?.[name]?.entryPoints
          : r.config.tcp?.routers?.[name]?.entryPoints;
        assert.deepEqual(got, want, name);
      }
      if (c.opened)
        assert.deepEqual(
          Object.entries(r.extra).map(([n, e]) => `${n} ${e.address}`),
          c.opened,
        );
      assert.deepEqual(
        r.refused.map((x) => `${x.name}: ${x.message}`),
        c.refused ?? [],
      );
      for (const x of r.refused) {
        const still = x.kind === 'http-router' ? r.config.http?.routers?.[x.name] : r.config.tcp?.routers?.[x.name];
        assert.equal(still, undefined, 'a refused router is left out, never attached to every entrypoint');
      }
    });
  }
});

describe('compiled snapshot with on-demand entrypoints', () => {
  const sc = staticConfig();
  const env: CompileEnv = {
    staticConfig: sc,
    pool: new ServicePool({}),
    middlewares: middlewareFactories,
    internalServices: new Map(),
    logger: logger('test'),
    tmpDir: '/tmp',
    l4: { tcp: (c, e) => buildTcpRouting(c, e, { logger: logger('test') }) },
  };
  const snap = compileSnapshot(
    {
      http: {
        routers: { 'web2@docker': { rule: 'Host(`web2.test`)', service: 'web2@docker', entryPoints: [':8088'] } },
        services: { 'web2@docker': { loadBalancer: { servers: [{ url: 'http://127.0.0.1:9' }] } } },
      },
      tcp: {
        routers: {
          'irc@docker': { rule: 'HostSNI(`*`)', service: 'irc@docker', entryPoints: [':6667'] },
          'all@docker': { rule: 'HostSNI(`*`)', service: 'irc@docker' },
        },
        services: { 'irc@docker': { loadBalancer: { servers: [{ address: '127.0.0.1:9' }] } } },
      },
    },
    1,
    [],
    env,
  );
  env.pool.close();

  test('the opened entrypoints are extra entrypoints of the snapshot, on edge.bindAddress', () => {
    assert.deepEqual(
      Object.entries(snap.extraEntrypoints)
        .map(([n, e]) => `${n} ${e.address}`)
        .sort(),
      ['tcp-6667 127.0.0.7:6667', 'tcp-8088 127.0.0.7:8088'],
    );
  });
  test('HTTP routes are served on theirs', () => {
    assert.equal(
      snap.http
        .get('tcp-8088')
        ?.plain.find({ host: 'web2.test', path: '/', method: 'GET', headers: {}, query: '', clientIp: '127.0.0.1' })
        ?.name,
      'web2@docker',
    );
  });
  test('TCP routes on theirs; a router without entrypoints does not attach to them', () => {
    const on = (ep: string): string[] => (snap.tcp.get(ep)?.routers ?? []).map((r) => r.name);
    assert.deepEqual(on('tcp-6667'), ['irc@docker']);
    assert.deepEqual(on('tcp-8088'), []);
    assert.ok(on('tcp-5432').includes('all@docker'));
  });
  test('no diagnostics', () => assert.deepEqual(snap.diagnostics, []));
});
