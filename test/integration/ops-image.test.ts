/**
 * The container image: built from docker/Dockerfile on a real dockerd (over a local stand-in for
 * node:24-slim, test/helpers/base-image.ts), run with host networking, discovering containers on a
 * second daemon through its mounted socket.
 *
 * The container runs as docker/compose.example.yaml runs it: read-only root filesystem with a tmpfs
 * /tmp, no capabilities, no-new-privileges, the Docker socket reached through its group.
 *
 * The build runs the Dockerfile as users do, `npm ci --omit=dev` included: it needs the npm registry
 * (reached through the host network, `--network host`, with the machine's CA bundle). The build
 * context holds only what the Dockerfile copies (package.json, package-lock.json, src/, docker/).
 */
import { after, before, describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmod, chown, cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import { hasTool, needTools } from '../helpers/tools.ts';
import { startDockerds, processesUnder, randomLoopback, type Dockerd, type DockerdFleet } from '../helpers/dockerd.ts';
import { CA_BUNDLE, NODE_BASE_IMAGE, importNodeBase } from '../helpers/base-image.ts';
import { freePort, waitUntil } from '../helpers/net.ts';
import { idleTimeout } from '../helpers/with-timeout.ts';

const execFileP = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '../..');
const IMAGE = 'berth-test:latest';
const CONTAINER = 'berth';
/** Where the other daemon's socket appears inside the berth container. */
const SOCKET_IN_CONTAINER = '/var/run/docker.sock';
/** The group owning that socket, joined by the container (`group_add`). */
const SOCKET_GID = 4242;

/** GET through berth with an explicit Host header. */
function get(host: string, port: number, vhost: string): Promise<{ status: number; body: string }> {
  return new Promise((resolveGet, reject) => {
    const req = request({ host, port, path: '/', headers: { host: vhost }, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolveGet({ status: res.statusCode ?? 0, body: body.trim() }));
      res.on('error', reject);
    });
    idleTimeout(req, 30_000, `get on ${port}`);
    req.on('error', reject);
    req.end();
  });
}

/** Build arguments forwarded from this machine's environment (registry mirror, proxies). */
function forwardedBuildArgs(): string[] {
  const args = ['--build-arg', `BASE_IMAGE=${NODE_BASE_IMAGE}`, '--build-arg', `NPM_CONFIG_CAFILE=${CA_BUNDLE}`];
  const registry = process.env.NPM_CONFIG_REGISTRY ?? process.env.npm_config_registry;
  if (registry) args.push('--build-arg', `NPM_CONFIG_REGISTRY=${registry}`);
  for (const p of ['HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY', 'http_proxy', 'https_proxy', 'no_proxy']) {
    const v = process.env[p];
    if (v) args.push('--build-arg', `${p}=${v}`);
  }
  return args;
}

const available = hasTool('dockerd') && hasTool('docker') && hasTool('busybox');

