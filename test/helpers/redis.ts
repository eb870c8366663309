import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from 'node:net';
import { freePort, waitUntil } from './net.ts';
import { tempDir } from './temp.ts';
import { trackChild } from './track-child.ts';
import { withTimeout } from './with-timeout.ts';

/** A redis-server (or redis-sentinel) on loopback, without persistence, started by a test. */
export interface RedisProcess {
  readonly port: number;
  readonly url: string;
  /** SIGKILL (a crash); resolves when it is gone. */
  kill(): Promise<void>;
  /** Starts it again on the same port (empty: no persistence). */
  restart(): Promise<void>;
  /** Sends one command and returns the raw reply text (redis-cli is not needed). */
  command(...args: string[]): Promise<string>;
  readonly running: boolean;
}

function spawnTracked(cmd: string, args: string[]): ChildProcess {
  const p = trackChild(spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] }));
  p.stdout?.resume();
  p.stderr?.resume();
  return p;
}

/** SIGKILLs `p` and resolves once it has exited. */
function killAndWait(p: ChildProcess, what: string): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return Promise.resolve();
  const gone = new Promise<void>((r) => p.once('exit', () => r()));
  p.kill('SIGKILL');
  return withTimeout(gone, 10_000, `${what} (pid ${p.pid}) to exit after SIGKILL`);
}

/**
 * One RESP command over a fresh TCP connection. A connection closed before the reply is complete
 * rejects (Sentinel's failover kills the promoted replica's clients with CLIENT KILL), and so does
 * a server that stays silent for 5 s: a poll retries instead of waiting forever.
 */
export function redisCommand(port: number, ...args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port });
    let buf = '';
    s.setTimeout(5000, () => s.destroy(new Error(`redis on ${port}: no reply to ${args[0]} within 5 s`)));
    s.on('error', reject);
    s.on('close', () => reject(new Error(`redis on ${port}: closed before replying to ${args[0]}`)));
    s.on('data', (d: Buffer) => {
      buf += d.toString();
      if (/\r\n$/.test(buf) && complete(buf)) {
        resolve(buf);
        s.destroy();
      }
    });
    s.write(`*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`);
  });
}

/** Whether a RESP reply is complete (enough for the simple replies tests read). */
function complete(buf: string): boolean {
  if (buf[0] !== '*') return buf[0] !== '$' || buf.startsWith('$-1') || buf.split('\r\n').length >= 3;
  const n = Number(buf.slice(1, buf.indexOf('\r\n')));
  if (n <= 0) return true;
  const lines = buf.split('\r\n');
  let count = 0;
  for (let i = 1; i < lines.length; i++)
    if (lines[i]!.startsWith('$') || lines[i]!.startsWith(':') || lines[i]!.startsWith('+')) count++;
  return count >= n && lines.length >= 2 * n + 2;
}

/** Starts `redis-server` (extra args appended, e.g. `--replicaof 127.0.0.1 P`). */
export async function startRedis(extra: string[] = [], fixedPort?: number): Promise<RedisProcess> {
  const port = fixedPort ?? (await freePort());
  const dir = tempDir('berth-redis-');
  let proc: ChildProcess | undefined;
  const boot = async () => {
    proc = spawnTracked('redis-server', [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      dir,
      ...extra,
    ]);
    await waitUntil(
      async () => (await redisCommand(port, 'PING').catch(() => '')).includes('PONG'),
      `redis-server on ${port}`,
      10_000,
      20,
    );
  };
  await boot();
  return {
    port,
    url: `redis://127.0.0.1:${port}/0`,
    get running() {
      return proc !== undefined && proc.exitCode === null && proc.signalCode === null;
    },
    async kill() {
      if (proc) await killAndWait(proc, `redis-server on ${port}`);
    },
    restart: boot,
    command: (...args: string[]) => redisCommand(port, ...args),
  };
}

/** Starts `redis-sentinel` monitoring `master` (quorum 1, fast failover for tests). */
export async function startSentinel(masterName: string, masterPort: number): Promise<RedisProcess> {
  const port = await freePort();
  const dir = tempDir('berth-sentinel-');
  const conf = join(dir, 'sentinel.conf');
  writeFileSync(
    conf,
    [
      `port ${port}`,
      'bind 127.0.0.1',
      `dir ${dir}`,
      `sentinel monitor ${masterName} 127.0.0.1 ${masterPort} 1`,
      `sentinel down-after-milliseconds ${masterName} 1000`,
      `sentinel failover-timeout ${masterName} 5000`,
      `sentinel parallel-syncs ${masterName} 1`,
      '',
    ].join('\n'),
  );
  let proc: ChildProcess | undefined;
  const boot = async () => {
    proc = spawnTracked('redis-sentinel', [conf]);
    await waitUntil(
      async () => (await redisCommand(port, 'PING').catch(() => '')).includes('PONG'),
      `redis-sentinel on ${port}`,
      10_000,
      20,
    );
  };
  await boot();
  return {
    port,
    url: `127.0.0.1:${port}`,
    get running() {
      return proc !== undefined && proc.exitCode === null;
    },
    async kill() {
      if (proc) await killAndWait(proc, `redis-sentinel on ${port}`);
    },
    restart: boot,
    command: (...args: string[]) => redisCommand(port, ...args),
  };
}
