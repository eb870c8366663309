/**
 * Shared pieces of the operations tests: a berth config on loopback with a file provider routing
 * every entrypoint to an upstream, process-tree helpers, and a berth started under
 * systemd-socket-activate with a restart loop that stands in for systemd's `Restart=`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { freePort, waitUntil } from '../helpers/net.ts';
import { tempDir } from '../helpers/temp.ts';
import { idleTimeout, rejectIfCut, timeoutSignal } from '../helpers/with-timeout.ts';
import { trackChild } from '../helpers/track-child.ts';

export const ROOT = resolve(import.meta.dirname, '../..');
export const NODE = process.execPath;
export const MAIN = join(ROOT, 'src/main.ts');

/** Writes berth.yaml + dynamic.yaml: each named entrypoint routes `PathPrefix(/)` to its upstream URL. */
export async function writeOpsConfig(opts: {
  entrypoints: Record<string, { port: number; upstream: string }>;
  graceTimeOut?: string;
  dir?: string;
  workers?: number;
}): Promise<{ dir: string; configPath: string; apiPort: number }> {
  const dir = opts.dir ?? tempDir('berth-ops-');
  const apiPort = await freePort();
  const entryPoints: Record<string, unknown> = {};
  const routers: Record<string, unknown> = {};
  const services: Record<string, unknown> = {};
  for (const [name, ep] of Object.entries(opts.entrypoints)) {
    entryPoints[name] = {
      address: `127.0.0.1:${ep.port}`,
      ...(opts.graceTimeOut ? { transport: { lifeCycle: { graceTimeOut: opts.graceTimeOut } } } : {}),
    };
    routers[`r-${name}`] = { rule: 'PathPrefix(`/`)', entryPoints: [name], service: `s-${name}` };
    services[`s-${name}`] = { loadBalancer: { servers: [{ url: ep.upstream }] } };
  }
  writeFileSync(join(dir, 'dynamic.yaml'), stringify({ http: { routers, services } }));
  const configPath = join(dir, 'berth.yaml');
  writeFileSync(
    configPath,
    stringify({
      entryPoints,
      providers: { file: { filename: join(dir, 'dynamic.yaml'), watch: false } },
      api: { listen: `127.0.0.1:${apiPort}` },
      edge: { stateDir: join(dir, 'state') },
      log: { level: 'info' },
      ...(opts.workers !== undefined ? { workers: opts.workers } : {}),
    }),
  );
  return { dir, configPath, apiPort };
}

/** GET through berth on 127.0.0.1:port; resolves with status and body (a fresh connection each time). */
export function get(port: number, path = '/'): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent: false, headers: { host: 'ops.test' } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        body += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      rejectIfCut(res, reject, `GET ${path} on ${port}`);
    });
    idleTimeout(req, 30_000, `GET ${path} on ${port}`);
    req.on('error', reject);
    req.end();
  });
}

/** Waits until the API of a berth on `apiPort` answers /ping. */
export function waitForApi(apiPort: number, timeoutMs = 30_000): Promise<void> {
  return waitUntil(
    async () =>
      (await fetch(`http://127.0.0.1:${apiPort}/ping`, { signal: timeoutSignal(5000, `berth's API on :${apiPort}`) }))
        .ok,
    `berth's API on :${apiPort}`,
    timeoutMs,
    100,
  );
}

/** Direct children of a process (Linux /proc). */
export function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** Whether a pid exists and is not a zombie. */
export function alive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** Waits until `pid` is gone (SIGKILL after `timeoutMs`). */
export async function waitGone(pid: number, timeoutMs = 20_000): Promise<void> {
  try {
    await waitUntil(() => !alive(pid), `pid ${pid} to exit`, timeoutMs, 50);
  } catch {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
}

/** systemd-socket-activate ended before it listened (a port taken by someone else, usually). */
export class ExitedBeforeListening extends Error {
  constructor(output: string) {
    super(`systemd-socket-activate exited before listening: ${output}`);
  }
}

/** A berth under systemd-socket-activate, restarted by a shell loop whenever it exits. */
export interface ActivatedBerth {
  /** The loop shell (systemd-socket-activate exec'd into it; it holds the sockets like systemd). */
  readonly holder: ChildProcess;
  readonly logs: string[];
  /** The berth currently running under the loop (undefined between two runs). */
  current(): number | undefined;
  /** Stops the loop after the current berth exits (before a hand-over leaves the loop). */
  leaveLoop(): void;
  /** Kills the loop and every berth it started. */
  stop(): Promise<void>;
}

/**
 * Starts `systemd-socket-activate -l 127.0.0.1:PORT --fdname=NAME … sh -c '<loop>'`. Each pass of
 * the loop sets LISTEN_PID to the pid that will exec node, as systemd does for each start of the
 * service; the sockets stay open in the loop shell between passes, like systemd holds them across
 * `systemctl restart`. Resolves once berth answers on its API.
 */
export async function startActivated(opts: {
  sockets: Record<string, number>;
  configPath: string;
  dir: string;
  apiPort: number;
  env?: Record<string, string>;
}): Promise<ActivatedBerth> {
  const stopFile = join(opts.dir, 'leave-loop');
  const args: string[] = [];
  for (const port of Object.values(opts.sockets)) args.push('-l', `127.0.0.1:${port}`);
  args.push(`--fdname=${Object.keys(opts.sockets).join(':')}`);
  for (const [k, v] of Object.entries(opts.env ?? {})) args.push('-E', `${k}=${v}`);
  const loop = `while :; do sh -c 'LISTEN_PID=$$ exec "$0" "$1" run -c "$2"' "${NODE}" "${MAIN}" "${opts.configPath}"; [ -e "${stopFile}" ] && exit 0; sleep 0.05; done`;
  const holder = trackChild(
    spawn('systemd-socket-activate', [...args, 'sh', '-c', loop], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
  const logs: string[] = [];
  const collect = (buf: Buffer): void => {
    for (const l of buf.toString().split('\n')) if (l) logs.push(l);
  };
  holder.stdout!.on('data', collect);
  holder.stderr!.on('data', collect);
  // systemd-socket-activate execs the service on the first connection, as systemd does.
  const firstPort = Object.values(opts.sockets)[0]!;
  // It exits at once when a port was taken since it was picked: say so, with its output.
  let exited = false;
  holder.once('exit', () => {
    exited = true;
  });
  const deadline = Date.now() + 10_000;
  while (!logs.some((l) => l.includes('Listening on'))) {
    if (exited) throw new ExitedBeforeListening(logs.join('\n'));
    if (Date.now() > deadline) {
      holder.kill('SIGKILL');
      throw new Error(`timed out waiting for systemd-socket-activate to listen; its output: ${logs.join('\n')}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  const poke = get(firstPort).catch(() => undefined);
  await waitForApi(opts.apiPort);
  await poke;
  const started = new Set<number>();
  const current = (): number | undefined => {
    const pid = holder.pid === undefined ? undefined : childrenOf(holder.pid)[0];
    if (pid !== undefined) started.add(pid);
    return pid;
  };
  current();
  return {
    holder,
    logs,
    current,
    leaveLoop: () => writeFileSync(stopFile, ''),
    async stop(): Promise<void> {
      current();
      holder.kill('SIGKILL');
      for (const pid of started) {
        try {
          process.kill(pid, 'SIGTERM');
        } catch {
          /* gone */
        }
      }
      await Promise.all([...started].map((p) => waitGone(p)));
    },
  };
}
