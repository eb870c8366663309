import { execFileSync, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';

/** A child process started by the bench, with its output kept for error messages. */
export interface BenchProcess {
  readonly name: string;
  readonly pid: number;
  readonly child: ChildProcess;
  readonly output: string[];
  readonly exited: Promise<number | null>;
  /** SIGTERM (or `signal`), SIGKILL after `graceMs`; resolves when the process is gone. */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<void>;
}

const running = new Set<BenchProcess>();

/** Starts a process whose stdout/stderr are collected (last 200 lines). */
export function startProcess(
  name: string,
  cmd: string,
  args: readonly string[],
  opts: SpawnOptions = {},
): BenchProcess {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
  const output: string[] = [];
  const collect = (b: Buffer): void => {
    for (const l of b.toString().split('\n')) if (l) output.push(l);
    if (output.length > 200) output.splice(0, output.length - 200);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  let dead = false;
  const exited = new Promise<number | null>((r) => {
    child.once('exit', (code) => {
      dead = true;
      r(code);
    });
    child.once('error', (err) => {
      dead = true;
      output.push(String(err));
      r(null);
    });
  });
  const proc: BenchProcess = {
    name,
    pid: child.pid ?? -1,
    child,
    output,
    exited,
    async stop(signal: NodeJS.Signals = 'SIGTERM', graceMs = 10_000): Promise<void> {
      running.delete(proc);
      if (dead) return;
      child.kill(signal);
      const t = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(t);
    },
  };
  running.add(proc);
  return proc;
}

/** Kills every process still running (SIGKILL); used on errors and signals. */
export function killAll(): void {
  for (const p of running) p.child.kill('SIGKILL');
  running.clear();
}

/** Resolves once something accepts TCP connections on 127.0.0.1:`port`. */
export async function waitForPort(port: number, proc: BenchProcess | undefined, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  void proc?.exited.then(() => {
    exited = true;
  });
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (exited || Date.now() > deadline) {
      throw new Error(
        `${proc?.name ?? 'process'} did not listen on ${port}${exited ? ' (exited)' : ''}\n${proc?.output.slice(-20).join('\n') ?? ''}`,
      );
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The pid and all its descendants (nginx and HAProxy fork workers). */
export function processTree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // The command name may contain spaces and parentheses; fields resume after the last ')'.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const list = children.get(ppid) ?? [];
      list.push(Number(entry));
      children.set(ppid, list);
    } catch {
      // the process went away while we looked
    }
  }
  const out: number[] = [];
  const walk = (pid: number): void => {
    out.push(pid);
    for (const c of children.get(pid) ?? []) walk(c);
  };
  walk(root);
  return out;
}

/**
 * PSS of one process in KiB (`Pss:` of /proc/<pid>/smaps_rollup; 0 when it is gone). PSS splits
 * each shared page among the processes that map it, so a tree's sum counts the code, the
 * snapshot and copy-on-write pages that forked workers share with their parent once, where
 * summed RSS counts them in every process. Threads share their process's memory: a process with
 * worker threads is one entry here.
 */
export function pssKb(pid: number): number {
  try {
    const m = /^Pss:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
    return Number(m?.[1] ?? 0);
  } catch {
    return 0;
  }
}

/** Summed PSS of a process and all its descendants (workers, forked or not), in KiB. */
export function treePssKb(root: number): number {
  let sum = 0;
  for (const pid of processTree(root)) sum += pssKb(pid);
  return sum;
}

/** Samples the tree's PSS every `everyMs` until stopped; returns the maximum seen (KiB). */
export function samplePss(root: number, everyMs = 200): { stop(): number } {
  let max = treePssKb(root);
  const t = setInterval(() => {
    max = Math.max(max, treePssKb(root));
  }, everyMs);
  return {
    stop(): number {
      clearInterval(t);
      max = Math.max(max, treePssKb(root));
      return max;
    },
  };
}

/**
 * Raises this process's descriptor limit (soft and hard) to at least `want`, so that it and the
 * targets it starts, which inherit it, can hold 10,000 idle connections each. Needs privileges to
 * raise the hard limit; returns the soft limit in force afterwards.
 */
export function raiseFileLimit(want: number): number {
  const read = (): number => Number(/Max open files\s+(\d+)/.exec(readFileSync('/proc/self/limits', 'utf8'))?.[1] ?? 0);
  if (read() >= want) return read();
  try {
    execFileSync('prlimit', ['--pid', String(process.pid), `--nofile=${want}:${want}`], { stdio: 'ignore' });
  } catch {
    // not permitted (or no prlimit): keep the limit there is; the idle-connection row then says how many it held
  }
  return read();
}
