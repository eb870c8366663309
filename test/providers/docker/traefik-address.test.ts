/**
 * Traefik's address tables (pkg/provider/docker/config_test.go: TestDynConfBuilder_getIPPort_docker
 * and TestDynConfBuilder_getIPAddress_docker), from `docker inspect` output through berth's container
 * view and label decoder to the server it publishes.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeContainers } from '../../../src/config/labels/decode.ts';
import { toContainerView, type InspectLike } from '../../../src/providers/docker/container-view.ts';
import { options } from '../../config/labels/fixtures.ts';

type Ports = NonNullable<NonNullable<InspectLike['NetworkSettings']>['Ports']>;
type Networks = NonNullable<NonNullable<InspectLike['NetworkSettings']>['Networks']>;

function inspect(opts: {
  ports?: Ports;
  networks?: Networks;
  mode?: string;
  labels?: Record<string, string>;
}): InspectLike {
  return {
    Id: 'c1',
    Name: '/test',
    Config: { Labels: { 'traefik.enable': 'true', ...opts.labels } },
    State: { Running: true },
    HostConfig: { NetworkMode: opts.mode ?? 'bridge' },
    NetworkSettings: { Networks: opts.networks ?? {}, Ports: opts.ports ?? {} },
  };
}

/** The one server URL berth publishes for the container, or the diagnostics when there is none. */
function server(info: InspectLike, opts: Parameters<typeof options>[0]): string {
  const view = toContainerView(info, 'docker-1');
  assert.ok(view);
  const r = decodeContainers([view], options(opts));
  const urls = Object.values(r.config.http?.services ?? {}).flatMap((s) =>
    (s.loadBalancer?.servers ?? []).map((x) => x.url),
  );
  return urls.length === 1 ? (urls[0] as string) : JSON.stringify(r.diagnostics);
}

const testnet = { testnet: { IPAddress: '10.11.12.13' } };

describe('Traefik TestDynConfBuilder_getIPPort_docker (useBindPortIP, network testnet)', () => {
  const port = (p: string): Record<string, string> => ({ 'traefik.http.services.test.loadbalancer.server.port': p });
  const cases: { desc: string; info: InspectLike; want: string }[] = [
    {
      desc: "label traefik.port not set, no binding, falling back on the container's IP/Port",
      info: inspect({ ports: { '8080/tcp': [] }, networks: testnet }),
      want: 'http://10.11.12.13:8080',
    },
    {
      desc: "label traefik.port not set, single binding with port only, falling back on the container's IP/Port",
      info: inspect({ ports: { '80/tcp': [{ HostPort: '8082' }] }, networks: testnet }),
      want: 'http://10.11.12.13:80',
    },
    {
      desc: 'label traefik.port not set, binding with ip:port should create a route to the bound ip:port',
      info: inspect({ ports: { '80/tcp': [{ HostIp: '1.2.3.4', HostPort: '8081' }] }, networks: testnet }),
      want: 'http://1.2.3.4:8081',
    },
    {
      desc: "label traefik.port set, no binding, falling back on the container's IP/traefik.port",
      info: inspect({ networks: testnet, labels: port('80') }),
      want: 'http://10.11.12.13:80',
    },
    {
      desc: 'label traefik.port set, single binding with ip:port for the label, creates the route',
      info: inspect({
        ports: { '443/tcp': [{ HostIp: '5.6.7.8', HostPort: '8082' }] },
        networks: testnet,
        labels: port('443'),
      }),
      want: 'http://5.6.7.8:8082',
    },
    {
      desc: "label traefik.port set, no binding on the corresponding port, falling back on the container's IP/label.port",
      info: inspect({
        ports: { '443/tcp': [{ HostIp: '5.6.7.8', HostPort: '8082' }] },
        networks: testnet,
        labels: port('80'),
      }),
      want: 'http://10.11.12.13:80',
    },
    {
      desc: 'label traefik.port set, multiple bindings on different ports, uses the label to select the correct (first) binding',
      info: inspect({
        ports: {
          '80/tcp': [{ HostIp: '1.2.3.4', HostPort: '8081' }],
          '443/tcp': [{ HostIp: '5.6.7.8', HostPort: '8082' }],
        },
        networks: testnet,
        labels: port('80'),
      }),
      want: 'http://1.2.3.4:8081',
    },
    {
      desc: 'label traefik.port set, multiple bindings on different ports, uses the label to select the correct (second) binding',
      info: inspect({
        ports: {
          '80/tcp': [{ HostIp: '1.2.3.4', HostPort: '8081' }],
          '443/tcp': [{ HostIp: '5.6.7.8', HostPort: '8082' }],
        },
        networks: testnet,
        labels: port('443'),
      }),
      want: 'http://5.6.7.8:8082',
    },
    {
      desc: 'a binding on 0.0.0.0 falls back on the container',
      info: inspect({ ports: { '80/tcp': [{ HostIp: '0.0.0.0', HostPort: '8081' }] }, networks: testnet }),
      want: 'http://10.11.12.13:80',
    },
    {
      desc: 'a binding on :: only is used as it is (Traefik treats only 0.0.0.0 and "" as unspecified)',
      info: inspect({ ports: { '80/tcp': [{ HostIp: '::', HostPort: '8081' }] }, networks: testnet }),
      want: 'http://[::]:8081',
    },
  ];
  for (const c of cases)
    test(c.desc, () => assert.equal(server(c.info, { useBindPortIP: true, network: 'testnet' }), c.want));
});

