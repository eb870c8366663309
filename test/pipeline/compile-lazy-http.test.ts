import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeStaticConfig } from '../../src/config/static/decode.ts';
import type { DynamicConfig } from '../../src/config/dynamic/types.ts';
import { compileSnapshot } from '../../src/pipeline/compile.ts';
import { mergeConfigs } from '../../src/pipeline/merge.ts';
import { ServicePool } from '../../src/http/service-builder.ts';
import { middlewareFactories } from '../../src/http/middlewares/registry.ts';
import { logger } from '../../src/lib/logger.ts';
import type { RoutingSnapshot } from '../../src/pipeline/snapshot.ts';

const dynamic: DynamicConfig = {
  http: {
    routers: {
      a: { rule: 'Host(`a.test`)', service: 'up' },
      secure: { rule: 'Host(`s.test`)', service: 'up', tls: {}, middlewares: ['strip'] },
      broken: { rule: 'Host(`b.test`', service: 'up' },
      lost: { rule: 'Host(`l.test`)', service: 'missing' },
      elsewhere: { rule: 'Host(`e.test`)', service: 'up', entryPoints: ['nope'] },
    },
    services: { up: { loadBalancer: { servers: [{ url: 'http://127.0.0.1:9' }] } } },
    middlewares: { strip: { stripPrefix: { prefixes: ['/x'] } } },
  },
};

function compile(servesHttp: boolean): RoutingSnapshot {
  const r = decodeStaticConfig(
    {
      entryPoints: {
        web: { address: '127.0.0.1:0', http: { redirections: { entryPoint: { to: 'websecure', scheme: 'https' } } } },
        websecure: { address: '127.0.0.1:0' },
      },
    },
    'test',
  );
  assert.ok(r.config);
  const pool = new ServicePool({});
  const snap = compileSnapshot(mergeConfigs(new Map([['file', dynamic]])), 1, [], {
    staticConfig: r.config,
    pool,
    middlewares: middlewareFactories,
    internalServices: new Map(),
    logger: logger('test'),
    tmpDir: '/tmp',
    servesHttp,
  });
  pool.close();
  return snap;
}

/** What the API shows of a snapshot's HTTP routers. */
function tables(s: RoutingSnapshot): unknown {
  return [...s.http].map(([ep, t]) => [
    ep,
    t.plain.routers.map((r) => [r.name, r.priority, r.tls, r.middlewares]),
    t.tls.routers.map((r) => [r.name, r.priority, r.tls, r.middlewares]),
  ]);
}

describe('a plane that serves no HTTP (the control plane beside workers)', () => {
  test('checks every router as a serving plane does and builds the same tables when asked', () => {
    const eager = compile(true);
    const lazy = compile(false);
    assert.deepEqual([...lazy.elements], [...eager.elements]);
    assert.deepEqual(lazy.diagnostics, eager.diagnostics);
    assert.deepEqual(lazy.tlsPolicy, eager.tlsPolicy);
    assert.equal(lazy.elements.get('broken@file')?.status, 'disabled');
    assert.deepEqual(tables(lazy), tables(eager));
    assert.equal(lazy.http, lazy.http, 'built once');
    const view = {
      host: 's.test',
      path: '/',
      method: 'GET',
      headers: { host: 's.test' },
      query: '',
      clientIp: '127.0.0.1',
    };
    assert.equal(lazy.http.get('websecure')?.tls.find(view)?.name, 'secure@file');
    assert.equal(lazy.diagnostics.length, eager.diagnostics.length, 'building the tables reports nothing twice');
  });
});
