/**
 * Claims in the merge: keys held by the ledger stay with their owner whatever the order, new keys
 * go to the first claimant, and every refusal names the owner.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeContainers } from '../../../src/config/labels/decode.ts';
import type { ClaimOwner } from '../../../src/config/labels/claim-outcome.ts';
import { describeClaim } from '../../../src/config/labels/claims.ts';
import type { ContainerView } from '../../../src/config/labels/types.ts';
import { container, options } from './fixtures.ts';

const NOW = Date.parse('2026-12-07T12:00:00Z');
const SINCE = Date.parse('2026-12-01T08:00:00Z');

function web(name: string, daemon: string, host: string, extra: Record<string, string> = {}): ContainerView {
  return container({
    name,
    id: `id-${daemon}-${name}`,
    daemon,
    networks: { n: '127.0.10.2' },
    created: '2026-12-07T10:00:00Z',
    labels: {
      'traefik.enable': 'true',
      [`traefik.http.routers.${name}.rule`]: `Host(\`${host}\`)`,
      [`traefik.http.services.${name}.loadbalancer.server.port`]: '80',
      ...extra,
    },
  });
}

function held(daemon: string, name: string, extra: Partial<ClaimOwner> = {}): ClaimOwner {
  return { daemon, container: name, containerId: `id-${daemon}-${name}`, since: SINCE, ...extra };
}

describe('claims in the merge', () => {
  const cases: {
    desc: string;
    containers: ContainerView[];
    reserved?: [string, ClaimOwner][];
    routers: string[];
    granted: Record<string, string>;
    refused: [string, string][];
    message?: RegExp;
  }[] = [
    {
      desc: 'no ledger: the first claimant in order gets the host and the date of this merge',
      containers: [web('a', 'd1', 'app.example.com'), web('b', 'd2', 'app.example.com')],
      routers: ['a'],
      granted: { 'host app.example.com': 'd1/a' },
      refused: [['d2', 'http.routers.b']],
      message:
        /^host app\.example\.com belongs to container "a" \(daemon d1, claimed since 2026-12-07T12:00:00\.000Z\)/,
    },
    {
      desc: 'a held host stays with its owner even when another daemon comes first',
      containers: [web('b', 'd2', 'app.example.com'), web('a', 'd1', 'app.example.com')],
      reserved: [['host app.example.com', held('d1', 'a', { repository: 'shop' })]],
      routers: ['a'],
      granted: { 'host app.example.com': 'd1/a' },
      refused: [['d2', 'http.routers.b']],
      message:
        /^host app\.example\.com belongs to container "a" \(daemon d1, repository shop, claimed since 2026-12-01T08:00:00\.000Z\); one repository cannot take another's traffic/,
    },
    {
      desc: 'a held host whose owner is not serving is refused to everyone else',
      containers: [web('b', 'd2', 'app.example.com')],
      reserved: [['host app.example.com', held('d1', 'a')]],
      routers: [],
      granted: {},
      refused: [['d2', 'http.routers.b']],
    },
    {
      desc: 'a held host goes to the recorded container among replicas of its daemon',
      containers: [web('r1', 'd1', 'app.example.com'), web('r2', 'd1', 'app.example.com')],
      reserved: [['host app.example.com', held('d1', 'r2')]],
      routers: ['r1', 'r2'],
      granted: { 'host app.example.com': 'd1/r2' },
      refused: [],
    },
    {
      desc: 'a held name stays with its daemon; another daemon defining it is refused',
      containers: [
        web('x', 'd2', 'x.example.com'),
        web('y', 'd1', 'y.example.com', {
          'traefik.http.routers.y.service': 'x',
          'traefik.http.services.x.loadbalancer.server.port': '80',
        }),
      ],
      reserved: [['name http.services.x', held('d1', 'y')]],
      routers: ['y'],
      granted: { 'host x.example.com': 'd2/x', 'host y.example.com': 'd1/y', 'name http.services.x': 'd1/y' },
      refused: [['d2', 'http.services.x']],
      message:
        /^service "x" belongs to container "y" \(daemon d1, claimed since 2026-12-01T08:00:00\.000Z\); names belong to the repository/,
    },
    {
      desc: 'a name two daemons define is granted to the first (so the ledger records it); a name one daemon defines is not',
      containers: [web('s', 'd1', 's1.example.com'), web('s', 'd2', 's2.example.com')],
      routers: ['s'],
      granted: {
        'host s1.example.com': 'd1/s',
        'host s2.example.com': 'd2/s',
        'name http.routers.s': 'd1/s',
        'name http.services.s': 'd1/s',
      },
      refused: [
        ['d2', 'http.routers.s'],
        ['d2', 'http.services.s'],
      ],
    },
    {
      desc: 'catch-all TCP routers claim their entrypoint',
      containers: [
        container({
          name: 'pg',
          id: 'id-d1-pg',
          daemon: 'd2',
          networks: { n: '127.0.10.3' },
          labels: {
            'traefik.enable': 'true',
            'traefik.tcp.routers.pg.entrypoints': 'tcp-5432',
            'traefik.tcp.routers.pg.rule': 'HostSNI(`*`)',
            'traefik.tcp.services.pg.loadbalancer.server.port': '5432',
          },
        }),
      ],
      reserved: [['tcp-catchall tcp-5432', held('d1', 'db')]],
      routers: [],
      granted: {},
      refused: [['d2', 'tcp.routers.pg']],
      message: /^every TCP connection on entrypoint tcp-5432 belongs to container "db"/,
    },
    {
      desc: 'an RPROXY port claims the entrypoint of that port, as a label naming it does',
      containers: [
        container({
          name: 'irc',
          id: 'id-d2-irc',
          daemon: 'd2',
          networks: { n: '127.0.10.4' },
          env: ['RPROXY=tcp://irc.example.org:6667'],
        }),
      ],
      reserved: [['tcp-catchall tcp-6667', held('d1', 'znc')]],
      routers: [],
      granted: {},
      refused: [['d2', 'tcp.routers.rproxy-tcp-6667']],
      message: /^every TCP connection on entrypoint tcp-6667 belongs to container "znc"/,
    },
    {
      desc: 'routers on tcp-dynamic each get a port of their own: two repositories never contend',
      containers: [
        container({
          name: 'm1',
          id: 'id-d1-m1',
          daemon: 'd1',
          networkMode: 'host',
          networks: {},
          labels: {
            'rediacc.service_name': 'mail',
            'rediacc.repo_name': 'a',
            'rediacc.service_ip': '127.0.11.2',
            'rediacc.service_port': '80',
            'rediacc.tcp_ports': '25',
          },
        }),
        container({
          name: 'm2',
          id: 'id-d2-m2',
          daemon: 'd2',
          networkMode: 'host',
          networks: {},
          labels: {
            'rediacc.service_name': 'mail',
            'rediacc.repo_name': 'b',
            'rediacc.service_ip': '127.0.12.2',
            'rediacc.service_port': '80',
            'rediacc.tcp_ports': '25',
          },
        }),
      ],
      routers: ['mail-a-auto', 'mail-b-auto'],
      granted: { 'host mail.a.server-1.example.com': 'd1/m1', 'host mail.b.server-1.example.com': 'd2/m2' },
      refused: [],
    },
  ];
  for (const c of cases) {
    test(c.desc, () => {
      const r = decodeContainers(c.containers, options(), { reserved: new Map(c.reserved ?? []), now: NOW });
      assert.deepEqual(Object.keys(r.config.http?.routers ?? {}).sort(), c.routers);
      const granted = Object.fromEntries(
        [...(r.claims?.granted ?? [])].map(([k, o]) => [k, `${o.daemon}/${o.container}`]),
      );
      assert.deepEqual(granted, c.granted);
      assert.deepEqual(
        r.claims?.refused.map((x) => [x.daemon, x.element]),
        c.refused,
      );
      if (c.message) {
        const d = r.diagnostics.find((x) => x.element === c.refused[0]?.[1]);
        assert.match(d?.message ?? '', c.message);
      }
    });
  }

  test('while a daemon has not answered, only held keys are served; the rest waits with a warning', () => {
    const r = decodeContainers([web('a', 'd1', 'held.example.com'), web('b', 'd1', 'new.example.com')], options(), {
      reserved: new Map([['host held.example.com', held('d1', 'a')]]),
      now: NOW,
      waitingFor: ['d2'],
    });
    assert.deepEqual(Object.keys(r.config.http?.routers ?? {}), ['a']);
    assert.deepEqual(
      r.diagnostics.map((d) => [d.level, d.element, d.message]),
      [
        [
          'warning',
          'http.routers.b',
          'host new.example.com is not served until daemon d2 has answered: a container there may have claimed it first',
        ],
      ],
    );
    assert.deepEqual([...(r.claims?.granted.keys() ?? [])], ['host held.example.com']);
  });

  test('wanted lists every key a container asks for, refused or not', () => {
    const r = decodeContainers([web('a', 'd1', 'app.example.com'), web('b', 'd2', 'app.example.com')], options());
    assert.deepEqual(r.claims?.wanted.get('d2\u0000id-d2-b'), [
      'host app.example.com',
      'name http.routers.b',
      'name http.services.b',
    ]);
  });

  test('describeClaim words every kind of key', () => {
    assert.equal(describeClaim('host a.example.com'), 'host a.example.com');
    assert.equal(describeClaim('udp-catchall udp-53'), 'every UDP datagram on entrypoint udp-53');
    assert.equal(describeClaim('name tcp.middlewares.ip.allow'), 'TCP middleware "ip.allow"');
  });
});
