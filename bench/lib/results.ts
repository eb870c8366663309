import type { Generator, LoadResult } from './load.ts';
import type { ProfileSummary } from './profile.ts';
import type { TargetName } from './targets.ts';

/** One measured row: a target through one generator in one scenario. */
export interface Row extends LoadResult {
  readonly target: TargetName;
  /** Display label; differs from `target` for the one-router reference row (`berth (1 router)`). */
  readonly label: string;
  readonly routers: number;
  /** Highest RSS of the target's processes during the run (KiB); undefined for direct. */
  readonly rssMaxKb: number | undefined;
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

/** Memory of one target: idle, idle with many routers, highest under load (all in KiB). */
export interface RssRow {
  readonly target: TargetName;
  idleKb: number | undefined;
  manyRoutersIdleKb: number | undefined;
  loadMaxKb: number | undefined;
}

/** One acceptance goal of the issue, as measured in this run. */
export interface Check {
  readonly goal: string;
  readonly measured: string;
  /** undefined when the run could not measure it (peer missing, scenario not run). */
  readonly met: boolean | undefined;
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
    readonly berthWorkers: string;
    readonly generators: readonly Generator[];
  };
  readonly scenarios: ScenarioResult[];
  readonly rss: RssRow[];
  checks: Check[];
  readonly extras: Record<string, ExtraRun>;
  profile?: ProfileSummary & { readonly scenario: string; readonly rps: number };
}
