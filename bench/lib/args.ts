import { ALL_TARGETS, type TargetName } from './targets.ts';
import { SCENARIOS } from './scenarios.ts';
import type { Generator } from './load.ts';

const GENERATORS: readonly Generator[] = ['autocannon', 'wrk', 'node-tls', 'openssl-s_time', 'node-ws'];
/** Measurements that are not load scenarios but can be picked with --only like one. */
export const PHASES = ['idle-connections', 'access-log'] as const;

/** Parsed command line of bench/run.ts. */
export interface BenchArgs {
  readonly mode: 'quick' | 'full';
  /** Measurement length per row (ms). */
  readonly durationMs: number;
  /** Rounds per row, round-robin over the targets; the median is reported. */
  readonly rounds: number;
  /** Warm-up per target and scenario before the first measured row (ms). */
  readonly warmupMs: number;
  readonly scenarios: readonly string[];
  readonly targets: readonly TargetName[];
  /** Where the JSON goes (default bench/results/latest.json). */
  readonly jsonPath: string | undefined;
  readonly writeReadme: boolean;
  readonly install: boolean;
  readonly profile: boolean;
  /** Run bench/l4.ts and bench/discovery-latency.ts as subprocesses. */
  readonly extras: boolean;
  /** Generators allowed (default: every one the scenario names). */
  readonly generators: readonly Generator[] | undefined;
  /** Serve the HTTP bodies from the Node upstream even when nginx is installed. */
  readonly nodeUpstream: boolean;
  /** Idle keep-alive connections held against each target for the memory-per-connection row. */
  readonly idleConnections: number;
}

export const USAGE = `usage: node bench/run.ts [--quick|--full] [--only s1,s2] [--targets t1,t2] [--generators g1,g2] [--duration ms] [--rounds n]
                          [--json out.json] [--write-readme] [--profile|--no-profile]
                          [--extras|--no-extras] [--no-install] [--node-upstream] [--idle-connections n]
scenarios: ${[...SCENARIOS.map((s) => s.id), ...PHASES].join(', ')}, memory (always collected)
           (access-log runs bench/access-log.ts; by default only with --full)
targets:   ${ALL_TARGETS.join(', ')}
generators: ${GENERATORS.join(', ')}`;

/** Parses argv; throws with a message naming the bad flag. */
export function parseArgs(argv: readonly string[]): BenchArgs {
  let mode: 'quick' | 'full' = 'quick';
  let durationMs: number | undefined;
  let scenarios: string[] = [...SCENARIOS.map((s) => s.id), ...PHASES];
  let only = false;
  let idleConnections = 10_000;
  let targets: TargetName[] = [...ALL_TARGETS];
  let jsonPath: string | undefined;
  let writeReadme = false;
  let install = true;
  let profile: boolean | undefined;
  let extras: boolean | undefined;
  let nodeUpstream = false;
  let rounds: number | undefined;
  let generators: Generator[] | undefined;
  const list = (v: string | undefined, flag: string): string[] => {
    if (!v) throw new Error(`${flag} needs a value`);
    return v
      .split(',')
      .map((x) => x.trim())
      .filter(Boolean);
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    switch (a) {
      case '--quick':
        mode = 'quick';
        break;
      case '--full':
        mode = 'full';
        break;
      case '--only': {
        only = true;
        scenarios = list(argv[++i], a).filter((s) => s !== 'rss' && s !== 'memory');
        const bad = scenarios.filter(
          (s) => !SCENARIOS.some((x) => x.id === s) && !(PHASES as readonly string[]).includes(s),
        );
        if (bad.length) throw new Error(`unknown scenario: ${bad.join(', ')}`);
        break;
      }
      case '--targets': {
        const t = list(argv[++i], a);
        const bad = t.filter((x) => !(ALL_TARGETS as readonly string[]).includes(x));
        if (bad.length) throw new Error(`unknown target: ${bad.join(', ')}`);
        targets = ALL_TARGETS.filter((x) => t.includes(x));
        break;
      }
      case '--duration': {
        durationMs = Number(argv[++i]);
        if (!Number.isFinite(durationMs) || durationMs <= 0) throw new Error('--duration needs milliseconds > 0');
        break;
      }
      case '--generators': {
        const g = list(argv[++i], a);
        const bad = g.filter((x) => !(GENERATORS as readonly string[]).includes(x));
        if (bad.length) throw new Error(`unknown generator: ${bad.join(', ')}`);
        generators = GENERATORS.filter((x) => g.includes(x));
        break;
      }
      case '--rounds': {
        rounds = Number(argv[++i]);
        if (!Number.isInteger(rounds) || rounds < 1) throw new Error('--rounds needs an integer ≥ 1');
        break;
      }
      case '--idle-connections': {
        idleConnections = Number(argv[++i]);
        if (!Number.isInteger(idleConnections) || idleConnections < 1)
          throw new Error('--idle-connections needs an integer ≥ 1');
        break;
      }
      case '--json':
        jsonPath = argv[++i];
        if (!jsonPath) throw new Error('--json needs a path');
        break;
      case '--write-readme':
        writeReadme = true;
        break;
      case '--no-install':
        install = false;
        break;
      case '--profile':
        profile = true;
        break;
      case '--no-profile':
        profile = false;
        break;
      case '--extras':
        extras = true;
        break;
      case '--no-extras':
        extras = false;
        break;
      case '--node-upstream':
        nodeUpstream = true;
        break;
      case '-h':
      case '--help':
        throw new Error(USAGE);
      default:
        throw new Error(`unknown flag ${a}\n${USAGE}`);
    }
  }
  const d = durationMs ?? 1000;
  // The access-log measurement takes minutes: part of --full, or when asked for by name.
  if (!only && mode !== 'full') scenarios = scenarios.filter((s) => s !== 'access-log');
  return {
    mode,
    durationMs: d,
    rounds: rounds ?? (mode === 'full' ? 3 : 1),
    warmupMs: mode === 'full' ? 1000 : Math.min(500, d),
    scenarios,
    targets,
    jsonPath,
    writeReadme,
    install,
    profile: profile ?? mode === 'full',
    extras: extras ?? mode === 'full',
    nodeUpstream,
    generators,
    idleConnections,
  };
}
