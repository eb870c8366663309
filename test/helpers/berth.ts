import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse, stringify } from 'yaml';
import { freePort } from './net.ts';
import { tempDir } from './temp.ts';
import { trackChild } from './track-child.ts';
import { timeoutSignal, withTimeout } from './with-timeout.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const NODE = process.execPath;

/** A berth child process started by a test. */
export interface BerthProcess {
  /** `http://127.0.0.1:PORT` of the API. */
  readonly apiUrl: string;
  readonly pid: number;
  /** Directory holding the config file (and state, unless the config says otherwise). */
  readonly dir: string;
  readonly configPath: string;
  /** stdout + stderr lines so far (JSON log lines and plain text). */
  readonly logs: string[];
  readonly child: ChildProcess;
  /** GETs an API path and parses JSON. */
  api<T = unknown>(path: string): Promise<T>;
  /** Sends `signal` (default SIGTERM) and resolves with the exit code (null when killed by a signal). */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  /** SIGKILL, no waiting. */
  kill(): void;
  /** Resolves when the process has exited. */
  readonly exited: Promise<number | null>;
}

/**
 * Starts `node src/main.ts run -c <file>` with the given YAML (string or object). When the config
 * has no `api.listen`, a free loopback port is chosen; `edge.stateDir` defaults to a temp dir.
 * Resolves once `/health` answers.
 */
export async function startBerth(opts: {
  config: string | Record<string, unknown>;
  env?: Record<string, string>;
  dir?: string;
  timeoutMs?: number;
}): Promise<BerthProcess> {
  const dir = opts.dir ?? tempDir('berth-test-');
  const cfg = (typeof opts.config === 'string' ? parse(opts.config) : structuredClone(opts.config)) as Record<
    string,
    any
  >;
  cfg.api ??= {};
  cfg.api.listen ??= `127.0.0.1:${await freePort()}`;
  cfg.edge ??= {};
  cfg.edge.stateDir ??= join(dir, 'state');
  // One process by default: deterministic and cheap; BERTH_TEST_WORKERS runs the suite with workers.
  cfg.workers ??= Number(process.env.BERTH_TEST_WORKERS ?? 1);
  cfg.log ??= {};
  cfg.log.level ??= 'info';
  if (!cfg.providers) cfg.providers = {};
  const configPath = join(dir, 'berth.yaml');
  writeFileSync(configPath, stringify(cfg));
  const apiUrl = `http://${cfg.api.listen}`;
  const child = trackChild(
    spawn(NODE, [join(ROOT, 'src/main.ts'), 'run', '-c', configPath], {
      cwd: ROOT,
      env: { ...process.env, ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
  const logs: string[] = [];
  const collect = (buf: Buffer): void => {
    for (const l of buf.toString().split('\n')) if (l) logs.push(l);
  };
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  let dead = false;
  void exited.then(() => {
    dead = true;
  });
  try {
    // A process that exits (a bad configuration, a port taken) fails the start at once; the
    // deadline is only a safety net for one that hangs.
    const deadline = Date.now() + (opts.timeoutMs ?? 90_000);
    for (;;) {
      if (dead) throw new Error(`exited with code ${child.exitCode ?? child.signalCode} before answering /ping`);
      if (
        await fetch(`${apiUrl}/ping`, { signal: timeoutSignal(5000, `berth ${apiUrl}/ping`) }).then(
          (r) => r.ok,
          () => false,
        )
      )
        break;
      if (Date.now() > deadline) throw new Error('timed out waiting for berth to answer /ping');
      await new Promise((r) => setTimeout(r, 50));
    }
  } catch (err) {
    child.kill('SIGKILL');
    throw new Error(`berth did not start: ${(err as Error).message}\n${logs.join('\n')}`);
  }
  const proc: BerthProcess = {
    apiUrl,
    pid: child.pid!,
    dir,
    configPath,
    logs,
    child,
    exited,
    async api<T>(path: string): Promise<T> {
      const res = await fetch(apiUrl + path, { signal: timeoutSignal(15_000, `berth ${apiUrl}${path}`) });
      return (await res.json()) as T;
    },
    async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
      if (!dead) child.kill(signal);
      const t = setTimeout(() => child.kill('SIGKILL'), 15_000);
      try {
        return await withTimeout(exited, 30_000, `berth (pid ${child.pid}) to exit after ${signal}`);
      } finally {
        clearTimeout(t);
      }
    },
    kill(): void {
      child.kill('SIGKILL');
    },
  };
  return proc;
}
