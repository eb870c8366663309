import { readFileSync } from 'node:fs';

/** A V8 `.cpuprofile` (the fields the summary reads). */
interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

/** One function's share of the profile. */
export interface ProfileEntry {
  readonly fn: string;
  /** Where it lives: file:line, shortened (`src/…`, `node:…`, `node_modules/…`). */
  readonly where: string;
  readonly selfMs: number;
  readonly selfPct: number;
}

/** The summary kept in the results: top functions and time by area. */
export interface ProfileSummary {
  readonly totalMs: number;
  readonly top: readonly ProfileEntry[];
  /** Self time grouped by where the code lives (berth src, Node internals, GC/native, deps). */
  readonly byArea: readonly { area: string; selfMs: number; selfPct: number }[];
}

function shortUrl(url: string): string {
  if (url === '') return '(native)';
  const src = url.indexOf('/src/');
  if (url.startsWith('file://') && src >= 0 && !url.includes('node_modules')) return url.slice(src + 1);
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) return url.slice(nm);
  return url;
}

function areaOf(fn: string, url: string): string {
  if (fn === '(garbage collector)') return 'GC';
  if (fn === '(idle)' || fn === '(program)') return fn;
  if (url === '') return 'native (C++ / syscalls)';
  if (url.startsWith('node:')) {
    const mod = /^node:(?:internal\/)?([a-z_]+)/.exec(url)?.[1] ?? 'other';
    return `node:${mod}`;
  }
  if (url.includes('node_modules')) return 'dependencies';
  return 'berth src';
}

/**
 * Sums self time per function (name + location) and per area; `(idle)` is left out of percentages.
 * With `lastMs`, only samples of the profile's last `lastMs` count, so start-up (module compilation,
 * key generation) does not dilute the picture of the load. `window` instead keeps the samples
 * between two readings of `process.hrtime.bigint()` taken in any process on the machine (V8's
 * sample times and libuv's clock are both CLOCK_MONOTONIC), leaving out the shutdown too.
 */
export function summarizeProfile(
  file: string,
  opts: { topN?: number; lastMs?: number; window?: { fromNs: bigint; toNs: bigint } } = {},
): ProfileSummary {
  const topN = opts.topN ?? 25;
  const p = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  const from = opts.window
    ? Number(opts.window.fromNs / 1000n)
    : opts.lastMs === undefined
      ? -Infinity
      : p.endTime - opts.lastMs * 1000;
  const to = opts.window ? Number(opts.window.toNs / 1000n) : Infinity;
  let ts = p.startTime;
  for (let i = 0; i < p.samples.length; i++) {
    ts += p.timeDeltas[i] ?? 0;
    if (ts < from || ts > to) continue;
    const id = p.samples[i]!;
    selfUs.set(id, (selfUs.get(id) ?? 0) + (p.timeDeltas[i] ?? 0));
  }
  const fns = new Map<string, { fn: string; where: string; us: number }>();
  const areas = new Map<string, number>();
  let total = 0;
  for (const [id, us] of selfUs) {
    const n = byId.get(id);
    if (!n) continue;
    const { functionName, url, lineNumber } = n.callFrame;
    if (functionName === '(idle)') continue;
    total += us;
    const fn = functionName || '(anonymous)';
    const where = url ? `${shortUrl(url)}:${lineNumber + 1}` : shortUrl(url);
    const key = `${fn} ${where}`;
    const e = fns.get(key) ?? { fn, where, us: 0 };
    e.us += us;
    fns.set(key, e);
    const area = areaOf(functionName, url);
    areas.set(area, (areas.get(area) ?? 0) + us);
  }
  const pct = (us: number): number => (total > 0 ? (100 * us) / total : 0);
  return {
    totalMs: total / 1000,
    top: [...fns.values()]
      .sort((a, b) => b.us - a.us)
      .slice(0, topN)
      .map((e) => ({ fn: e.fn, where: e.where, selfMs: e.us / 1000, selfPct: pct(e.us) })),
    byArea: [...areas].sort((a, b) => b[1] - a[1]).map(([area, us]) => ({ area, selfMs: us / 1000, selfPct: pct(us) })),
  };
}
