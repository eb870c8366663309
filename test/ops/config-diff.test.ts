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

describe('diffStaticConfig', () => {
  const cases: { desc: string; next: string; changed: string[]; live: string[] }[] = [
    { desc: 'same file: nothing changed', next: BASE, changed: [], live: [] },
    { desc: 'log level applies live', next: BASE.replace('level: INFO', 'level: DEBUG'), changed: ['log.level'], live: ['log.level'] },
    { desc: 'an entrypoint address needs a restart and is named', next: BASE.replace('127.0.0.1:8443', '127.0.0.1:9443'), changed: ['entryPoints.websecure'], live: [] },
    { desc: 'a new entrypoint', next: BASE.replace('entryPoints:\n', 'entryPoints:\n  extra: { address: "127.0.0.1:9000" }\n'), changed: ['entryPoints.extra'], live: [] },
    { desc: 'a provider added', next: BASE.replace('providers:\n', 'providers:\n  http: { endpoint: "http://127.0.0.1:1/" }\n'), changed: ['providers.http'], live: [] },
    { desc: 'api listen', next: BASE.replace('127.0.0.1:7111', '127.0.0.1:7112'), changed: ['api'], live: [] },
    { desc: 'several at once', next: BASE.replace('level: INFO', 'level: WARN').replace('127.0.0.1:8080', '127.0.0.1:8081'), changed: ['entryPoints.web', 'log.level'], live: ['log.level'] },
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
    { desc: 'the longest graceTimeOut of the entrypoints', yaml: `entryPoints:\n  a: { address: "127.0.0.1:1", transport: { lifeCycle: { graceTimeOut: 3s } } }\n  b: { address: "127.0.0.1:2", transport: { lifeCycle: { graceTimeOut: 1m, requestAcceptGraceTimeout: 2s } } }\n`, grace: 60_000, accept: 2_000 },
    { desc: 'graceTimeOut 0 cuts at once', yaml: `entryPoints:\n  a: { address: "127.0.0.1:1", transport: { lifeCycle: { graceTimeOut: 0s } } }\n`, grace: 0, accept: 0 },
  ];
  for (const c of cases) {
    test(c.desc, () => {
      assert.equal(graceMs(cfg(c.yaml)), c.grace);
      assert.equal(acceptGraceMs(cfg(c.yaml)), c.accept);
    });
  }
});
