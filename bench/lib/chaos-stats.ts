/**
 * Bounded bookkeeping for long soaks (bench/chaos.ts): counters with a cap on distinct keys,
 * latency histograms with fixed buckets, a log watcher that drains a growing line array into
 * counts and a few samples, and per-process PSS / RSS / descriptor readings from /proc. Memory use is
 * constant however long the run is.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

/** Counts per key; beyond `maxKeys` distinct keys, new keys count under `other`. */
export class BoundedCounter {
  readonly #counts = new Map<string, number>();
  readonly #maxKeys: number;
  constructor(maxKeys = 64) {
    this.#maxKeys = maxKeys;
  }
  add(key: string, n = 1): void {
    const k = key.length > 160 ? `${key.slice(0, 157)}...` : key;
    if (!this.#counts.has(k) && this.#counts.size >= this.#maxKeys) {
      this.#counts.set('other', (this.#counts.get('other') ?? 0) + n);
      return;
    }
    this.#counts.set(k, (this.#counts.get(k) ?? 0) + n);
  }
  get total(): number {
    let t = 0;
    for (const v of this.#counts.values()) t += v;
    return t;
  }
  toJSON(): Record<string, number> {
    return Object.fromEntries([...this.#counts].sort((a, b) => b[1] - a[1]));
  }
}

/**
 * Latency histogram: buckets grow by 2^(1/4) from 50 µs (about 19 % wide), so 80 buckets reach past
 * 1,000 s; quantiles are reported as the upper bound of their bucket.
 */
export class Histogram {
  static readonly #BASE_MS = 0.05;
  static readonly #STEP = 2 ** 0.25;
  readonly #buckets = new Float64Array(80);
  #count = 0;
  #sum = 0;
  #max = 0;
  record(ms: number): void {
    const i =
      ms <= Histogram.#BASE_MS
        ? 0
        : Math.min(this.#buckets.length - 1, Math.ceil(Math.log(ms / Histogram.#BASE_MS) / Math.log(Histogram.#STEP)));
    this.#buckets[i]! += 1;
    this.#count++;
    this.#sum += ms;
    if (ms > this.#max) this.#max = ms;
  }
  get count(): number {
    return this.#count;
  }
  quantile(q: number): number {
    if (this.#count === 0) return 0;
    const want = q * this.#count;
    let seen = 0;
    for (let i = 0; i < this.#buckets.length; i++) {
      seen += this.#buckets[i]!;
      if (seen >= want) return Math.min(this.#max, Histogram.#BASE_MS * Histogram.#STEP ** i);
    }
    return this.#max;
  }
  toJSON(): { count: number; meanMs: number; p50Ms: number; p99Ms: number; p999Ms: number; maxMs: number } {
    const r = (n: number): number => Number(n.toFixed(n < 10 ? 2 : 0));
    return {
      count: this.#count,
      meanMs: r(this.#count ? this.#sum / this.#count : 0),
      p50Ms: r(this.quantile(0.5)),
      p99Ms: r(this.quantile(0.99)),
      p999Ms: r(this.quantile(0.999)),
      maxMs: r(this.#max),
    };
  }
}

/**
 * Drains an array that a child-process helper keeps appending log lines to (`BerthProcess.logs`),
 * so it never grows for long: lines are counted by level and message, unhandled ones counted and
 * sampled, and inspector URLs remembered.
 */
export class LogWatch {
  readonly levels = new BoundedCounter(16);
  readonly messages = new BoundedCounter(48);
  readonly unhandledSamples: string[] = [];
  readonly inspectorUrls = new Set<string>();
  lines = 0;
  unhandled = 0;
  readonly #source: string[];
  readonly #isUnhandled: (line: string) => boolean;
  readonly #timer: NodeJS.Timeout;
  constructor(source: string[], isUnhandled: (line: string) => boolean, everyMs = 500) {
    this.#source = source;
    this.#isUnhandled = isUnhandled;
    this.#timer = setInterval(() => this.drain(), everyMs);
    this.#timer.unref();
  }
  drain(): void {
    if (this.#source.length === 0) return;
    for (const line of this.#source.splice(0)) {
      this.lines++;
      const url = /Debugger listening on (ws:\/\/127\.0\.0\.1:\d+\/[\w-]+)/.exec(line)?.[1];
      if (url) this.inspectorUrls.add(url);
      let level = 'text';
      let msg = line;
      try {
        const j = JSON.parse(line) as { level?: number; msg?: string };
        if (typeof j.level === 'number') level = String(j.level);
        if (typeof j.msg === 'string') msg = j.msg;
      } catch {
        /* plain text */
      }
      this.levels.add(level);
      this.messages.add(`[${level}] ${msg.replace(/\d+/g, 'N')}`);
      if (this.#isUnhandled(line)) {
        this.unhandled++;
        if (this.unhandledSamples.length < 20) this.unhandledSamples.push(line.slice(0, 2000));
      }
    }
  }
  stop(): void {
    this.drain();
    clearInterval(this.#timer);
  }
}

/** One process's reading. */
export interface ProcReading {
  readonly pid: number;
  /** Proportional set size: shared pages split among the processes mapping them (sums without double counting). */
  readonly pssKb: number;
  readonly rssKb: number;
  readonly anonKb: number;
  readonly fileKb: number;
  readonly fds: number;
}

/** Direct children of `pid` (berth's data-plane worker processes; worker threads live inside `pid`). */
export function childPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** PSS, RSS (total, anonymous, file-backed) and open descriptors of one process; undefined once it exited. */
export function readProc(pid: number): ProcReading | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (field: string): number => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
    const pss = Number(/^Pss:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))?.[1] ?? 0);
    return {
      pid,
      pssKb: pss,
      rssKb: kb('VmRSS'),
      anonKb: kb('RssAnon'),
      fileKb: kb('RssFile') + kb('RssShmem'),
      fds: readdirSync(`/proc/${pid}/fd`).length,
    };
  } catch {
    return undefined;
  }
}

/** A reading of berth's primary and every worker, labelled `primary`, `worker1`, … by pid order. */
export interface TreeReading {
  readonly at: number;
  readonly procs: Record<string, ProcReading>;
  /** Summed PSS: the memory the tree holds, shared pages counted once. */
  readonly pssKb: number;
  /** Summed RSS: counts pages shared between the primary and its workers in each of them. */
  readonly rssKb: number;
  readonly fds: number;
}

export function readTree(primary: number): TreeReading {
  const procs: Record<string, ProcReading> = {};
  const p = readProc(primary);
  if (p) procs.primary = p;
  childPids(primary)
    .sort((a, b) => a - b)
    .forEach((c, i) => {
      const r = readProc(c);
      if (r) procs[`worker${i + 1}`] = r;
    });
  let pssKb = 0;
  let rssKb = 0;
  let fds = 0;
  for (const r of Object.values(procs)) {
    pssKb += r.pssKb;
    rssKb += r.rssKb;
    fds += r.fds;
  }
  return { at: Date.now(), procs, pssKb, rssKb, fds };
}

/** Open descriptors of a process grouped by kind (socket, pipe, anon inode, file). */
export function fdKinds(pid: number): Record<string, number> {
  const kinds: Record<string, number> = {};
  try {
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      let target = '?';
      try {
        target = readlinkSync(`/proc/${pid}/fd/${fd}`)
          .replace(/\[\d+\]|\d+$/g, '')
          .replace(/^\/tmp\/.*/, '/tmp/…');
      } catch {
        /* gone */
      }
      kinds[target] = (kinds[target] ?? 0) + 1;
    }
  } catch {
    /* exited */
  }
  return kinds;
}

/** Sends one inspector command over the DevTools WebSocket at `url`; resolves with its result (undefined on failure). */
export function inspectorCall(
  url: string,
  method: string,
  params: Record<string, unknown> = {},
  timeoutMs = 60_000,
): Promise<unknown> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url);
    const timer = setTimeout(() => {
      ws.close();
      resolve(undefined);
    }, timeoutMs);
    ws.onopen = () => ws.send(JSON.stringify({ id: 1, method, params }));
    ws.onmessage = (m) => {
      const msg = JSON.parse(String(m.data)) as { id?: number; result?: unknown };
      if (msg.id === 1) {
        clearTimeout(timer);
        ws.close();
        resolve(msg.result);
      }
    };
    ws.onerror = () => {
      clearTimeout(timer);
      resolve(undefined);
    };
  });
}

/** `process.memoryUsage()` and V8 heap space sizes (MB) and the pid of the process behind an inspector URL. */
export async function inspectorMemory(url: string): Promise<Record<string, number> | undefined> {
  const expression = `(() => {
    const mb = (v) => Math.round(v / 1048576);
    const out = { pid: process.pid };
    for (const [k, v] of Object.entries(process.memoryUsage())) out[k] = mb(v);
    for (const s of process.getBuiltinModule('v8').getHeapSpaceStatistics()) out[s.space_name] = mb(s.space_size);
    return JSON.stringify(out);
  })()`;
  const r = (await inspectorCall(url, 'Runtime.evaluate', { expression, returnByValue: true })) as
    | { result?: { value?: string } }
    | undefined;
  try {
    return r?.result?.value ? JSON.parse(r.result.value) : undefined;
  } catch {
    return undefined;
  }
}
