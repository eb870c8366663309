/**
 * DockerProvider against fake daemons (no dockerd): claim order, resync, bad input and decoder
 * failures. The real-daemon behaviour is covered by provider-dockerd.test.ts.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { pino } from 'pino';
import { DockerProvider, type DecodeFn } from '../../../src/providers/docker/docker-provider.ts';
import type { DockerClient, DockerTarget } from '../../../src/providers/docker/docker-client.ts';
import type { InspectLike } from '../../../src/providers/docker/container-view.ts';
import type { ContainerView } from '../../../src/config/labels/types.ts';
import type { DynamicConfig } from '../../../src/config/dynamic/types.ts';
import type { Diagnostic } from '../../../src/lib/diagnostics.ts';
import type { ProviderState } from '../../../src/providers/provider.ts';
import type { EdgeConfig } from '../../../src/config/static/types.ts';
import { decodeContainers } from '../../../src/config/labels/decode.ts';
import { waitUntil } from '../../helpers/net.ts';
import { tempDir } from '../../helpers/temp.ts';

const edge: EdgeConfig = {
  autoRoutes: true,
  tcpPorts: [],
  udpPorts: [],
  dynamicPorts: { from: 10000, to: 10010 },
  stateDir: tempDir('docker-state-'),
  webPort: 80,
  websecurePort: 443,
};

/** A daemon in memory: containers by id, one events stream per connection. */
class FakeDaemon implements DockerClient {
  readonly containers = new Map<string, InspectLike>();
  up = true;
  /** While set, the daemon does not answer (a slow dockerd at berth's start). */
  slow: Promise<void> | undefined;
  stream: PassThrough | undefined;
  async events(): Promise<NodeJS.ReadableStream> {
    await this.slow;
    if (!this.up) throw Object.assign(new Error('connect ENOENT'), { code: 'ENOENT' });
    this.stream = new PassThrough();
    return this.stream;
  }
  async list(): Promise<{ Id: string; Created: number }[]> {
    return [...this.containers.entries()].filter(([, c]) => c.State?.Running).map(([Id], i) => ({ Id, Created: i }));
  }
  async inspect(id: string): Promise<InspectLike> {
    const c = this.containers.get(id);
    if (!c) throw Object.assign(new Error('no such container'), { statusCode: 404 });
    return c;
  }
  run(id: string, labels: Record<string, string> = {}, created?: string): void {
    this.containers.set(id, {
      Id: id,
      Name: `/${id}`,
      State: { Running: true },
      Config: { Labels: labels },
      ...(created ? { Created: created } : {}),
    });
  }
  emit(id: string, action: string): void {
    this.stream?.write(JSON.stringify({ Type: 'container', Action: action, Actor: { ID: id } }) + '\n');
  }
  goDown(): void {
    this.up = false;
    this.stream?.destroy(new Error('socket hang up'));
  }
}

/** Publishes the container list as router names so order and membership are visible. */
const listDecode: DecodeFn = (containers) => ({
  config: {
    http: {
      routers: Object.fromEntries(containers.map((c) => [`${c.daemon}/${c.id}`, { rule: 'Host(`x`)', service: 's' }])),
    },
  },
  diagnostics: [],
  repositories: [...new Set(containers.map((c) => c.labels['rediacc.repo_name']).filter((r): r is string => !!r))],
});

class Sink {
  config: DynamicConfig = {};
  diagnostics: readonly Diagnostic[] = [];
  state: ProviderState = { status: 'starting' };
  publish(c: DynamicConfig, d: readonly Diagnostic[]): void {
    this.config = c;
    this.diagnostics = d;
  }
  status(s: ProviderState): void {
    this.state = s;
  }
  names(): string[] {
    return Object.keys(this.config.http?.routers ?? {});
  }
}

