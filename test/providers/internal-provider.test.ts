import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeStaticConfig } from '../../src/config/static/decode.ts';
import { internalRoutes } from '../../src/providers/internal-provider.ts';

describe("internal routes (Traefik's own routers for ping, metrics and the insecure API)", () => {
  const cases: {
    desc: string;
    raw: Record<string, unknown>;
    routers: Record<string, { rule: string; entryPoints: string[]; service: string }>;
  }[] = [
    { desc: 'nothing configured, nothing generated', raw: {}, routers: {} },
    {
      desc: 'ping and metrics on their entrypoints',
      raw: {
        entryPoints: { web: { address: '127.0.0.1:0' }, ops: { address: '127.0.0.1:0' } },
        ping: { entryPoint: 'ops' },
        metrics: { prometheus: { entryPoint: 'ops' } },
      },
      routers: {
        ping: { rule: 'PathPrefix(`/ping`)', entryPoints: ['ops'], service: 'ping@internal' },
        prometheus: { rule: 'PathPrefix(`/metrics`)', entryPoints: ['ops'], service: 'prometheus@internal' },
      },
    },
    {
      desc: 'manualRouting leaves the routing to the user',
      raw: {
        entryPoints: { web: { address: '127.0.0.1:0' } },
        ping: { entryPoint: 'web', manualRouting: true },
        metrics: { prometheus: { entryPoint: 'web', manualRouting: true } },
      },
      routers: {},
    },
  ];
  for (const c of cases) {
    test(c.desc, () => {
      const r = decodeStaticConfig(c.raw, 'test');
      assert.ok(r.config, JSON.stringify(r.diagnostics));
      const got = internalRoutes(r.config).http?.routers ?? {};
      assert.deepEqual(
        Object.fromEntries(
          Object.entries(got).map(([k, v]) => [k, { rule: v.rule, entryPoints: v.entryPoints, service: v.service }]),
        ),
        c.routers,
      );
    });
  }
});
