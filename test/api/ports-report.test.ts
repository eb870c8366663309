import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeStaticConfig } from '../../src/config/static/decode.ts';
import { decodeContainers } from '../../src/config/labels/decode.ts';
import { compileSnapshot } from '../../src/pipeline/compile.ts';
import { mergeConfigs } from '../../src/pipeline/merge.ts';
import { ServicePool } from '../../src/http/service-builder.ts';
import { middlewareFactories } from '../../src/http/middlewares/registry.ts';
import { buildTcpRouting } from '../../src/tcp/build.ts';
import { buildUdpRouting } from '../../src/udp/build.ts';
import { PortAllocator } from '../../src/tcp/port-allocator.ts';
import { portsReport } from '../../src/api/ports-report.ts';
import { logger } from '../../src/lib/logger.ts';
import { tempDir } from '../helpers/temp.ts';
import { container, options } from '../config/labels/fixtures.ts';

describe('/ports: public port, protocol, service, repository, containers and targets', () => {
  const range = { from: 20000, to: 20001 };
  const sc = decodeStaticConfig({ edge: { dynamicPorts: '20000-20001', bindAddress: '127.0.0.7' } }, 'test').config!;
  const allocator = new PortAllocator(tempDir('berth-ports-'), range);
  const l4env = { logger: logger('test'), allocator };
  const rediacc = (name: string, ip: string, labels: Record<string, string>) =>
    container({
      name,
      daemon: 'docker-1',
      networkMode: 'host',
      networks: {},
      labels: {
        'rediacc.service_name': 'mail',
        'rediacc.repo_name': 'marketing',
        'rediacc.service_ip': ip,
        'rediacc.service_port': '8080',
        ...labels,
      },
    });
  // Two replicas ask for TCP 25 and 993 and UDP 53: three ports from a range of two per protocol, so UDP is fine and TCP fits exactly.
  // A third TCP port is left out.
  const decoded = decodeContainers(
    [
      rediacc('mail-1', '127.0.11.2', { 'rediacc.tcp_ports': '8080,25,993,587', 'rediacc.udp_ports': '53' }),
      rediacc('mail-2', '127.0.11.3', { 'rediacc.tcp_ports': '8080,25,993,587', 'rediacc.udp_ports': '53' }),
    ],
    options({ edge: { autoRoutes: true, baseDomain: 'example.com' } }),
  );
  const pool = new ServicePool({});
  const snap = compileSnapshot(mergeConfigs(new Map([['docker', decoded.config]])), 1, [], {
    staticConfig: sc,
    pool,
    middlewares: middlewareFactories,
    internalServices: new Map(),
    logger: logger('test'),
    tmpDir: '/tmp',
    l4: { tcp: (c, e) => buildTcpRouting(c, e, l4env), udp: (c, e) => buildUdpRouting(c, e, l4env) },
  });
  pool.close();
  const report = portsReport(
    { allocations: allocator.list(), range },
    snap,
    new Map([['docker', { status: 'ok' as const, ports: decoded.ports ?? [] }]]),
  );

  test('each allocated port names its owner and where it forwards to', () => {
    const rows = report.allocations.map(
      (a) =>
        `${a.protocol}/${a.port} ${a.key} active=${a.active} ${a.service}@${a.repository} ${a.daemon} [${a.containers?.join(',')}] -> ${a.targets.join(',')}`,
    );
    assert.deepEqual(rows, [
      'tcp/20000 mail-marketing-tcp-25@docker active=true mail@marketing docker-1 [mail-1,mail-2] -> 127.0.11.2:25,127.0.11.3:25',
      'tcp/20001 mail-marketing-tcp-587@docker active=true mail@marketing docker-1 [mail-1,mail-2] -> 127.0.11.2:587,127.0.11.3:587',
      'udp/20000 mail-marketing-udp-53@docker active=true mail@marketing docker-1 [mail-1,mail-2] -> 127.0.11.2:53,127.0.11.3:53',
    ]);
  });

  test('exhaustion: the router left out is listed with its owner and the reason', () => {
    assert.deepEqual(
      report.unassigned.map((u) => `${u.protocol} ${u.key} ${u.service}@${u.repository} [${u.containers?.join(',')}]`),
      ['tcp mail-marketing-tcp-993@docker mail@marketing [mail-1,mail-2]'],
    );
    assert.match(report.unassigned[0]?.errors.join('; ') ?? '', /no free tcp port in edge\.dynamicPorts 20000-20001/);
    assert.ok(
      snap.diagnostics.some(
        (d) =>
          d.level === 'error' &&
          d.element === 'tcp.routers.mail-marketing-tcp-993@docker' &&
          /no free tcp port/.test(d.message),
      ),
      'and a diagnostic naming the router',
    );
  });

  test('the opened dynamic entrypoints listen on edge.bindAddress', () => {
    assert.deepEqual(
      Object.entries(snap.extraEntrypoints)
        .map(([n, e]) => `${n} ${e.address}`)
        .sort(),
      ['tcp-20000 127.0.0.7:20000', 'tcp-20001 127.0.0.7:20001', 'udp-20000 127.0.0.7:20000/udp'],
    );
  });
});
