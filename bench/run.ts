/**
 * Side-by-side benchmark: berth next to direct, nginx (1 worker and auto), HAProxy and Caddy, all
 * proxying to the same upstream on loopback, every scenario through every target in one run.
 * Prints markdown tables and writes bench/results/latest.json (or --json). See bench/README.md.
 *
 *   node bench/run.ts [--quick|--full] [--only http-keepalive,…] [--targets direct,berth]
 *                     [--json out.json] [--write-readme]
 */
import { execFile } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, release, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs, USAGE, type BenchArgs } from './lib/args.ts';
import { makeBenchCert } from './lib/certs.ts';
import { runAutocannon } from './lib/gen-autocannon.ts';
import { runTlsHandshakes, runSTime } from './lib/gen-tls-handshake.ts';
import { runWebSocket } from './lib/gen-websocket.ts';
import { runWrk } from './lib/gen-wrk.ts';
import type { Generator, LoadResult, LoadSpec } from './lib/load.ts';
import { measureIdleConnections } from './lib/idle-connections.ts';
import { killAll, raiseFileLimit, samplePss } from './lib/proc.ts';
import { summarizeProfile } from './lib/profile.ts';
import { writeResultsIntoReadme } from './lib/readme.ts';
import { computeChecks, renderMarkdown } from './lib/report.ts';
import type { BenchResults, ExtraRun, MemoryRow, Row, ScenarioResult } from './lib/results.ts';
import { SCENARIOS, type Scenario } from './lib/scenarios.ts';
import {
  BASE_HOST,
  routedHost,
  startTarget,
  targetAvailable,
  type RunningTarget,
  type TargetEnv,
  type TargetName,
} from './lib/targets.ts';
import { hasCommand, installMissing, toolVersion } from './lib/tools.ts';
import { startUpstream } from './lib/upstream.ts';

const BENCH_DIR = import.meta.dirname;
const log = (s: string): void => {
  process.stderr.write(`[bench] ${s}\n`);
};

/** Whether a generator's executable is there (the Node ones always are). */
function generatorAvailable(g: Generator): boolean {
  if (g === 'wrk') return hasCommand('wrk');
  if (g === 'openssl-s_time') return hasCommand('openssl');
  return true;
}

function runGenerator(g: Generator, spec: LoadSpec): Promise<LoadResult> {
  switch (g) {
    case 'autocannon':
      return runAutocannon(spec);
    case 'wrk':
      return runWrk(spec);
    case 'node-tls':
      return runTlsHandshakes(spec);
    case 'openssl-s_time':
      return runSTime(spec);
    case 'node-ws':
      return runWebSocket(spec);
  }
}

/** Started targets, keyed by name and router count; started on first use. */
class TargetPool {
  private readonly started = new Map<string, Promise<RunningTarget>>();
  private readonly env: TargetEnv;
  constructor(env: TargetEnv) {
    this.env = env;
  }

  get(name: TargetName, routers: number): Promise<RunningTarget> {
    const key = `${name}:${routers}`;
    let p = this.started.get(key);
    if (!p) {
      log(`starting ${name} with ${routers} router(s)`);
      p = startTarget(name, this.env, routers);
      this.started.set(key, p);
    }
    return p;
  }

  /** Stops the targets with this router count (the big configs are only needed for one scenario). */
  async stopWith(routers: number): Promise<void> {
    for (const [key, p] of this.started) {
      if (!key.endsWith(`:${routers}`)) continue;
      this.started.delete(key);
      await p.then(
        (t) => t.stop(),
        () => undefined,
      );
    }
  }

  async stopAll(): Promise<void> {
    for (const p of this.started.values())
      await p.then(
        (t) => t.stop(),
        () => undefined,
      );
    this.started.clear();
  }
}

/** The (target, label, routers) rows of a scenario, in table order. */
function scenarioTargets(
  s: Scenario,
  targets: readonly TargetName[],
): { target: TargetName; label: string; routers: number }[] {
  const out: { target: TargetName; label: string; routers: number }[] = [];
  for (const t of targets) {
    if (t === 'berth' && s.oneRouterReference) out.push({ target: t, label: 'berth (1 router)', routers: 1 });
    // The upstream and the byte relay have no routes: one instance serves every scenario.
    out.push({ target: t, label: t, routers: t === 'direct' || t === 'relay' ? 1 : s.routers });
  }
  return out;
}

