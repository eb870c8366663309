import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseStaticConfigText } from '../../src/config/static/load.ts';
import type { StaticConfig } from '../../src/config/static/types.ts';
import { acceptGraceMs, diffStaticConfig, graceMs } from '../../src/ops/config-diff.ts';

function cfg(yaml: string): StaticConfig {
  const r = parseStaticConfigText(yaml, 'test');
  assert.ok(r.config, JSON.stringify(r.diagnostics));
  return r.config;
}

const BASE = `
entryPoints:
  web: { address: "127.0.0.1:8080" }
  websecure: { address: "127.0.0.1:8443" }
providers:
  file: { filename: /tmp/dyn.yaml }
api: { listen: "127.0.0.1:7111" }
log: { level: INFO }
`;

/** Entrypoints a public IPv4 generates. */
const GENERATED = [
  'web',
  'websecure',
  ...[3306, 5432, 6379, 27017, 11211, 5672, 9092, ...Array.from({ length: 11 }, (_, i) => 10000 + i)].map(
    (p) => `tcp-${p}`,
  ),
  'udp-53',
]
  .filter((n) => n !== 'web' && n !== 'websecure')
  .map((n) => `entryPoints.${n}`);

test('a new public address behind NAT changes nothing but the DNS records', () => {
  const nat = (ip: string): StaticConfig => cfg(`${BASE}edge: { publicIPv4: ${ip}, bindAddress: 0.0.0.0 }\n`);
  assert.deepEqual(diffStaticConfig(nat('203.0.113.7'), nat('203.0.113.9')), {
    changed: ['edge.publicIPv4'],
    live: ['edge.publicIPv4'],
    restartRequired: [],
  });
});

describe('diffStaticConfig', () => {
  const cases: { desc: string; next: string; changed: string[]; live: string[] }[] = [
    { desc: 'same file: nothing changed', next: BASE, changed: [], live: [] },
    {
      desc: 'log level applies live',
      next: BASE.replace('level: INFO', 'level: DEBUG'),
      changed: ['log.level'],
      live: ['log.level'],
    },
    {
      desc: 'an entrypoint address needs a restart and is named',
      next: BASE.replace('127.0.0.1:8443', '127.0.0.1:9443'),
      changed: ['entryPoints.websecure'],
      live: [],
    },
    {
      desc: 'a new entrypoint',
      next: BASE.replace('entryPoints:\n', 'entryPoints:\n  extra: { address: "127.0.0.1:9000" }\n'),
      changed: ['entryPoints.extra'],
      live: [],
    },
    {
      desc: 'a provider added',
      next: BASE.replace('providers:\n', 'providers:\n  http: { endpoint: "http://127.0.0.1:1/" }\n'),
      changed: ['providers.http'],
      live: [],
    },
    { desc: 'api listen', next: BASE.replace('127.0.0.1:7111', '127.0.0.1:7112'), changed: ['api'], live: [] },
    {
      desc: 'a public address added: DNS records follow it live, the generated entrypoints need a restart',
      next: `${BASE}edge: { publicIPv4: 203.0.113.9, bindAddress: 0.0.0.0 }\n`,
      changed: ['edge.publicIPv4', ...GENERATED],
      live: ['edge.publicIPv4'],
    },
    {
      desc: 'another edge key needs a restart',
      next: BASE.replace('log:', 'edge: { stateDir: /tmp/x }\nlog:'),
      changed: ['edge.stateDir'],
      live: [],
    },
    {
      desc: 'several at once',
      next: BASE.replace('level: INFO', 'level: WARN').replace('127.0.0.1:8080', '127.0.0.1:8081'),
      changed: ['entryPoints.web', 'log.level'],
      live: ['log.level'],
    },
  ];
  for (const c of cases) {
    test(c.desc, () => {
      const d = diffStaticConfig(cfg(BASE), cfg(c.next));
      assert.deepEqual([...d.changed].sort(), [...c.changed].sort());
      assert.deepEqual(d.live, c.live);
      assert.deepEqual([...d.restartRequired].sort(), c.changed.filter((x) => !c.live.includes(x)).sort());
    });
  }
});

describe('graceMs / acceptGraceMs', () => {
  const cases: { desc: string; yaml: string; grace: number; accept: number }[] = [
    { desc: "Traefik's defaults: 10 s grace, no accept grace", yaml: BASE, grace: 10_000, accept: 0 },
    {
      desc: 'the longest graceTimeOut of the entrypoints',
      yaml: `entryPoints:\n  a: { address: "127.0.0.1:1", transport: { lifeCycle: { graceTimeOut: 3s } } }\n  b: { address: "127.0.0.1:2", transport: { lifeCycle: { graceTimeOut: 1m, requestAcceptGraceTimeout: 2s } } }\n`,
      grace: 60_000,
      accept: 2_000,
    },
    {
      desc: 'graceTimeOut 0 cuts at once',
      yaml: `entryPoints:\n  a: { address: "127.0.0.1:1", transport: { lifeCycle: { graceTimeOut: 0s } } }\n`,
      grace: 0,
      accept: 0,
    },
  ];
  for (const c of cases) {
    test(c.desc, () => {
      assert.equal(graceMs(cfg(c.yaml)), c.grace);
      assert.equal(acceptGraceMs(cfg(c.yaml)), c.accept);
    });
  }
});