function setup(
  daemons: Record<string, FakeDaemon>,
  opts: { endpoints?: string[]; decode?: DecodeFn; onRepositories?: (r: readonly string[]) => void } = {},
) {
  const sink = new Sink();
  const provider = new DockerProvider(
    {
      endpoints: opts.endpoints ?? Object.keys(daemons).map((p) => `unix://${p}`),
      exposedByDefault: true,
      defaultRule: 'Host(`x`)',
      rescanIntervalMs: 60_000,
    },
    {
      edge: { ...edge, stateDir: tempDir('docker-state-') },
      logger: pino({ level: 'silent' }),
      decode: opts.decode ?? listDecode,
      backoffMs: { min: 5, max: 20 },
      clientFactory: (t: DockerTarget) => daemons['socketPath' in t ? t.socketPath : `${t.host}:${t.port}`]!,
      ...(opts.onRepositories ? { onRepositories: opts.onRepositories } : {}),
    },
  );
  return { sink, provider };
}

describe('DockerProvider (fake daemons)', () => {
  test('claim order: creation time across daemons, then endpoint order, then id; never the order of arrival', async () => {
    const a = new FakeDaemon();
    const b = new FakeDaemon();
    a.run('a1', {}, '2026-12-07T10:00:02Z');
    b.run('b0', {}, '2026-12-07T10:00:01.000000001Z');
    const { sink, provider } = setup({ '/a.sock': a, '/b.sock': b });
    await provider.start(sink);
    try {
      assert.deepEqual(sink.names(), ['b/b0', 'a/a1']);
      // Arrives last but was created at the same instant as b1: endpoint a is listed first.
      b.run('b1', {}, '2026-12-07T10:00:01.5Z');
      b.emit('b1', 'start');
      await waitUntil(() => sink.names().length === 3, 'b1');
      a.run('a0', {}, '2026-12-07T10:00:01.500000000Z');
      a.emit('a0', 'start');
      await waitUntil(() => sink.names().length === 4, 'a0');
      const expected = ['b/b0', 'a/a0', 'b/b1', 'a/a1'];
      assert.deepEqual(sink.names(), expected);
      // Daemon a reconnects: same order, no duplicates.
      a.goDown();
      await waitUntil(() => sink.state.status === 'degraded', 'a down');
      assert.deepEqual(sink.names(), expected, 'a down daemon keeps its containers');
      a.up = true;
      await waitUntil(() => sink.state.status === 'ok', 'a back');
      assert.deepEqual(sink.names(), expected, 'no duplicates, same order');
      // a0 stops and starts again: its creation time, hence its place, is unchanged.
      (a.containers.get('a0') as { State: { Running: boolean } }).State.Running = false;
      a.emit('a0', 'die');
      await waitUntil(() => sink.names().length === 3, 'a0 stopped');
      (a.containers.get('a0') as { State: { Running: boolean } }).State.Running = true;
      a.emit('a0', 'start');
      await waitUntil(() => sink.names().length === 4, 'a0 back');
      assert.deepEqual(sink.names(), expected);
    } finally {
      await provider.stop();
    }
  });

  test('a daemon slow to answer at start: hosts not yet in the ledger wait for it, and its older container wins', async () => {
    const a = new FakeDaemon();
    const b = new FakeDaemon();
    const labels = (name: string, ip: string): Record<string, string> => ({
      'traefik.enable': 'true',
      [`traefik.http.routers.${name}.rule`]: 'Host(`app.example.com`)',
      [`traefik.http.services.${name}.loadbalancer.server.port`]: '80',
      'rediacc.service_ip': ip,
    });
    b.run('squatter', labels('squatter', '127.0.20.2'), '2026-12-07T10:00:02Z');
    a.run('owner', labels('owner', '127.0.20.1'), '2026-12-07T10:00:01Z');
    let answer = (): void => undefined;
    a.slow = new Promise<void>((r) => (answer = r));
    const { sink, provider } = setup({ '/a.sock': a, '/b.sock': b }, { decode: decodeContainers });
    const started = provider.start(sink);
    try {
      await waitUntil(
        () => sink.diagnostics.some((d) => /not served until daemon a has answered/.test(d.message)),
        'the squatter held back',
      );
      assert.deepEqual(sink.names(), [], 'nothing serves app.example.com while daemon a is silent');
      answer();
      await started;
      await waitUntil(() => sink.names().includes('owner'), 'the owner');
      assert.deepEqual(sink.names(), ['owner']);
      assert.match(
        sink.diagnostics.find((d) => d.element === 'http.routers.squatter')?.message ?? '',
        /belongs to container "owner" \(daemon a,/,
      );
      assert.deepEqual(sink.state.refusedClaims, { a: 0, b: 1 });
    } finally {
      answer();
      await started;
      await provider.stop();
    }
  });

  test('destroy and 404 remove; garbage and irrelevant events are ignored', async () => {
    const a = new FakeDaemon();
    a.run('c1');
    a.run('c2');
    const { sink, provider } = setup({ '/a.sock': a });
    await provider.start(sink);
    try {
      assert.deepEqual(sink.names(), ['a/c1', 'a/c2']);
      a.stream!.write('not json\n{"Type":"container"}\nnull\n[1]\n');
      a.stream!.write(JSON.stringify({ Type: 'container', Action: 'exec_start: sh', Actor: { ID: 'c1' } }) + '\n');
      a.stream!.write(JSON.stringify({ Type: 'network', Action: 'connect', Actor: { ID: 'c1' } }) + '\n');
      a.emit('c1', 'destroy');
      a.containers.delete('c2');
      // One event split across two chunks.
      const line = JSON.stringify({ Type: 'container', Action: 'die', Actor: { ID: 'c2' } }) + '\n';
      a.stream!.write(line.slice(0, 10));
      a.stream!.write(line.slice(10));
      await waitUntil(() => sink.names().length === 0, 'both removed');
      assert.equal(sink.state.status, 'ok');
    } finally {
      await provider.stop();
    }
  });

  test('a decoder that throws keeps the last published configuration', async () => {
    const a = new FakeDaemon();
    a.run('ok');
    let broken = false;
    const decode: DecodeFn = (cs: readonly ContainerView[], o) => {
      if (broken) throw new Error('decoder bug');
      return listDecode(cs, o);
    };
    const { sink, provider } = setup({ '/a.sock': a }, { decode });
    await provider.start(sink);
    try {
      assert.deepEqual(sink.names(), ['a/ok']);
      broken = true;
      a.run('next');
      a.emit('next', 'start');
      await waitUntil(() => a.stream !== undefined, 'stream');
      await new Promise((r) => setTimeout(r, 50));
      assert.deepEqual(sink.names(), ['a/ok']);
    } finally {
      await provider.stop();
    }
  });

  test('unusable endpoints become diagnostics; the others are watched', async () => {
    const a = new FakeDaemon();
    a.run('x');
    const { sink, provider } = setup({ '/a.sock': a }, { endpoints: ['ssh://nope', 'unix:///a.sock'] });
    await provider.start(sink);
    try {
      assert.deepEqual(sink.names(), ['a/x']);
      assert.equal(sink.diagnostics.length, 1);
      assert.match(sink.diagnostics[0]!.message, /unsupported endpoint scheme/);
    } finally {
      await provider.stop();
    }
  });

  test('a daemon unreachable from the start is down, retried, and picked up when it comes', async () => {
    const a = new FakeDaemon();
    a.up = false;
    a.run('late', { 'rediacc.repo_name': 'shop' });
    const repos: (readonly string[])[] = [];
    const { sink, provider } = setup({ '/a.sock': a }, { onRepositories: (r) => repos.push(r) });
    await provider.start(sink);
    try {
      assert.equal(sink.state.status, 'down');
      assert.match(String(sink.state.error), /a: connect ENOENT/);
      assert.deepEqual(sink.names(), [], 'an empty configuration is still published');
      a.up = true;
      await waitUntil(() => sink.names().length === 1, 'late container');
      assert.equal(sink.state.status, 'ok');
      assert.deepEqual(repos, [['shop']]);
      assert.deepEqual(provider.repositories(), ['shop']);
    } finally {
      await provider.stop();
    }
  });
});
