/**
 * DockerProvider against real dockerd instances (one per "repository"), watched through a socket
 * glob as on a rediacc host. One fleet of daemons serves the whole file.
 */
import { after, before, describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { DockerProvider } from '../../../src/providers/docker/docker-provider.ts';
import type { DockerProviderConfig, EdgeConfig } from '../../../src/config/static/types.ts';
import type { DynamicConfig } from '../../../src/config/dynamic/types.ts';
import type { Diagnostic } from '../../../src/lib/diagnostics.ts';
import type { ProviderSink, ProviderState } from '../../../src/providers/provider.ts';
import { hasTool, needTools } from '../../helpers/tools.ts';
import {
  startDockerds,
  processesUnder,
  randomLoopback,
  type Dockerd,
  type DockerdFleet,
} from '../../helpers/dockerd.ts';
import { waitUntil } from '../../helpers/net.ts';
import { tempDir } from '../../helpers/temp.ts';
import { pino } from 'pino';

const edge: EdgeConfig = {
  autoRoutes: true,
  machineName: 'server-1',
  baseDomain: 'example.com',
  tcpPorts: [],
  udpPorts: [],
  dynamicPorts: { from: 10000, to: 10010 },
  stateDir: tempDir('docker-state-'),
  webPort: 80,
  websecurePort: 443,
};
const quiet = pino({ level: 'silent' });

/** Collects what a provider publishes. */
class Collector implements ProviderSink {
  config: DynamicConfig = {};
  diagnostics: readonly Diagnostic[] = [];
  state: ProviderState = { status: 'starting' };
  publishes = 0;
  publish(config: DynamicConfig, diagnostics: readonly Diagnostic[]): void {
    this.config = config;
    this.diagnostics = diagnostics;
    this.publishes++;
  }
  status(state: ProviderState): void {
    this.state = state;
  }
  servers(service: string): string[] {
    return (this.config.http?.services?.[service]?.loadBalancer?.servers ?? []).map((s) => s.url);
  }
  daemon(id: string): Record<string, unknown> | undefined {
    return this.state.details?.[id] as Record<string, unknown> | undefined;
  }
}

/** Labels of a container that routes `Host(host)` to its own httpd through router/service `name`. */
function routeLabels(name: string, host: string, ip: string, port: number): Record<string, string> {
  return {
    'traefik.enable': 'true',
    [`traefik.http.routers.${name}.rule`]: `Host(\`${host}\`)`,
    [`traefik.http.routers.${name}.service`]: name,
    [`traefik.http.services.${name}.loadbalancer.server.port`]: String(port),
    'rediacc.service_ip': ip,
  };
}

const available = hasTool('dockerd') && hasTool('docker') && hasTool('busybox');

describe('DockerProvider with real dockerd', { concurrency: false }, () => {
  let fleet: DockerdFleet | undefined;
  let a: Dockerd;
  let b: Dockerd;
  let provider: DockerProvider | undefined;
  const sink = new Collector();
  const ipA = randomLoopback();
  const ipB = randomLoopback();

  before(async () => {
    if (!available) return;
    fleet = await startDockerds(2);
    [a, b] = fleet.daemons as [Dockerd, Dockerd];
    await a.runHttpd({ name: 'alpha', ip: ipA, port: 8081, labels: routeLabels('alpha', 'alpha.test', ipA, 8081) });
    const cfg: DockerProviderConfig = {
      endpoints: [fleet.glob],
      exposedByDefault: false,
      defaultRule: 'Host(`{{ normalize .Name }}`)',
      rescanIntervalMs: 60_000,
    };
    provider = new DockerProvider(cfg, {
      edge: { ...edge, stateDir: tempDir('docker-state-') },
      logger: quiet,
      goneGraceMs: 60_000,
      backoffMs: { min: 50, max: 500 },
    });
    await provider.start(sink);
  });

  after(async () => {
    await provider?.stop();
    if (fleet) {
      await fleet.stop();
      assert.deepEqual(await processesUnder(fleet.dir), [], 'no dockerd, containerd or shim left behind');
    }
  });

  function ready(t: TestContext): boolean {
    return needTools(t, 'dockerd', 'docker', 'busybox') && provider !== undefined;
  }

  test('containers already running on a daemon are published at start', (t) => {
    if (!ready(t)) return;
    assert.equal(sink.config.http?.routers?.alpha?.rule, 'Host(`alpha.test`)');
    assert.deepEqual(sink.servers('alpha'), [`http://${ipA}:8081`]);
    assert.equal(sink.state.status, 'ok');
  });

  test('a container started on another daemon appears, driven by events', async (t) => {
    if (!ready(t)) return;
    const t0 = Date.now();
    await b.runHttpd({ name: 'beta', ip: ipB, port: 8082, labels: routeLabels('beta', 'beta.test', ipB, 8082) });
    await waitUntil(() => sink.servers('beta').length === 1, 'beta to be published');
    t.diagnostic(`published ${Date.now() - t0} ms after docker run was issued`);
    assert.deepEqual(sink.servers('beta'), [`http://${ipB}:8082`]);
    assert.deepEqual(sink.servers('alpha'), [`http://${ipA}:8081`]);
    assert.equal(sink.daemon(b.id)?.containers, 1);
  });

  test('stop removes the route, start restores it', async (t) => {
    if (!ready(t)) return;
    await b.stopContainer('beta');
    await waitUntil(() => sink.config.http?.routers?.beta === undefined, 'beta to be dropped after stop');
    const t0 = Date.now();
    await b.startContainer('beta');
    await waitUntil(() => sink.servers('beta').length === 1, 'beta to come back after start');
    t.diagnostic(`route back ${Date.now() - t0} ms after docker start returned`);
  });

  test('kill and destroy events drop the container', async (t) => {
    if (!ready(t)) return;
    const ip = randomLoopback();
    await b.runHttpd({ name: 'gamma', ip, port: 8083, labels: routeLabels('gamma', 'gamma.test', ip, 8083) });
    await waitUntil(() => sink.servers('gamma').length === 1, 'gamma to be published');
    await b.killContainer('gamma');
    await waitUntil(() => sink.config.http?.routers?.gamma === undefined, 'gamma to be dropped after kill');
    await b.startContainer('gamma');
    await waitUntil(() => sink.servers('gamma').length === 1, 'gamma back');
    await b.removeContainer('gamma');
    await waitUntil(() => sink.config.http?.routers?.gamma === undefined, 'gamma to be dropped after rm -f');
  });

  test('a daemon that goes down keeps its routes and shows down; on restart it resyncs without duplicates', async (t) => {
    if (!ready(t)) return;
    await a.kill();
    await waitUntil(() => sink.daemon(a.id)?.status === 'down', 'daemon A to show down');
    assert.equal(sink.state.status, 'degraded');
    assert.match(String(sink.daemon(a.id)?.error), /./);
    assert.deepEqual(sink.servers('alpha'), [`http://${ipA}:8081`], 'routes of a down daemon stay');
    assert.equal(sink.daemon(a.id)?.containers, 1);
    // While it is down, a container keeps running (live-restore); change nothing and restart.
    await a.restart();
    await waitUntil(() => sink.daemon(a.id)?.status === 'ok', 'daemon A to come back');
    assert.equal(sink.state.status, 'ok');
    assert.deepEqual(sink.servers('alpha'), [`http://${ipA}:8081`], 'no duplicate after resync');
    assert.equal(sink.daemon(a.id)?.containers, 1);
  });

  test('changes made while a daemon was down are picked up by the resync', async (t) => {
    if (!ready(t)) return;
    await a.kill();
    await waitUntil(() => sink.daemon(a.id)?.status === 'down', 'daemon A down');
    await a.restart();
    // Stop alpha quickly after the restart: either the resync or the events must catch it.
    await a.stopContainer('alpha');
    await waitUntil(() => sink.config.http?.routers?.alpha === undefined, 'alpha gone');
    await a.startContainer('alpha');
    await waitUntil(() => sink.servers('alpha').length === 1, 'alpha back');
  });

  test('a new socket matching the glob is discovered', async (t) => {
    if (!ready(t) || !fleet) return;
    const c = await fleet.add();
    const ip = randomLoopback();
    await c.runHttpd({ name: 'delta', ip, port: 8084, labels: routeLabels('delta', 'delta.test', ip, 8084) });
    await waitUntil(() => sink.servers('delta').length === 1, 'delta on the new daemon', 10_000);
    assert.equal(sink.daemon(c.id)?.status, 'ok');
  });

  test('a socket that disappears for good drops its containers after the grace time', async (t) => {
    if (!ready(t) || !fleet) return;
    const c = fleet.daemons[2];
    assert.ok(c, 'the daemon of the previous test');
    const sink2 = new Collector();
    const p2 = new DockerProvider(
      { endpoints: [fleet.glob], exposedByDefault: false, defaultRule: 'Host(`x`)', rescanIntervalMs: 100 },
      { edge: { ...edge, stateDir: tempDir('docker-state-') }, logger: quiet, goneGraceMs: 300 },
    );
    try {
      await p2.start(sink2);
      assert.equal(sink2.servers('delta').length, 1);
      await c.kill(); // dockerd removes its socket; the container itself keeps running
      await waitUntil(() => sink2.config.http?.routers?.delta === undefined, 'delta dropped once the socket is gone');
      assert.equal(sink2.daemon(c.id), undefined);
      assert.deepEqual(sink2.servers('alpha'), [`http://${ipA}:8081`], 'other daemons unaffected');
    } finally {
      await p2.stop();
    }
  });

  test('berth in a container: the network it shares with a multi-network target wins over the first by name', async (t) => {
    if (!ready(t)) return;
    // Internal bridges without a host address: the containers get addresses in their own network
    // namespaces, nothing on the host can reach them, and nothing here tries (only the published
    // server URLs are compared).
    const nets = { aaa: 'aaa-net', zzz: 'zzz-net' };
    for (const [i, n] of Object.values(nets).entries()) {
      await b.docker([
        'network',
        'create',
        '--internal',
        '-o',
        'com.docker.network.bridge.inhibit_ipv4=true',
        '--subnet',
        `10.231.${i + 1}.0/24`,
        n,
      ]);
    }
    const p3 = new Collector();
    let provider3: DockerProvider | undefined;
    try {
      const self = await b.docker([
        'run',
        '-d',
        '--name',
        'berth-self',
        '--network',
        nets.zzz,
        'test-bb:latest',
        'sleep',
        '600',
      ]);
      await b.docker([
        'create',
        '--name',
        'multi',
        '--network',
        nets.aaa,
        '--label',
        'traefik.enable=true',
        '--label',
        'traefik.http.routers.multi.rule=Host(`multi.test`)',
        '--label',
        'traefik.http.services.multi.loadbalancer.server.port=80',
        'test-bb:latest',
        'sleep',
        '600',
      ]);
      await b.docker(['network', 'connect', nets.zzz, 'multi']);
      await b.docker(['start', 'multi']);
      const ips = JSON.parse(
        await b.docker(['inspect', 'multi', '--format', '{{json .NetworkSettings.Networks}}']),
      ) as Record<string, { IPAddress: string }>;
      const shared = ips[nets.zzz]?.IPAddress;
      const first = ips[nets.aaa]?.IPAddress;
      assert.ok(shared && first && shared !== first, `two addresses: ${JSON.stringify(ips)}`);
      // Without knowing its own container, berth takes the first network by name.
      await waitUntil(() => sink.servers('multi').length === 1, 'multi published without own networks');
      assert.deepEqual(sink.servers('multi'), [`http://${first}:80`]);
      // Given its container id (as the hostname would: the short id), it prefers the shared network.
      provider3 = new DockerProvider(
        { endpoints: [b.endpoint], exposedByDefault: false, defaultRule: 'Host(`x`)', rescanIntervalMs: 60_000 },
        { edge: { ...edge, stateDir: tempDir('docker-state-') }, logger: quiet, ownContainerIds: [self.slice(0, 12)] },
      );
      await provider3.start(p3);
      assert.deepEqual(p3.servers('multi'), [`http://${shared}:80`]);
    } finally {
      await provider3?.stop();
      await b.docker(['rm', '-f', 'berth-self', 'multi']).catch(() => '');
      for (const n of Object.values(nets)) await b.docker(['network', 'rm', n]).catch(() => '');
    }
  });

  test("traefik.docker.allownonrunning keeps a stopped container's router, with no server (Traefik v3.6+)", async (t) => {
    if (!ready(t)) return;
    const ip = randomLoopback();
    await b.runHttpd({
      name: 'sleepy',
      ip,
      port: 8086,
      labels: { ...routeLabels('sleepy', 'sleepy.test', ip, 8086), 'traefik.docker.allownonrunning': 'true' },
    });
    await waitUntil(() => sink.servers('sleepy').length === 1, 'sleepy published');
    await b.stopContainer('sleepy');
    await waitUntil(() => sink.servers('sleepy').length === 0, 'sleepy without servers once stopped');
    assert.equal(
      sink.config.http?.routers?.sleepy?.rule,
      'Host(`sleepy.test`)',
      'the router stays: requests get 503, middlewares still run',
    );
    assert.deepEqual(sink.config.http?.services?.sleepy?.loadBalancer?.servers ?? [], []);
    await b.startContainer('sleepy');
    await waitUntil(() => sink.servers('sleepy').length === 1, 'sleepy served again');
    await b.removeContainer('sleepy');
    await waitUntil(() => sink.config.http?.routers?.sleepy === undefined, 'sleepy gone once removed');
  });

  test("network_mode container:<other> is reached at the other container's address, as Traefik", async (t) => {
    if (!ready(t)) return;
    const net = 'shared-ns-net';
    await b.docker([
      'network',
      'create',
      '--internal',
      '-o',
      'com.docker.network.bridge.inhibit_ipv4=true',
      '--subnet',
      '10.232.1.0/24',
      net,
    ]);
    try {
      await b.docker(['run', '-d', '--name', 'vpn', '--network', net, 'test-bb:latest', 'sleep', '600']);
      const vpnIp = (
        await b.docker(['inspect', 'vpn', '--format', `{{(index .NetworkSettings.Networks "${net}").IPAddress}}`])
      ).trim();
      assert.match(vpnIp, /^10\.232\.1\./);
      await b.docker([
        'run',
        '-d',
        '--name',
        'behind-vpn',
        '--network',
        'container:vpn',
        '--label',
        'traefik.enable=true',
        '--label',
        'traefik.http.routers.behind.rule=Host(`behind.test`)',
        '--label',
        'traefik.http.services.behind.loadbalancer.server.port=8080',
        'test-bb:latest',
        'sleep',
        '600',
      ]);
      await waitUntil(() => sink.servers('behind').length === 1, 'behind-vpn published');
      assert.deepEqual(sink.servers('behind'), [`http://${vpnIp}:8080`]);
    } finally {
      await b.docker(['rm', '-f', 'behind-vpn', 'vpn']).catch(() => '');
      await b.docker(['network', 'rm', net]).catch(() => '');
    }
  });

  test('repositories follow running rediacc containers', async (t) => {
    if (!ready(t)) return;
    const ip = randomLoopback();
    await b.runHttpd({
      name: 'auto',
      ip,
      port: 8085,
      labels: {
        'rediacc.service_name': 'myapp',
        'rediacc.repo_name': 'marketing',
        'rediacc.service_ip': ip,
        'rediacc.service_port': '8085',
      },
    });
    await waitUntil(() => provider!.repositories().includes('marketing'), 'repository marketing');
    const rules = Object.values(sink.config.http?.routers ?? {}).map((r) => r.rule);
    assert.ok(
      rules.some((r) => r.includes('myapp.marketing.server-1.example.com')),
      `auto-route among ${rules.join(', ')}`,
    );
    await b.removeContainer('auto');
    await waitUntil(() => !provider!.repositories().includes('marketing'), 'repository gone');
  });
});