async function runScenario(
  s: Scenario,
  args: BenchArgs,
  pool: TargetPool,
  targets: readonly TargetName[],
): Promise<ScenarioResult> {
  const result: ScenarioResult = { id: s.id, title: s.title, unit: s.unit, rows: [] };
  const generators = s.generators.filter((g) => generatorAvailable(g) && (args.generators?.includes(g) ?? true));
  const warmed = new Set<string>();
  const plan = scenarioTargets(s, targets);
  for (const g of generators) {
    // Rounds go round-robin over the targets, so a burst of other load on the machine hits every
    // target alike instead of one target's whole measurement; the median round is reported.
    const rounds = new Map<string, { ok: Row[]; failed: Row | undefined }>();
    for (let round = 0; round < args.rounds; round++) {
      for (const { target, label, routers } of plan) {
        const slot = rounds.get(label) ?? { ok: [], failed: undefined };
        rounds.set(label, slot);
        let t: RunningTarget;
        try {
          t = await pool.get(target, routers);
        } catch (err) {
          slot.failed ??= failedRow(target, label, routers, g, s, err);
          continue;
        }
        const port = s.tls ? t.httpsPort : s.websocket ? t.wsPort : t.httpPort;
        if (port === undefined) continue;
        const host = label === 'berth (1 router)' ? BASE_HOST : routedHost(t.routers);
        const spec: LoadSpec = {
          port,
          tls: s.tls,
          host,
          path: s.path,
          connections: g === 'openssl-s_time' ? Math.min(4, s.connections) : s.connections,
          durationMs: args.durationMs,
        };
        try {
          if (!warmed.has(label)) {
            warmed.add(label);
            await runGenerator(generators[0]!, { ...spec, durationMs: args.warmupMs });
          }
          const pss = t.pid === undefined ? undefined : samplePss(t.pid);
          const r = await runGenerator(g, spec);
          slot.ok.push({ ...r, target, label, routers: t.routers, pssMaxKb: pss?.stop() });
          log(
            `${s.id} ${label} ${g} #${round + 1}: ${Math.round(r.rps)} ${s.unit}, p99 ${r.p99Ms?.toFixed(2) ?? '–'} ms${r.non2xx ? `, ${r.non2xx} non-2xx` : ''}${r.errors ? `, ${r.errors} errors` : ''}`,
          );
        } catch (err) {
          slot.failed ??= failedRow(target, label, t.routers, g, s, err);
          log(`${s.id} ${label} ${g}: failed: ${(err as Error).message.split('\n')[0]}`);
        }
      }
    }
    for (const { label } of plan) {
      const slot = rounds.get(label);
      if (!slot) continue;
      if (slot.ok.length === 0) {
        if (slot.failed) result.rows.push(slot.failed);
        continue;
      }
      const sorted = [...slot.ok].sort((a, b) => a.rps - b.rps);
      const median = sorted[Math.floor((sorted.length - 1) / 2)]!;
      const pssMaxKb = slot.ok.some((r) => r.pssMaxKb !== undefined)
        ? Math.max(...slot.ok.map((r) => r.pssMaxKb ?? 0))
        : undefined;
      result.rows.push({ ...median, pssMaxKb, roundsRps: slot.ok.map((r) => r.rps) });
    }
  }
  return result;
}

function failedRow(target: TargetName, label: string, routers: number, g: Generator, s: Scenario, err: unknown): Row {
  return {
    target,
    label,
    routers,
    generator: g,
    connections: s.connections,
    durationS: 0,
    rps: 0,
    p50Ms: undefined,
    p99Ms: undefined,
    mibps: undefined,
    errors: 0,
    non2xx: 0,
    pssMaxKb: undefined,
    failed: (err as Error).message,
  };
}

/** Runs an auxiliary bench script (L4, discovery) with a time limit and keeps its stdout. */
function runExtra(
  script: string,
  scriptArgs: readonly string[],
  env: Record<string, string>,
  timeoutMs: number,
): Promise<ExtraRun> {
  const command = `node bench/${script} ${scriptArgs.join(' ')}`.trim();
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [join(BENCH_DIR, script), ...scriptArgs],
      {
        cwd: dirname(BENCH_DIR),
        env: { ...process.env, ...env },
        timeout: timeoutMs,
        killSignal: 'SIGTERM',
        encoding: 'utf8',
      },
      (err, stdout, stderr) =>
        resolve({
          command,
          ok: !err,
          output: err
            ? `${stdout}\n${stderr
                .split('\n')
                .filter((l) => l.replace(/\.+/, ''))
                .slice(-8)
                .join('\n')}\n${err.message.split('\n')[0]}`
            : stdout,
        }),
    );
  });
}

