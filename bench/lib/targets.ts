import { mkdirSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { startBerth } from '../../test/helpers/berth.ts';
import { freePort } from '../../test/helpers/net.ts';
import type { BenchCert } from './certs.ts';
import { processTree, startProcess, treePssKb, waitForPort, type BenchProcess } from './proc.ts';
import { renderTemplate } from './template.ts';
import { hasCommand } from './tools.ts';
import type { Upstream } from './upstream.ts';
import { SHIPPED_ENV } from './shipped-env.ts';

/**
 * Everything a request can go through. `direct` is the upstream itself; `relay` is Node piping
 * sockets to the upstream without parsing HTTP, the ceiling of any Node proxy.
 */
export const ALL_TARGETS = ['direct', 'berth', 'relay', 'nginx-1w', 'nginx-auto', 'haproxy', 'caddy'] as const;
export type TargetName = (typeof ALL_TARGETS)[number];

/** The executable a target needs (undefined: always available). */
const NEEDS: Record<TargetName, string | undefined> = {
  direct: undefined,
  berth: undefined,
  relay: undefined,
  'nginx-1w': 'nginx',
  'nginx-auto': 'nginx',
  haproxy: 'haproxy',
  caddy: 'caddy',
};

/** Whether the target's executable is installed. */
export function targetAvailable(name: TargetName): boolean {
  const need = NEEDS[name];
  return need === undefined || hasCommand(need);
}

/** Host header (and router) used for requests; with N routers the last one is asked for. */
export const BASE_HOST = 'bench.test';
export function routedHost(routers: number): string {
  return routers > 1 ? `h${routers - 1}.bench.test` : BASE_HOST;
}

/** Shared inputs for starting targets. */
export interface TargetEnv {
  readonly dir: string;
  readonly cert: BenchCert;
  readonly upstream: Upstream;
  /** Directory for berth's `--cpu-prof` output; set only for the profiling run. */
  readonly cpuProfDir?: string;
}

/** A started target. */
export interface RunningTarget {
  readonly name: TargetName;
  /** Host routers configured (1, or e.g. 10,000 for the host-lookup scenario). */
  readonly routers: number;
  readonly httpPort: number;
  /** Undefined when the target has no TLS listener (direct with the Node upstream). */
  readonly httpsPort: number | undefined;
  /** Port that takes WebSocket upgrades on `/ws`. */
  readonly wsPort: number;
  /** Root pid whose process tree is measured for memory; undefined for direct. */
  readonly pid: number | undefined;
  /** PSS of the tree, idle, `IDLE_AFTER_START_MS` after start (at least 1 s after its first answer), KiB. */
  readonly idlePssKb: number | undefined;
  /** From spawning the process to the first 200 for the last routed host (ms). */
  readonly readyMs: number | undefined;
  /** Processes in its tree when idle (berth: the primary and its worker processes; threads not counted). */
  readonly processes: number;
  stop(): Promise<void>;
}

/**
 * When idle memory is read, counted from the start of the process: start-up garbage (parsed and
 * compiled configuration) is what an idle process still holds then, as a user would see it.
 */
export const IDLE_AFTER_START_MS = 12_000;

/** Starts one target with `routers` host routers and waits until it proxies a request. */
export async function startTarget(name: TargetName, env: TargetEnv, routers: number): Promise<RunningTarget> {
  const up = env.upstream;
  if (name === 'direct') {
    return {
      name,
      routers,
      httpPort: up.httpPort,
      httpsPort: up.httpsPort,
      wsPort: up.wsPort,
      pid: undefined,
      idlePssKb: undefined,
      readyMs: undefined,
      processes: 0,
      stop: async () => undefined,
    };
  }
  const dir = join(env.dir, `${name}-${routers}`);
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  const httpPort = await freePort();
  const httpsPort = await freePort();
  let wsPort = httpPort;
  let tlsPort: number | undefined = httpsPort;
  let stop: () => Promise<void>;
  let pid: number;
  let proc: BenchProcess | undefined;
  // Set right before the spawn, after the config is written: the clock covers the target's own start-up.
  let spawnedAt = performance.now();
  const vars = {
    DIR: dir,
    HTTP_PORT: httpPort,
    HTTPS_PORT: httpsPort,
    UPSTREAM_PORT: up.httpPort,
    WS_PORT: up.wsPort,
    CERT: env.cert.certFile,
    KEY: env.cert.keyFile,
    PEM: env.cert.pemFile,
  };
  const hosts = routers > 1 ? Array.from({ length: routers }, (_, i) => `h${i}.bench.test`) : [];
  switch (name) {
    case 'berth': {
      writeBerthDynamicConfig(dir, env, hosts);
      spawnedAt = performance.now();
      const b = await startBerth({
        dir,
        config: berthStaticConfig(dir, httpPort, httpsPort),
        env: {
          ...SHIPPED_ENV,
          ...(env.cpuProfDir ? { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${env.cpuProfDir}` } : {}),
        },
        timeoutMs: 60_000,
      });
      pid = b.pid;
      stop = async () => {
        await b.stop();
      };
      break;
    }
    case 'relay': {
      // Plain sockets only (no TLS row); the WebSocket echo gets a relay of its own.
      wsPort = await freePort();
      tlsPort = undefined;
      const script = join(import.meta.dirname, 'relay-server.ts');
      spawnedAt = performance.now();
      proc = startProcess(name, process.execPath, [
        script,
        String(availableParallelism()),
        `${httpPort}:${up.httpPort}`,
        `${wsPort}:${up.wsPort}`,
      ]);
      pid = proc.pid;
      const p = proc;
      stop = () => p.stop();
      break;
    }
    case 'nginx-1w':
    case 'nginx-auto': {
      const routes = hosts.map((h) => renderTemplate('nginx-route.tmpl', { ...vars, HOST: h })).join('');
      const conf = join(dir, 'nginx.conf');
      writeFileSync(
        conf,
        renderTemplate('nginx.conf.tmpl', { ...vars, WORKERS: name === 'nginx-1w' ? '1' : 'auto', ROUTES: routes }),
      );
      spawnedAt = performance.now();
      proc = startProcess(name, 'nginx', ['-p', dir, '-c', conf, '-e', join(dir, 'error.log')]);
      pid = proc.pid;
      const p = proc;
      stop = () => p.stop();
      break;
    }
    case 'haproxy': {
      let routes = '';
      if (hosts.length > 0) {
        const map = join(dir, 'hosts.map');
        writeFileSync(map, hosts.map((h) => `${h} up\n`).join(''));
        routes = renderTemplate('haproxy-route.tmpl', { MAP: map });
      }
      const conf = join(dir, 'haproxy.cfg');
      writeFileSync(conf, renderTemplate('haproxy.cfg.tmpl', { ...vars, THREADS: '', ROUTES: routes }));
      spawnedAt = performance.now();
      proc = startProcess(name, 'haproxy', ['-db', '-f', conf]);
      pid = proc.pid;
      const p = proc;
      stop = () => p.stop();
      break;
    }
    case 'caddy': {
      const routes = hosts.map((h) => renderTemplate('caddy-route.tmpl', { ...vars, HOST: h })).join('');
      const conf = join(dir, 'Caddyfile');
      writeFileSync(conf, renderTemplate('Caddyfile.tmpl', { ...vars, ROUTES: routes }));
      spawnedAt = performance.now();
      proc = startProcess(name, 'caddy', ['run', '--config', conf, '--adapter', 'caddyfile'], {
        env: { ...process.env, HOME: dir, XDG_DATA_HOME: join(dir, 'data'), XDG_CONFIG_HOME: join(dir, 'config') },
      });
      pid = proc.pid;
      const p = proc;
      stop = () => p.stop();
      break;
    }
  }
  const t0 = spawnedAt;
  let readyMs: number;
  try {
    if (proc) await waitForPort(httpPort, proc, 120_000);
    await waitForStatus200(httpPort, routedHost(routers), 120_000, name);
    readyMs = performance.now() - t0;
  } catch (err) {
    await stop();
    throw err;
  }
  const idleAt = Math.max(t0 + IDLE_AFTER_START_MS, performance.now() + 1000);
  await new Promise((r) => setTimeout(r, idleAt - performance.now()));
  return {
    name,
    routers,
    httpPort,
    httpsPort: tlsPort,
    wsPort,
    pid,
    idlePssKb: treePssKb(pid),
    readyMs,
    processes: processTree(pid).length,
    stop,
  };
}

/** berth's dynamic config (routers, services, the bench certificate) for the file provider. */
function writeBerthDynamicConfig(dir: string, env: TargetEnv, hosts: readonly string[]): void {
  const up = env.upstream;
  const dynamicFile = join(dir, 'dynamic.yaml');
  const routers: Record<string, unknown> = {
    main: { rule: `Host(\`${BASE_HOST}\`)`, service: 'up', entryPoints: ['web'] },
    'main-tls': { rule: `Host(\`${BASE_HOST}\`)`, service: 'up', entryPoints: ['websecure'], tls: {} },
    // Clients that send no Host (openssl s_time) still reach the upstream, like the peers' default servers.
    fallback: { rule: 'PathPrefix(`/`)', priority: 1, service: 'up', entryPoints: ['web'] },
    'fallback-tls': { rule: 'PathPrefix(`/`)', priority: 1, service: 'up', entryPoints: ['websecure'], tls: {} },
    ws: { rule: 'PathPrefix(`/ws`)', priority: 1000, service: 'ws', entryPoints: ['web'] },
  };
  hosts.forEach((h, i) => {
    routers[`h${i}`] = { rule: `Host(\`${h}\`)`, service: 'up', entryPoints: ['web'] };
  });
  writeFileSync(
    dynamicFile,
    stringify({
      http: {
        routers,
        services: {
          up: { loadBalancer: { servers: [{ url: `http://127.0.0.1:${up.httpPort}` }] } },
          ws: { loadBalancer: { servers: [{ url: `http://127.0.0.1:${up.wsPort}` }] } },
        },
      },
      tls: {
        certificates: [{ certFile: env.cert.certFile, keyFile: env.cert.keyFile }],
        stores: { default: { defaultCertificate: { certFile: env.cert.certFile, keyFile: env.cert.keyFile } } },
      },
    }),
  );
}

/**
 * berth's static config: web + websecure on loopback, the file provider, errors-only logging (the
 * peers run without access logs too), an upstream pool as large as the largest scenario.
 */
function berthStaticConfig(dir: string, httpPort: number, httpsPort: number): Record<string, unknown> {
  const dynamicFile = join(dir, 'dynamic.yaml');
  return {
    entryPoints: { web: { address: `127.0.0.1:${httpPort}` }, websecure: { address: `127.0.0.1:${httpsPort}` } },
    providers: { file: { filename: dynamicFile, watch: false } },
    serversTransport: { maxIdleConnsPerHost: 1024 },
    log: { level: 'error' },
    // As users run it (one data-plane worker per core). Explicitly: the test helper that starts
    // berth defaults to one process, and runs before 2026-12-07 measured that by mistake.
    workers: 'auto',
  };
}

/** GET / with the given Host until it answers 200 (configs load asynchronously). */
async function waitForStatus200(port: number, host: string, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 0;
  while (Date.now() < deadline) {
    last = await status(port, host);
    if (last === 200) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what} never answered 200 for Host ${host} (last status ${last})`);
}

/** Status of one GET (0 on connection error). */
export function status(port: number, host: string, path = '/'): Promise<number> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path, headers: { host }, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', () => resolve(0));
    req.setTimeout(5000, () => req.destroy());
    req.end();
  });
}
