/**
 * A real berth started from each of Traefik's configuration sources serves a route: a TOML
 * `traefik.toml` (with a TOML dynamic file), a Traefik command line as a compose file's `command:`
 * gives it (no `run`), and TRAEFIK_* variables.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, waitUntil } from '../helpers/net.ts';
import { tempDir } from '../helpers/temp.ts';
import { echoHandler, startUpstream, type Upstream } from '../helpers/upstreams.ts';
import { idleTimeout, rejectIfCut, timeoutSignal, withTimeout } from '../helpers/with-timeout.ts';
import { trackChild } from '../helpers/track-child.ts';

const MAIN = fileURLToPath(new URL('../../src/main.ts', import.meta.url));

interface Started {
  readonly child: ChildProcess;
  readonly logs: string[];
  stop(): Promise<void>;
}

/** Starts `node src/main.ts <args>` in `cwd` with only the given TRAEFIK_* variables; resolves when the API answers. */
async function start(
  args: readonly string[],
  apiPort: number,
  opts: { cwd: string; env?: Record<string, string> },
): Promise<Started> {
  const env: Record<string, string | undefined> = { ...process.env, HOME: opts.cwd, XDG_CONFIG_HOME: opts.cwd };
  for (const k of Object.keys(env)) if (/^TRAEFIK_/i.test(k)) delete env[k];
  const child = trackChild(
    spawn(process.execPath, [MAIN, ...args], {
      cwd: opts.cwd,
      env: { ...env, ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
  const logs: string[] = [];
  const collect = (b: Buffer): void => {
    for (const l of b.toString().split('\n')) if (l) logs.push(l);
  };
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let dead = false;
  void exited.then(() => {
    dead = true;
  });
  try {
    await waitUntil(
      async () => {
        if (dead) throw new Error(`exited:\n${logs.join('\n')}`);
        const signal = timeoutSignal(5000, `berth /ping on ${apiPort}`);
        return (await fetch(`http://127.0.0.1:${apiPort}/ping`, { signal }).catch(() => undefined))?.ok === true;
      },
      'berth to answer /ping',
      20_000,
    );
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  return {
    child,
    logs,
    stop: async () => {
      child.kill('SIGTERM');
      await withTimeout(exited, 30_000, `berth (pid ${child.pid}) to exit after SIGTERM`);
    },
  };
}

/** GET / with a Host header (fetch cannot set one). */
function get(port: number, host: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/', headers: { host } }, (res) => {
      let body = '';
      res
        .setEncoding('utf8')
        .on('data', (c: string) => {
          body += c;
        })
        .on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      rejectIfCut(res, reject, `GET / for ${host} on ${port}`);
    });
    idleTimeout(req, 30_000, `GET / for ${host} on ${port}`).on('error', reject).end();
  });
}

describe("berth starts from each of Traefik's static configuration sources", { concurrency: false }, () => {
  let upstream: Upstream;
  before(async () => {
    upstream = await startUpstream(echoHandler('app'));
  });
  after(() => upstream.close());

  test('a TOML traefik.toml, with a TOML dynamic file', async () => {
    const dir = tempDir('berth-toml-');
    const [web, api] = [await freePort(), await freePort()];
    writeFileSync(
      join(dir, 'dyn.toml'),
      [
        '[http.routers.app]',
        'rule = "Host(`app.test`)"',
        'service = "app"',
        '',
        '[[http.services.app.loadBalancer.servers]]',
        `url = "${upstream.url}"`,
        '',
      ].join('\n'),
    );
    writeFileSync(
      join(dir, 'traefik.toml'),
      [
        'workers = 1',
        '',
        '[entryPoints.web]',
        `address = "127.0.0.1:${web}"`,
        '',
        '[api]',
        `listen = "127.0.0.1:${api}"`,
        '',
        '[providers.file]',
        `filename = "${join(dir, 'dyn.toml')}"`,
        '',
        '[edge]',
        `stateDir = "${join(dir, 'state')}"`,
        '',
        '[log]',
        'level = "info"',
        '',
      ].join('\n'),
    );
    const b = await start(['run', '-c', join(dir, 'traefik.toml')], api, { cwd: dir });
    try {
      await waitUntil(async () => (await get(web, 'app.test')).status === 200, 'the route from dyn.toml');
      assert.equal(JSON.parse((await get(web, 'app.test')).body).name, 'app');
      assert.ok(
        b.logs.some((l) => l.includes(`berth starting with file ${join(dir, 'traefik.toml')}`)),
        b.logs.join('\n'),
      );
    } finally {
      await b.stop();
    }
  });

  test("a Traefik command line, as a compose file's command: gives it", async () => {
    const dir = tempDir('berth-flags-');
    const [web, api] = [await freePort(), await freePort()];
    writeFileSync(
      join(dir, 'dyn.yml'),
      `http:\n  routers:\n    app:\n      rule: Host(\`app.test\`)\n      service: app\n  services:\n    app:\n      loadBalancer:\n        servers:\n          - url: ${upstream.url}\n`,
    );
    const b = await start(
      [
        `--entrypoints.web.address=127.0.0.1:${web}`,
        `--providers.file.filename=${join(dir, 'dyn.yml')}`,
        '--log',
        '--log.level=INFO',
        `--api.listen=127.0.0.1:${api}`,
        `--edge.statedir=${join(dir, 'state')}`,
        '--workers=1',
      ],
      api,
      { cwd: dir },
    );
    try {
      await waitUntil(
        async () => (await get(web, 'app.test')).status === 200,
        "the route from the flags' file provider",
      );
      assert.ok(
        b.logs.some((l) => l.includes('berth starting with command line')),
        b.logs.join('\n'),
      );
    } finally {
      await b.stop();
    }
  });

  test('TRAEFIK_* environment variables', async () => {
    const dir = tempDir('berth-env-');
    const [web, api] = [await freePort(), await freePort()];
    writeFileSync(
      join(dir, 'dyn.yml'),
      `http:\n  routers:\n    app:\n      rule: Host(\`app.test\`)\n      service: app\n  services:\n    app:\n      loadBalancer:\n        servers:\n          - url: ${upstream.url}\n`,
    );
    const b = await start(['run'], api, {
      cwd: dir,
      env: {
        TRAEFIK_ENTRYPOINTS_WEB_ADDRESS: `127.0.0.1:${web}`,
        TRAEFIK_PROVIDERS_FILE_FILENAME: join(dir, 'dyn.yml'),
        TRAEFIK_API_LISTEN: `127.0.0.1:${api}`,
        TRAEFIK_EDGE_STATEDIR: join(dir, 'state'),
        TRAEFIK_WORKERS: '1',
        TRAEFIK_LOG_LEVEL: 'info',
      },
    });
    try {
      await waitUntil(
        async () => (await get(web, 'app.test')).status === 200,
        "the route from the variables' file provider",
      );
      assert.ok(
        b.logs.some((l) => l.includes('berth starting with environment (TRAEFIK_* variables)')),
        b.logs.join('\n'),
      );
    } finally {
      await b.stop();
    }
  });
});