/** berth under wrk (or autocannon) with --cpu-prof; returns the summarised profile. */
async function profileBerth(env: TargetEnv, args: BenchArgs): Promise<NonNullable<BenchResults['profile']>> {
  const profDir = join(env.dir, 'cpu-profile');
  mkdirSync(profDir, { recursive: true });
  const t = await startTarget('berth', { ...env, cpuProfDir: profDir }, 1);
  const spec: LoadSpec = {
    port: t.httpPort,
    tls: false,
    host: BASE_HOST,
    path: '/',
    connections: 50,
    durationMs: Math.max(5000, args.durationMs * args.rounds),
  };
  const g: Generator = hasCommand('wrk') ? 'wrk' : 'autocannon';
  await runGenerator(g, { ...spec, durationMs: args.warmupMs });
  const fromNs = process.hrtime.bigint();
  const r = await runGenerator(g, spec);
  const toNs = process.hrtime.bigint();
  await t.stop();
  const files = readdirSync(profDir).filter((f) => f.endsWith('.cpuprofile'));
  if (files.length === 0) throw new Error('berth wrote no .cpuprofile');
  // Only the measured load counts: not start-up or warm-up, nor the stop after it.
  const window = { fromNs, toNs };
  // Every process (the primary and each data-plane worker) writes one; the busiest one is a worker
  // carrying its share of the load, the others look alike or idle.
  const summaries = files.map((f) => summarizeProfile(join(profDir, f), { window }));
  const busiest = summaries.reduce((a, b) => (b.totalMs > a.totalMs ? b : a));
  return {
    ...busiest,
    scenario: `http-keepalive via ${g}, ${spec.connections} connections, the busiest of ${files.length} berth processes`,
    rps: r.rps,
  };
}

