import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
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
export function startProcess(name: string, cmd: string, args: readonly string[], opts: SpawnOptions = {}): BenchProcess {
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
    child.once('exit', (code) => { dead = true; r(code); });
    child.once('error', (err) => { dead = true; output.push(String(err)); r(null); });
  });
  const proc: BenchProcess = {
    name, pid: child.pid ?? -1, child, output, exited,
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
  void proc?.exited.then(() => { exited = true; });
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => { s.destroy(); resolve(true); });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (exited || Date.now() > deadline) {
      throw new Error(`${proc?.name ?? 'process'} did not listen on ${port}${exited ? ' (exited)' : ''}\n${proc?.output.slice(-20).join('\n') ?? ''}`);
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
  const walk = (pid: number): void => { out.push(pid); for (const c of children.get(pid) ?? []) walk(c); };
  walk(root);
  return out;
}

/** VmRSS of one process in KiB (0 when it is gone). */
export function rssKb(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return Number(m?.[1] ?? 0);
  } catch {
    return 0;
  }
}

/** Summed VmRSS of a process and its descendants, in KiB. */
export function treeRssKb(root: number): number {
  let sum = 0;
  for (const pid of processTree(root)) sum += rssKb(pid);
  return sum;
}

/** Samples the tree's RSS every `everyMs` until stopped; returns the maximum seen (KiB). */
export function sampleRss(root: number, everyMs = 200): { stop(): number } {
  let max = treeRssKb(root);
  const t = setInterval(() => { max = Math.max(max, treeRssKb(root)); }, everyMs);
  return { stop(): number { clearInterval(t); max = Math.max(max, treeRssKb(root)); return max; } };
}
