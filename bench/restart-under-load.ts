/**
 * Zero-downtime restarts under constant load: autocannon drives ≥ 1,000 req/s through berth for
 * 30 s while berth is restarted three times — once as systemd does it with socket activation (the
 * service stops, the socket stays open, a new process adopts it) and twice through the SIGUSR2
 * hand-over (the new process adopts the listening sockets while the old one drains). Not a single
 * request may fail and not a single connection may see an error.
 *
 * Three runs: one berth process (`workers: 1`); the default with workers (`workers: 2`), where the
 * workers share systemd's socket; and workers started without systemd, where each worker accepts on
 * its own SO_REUSEPORT socket that the primary holds and hands over (three hand-overs).
 *
 * A load check, not part of `npm test` (it needs a quiet machine to reach its request rate; about
 * two minutes):
 *   node --test bench/restart-under-load.ts
 *   node --test --test-name-pattern='workers: 1' bench/restart-under-load.ts    # one run
 * RESTART_BENCH_LOG=<file> writes berth's logs of each run there (suffixed by the run).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { freePort, waitUntil } from '../test/helpers/net.ts';
import { needTools } from '../test/helpers/tools.ts';
import { startUpstream, type Upstream } from '../test/helpers/upstreams.ts';
import {
  alive,
  MAIN,
  NODE,
  ROOT,
  startActivated,
  waitForApi,
  waitGone,
  writeOpsConfig,
  type ActivatedBerth,
} from '../test/ops/fixtures.ts';

interface LoadResult {
  requests: { total: number };
  latency: { p99: number; max: number };
  errors: number;
  timeouts: number;
  non2xx: number;
  '2xx': number;
}
interface Tracker {
  once(ev: 'done', f: (r: LoadResult) => void): void;
  once(ev: 'error', f: (e: Error) => void): void;
  on(ev: 'reqError', f: (e: NodeJS.ErrnoException) => void): void;
  on(ev: 'response', f: (client: unknown, status: number, bytes: number, ms: number) => void): void;
}
type Autocannon = (opts: Record<string, unknown>) => Tracker;
const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;

const DURATION_S = 30;
const RATE = 1500;

/** A berth under test: its logs, the pid serving now, and the restart it goes through first. */
interface Target {
  readonly logs: string[];
  current(): number | undefined;
  stop(): Promise<void>;
}

/** Starts berth directly (no systemd): its stdout, and that of every successor it starts, is collected. */
async function startDirect(configPath: string, apiPort: number): Promise<Target & { readonly child: ChildProcess }> {
  const child = spawn(NODE, [MAIN, 'run', '-c', configPath], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  const logs: string[] = [];
  const collect = (buf: Buffer): void => {
    for (const l of buf.toString().split('\n')) if (l) logs.push(l);
  };
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);
  await waitForApi(apiPort);
  return {
    child,
    logs,
    current: () => child.pid,
    stop: async () => {
      try {
        child.kill('SIGTERM');
      } catch {
        /* gone */
      }
      await waitGone(child.pid!);
    },
  };
}

const scenarios = [
  { name: 'workers: 1, socket activation restart and two hand-overs', workers: 1, activated: true },
  { name: 'workers: 2, socket activation restart and two hand-overs', workers: 2, activated: true },
  {
    name: 'workers: 2 without systemd (one SO_REUSEPORT socket per worker), three hand-overs',
    workers: 2,
    activated: false,
  },
] as const;