async function main(): Promise<void> {
  let args: BenchArgs;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    process.exitCode = (err as Error).message === USAGE ? 0 : 2;
    return;
  }
  // 10,000 idle connections need as many descriptors in this process and in each target (which inherit the limit).
  const fileLimit = raiseFileLimit(65_536);
  if (fileLimit < args.idleConnections + 1000)
    log(`descriptor limit ${fileLimit}: fewer than ${args.idleConnections} idle connections may be held`);
  const peersWanted = args.targets.filter((t) => t !== 'direct' && t !== 'berth');
  const tools = [...new Set(['openssl', 'wrk', ...peersWanted.map((t) => (t.startsWith('nginx') ? 'nginx' : t))])];
  installMissing(tools, args.install, log);
  const targets = args.targets.filter((t) => {
    if (targetAvailable(t)) return true;
    log(`${t}: not installed, left out`);
    return false;
  });
  const dir = mkdtempSync(join(tmpdir(), 'berth-bench-'));
  chmodSync(dir, 0o755); // nginx workers run as nobody and read the 1 MiB body from here
  const cleanup = (): void => {
    killAll();
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('SIGINT', () => {
    cleanup();
    process.exit(130);
  });
  process.once('SIGTERM', () => {
    cleanup();
    process.exit(143);
  });

  const cert = makeBenchCert(dir);
  const upstream = await startUpstream(dir, cert, args.nodeUpstream);
  const env: TargetEnv = { dir, cert, upstream };
  const pool = new TargetPool(env);
  const results: BenchResults = {
    meta: {
      date: new Date().toISOString(),
      mode: args.mode,
      durationMs: args.durationMs,
      rounds: args.rounds,
      loadAverageAtStart: loadavg(),
      node: process.version,
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model ?? 'unknown',
      kernel: release(),
      upstream:
        upstream.kind === 'nginx'
          ? 'nginx, 1 worker (small body from memory, 1 KiB / 1 MiB from the page cache); WebSocket echo in Node'
          : 'Node http server (nginx not installed), WebSocket echo in the same process',
      versions: {
        nginx:
          targets.some((t) => t.startsWith('nginx')) || upstream.kind === 'nginx'
            ? toolVersion('nginx -v')?.replace(/^nginx version: /, '')
            : undefined,
        haproxy: targets.includes('haproxy')
          ? toolVersion('haproxy -v')?.replace(/^HAProxy version (\S+).*/, '$1')
          : undefined,
        caddy: targets.includes('caddy') ? toolVersion('caddy version')?.split(' ')[0] : undefined,
        wrk: hasCommand('wrk') ? toolVersion('wrk -v')?.replace(/^wrk (\S+).*/, '$1') : undefined,
        autocannon: '9',
        openssl: toolVersion('openssl version')?.split(' ')[1],
      },
      berthWorkers: `auto (${availableParallelism()} cores)`,
      generators: [...new Set(SCENARIOS.flatMap((s) => s.generators))].filter(generatorAvailable),
    },
    scenarios: [],
    memory: [],
    checks: [],
    extras: {},
  };
  try {
    for (const s of SCENARIOS) {
      if (!args.scenarios.includes(s.id)) continue;
      log(`scenario ${s.id}`);
      results.scenarios.push(await runScenario(s, args, pool, targets));
      if (s.routers > 1) {
        for (const t of targets) {
          if (t === 'direct' || t === 'relay') continue;
          const running = await pool.get(t, s.routers).catch(() => undefined);
          const row = memoryRow(results.memory, t);
          row.manyRoutersIdleKb = running?.idlePssKb;
          row.manyRoutersReadyMs = running?.readyMs;
        }
        await pool.stopWith(s.routers);
      }
    }
    if (args.scenarios.includes('idle-connections')) {
      // The relay opens an upstream connection per client connection: not comparable, left out.
      for (const t of targets) {
        if (t === 'direct' || t === 'relay') continue;
        const running = await pool.get(t, 1).catch((err: unknown) => {
          log(`idle-connections ${t}: ${(err as Error).message.split('\n')[0]}`);
          return undefined;
        });
        if (running?.pid === undefined) continue;
        log(`idle-connections ${t}: opening ${args.idleConnections}`);
        const r = await measureIdleConnections(running.pid, running.httpPort, BASE_HOST, args.idleConnections).catch(
          (err: unknown) => ({
            wanted: args.idleConnections,
            held: 0,
            beforeKb: 0,
            afterKb: 0,
            perConnectionKb: 0,
            failed: (err as Error).message,
          }),
        );
        log(
          `idle-connections ${t}: ${r.held} held, ${r.perConnectionKb.toFixed(1)} KiB each${r.failed ? ` (${r.failed})` : ''}`,
        );
        memoryRow(results.memory, t).idleConnections = r;
      }
    }
    // Idle PSS of the one-router instances (started by the first scenario that used them).
    for (const t of targets) {
      if (t === 'direct') continue;
      const running = await pool.get(t, 1).catch(() => undefined);
      const row = memoryRow(results.memory, t);
      row.idleKb = running?.idlePssKb;
      if (t === 'berth' && running) {
        results.meta.berthWorkers = `auto (${availableParallelism()} cores; ${running.processes} process(es) in its tree: the primary and its data-plane worker processes; worker threads run inside them)`;
      }
      const loads = results.scenarios
        .flatMap((s) => s.rows)
        .filter((r) => r.target === t && r.routers === 1 && r.pssMaxKb !== undefined);
      row.loadMaxKb = loads.length ? Math.max(...loads.map((r) => r.pssMaxKb!)) : undefined;
    }
    await pool.stopAll();
    if (args.scenarios.includes('access-log') && targets.includes('berth')) {
      // bench/access-log.ts's own method (one berth process, a logged and an unlogged entrypoint,
      // pinned, several runs with fresh processes): the issue's number is its CPU-bound slowdown.
      log('access-log: bench/access-log.ts');
      results.extras['access-log'] = await runExtra(
        'access-log.ts',
        ['--same-process', '--pin', '--runs', '5', '--pairs', '6'],
        {},
        600_000,
      );
    }
    if (args.extras) {
      log('extras: bench/l4.ts');
      results.extras['l4'] = await runExtra('l4.ts', [], { L4_TCP_MIB: '256', L4_UDP_PACKETS: '50000' }, 120_000);
      if (hasCommand('dockerd')) {
        log('extras: bench/discovery-latency.ts');
        results.extras['discovery'] = await runExtra('discovery-latency.ts', ['20'], {}, 180_000);
      }
    }
    if (args.profile && targets.includes('berth')) {
      log('profiling berth under load');
      try {
        results.profile = await profileBerth(env, args);
      } catch (err) {
        log(`profile failed: ${(err as Error).message}`);
      }
    }
  } finally {
    await pool.stopAll();
    await upstream.stop();
    cleanup();
  }
  results.meta.loadAverageAtEnd = loadavg();
  results.checks = computeChecks(results);
  const markdown = renderMarkdown(results);
  process.stdout.write(`${markdown}\n`);
  const jsonPath = args.jsonPath ?? join(BENCH_DIR, 'results', 'latest.json');
  mkdirSync(dirname(jsonPath), { recursive: true });
  writeFileSync(jsonPath, `${JSON.stringify(results, null, 2)}\n`);
  log(`results: ${jsonPath}`);
  if (args.writeReadme) {
    const readme = join(BENCH_DIR, 'README.md');
    if (writeResultsIntoReadme(readme, markdown)) log(`table written into ${readme}`);
    else log(`${readme} has no bench:results markers; not written`);
  }
}

/** Finds or adds the memory row of a target. */
function memoryRow(rows: MemoryRow[], target: TargetName): MemoryRow {
  let r = rows.find((x) => x.target === target);
  if (!r) {
    r = {
      target,
      idleKb: undefined,
      manyRoutersIdleKb: undefined,
      manyRoutersReadyMs: undefined,
      loadMaxKb: undefined,
      idleConnections: undefined,
    };
    rows.push(r);
  }
  return r;
}

await main();