describe('Traefik TestDynConfBuilder_getIPAddress_docker (provider network webnet)', () => {
  const port = { '80/tcp': [] };
  const cases: { desc: string; info: InspectLike; want: string }[] = [
    {
      desc: 'one network, no network label',
      info: inspect({ ports: port, networks: testnet }),
      want: 'http://10.11.12.13:80',
    },
    {
      desc: 'one network, network label',
      info: inspect({ ports: port, networks: testnet, labels: { 'traefik.docker.network': 'testnet' } }),
      want: 'http://10.11.12.13:80',
    },
    {
      desc: 'one ipv6 network, network label',
      info: inspect({
        ports: port,
        networks: { testnet: { IPAddress: '', GlobalIPv6Address: 'fd00:1:2:3:4::' } },
        labels: { 'traefik.docker.network': 'testnet' },
      }),
      want: 'http://[fd00:1:2:3:4::]:80',
    },
    {
      desc: 'two network ipv4 + ipv6, network label',
      info: inspect({
        ports: port,
        networks: { testnet: { IPAddress: '10.11.12.13', GlobalIPv6Address: 'fd00:1:2:3:4::' } },
        labels: { 'traefik.docker.network': 'testnet' },
      }),
      want: 'http://10.11.12.13:80',
    },
    {
      desc: 'two networks, network label',
      info: inspect({
        ports: port,
        networks: { testnet: { IPAddress: '10.11.12.13' }, testnet2: { IPAddress: '10.11.12.14' } },
        labels: { 'traefik.docker.network': 'testnet2' },
      }),
      want: 'http://10.11.12.14:80',
    },
    {
      desc: 'two networks, no network label, mode host',
      info: inspect({
        ports: port,
        mode: 'host',
        networks: { testnet: { IPAddress: '10.11.12.13' }, testnet2: { IPAddress: '10.11.12.14' } },
      }),
      want: 'http://127.0.0.1:80',
    },
    {
      desc: 'two networks, no network label, mode host, use provider network',
      info: inspect({
        ports: port,
        mode: 'host',
        networks: { testnet: { IPAddress: '10.11.12.13' }, webnet: { IPAddress: '10.11.12.14' } },
      }),
      want: 'http://10.11.12.14:80',
    },
    {
      desc: 'two networks, network label',
      info: inspect({
        ports: port,
        networks: { testnet: { IPAddress: '10.11.12.13' }, webnet: { IPAddress: '10.11.12.14' } },
        labels: { 'traefik.docker.network': 'testnet' },
      }),
      want: 'http://10.11.12.13:80',
    },
    {
      desc: 'no network, no network label, mode host',
      info: inspect({ ports: port, mode: 'host' }),
      want: 'http://127.0.0.1:80',
    },
  ];
  for (const c of cases) test(c.desc, () => assert.equal(server(c.info, { network: 'webnet' }), c.want));

  test('a network that is not found is warned about, then another network is used', () => {
    const view = toContainerView(
      inspect({ ports: port, networks: testnet, labels: { 'traefik.docker.network': 'front' } }),
      'docker-1',
    );
    assert.ok(view);
    const r = decodeContainers([view], options());
    assert.equal(r.config.http?.services?.test?.loadBalancer?.servers?.[0]?.url, 'http://10.11.12.13:80');
    assert.match(r.diagnostics.map((d) => d.message).join('\n'), /not on network "front".*project prefix/);
  });

  describe('network_mode container:<other>', () => {
    const vpn = {
      ...inspect({
        networks: { vpnnet: { IPAddress: '10.20.0.5' }, other: { IPAddress: '10.30.0.5' } },
        labels: { 'traefik.docker.network': 'vpnnet' },
      }),
      Id: 'vpn0123456789',
      Name: '/vpn',
    };
    const app = (mode: string, labels: Record<string, string> = {}): InspectLike => ({
      ...inspect({ ports: port, mode, labels }),
      Id: 'app1',
      Name: '/app',
    });
    const cases = [
      {
        desc: "by name: the other container's address on its own traefik.docker.network",
        mode: 'container:vpn',
        want: 'http://10.20.0.5:80',
      },
      { desc: 'by full id', mode: 'container:vpn0123456789', want: 'http://10.20.0.5:80' },
      { desc: 'by id prefix', mode: 'container:vpn01', want: 'http://10.20.0.5:80' },
      {
        desc: 'a container that is not there: no address, the container is not routed',
        mode: 'container:nope',
        want: /unable to find the IP address/,
      },
    ];
    for (const c of cases) {
      test(c.desc, () => {
        const views = [toContainerView(vpn, 'docker-1'), toContainerView(app(c.mode), 'docker-1')].filter(
          (v) => v !== undefined,
        );
        const r = decodeContainers(views, options({ exposedByDefault: false }));
        const got = r.config.http?.services?.app?.loadBalancer?.servers?.[0]?.url ?? JSON.stringify(r.diagnostics);
        if (typeof c.want === 'string') assert.equal(got, c.want);
        else assert.match(got, c.want);
      });
    }
    test('a container of another daemon is not a match', () => {
      const views = [toContainerView(vpn, 'docker-2'), toContainerView(app('container:vpn'), 'docker-1')].filter(
        (v) => v !== undefined,
      );
      const r = decodeContainers(views, options());
      assert.equal(r.config.http?.services?.app, undefined);
    });
  });
});
