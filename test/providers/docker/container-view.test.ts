import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { toContainerView, type InspectLike } from '../../../src/providers/docker/container-view.ts';

const running = { Running: true, Paused: false, Restarting: false };

describe('toContainerView', () => {
  test('host-network container with labels, env, health and compose labels', () => {
    const info: InspectLike = {
      Id: 'abc123',
      Name: '/web',
      Config: {
        Labels: {
          'rediacc.service_name': 'web',
          'com.docker.compose.project': 'shop',
          'com.docker.compose.service': 'front',
        },
        Env: ['A=1', 'RPROXY=http://x'],
        ExposedPorts: { '80/tcp': {} },
      },
      State: { ...running, Health: { Status: 'healthy' } },
      HostConfig: { NetworkMode: 'host' },
      NetworkSettings: { Networks: { host: { IPAddress: '' } }, Ports: {} },
    };
    assert.deepEqual(toContainerView(info, 'docker-2816'), {
      id: 'abc123',
      name: 'web',
      daemon: 'docker-2816',
      labels: {
        'rediacc.service_name': 'web',
        'com.docker.compose.project': 'shop',
        'com.docker.compose.service': 'front',
      },
      env: ['A=1', 'RPROXY=http://x'],
      running: true,
      health: 'healthy',
      networks: { host: '' },
      networkMode: 'host',
      ports: [{ port: 80, protocol: 'tcp' }],
      composeProject: 'shop',
      composeService: 'front',
    });
  });

  test('bridge container: network IPs and published bindings', () => {
    const v = toContainerView(
      {
        Id: 'x',
        Name: '/api',
        State: running,
        HostConfig: { NetworkMode: 'bridge' },
        Config: { ExposedPorts: { '8080/tcp': {}, '53/udp': {} } },
        NetworkSettings: {
          Networks: { bridge: { IPAddress: '127.0.17.2' }, v6: { IPAddress: '', GlobalIPv6Address: 'fd00::2' } },
          Ports: { '8080/tcp': [{ HostIp: '0.0.0.0', HostPort: '18080' }], '53/udp': null },
        },
      },
      'd',
    );
    assert.deepEqual(v?.networks, { bridge: '127.0.17.2', v6: 'fd00::2' });
    assert.deepEqual(v?.ports, [
      { port: 53, protocol: 'udp' },
      { port: 8080, protocol: 'tcp', hostIp: '0.0.0.0', hostPort: 18080 },
    ]);
    assert.equal(v?.health, 'none');
  });

  const notServing = [
    {
      desc: 'stopped',
      state: { Running: false, FinishedAt: '2026-12-07T10:00:01.5Z' },
      finished: '2026-12-07T10:00:01.5Z',
    },
    {
      desc: 'created, never started',
      state: { Running: false, FinishedAt: '0001-01-01T00:00:00Z' },
      finished: undefined,
    },
    { desc: 'paused', state: { Running: true, Paused: true }, finished: undefined },
    { desc: 'restarting', state: { Running: true, Restarting: true }, finished: undefined },
    { desc: 'no state at all', state: undefined, finished: undefined },
  ];
  for (const c of notServing) {
    test(`kept but not serving: ${c.desc}`, () => {
      const v = toContainerView(
        { Id: 'x', Name: '/n', Created: '2026-12-07T09:00:00.123456789Z', ...(c.state ? { State: c.state } : {}) },
        'd',
      );
      assert.equal(v?.running, false);
      assert.equal(v?.created, '2026-12-07T09:00:00.123456789Z');
      assert.equal(v?.finished, c.finished);
    });
  }

  test('no id: nothing to keep', () => {
    assert.equal(toContainerView({ Name: '/n', State: running }, 'd'), undefined);
  });

  test('odd inspect output never throws', () => {
    const odd = {
      Id: 'x',
      State: running,
      Config: { Labels: null, Env: null, ExposedPorts: { bogus: {}, '99999/tcp': {}, '7/sctp': {} } },
      NetworkSettings: { Networks: { n: null }, Ports: null },
    } as unknown as InspectLike;
    const v = toContainerView(odd, 'd');
    assert.equal(v?.name, 'x');
    assert.deepEqual(v?.labels, {});
    assert.deepEqual(v?.env, []);
    assert.deepEqual(v?.ports, []);
    assert.deepEqual(v?.networks, { n: '' });
    assert.equal(v?.health, 'none');
  });
});
