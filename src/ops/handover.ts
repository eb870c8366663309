/**
 * Zero-downtime restart without systemd: the running berth starts its successor with the
 * listening sockets passed as inherited descriptors, waits until the successor says it is ready,
 * and only then stops accepting and drains. Both processes accept on the same sockets for a
 * moment (the kernel keeps one accept queue per socket), so no connection is refused at any point.
 *
 * Protocol between the two processes:
 * - descriptor `3 + i` is the i-th listening socket, named in `BERTH_LISTEN_FDS=web=3,websecure=4`
 *   (read by `takeInheritedSockets` in systemd.ts); a berth with workers passes one socket per
 *   worker, so a name can repeat (`web=3,web=4`);
 * - `BERTH_READY_FD=<n>` names a pipe on which the successor writes `ready\n` once it serves.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, writeSync } from 'node:fs';
import type { Server as NetServer } from 'node:net';
import type { Readable } from 'node:stream';
import { BerthError, ErrorCodes } from '../lib/errors.ts';
import { HANDOVER_FDS_ENV, LISTEN_FDS_START } from './systemd.ts';

/** Environment variable naming the readiness pipe of a hand-over. */
export const READY_FD_ENV = 'BERTH_READY_FD';

/** What {@link handOver} needs. */
export interface HandoverOptions {
  /** The successor's command: executable and arguments (normally this very process's). */
  readonly command: readonly [string, ...string[]];
  /** Listening sockets to pass, by entrypoint name: a server of this process, or descriptors. */
  readonly listeners: ReadonlyMap<string, NetServer | readonly number[]>;
  /** How long the successor may take to become ready (default 30 s). */
  readonly timeoutMs?: number;
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
}

/** The started successor. */
export interface HandoverResult {
  readonly pid: number;
  /** Names of the sockets passed. */
  readonly passed: readonly string[];
}

/** The descriptor of a listening net.Server (libuv keeps it on the handle on Unix). */
export function listenerFd(server: NetServer): number | undefined {
  const fd = (server as unknown as { _handle?: { fd?: unknown } | null })._handle?.fd;
  return typeof fd === 'number' && fd >= 0 ? fd : undefined;
}

/**
 * Starts the successor and resolves once it reported ready. On failure (it exits, or is not ready
 * in time) the successor is killed and a BerthError is thrown: the caller keeps serving.
 */
export async function handOver(opts: HandoverOptions): Promise<HandoverResult> {
  const passed: string[] = [];
  const stdio: (number | 'ignore' | 'inherit' | 'pipe')[] = ['ignore', 'inherit', 'inherit'];
  const names: string[] = [];
  let next = LISTEN_FDS_START;
  for (const [name, socket] of opts.listeners) {
    const fds = Array.isArray(socket)
      ? (socket as readonly number[])
      : [listenerFd(socket as NetServer)].filter((fd): fd is number => fd !== undefined);
    if (fds.length === 0) continue;
    for (const fd of fds) {
      names.push(`${name}=${next++}`);
      stdio.push(fd);
    }
    passed.push(name);
  }
  const readyFd = stdio.length;
  stdio.push('pipe');
  const env: NodeJS.ProcessEnv = {
    ...(opts.env ?? process.env),
    [HANDOVER_FDS_ENV]: names.join(','),
    [READY_FD_ENV]: String(readyFd),
  };
  delete env.LISTEN_PID;
  delete env.LISTEN_FDS;
  delete env.LISTEN_FDNAMES;
  const [cmd, ...args] = opts.command;
  let child: ChildProcess;
  try {
    // Own session: the successor outlives us and is not hit by signals sent to our process group.
    child = spawn(cmd, args, { stdio, env, detached: true, ...(opts.cwd ? { cwd: opts.cwd } : {}) });
  } catch (err) {
    throw new BerthError(ErrorCodes.USAGE, `hand-over: cannot start ${cmd}: ${(err as Error).message}`, { cause: err });
  }
  const pipe = child.stdio[readyFd] as Readable | null | undefined;
  try {
    await waitReady(child, pipe, opts.timeoutMs ?? 30_000);
  } catch (err) {
    child.kill('SIGKILL');
    pipe?.destroy();
    throw err;
  }
  pipe?.destroy();
  child.unref();
  return { pid: child.pid!, passed };
}

function waitReady(child: ChildProcess, pipe: Readable | null | undefined, timeoutMs: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(
      () =>
        finish(
          new BerthError(
            ErrorCodes.USAGE,
            `hand-over: the new process (pid ${child.pid}) was not ready within ${timeoutMs} ms`,
          ),
        ),
      timeoutMs,
    );
    const onExit = (code: number | null, signal: string | null): void =>
      finish(
        new BerthError(
          ErrorCodes.USAGE,
          `hand-over: the new process (pid ${child.pid}) exited before it was ready (${signal ?? `code ${code}`}); see its log above`,
        ),
      );
    const onError = (err: Error): void =>
      finish(
        new BerthError(ErrorCodes.USAGE, `hand-over: cannot start the new process: ${err.message}`, { cause: err }),
      );
    const onData = (buf: Buffer): void => {
      seen += buf.toString('latin1');
      if (seen.includes('ready\n')) finish();
    };
    function finish(err?: Error): void {
      clearTimeout(timer);
      child.off('exit', onExit);
      child.off('error', onError);
      pipe?.off('data', onData);
      if (err) reject(err);
      else resolve();
    }
    child.once('exit', onExit);
    child.once('error', onError);
    if (!pipe) {
      finish(new BerthError(ErrorCodes.USAGE, 'hand-over: no readiness pipe'));
      return;
    }
    pipe.on('data', onData);
    pipe.on('error', () => {
      /* exit reports it */
    });
  });
}

/**
 * In the successor: tells the previous process that we serve (writes `ready\n` on the pipe named
 * by BERTH_READY_FD and closes it). A no-op when we were not started by a hand-over.
 */
export function signalReady(env: NodeJS.ProcessEnv = process.env): boolean {
  const text = env[READY_FD_ENV];
  delete env[READY_FD_ENV];
  if (text === undefined || !/^\d+$/.test(text) || Number(text) < LISTEN_FDS_START) return false;
  const fd = Number(text);
  try {
    writeSync(fd, 'ready\n');
    closeSync(fd);
    return true;
  } catch {
    // The previous process is gone; nothing to tell.
    return false;
  }
}