describe('container image (docker/Dockerfile)', { concurrency: false }, () => {
  let fleet: DockerdFleet | undefined;
  let a: Dockerd; // builds and runs berth
  let b: Dockerd; // runs the application container berth discovers
  let work: string | undefined;
  let built = false;
  let running = false;
  let buildMs = 0;
  const webIp = randomLoopback();
  let webPort = 0;
  let apiPort = 0;

  before(async () => {
    if (!available) return;
    work = await mkdtemp('/tmp/berth-image-');
    fleet = await startDockerds(2);
    [a, b] = fleet.daemons as [Dockerd, Dockerd];
    await importNodeBase(a.endpoint);

    // The build context: only what the Dockerfile copies (node_modules and .git stay out).
    const context = join(work, 'context');
    for (const p of ['package.json', 'package-lock.json', 'src', 'docker']) {
      await cp(join(ROOT, p), join(context, p), { recursive: true });
    }
    const t0 = Date.now();
    try {
      await execFileP(
        'docker',
        [
          '-H',
          a.endpoint,
          'build',
          '--network',
          'host',
          '--force-rm',
          ...forwardedBuildArgs(),
          '-f',
          'docker/Dockerfile',
          '-t',
          IMAGE,
          context,
        ],
        { env: { ...process.env, DOCKER_BUILDKIT: '0' }, maxBuffer: 64 << 20, timeout: 600_000 },
      );
    } catch (err) {
      const e = err as { stdout?: string; stderr?: string };
      throw new Error(`docker build failed:\n${(e.stdout ?? '').slice(-4000)}\n${(e.stderr ?? '').slice(-4000)}`);
    }
    buildMs = Date.now() - t0;
    built = true;

    // berth in the image, host network: its entrypoint and API on loopback, the other daemon's socket
    // mounted where the image's configuration expects one, readable by the unprivileged user.
    webPort = await freePort(webIp);
    apiPort = await freePort();
    const config = join(work, 'berth.yaml');
    await writeFile(
      config,
      stringify({
        entryPoints: { web: { address: `${webIp}:${webPort}` } },
        api: { listen: `127.0.0.1:${apiPort}` },
        providers: { docker: { endpoints: [`unix://${SOCKET_IN_CONTAINER}`], exposedByDefault: false } },
        edge: { stateDir: '/var/lib/berth' },
        workers: 1,
        log: { level: 'info' },
      }),
    );
    await chmod(config, 0o644);
    // As on a host: the socket belongs to a group (root:<gid>, 0660) that the container joins.
    await chown(b.socket, 0, SOCKET_GID);
    await chmod(b.socket, 0o660);
    await a.docker([
      'run',
      '-d',
      '--name',
      CONTAINER,
      '--network',
      'host',
      // docker/compose.example.yaml's hardening.
      '--read-only',
      '--tmpfs',
      '/tmp',
      '--cap-drop',
      'ALL',
      '--security-opt',
      'no-new-privileges:true',
      '--group-add',
      String(SOCKET_GID),
      '--stop-timeout',
      '30',
      // The image's HEALTHCHECK, probed every second here instead of every 10 s.
      '--health-interval',
      '1s',
      '--health-start-period',
      '60s',
      '--env',
      `BERTH_HEALTHCHECK_URL=http://127.0.0.1:${apiPort}/ping`,
      '--volume',
      `${config}:/etc/berth/berth.yaml:ro`,
      '--volume',
      `${b.socket}:${SOCKET_IN_CONTAINER}:ro`,
      IMAGE,
    ]);
    running = true;
  });

  after(async () => {
    if (running) await a.docker(['rm', '-f', CONTAINER]).catch(() => undefined);
    if (fleet) {
      await fleet.stop();
      assert.deepEqual(await processesUnder(fleet.dir), []);
    }
    if (work) await rm(work, { recursive: true, force: true });
  });

  function ready(t: TestContext): boolean {
    if (!needTools(t, 'dockerd', 'docker', 'busybox')) return false;
    assert.ok(built && running, 'the image was built and started');
    return true;
  }

  async function logs(): Promise<string> {
    const { stdout, stderr } = await execFileP('docker', ['-H', a.endpoint, 'logs', '--tail', '50', CONTAINER]).catch(
      () => ({ stdout: '', stderr: '' }),
    );
    return `${stdout}${stderr}`;
  }

  test('the image and its size', async (t) => {
    if (!ready(t)) return;
    const size = Number(await a.docker(['image', 'inspect', '-f', '{{.Size}}', IMAGE]));
    const base = Number(await a.docker(['image', 'inspect', '-f', '{{.Size}}', NODE_BASE_IMAGE]));
    t.diagnostic(
      `image ${IMAGE}: ${(size / 1e6).toFixed(1)} MB (base stand-in ${(base / 1e6).toFixed(1)} MB, berth layers ${((size - base) / 1e6).toFixed(1)} MB), built in ${(buildMs / 1000).toFixed(1)} s`,
    );
    assert.ok(size > base, 'berth adds layers on top of the base image');
    // Production dependencies only: no devDependency made it in.
    const modules = await a.docker([
      'run',
      '--rm',
      '--network',
      'host',
      '--entrypoint',
      'ls',
      IMAGE,
      '/opt/berth/node_modules',
    ]);
    for (const dev of ['typescript', 'fast-check', 'autocannon', 'node']) {
      assert.ok(!modules.split('\n').includes(dev), `devDependency ${dev} is not in the image`);
    }
    assert.ok(modules.split('\n').includes('dockerode'), 'production dependencies are in the image');
    // Every runtime dependency still loads after the image dropped declarations and source maps.
    const deps = [
      'acme-client',
      'bcryptjs',
      'cloudflare',
      'dockerode',
      'pino',
      'undici',
      'yaml',
      'valibot',
      'smol-toml',
    ];
    const loaded = await a.docker([
      'run',
      '--rm',
      '--network',
      'host',
      '--workdir',
      '/opt/berth',
      '--entrypoint',
      'node',
      IMAGE,
      '--input-type=module',
      '-e',
      `const names = ${JSON.stringify(deps)}; for (const n of names) await import(n); console.log(names.length);`,
    ]);
    assert.equal(loaded, String(deps.length));
  });

  test('runs as a non-root user', async (t) => {
    if (!ready(t)) return;
    const user = await a.docker(['image', 'inspect', '-f', '{{.Config.User}}', IMAGE]);
    assert.equal(user, '10001:10001');
    await waitUntil(
      async () => (await a.docker(['inspect', '-f', '{{.State.Running}}', CONTAINER])) === 'true',
      'berth container running',
    );
    assert.equal(await a.docker(['exec', CONTAINER, 'id', '-u']), '10001');
    assert.equal(await a.docker(['exec', CONTAINER, 'id', '-g']), '10001');
    assert.ok(
      (await a.docker(['exec', CONTAINER, 'id', '-G'])).split(' ').includes(String(SOCKET_GID)),
      'in the socket group',
    );
    // No capabilities at all, in any set.
    const status = await a.docker(['exec', CONTAINER, 'cat', '/proc/1/status']);
    for (const set of ['CapInh', 'CapPrm', 'CapEff', 'CapBnd', 'CapAmb']) {
      assert.match(status, new RegExp(`${set}:\\s+0{16}\\n`), `${set} is empty`);
    }
    // PID 1 is berth itself (node), which therefore receives docker stop's SIGTERM.
    const pid1 = await a.docker(['exec', CONTAINER, 'cat', '/proc/1/cmdline']);
    assert.match(pid1.replaceAll('\0', ' '), /^node \/opt\/berth\/src\/main\.ts run/);
  });

  test('reports healthy through its HEALTHCHECK', async (t) => {
    if (!ready(t)) return;
    const healthcheck = await a.docker(['image', 'inspect', '-f', '{{json .Config.Healthcheck.Test}}', IMAGE]);
    assert.match(healthcheck, /\/ping/);
    try {
      await waitUntil(
        async () => (await a.docker(['inspect', '-f', '{{.State.Health.Status}}', CONTAINER])) === 'healthy',
        'container healthy',
        60_000,
        250,
      );
    } catch (err) {
      throw new Error(
        `${(err as Error).message}\n${await a.docker(['inspect', '-f', '{{json .State.Health}}', CONTAINER]).catch(() => '')}\n${await logs()}`,
      );
    }
  });

  test('routes to a labelled container on another daemon', async (t) => {
    if (!ready(t)) return;
    const ip = randomLoopback();
    const port = await freePort(ip);
    await b.runHttpd({
      name: 'app-on-b',
      ip,
      port,
      body: 'hello from daemon b',
      labels: {
        'traefik.enable': 'true',
        'traefik.http.routers.app.rule': 'Host(`app.example.test`)',
        'traefik.http.services.app.loadbalancer.server.port': String(port),
        'rediacc.service_ip': ip,
      },
    });
    try {
      await waitUntil(
        async () => (await get(webIp, webPort, 'app.example.test')).status === 200,
        'app.example.test routable through the container',
        30_000,
        100,
      );
    } catch (err) {
      throw new Error(`${(err as Error).message}\n${await logs()}`);
    }
    const r = await get(webIp, webPort, 'app.example.test');
    assert.deepEqual(r, { status: 200, body: 'hello from daemon b' });
    assert.equal((await get(webIp, webPort, 'nobody.example.test')).status, 404);
  });

  test('docker stop (SIGTERM to PID 1) drains and exits 0', async (t) => {
    if (!ready(t)) return;
    const t0 = Date.now();
    await a.docker(['stop', CONTAINER]); // --stop-timeout 30, as stop_grace_period: 30s
    t.diagnostic(`docker stop took ${Date.now() - t0} ms`);
    const state = JSON.parse(await a.docker(['inspect', '-f', '{{json .State}}', CONTAINER])) as {
      ExitCode: number;
      OOMKilled: boolean;
      Running: boolean;
    };
    assert.equal(state.Running, false);
    // 137 would mean Docker had to SIGKILL it after the stop timeout.
    assert.equal(state.ExitCode, 0, await logs());
  });
});
