import type { Generator, LoadResult } from './load.ts';
import type { ProfileSummary } from './profile.ts';
import type { TargetName } from './targets.ts';

/** One measured row: a target through one generator in one scenario. */
export interface Row extends LoadResult {
  readonly target: TargetName;
  /** Display label; differs from `target` for the one-router reference row (`berth (1 router)`). */
  readonly label: string;
  readonly routers: number;
  /** Highest PSS summed over the target's process tree during the run (KiB); undefined for direct. */
  readonly pssMaxKb: number | undefined;
  /** Rate of every round; the row's numbers are those of the median round. */
  readonly roundsRps?: readonly number[];
  /** Set when the run failed; the numbers are then zero. */
  readonly failed?: string;
}

export interface ScenarioResult {
  readonly id: string;
  readonly title: string;
  readonly unit: string;
  readonly rows: Row[];
}

/**
 * Memory of one target, as PSS summed over its process tree (KiB): idle with one router, idle with
 * many routers (both 12 s after start), highest under load; how long the many-router instance took
 * from start to serving its last host; what each idle keep-alive connection adds.
 */
export interface MemoryRow {
  readonly target: TargetName;
  idleKb: number | undefined;
  manyRoutersIdleKb: number | undefined;
  /** Start of the process to the first 200 for the last of the many hosts (ms). */
  manyRoutersReadyMs: number | undefined;
  loadMaxKb: number | undefined;
  idleConnections: IdleConnectionsResult | undefined;
}

/** Idle keep-alive connections held open against a target, each after one answered request. */
export interface IdleConnectionsResult {
  /** Connections asked for and connections that got their answer and stayed open. */
  readonly wanted: number;
  readonly held: number;
  readonly beforeKb: number;
  readonly afterKb: number;
  /** (after − before) ÷ held, in KiB. */
  readonly perConnectionKb: number;
  /** Set when opening them failed outright. */
  readonly failed?: string;
}

/** One acceptance goal of the issue, as measured in this run. */
export interface Check {
  readonly goal: string;
  readonly measured: string;
  /** undefined when the run could not measure it (peer missing, scenario not run). */
  readonly met: boolean | undefined;
  /** Shown instead of yes/no when the rounds (or runs) fall on both sides of the goal. */
  readonly verdict?: string;
}

/** Output of an auxiliary bench script run as a subprocess. */
export interface ExtraRun {
  readonly command: string;
  readonly ok: boolean;
  readonly output: string;
}

/** Everything one `npm run bench` measured; written to bench/results/latest.json. */
export interface BenchResults {
  readonly meta: {
    readonly date: string;
    readonly mode: string;
    /** Length of one round (ms). */
    readonly durationMs: number;
    readonly rounds: number;
    /** 1/5/15-minute load averages: other work on the machine skews absolute numbers. */
    readonly loadAverageAtStart: readonly number[];
    loadAverageAtEnd?: readonly number[];
    readonly node: string;
    readonly cpus: number;
    readonly cpuModel: string;
    readonly kernel: string;
    readonly upstream: string;
    readonly versions: Record<string, string | undefined>;
    /** As configured, and the processes seen in berth's tree once it ran. */
    berthWorkers: string;
    readonly generators: readonly Generator[];
  };
  readonly scenarios: ScenarioResult[];
  readonly memory: MemoryRow[];
  checks: Check[];
  readonly extras: Record<string, ExtraRun>;
  profile?: ProfileSummary & { readonly scenario: string; readonly rps: number };
}