describe('restarts under load', () => {
  let upstream: Upstream;
  before(async () => {
    upstream = await startUpstream((_req, res) => {
      res.end('ok');
    });
  });
  after(async () => {
    await upstream.close();
  });

  for (const sc of scenarios) {
    test(`${DURATION_S} s at ${RATE} req/s, ${sc.name}: zero failures`, async (t) => {
      if (sc.activated && !needTools(t, 'systemd-socket-activate')) return;
      const port = await freePort();
      const cfg = await writeOpsConfig({ entrypoints: { web: { port, upstream: upstream.url } }, workers: sc.workers });
      const handedOver: number[] = [];
      let target: Target | undefined;
      t.after(async () => {
        await target?.stop();
        for (const pid of handedOver) {
          try {
            process.kill(pid, 'SIGTERM');
          } catch {
            /* gone */
          }
        }
        await Promise.all(handedOver.map((p) => waitGone(p)));
        rmSync(cfg.dir, { recursive: true, force: true });
      });
      const sa: ActivatedBerth | undefined = sc.activated
        ? await startActivated({
            sockets: { web: port },
            configPath: cfg.configPath,
            dir: cfg.dir,
            apiPort: cfg.apiPort,
          })
        : undefined;
      target = sa ?? (await startDirect(cfg.configPath, cfg.apiPort));
      const logs = target.logs;

      const load = autocannon({
        url: `http://127.0.0.1:${port}/`,
        connections: 16,
        duration: DURATION_S,
        overallRate: RATE,
        timeout: 30,
        headers: { host: 'ops.test' },
      });
      const resultP = new Promise<LoadResult>((resolve, reject) => {
        load.once('done', resolve);
        load.once('error', reject);
      });
      // A timeline of what went wrong, to tell which restart caused it.
      const t0 = Date.now();
      const at = (): string => `${((Date.now() - t0) / 1000).toFixed(2)} s`;
      const timeline: string[] = [];
      load.on('reqError', (e) => {
        timeline.push(`${at()} error ${e.code ?? e.message}`);
      });
      load.on('response', (_c, status, _b, ms) => {
        if (ms > 500 || status >= 300) timeline.push(`${at()} ${status} after ${Math.round(ms)} ms`);
      });
      const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
      const steps: string[] = [];
      const handOver = async (pid: number): Promise<number> => {
        timeline.push(`${at()} SIGUSR2 to ${pid}`);
        const seen = logs.length;
        process.kill(pid, 'SIGUSR2');
        let next = 0;
        await waitUntil(
          () => {
            for (const l of logs.slice(seen)) {
              const m = /berth handed over to pid (\d+)/.exec(l);
              if (m) next = Number(m[1]);
            }
            return next > 0;
          },
          `pid ${pid} to hand over`,
          30_000,
          20,
        );
        handedOver.push(next);
        await waitUntil(() => !alive(pid), `pid ${pid} to drain and exit`, 20_000, 20);
        steps.push('hand-over');
        timeline.push(`${at()} hand-over to ${next} done`);
        return next;
      };

      await sleep(5_000);
      let last: number;
      if (sa) {
        // 1. systemctl restart with socket activation: the socket stays open, connections queue.
        const first = sa.current()!;
        timeline.push(`${at()} SIGTERM to the socket-activated berth`);
        process.kill(first, 'SIGTERM');
        await waitUntil(() => !alive(first), 'the first berth to drain and exit', 20_000, 20);
        await waitUntil(
          () => {
            const c = sa.current();
            return c !== undefined && c !== first;
          },
          'the restarted berth',
          20_000,
          20,
        );
        await waitForApi(cfg.apiPort);
        steps.push('socket activation restart');
        timeline.push(`${at()} socket activation restart done`);
        await sleep(3_000);
        // The loop ends when the berth it started exits after handing over.
        sa.leaveLoop();
        last = sa.current()!;
      } else {
        last = await handOver(target.current()!);
        await sleep(3_000);
      }
      // 2. and 3. Hand-overs, the second from a process that was itself handed the sockets.
      last = await handOver(last);
      await sleep(3_000);
      last = await handOver(last);

      const result = await resultP;
      if (process.env.RESTART_BENCH_LOG)
        writeFileSync(
          `${process.env.RESTART_BENCH_LOG}.${sc.workers}${sc.activated ? '-activated' : ''}`,
          `t0 ${t0}\n${logs.join('\n')}\n`,
        );
      const rate = Math.round(result.requests.total / DURATION_S);
      t.diagnostic(
        `${steps.join(', ')}; ${result.requests.total} requests (${rate} req/s), errors ${result.errors}, timeouts ${result.timeouts}, non-2xx ${result.non2xx}, p99 ${result.latency.p99} ms, max ${result.latency.max} ms`,
      );
      if (timeline.length > 0) t.diagnostic(`timeline:\n${compact(timeline).join('\n')}`);
      assert.ok(alive(last), 'the last berth serves');
      assert.equal(result.errors, 0, 'connection errors');
      assert.equal(result.timeouts, 0, 'timeouts');
      assert.equal(result.non2xx, 0, 'failed requests');
      assert.equal(result['2xx'], result.requests.total);
      // The offered load is RATE (≥ 1,000 req/s); what a shared machine achieves is reported, not asserted.
      if (rate < 1000)
        t.diagnostic(
          `achieved ${rate} req/s, below the offered ${RATE}: the machine is busy (the restart gaps count too)`,
        );
      const all = logs.join('\n');
      if (sa) assert.match(all, /adopting 1 inherited listening socket\(s\) from systemd/);
      assert.match(all, /adopting 1 inherited listening socket\(s\) from the previous process/);
    });
  }
});

/** Folds repeated timeline lines into one with a count (the latency lines of one stall look alike). */
function compact(lines: readonly string[]): string[] {
  const out: string[] = [];
  let last = '';
  let n = 0;
  for (const l of lines) {
    const key = l.replace(/^[\d.]+ s /, '').replace(/after \d+ ms/, 'after … ms');
    if (key === last) {
      n++;
      continue;
    }
    if (n > 1) out.push(`  … ×${n}`);
    out.push(l);
    last = key;
    n = 1;
  }
  if (n > 1) out.push(`  … ×${n}`);
  return out;
}
