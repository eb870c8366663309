import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { chownSync, mkdtempSync, rmSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, waitUntil } from '../helpers/net.ts';
import { hasTool } from '../helpers/tools.ts';
import { withTimeout } from '../helpers/with-timeout.ts';
import { trackChild } from '../helpers/track-child.ts';

/** A throwaway redis-server on loopback (no persistence). */
export async function startRedis(): Promise<{ port: number; stop(): Promise<void> }> {
  const port = await freePort();
  const proc = trackChild(
    spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
      stdio: 'ignore',
    }),
  );
  await waitUntil(
    () => {
      try {
        return (
          execFileSync('redis-cli', ['-p', String(port), 'ping'], {
            encoding: 'utf8',
            stdio: ['ignore', 'pipe', 'ignore'],
          }).trim() === 'PONG'
        );
      } catch {
        return false;
      }
    },
    'redis-server',
    10_000,
    50,
  );
  return { port, stop: () => stopProcess(proc) };
}

/** The PostgreSQL server binaries directory (`/usr/lib/postgresql/<v>/bin`), if installed. */
export function postgresBin(): string | undefined {
  try {
    const out = execFileSync('sh', ['-c', 'ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1'], {
      encoding: 'utf8',
    }).trim();
    return out || undefined;
  } catch {
    return undefined;
  }
}

/** Whether a throwaway PostgreSQL cluster can be started here (binaries, psql, a `postgres` user). */
export function canRunPostgres(): boolean {
  if (!postgresBin() || !hasTool('psql')) return false;
  try {
    execFileSync('id', ['postgres'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function asPostgres(cmd: string[]): string[] {
  return process.getuid?.() === 0 ? ['runuser', '-u', 'postgres', '--', ...cmd] : cmd;
}

/** A throwaway PostgreSQL cluster on 127.0.0.1 (trust auth), run as the `postgres` user when root. */
export async function startPostgres(): Promise<{ port: number; stop(): Promise<void> }> {
  const bin = postgresBin()!;
  const dir = mkdtempSync(join(tmpdir(), 'berth-pg-'));
  chmodSync(dir, 0o755);
  const data = join(dir, 'data');
  if (process.getuid?.() === 0) {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    chownSync(dir, uid, gid);
  }
  const [c0, ...cargs] = asPostgres([
    join(bin, 'initdb'),
    '-D',
    data,
    '-A',
    'trust',
    '-U',
    'postgres',
    '--no-sync',
    '--no-instructions',
  ]);
  execFileSync(c0!, cargs, { stdio: 'ignore' });
  const port = await freePort();
  const [p0, ...pargs] = asPostgres([
    join(bin, 'postgres'),
    '-D',
    data,
    '-p',
    String(port),
    '-c',
    'listen_addresses=127.0.0.1',
    '-c',
    `unix_socket_directories=${dir}`,
    '-c',
    'fsync=off',
  ]);
  const proc = trackChild(spawn(p0!, pargs, { stdio: 'ignore' }), 'SIGTERM');
  await waitUntil(
    () => {
      try {
        execFileSync('psql', ['-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', '-tAc', 'select 1'], {
          stdio: 'ignore',
        });
        return true;
      } catch {
        return false;
      }
    },
    'postgres',
    30_000,
    100,
  );
  return {
    port,
    stop: async () => {
      await stopProcess(proc);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function stopProcess(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise((r) => proc.once('exit', r));
  proc.kill('SIGTERM');
  const timer = setTimeout(() => proc.kill('SIGKILL'), 5000);
  await withTimeout(exited, 15_000, `${proc.spawnfile} (pid ${proc.pid}) to exit`).finally(() => clearTimeout(timer));
}
