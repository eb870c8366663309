import { ALL_TARGETS, type TargetName } from './targets.ts';
import type { BenchResults, Check, Row, ScenarioResult } from './results.ts';

const fmtInt = (n: number): string => Math.round(n).toLocaleString('en-US');
const fmtMs = (n: number | undefined): string =>
  n === undefined || !Number.isFinite(n) ? '–' : n < 10 ? n.toFixed(2) : n.toFixed(1);
const fmtMb = (kb: number | undefined): string => (kb === undefined || kb === 0 ? '–' : (kb / 1024).toFixed(0));
const fmtRatio = (r: number | undefined): string => (r === undefined || !Number.isFinite(r) ? '–' : `${r.toFixed(2)}×`);

/** The row of `target` (not the reference row) measured by `generator`. */
export function findRow(
  s: ScenarioResult,
  target: TargetName,
  generator: string,
  label: string = target,
): Row | undefined {
  return s.rows.find((r) => r.target === target && r.label === label && r.generator === generator && !r.failed);
}

/**
 * Marks rows where autocannon measured clearly less than wrk for the same target: the client, not
 * the target, was the limit.
 */
function clientBound(s: ScenarioResult, row: Row): boolean {
  if (row.generator !== 'autocannon') return false;
  const wrk = findRow(s, row.target, 'wrk', row.label);
  return wrk !== undefined && row.rps < 0.8 * wrk.rps;
}

/** Markdown table of one scenario: rates, latencies, memory and ratios against every target. */
export function scenarioTable(s: ScenarioResult): string {
  const cols = ALL_TARGETS.filter((t) => s.rows.some((r) => r.target === t && r.label === t));
  const mib = s.rows.some((r) => r.mibps !== undefined && r.mibps >= 1 && s.id === 'body-1m');
  const head = [
    'target',
    'generator',
    'conns',
    s.unit,
    'p50 ms',
    'p99 ms',
    ...(mib ? ['MiB/s'] : []),
    'PSS MB',
    ...cols.map((c) => `vs ${c}`),
    'note',
  ];
  const lines = [
    `| ${head.join(' | ')} |`,
    `|${head.map((_, i) => (i < 3 ? ' --- ' : ' ---: ')).join('|')}|`.replace(/\| ---: \|$/, '| --- |'),
  ];
  for (const r of s.rows) {
    if (r.failed) {
      lines.push(
        `| ${r.label} | ${r.generator} | ${r.connections} | failed | | | ${mib ? '| ' : ''}| ${cols.map(() => '').join(' | ')} | ${r.failed.split('\n')[0]?.slice(0, 80)} |`,
      );
      continue;
    }
    const ratios = cols.map((c) => {
      const other = findRow(s, c, r.generator);
      return other && other !== r ? fmtRatio(r.rps / other.rps) : other === r ? '1.00×' : '–';
    });
    const notes: string[] = [];
    if (clientBound(s, r)) notes.push('client-bound');
    if (r.roundsRps && r.roundsRps.length > 1) {
      const spread = (Math.max(...r.roundsRps) - Math.min(...r.roundsRps)) / r.rps;
      if (spread > 0.2) notes.push(`rounds ±${Math.round(spread * 50)} %`);
    }
    if (r.non2xx > 0) notes.push(`${r.non2xx} non-2xx`);
    if (r.errors > 0) notes.push(`${r.errors} errors`);
    lines.push(
      `| ${[r.label, r.generator, String(r.connections), fmtInt(r.rps), fmtMs(r.p50Ms), fmtMs(r.p99Ms), ...(mib ? [r.mibps === undefined ? '–' : fmtInt(r.mibps)] : []), fmtMb(r.pssMaxKb), ...ratios, notes.join(', ')].join(' | ')} |`,
    );
  }
  return lines.join('\n');
}

/** The generator whose numbers decide a check: wrk when it measured both sides, else the first. */
function decidingGenerator(s: ScenarioResult, a: TargetName, b: TargetName, bLabel: string = b): string | undefined {
  for (const g of ['wrk', 'autocannon', 'node-tls', 'node-ws']) {
    if (findRow(s, a, g) && findRow(s, b, g, bLabel)) return g;
  }
  return undefined;
}

/** Evaluates the issue's acceptance goals against this run. */
export function computeChecks(res: BenchResults): Check[] {
  const scen = (id: string): ScenarioResult | undefined => res.scenarios.find((s) => s.id === id);
  const checks: Check[] = [];
  const ratioCheck = (id: string, peer: TargetName, min: number, goal: string, peerLabel: string = peer): void => {
    const s = scen(id);
    const g = s && decidingGenerator(s, 'berth', peer, peerLabel);
    if (!s || !g) {
      checks.push({ goal, measured: 'not measured', met: undefined });
      return;
    }
    const b = findRow(s, 'berth', g)!;
    const p = findRow(s, peer, g, peerLabel)!;
    const r = b.rps / p.rps;
    // Rounds go round-robin, so round i of both rows ran back to back: their ratio is one sample.
    const perRound =
      b.roundsRps && p.roundsRps && b.roundsRps.length === p.roundsRps.length && b.roundsRps.length > 1
        ? b.roundsRps.map((x, i) => x / p.roundsRps![i]!)
        : undefined;
    const lo = perRound ? Math.min(...perRound) : r;
    const hi = perRound ? Math.max(...perRound) : r;
    const rounds = perRound ? `; rounds ${lo.toFixed(2)}–${hi.toFixed(2)}×` : '';
    const straddles = min > 0 && lo < min && hi >= min;
    checks.push({
      goal,
      measured: `${r.toFixed(2)}× (${fmtInt(b.rps)} vs ${fmtInt(p.rps)} ${s.unit}, ${g}${rounds})`,
      met: min > 0 ? r >= min : undefined,
      ...(straddles ? { verdict: `${r >= min ? 'yes' : '**no**'} (rounds straddle)` } : {}),
    });
  };
  ratioCheck('http-keepalive', 'nginx-1w', 0.7, 'HTTP keep-alive ≥ 0.7× nginx (1 worker)');
  ratioCheck('http-keepalive', 'caddy', 3, 'HTTP keep-alive ≥ 3× Caddy');
  {
    const s = scen('http-keepalive');
    const g = s && decidingGenerator(s, 'berth', 'nginx-1w');
    const goal = 'HTTP keep-alive p99 ≤ 2× nginx (1 worker) p99';
    if (!s || !g) checks.push({ goal, measured: 'not measured', met: undefined });
    else {
      const b = findRow(s, 'berth', g)!;
      const n = findRow(s, 'nginx-1w', g)!;
      checks.push({
        goal,
        measured: `${fmtMs(b.p99Ms)} ms vs ${fmtMs(n.p99Ms)} ms (${g})`,
        met: b.p99Ms !== undefined && n.p99Ms !== undefined ? b.p99Ms <= 2 * n.p99Ms : undefined,
      });
    }
  }
  ratioCheck('many-connections', 'nginx-1w', 0.6, '500 connections ≥ 0.6× nginx (1 worker)');
  ratioCheck('body-1k', 'nginx-1w', 0.7, '1 KiB body ≥ 0.7× nginx (1 worker)');
  ratioCheck('body-1m', 'nginx-1w', 1.0, '1 MiB body ≥ 1.0× nginx (1 worker)');
  ratioCheck('https-keepalive', 'nginx-1w', 0.6, 'HTTPS keep-alive ≥ 0.6× nginx (1 worker)');
  ratioCheck('tls-handshake', 'caddy', 1.0, 'Full TLS handshakes ≥ 1.0× Caddy');
  ratioCheck('websocket', 'nginx-1w', 0.9, 'WebSocket round trips ≥ 0.9× nginx (1 worker)');
  // No goal: how close berth gets to Node's own ceiling (sockets piped, no HTTP parsing).
  ratioCheck('http-keepalive', 'relay', 0, 'HTTP keep-alive vs the Node byte relay (no goal)');
  ratioCheck('routers-10k', 'berth', 0.95, '10,000 routers within 5 % of 1 router', 'berth (1 router)');
  {
    const berth = res.memory.find((x) => x.target === 'berth');
    const memCheck = (goal: string, kb: number | undefined, maxMb: number): void => {
      checks.push({
        goal,
        measured: kb === undefined ? 'not measured' : `${fmtMb(kb)} MB`,
        met: kb === undefined ? undefined : kb <= maxMb * 1024,
      });
    };
    memCheck('Idle PSS ≤ 90 MB (process tree, 12 s after start)', berth?.idleKb, 90);
    memCheck('PSS ≤ 150 MB with 10,000 routers, 12 s after start', berth?.manyRoutersIdleKb, 150);
    const ready = berth?.manyRoutersReadyMs;
    checks.push({
      goal: 'Last of 10,000 hosts served ≤ 3 s after start',
      measured: ready === undefined ? 'not measured' : `${(ready / 1000).toFixed(1)} s`,
      met: ready === undefined ? undefined : ready <= 3000,
    });
    const perConn = (t: TargetName): number | undefined => {
      const c = res.memory.find((x) => x.target === t)?.idleConnections;
      return c && c.held > 0 ? c.perConnectionKb : undefined;
    };
    const b = perConn('berth');
    const n = perConn('nginx-1w');
    checks.push({
      goal: 'Memory per idle keep-alive connection vs nginx (1 worker), no goal',
      measured:
        b === undefined
          ? 'not measured'
          : `${b.toFixed(1)} KiB${n === undefined ? '' : ` vs ${n.toFixed(1)} KiB (${(b / n).toFixed(1)}×)`}`,
      met: undefined,
    });
  }
  {
    const goal = 'Access log: CPU per request grows ≤ 5 % (95 % interval over runs)';
    const e = res.extras['access-log'];
    const m =
      e &&
      /CPU-bound throughput, % slower per run \(negative: faster\): ([^;]+); mean ([-\d.]+) %, 95 % interval ([-\d.]+) to ([-\d.]+) %/.exec(
        e.output,
      );
    if (!e) checks.push({ goal, measured: 'not measured (--full runs it)', met: undefined });
    else if (!m) checks.push({ goal, measured: 'failed (see access-log below)', met: undefined });
    else {
      const [lo, hi] = [Number(m[3]), Number(m[4])];
      const met = hi <= 5 ? true : lo > 5 ? false : undefined;
      checks.push({
        goal,
        measured: `mean ${m[2]} %, interval ${lo} to ${hi} % (runs: ${m[1]} %)`,
        met,
        ...(met === undefined ? { verdict: 'undecided (interval contains 5 %)' } : {}),
      });
    }
  }
  {
    const goal = 'discovery p95 < 1 s';
    const out = res.extras['discovery']?.output ?? '';
    const m = /p95 ([\d.]+) ms/.exec(out);
    checks.push({
      goal,
      measured: m ? `${m[1]} ms` : res.extras['discovery'] ? 'failed (see extras)' : 'not measured (--full runs it)',
      met: m ? Number(m[1]) < 1000 : undefined,
    });
  }
  return checks;
}

/** The whole report in markdown: meta, checks, one table per scenario, RSS, extras, profile. */
export function renderMarkdown(res: BenchResults): string {
  const m = res.meta;
  const out: string[] = [];
  out.push(
    `Run ${m.date} · mode \`${m.mode}\` · ${m.rounds} round(s) × ${m.durationMs / 1000} s per row (median round shown) · ${m.cpus} × ${m.cpuModel} · Linux ${m.kernel} · Node ${m.node} · berth workers: ${m.berthWorkers}`,
  );
  out.push('');
  out.push(
    `Load average at start ${m.loadAverageAtStart.map((x) => x.toFixed(1)).join(' / ')}${m.loadAverageAtEnd ? `, at end ${m.loadAverageAtEnd.map((x) => x.toFixed(1)).join(' / ')}` : ''} (1/5/15 min): anything above ~0.5 means other work shared the cores and absolute numbers are low; ratios within a round-robin are more robust.`,
  );
  out.push('');
  out.push(
    `Upstream: ${m.upstream}. Peers: ${Object.entries(m.versions)
      .filter(([, v]) => v)
      .map(([k, v]) => `${k} (${v})`)
      .join(', ')}.`,
  );
  out.push('');
  out.push(
    "Ratios: this row's rate ÷ the column target's rate, same scenario and same generator. `client-bound`: autocannon got < 80 % of what wrk got from the same target, so the autocannon number is the client's ceiling, not the target's.",
  );
  out.push('');
  out.push('### Acceptance goals (berth)');
  out.push('');
  out.push('| goal | measured | met |');
  out.push('| --- | --- | --- |');
  for (const c of res.checks)
    out.push(`| ${c.goal} | ${c.measured} | ${c.verdict ?? (c.met === undefined ? '–' : c.met ? 'yes' : '**no**')} |`);
  for (const s of res.scenarios) {
    out.push('', `### ${s.id}: ${s.title}`, '', scenarioTable(s));
  }
  out.push('', '### Memory (PSS summed over the process tree, MB)', '');
  out.push(
    'Idle: 12 s after the process started (at least 1 s after its first answer). Last host served: from the spawn to the first 200 for the last of 10,000 hosts. Per idle connection: PSS growth with that many keep-alive connections open, each after one answered request, divided by their number.',
  );
  out.push('');
  out.push(
    '| target | idle, 1 router | idle, 10,000 routers | last host served | max under load | per idle keep-alive connection |',
  );
  out.push('| --- | ---: | ---: | ---: | ---: | ---: |');
  const order = (t: TargetName): number => ALL_TARGETS.indexOf(t);
  for (const r of [...res.memory].sort((a, b) => order(a.target) - order(b.target))) {
    const c = r.idleConnections;
    const conn =
      c === undefined
        ? '–'
        : c.held === 0
          ? `failed${c.failed ? `: ${c.failed.slice(0, 60)}` : ''}`
          : `${c.perConnectionKb.toFixed(1)} KiB (${fmtInt(c.held)} held: ${fmtMb(c.beforeKb)} → ${fmtMb(c.afterKb)} MB)`;
    const ready = r.manyRoutersReadyMs === undefined ? '–' : `${(r.manyRoutersReadyMs / 1000).toFixed(1)} s`;
    out.push(
      `| ${r.target} | ${fmtMb(r.idleKb)} | ${fmtMb(r.manyRoutersIdleKb)} | ${ready} | ${fmtMb(r.loadMaxKb)} | ${conn} |`,
    );
  }
  for (const [name, e] of Object.entries(res.extras)) {
    out.push('', `### ${name} (\`${e.command}\`)${e.ok ? '' : ' — failed'}`, '', '```', e.output.trim(), '```');
  }
  if (res.profile) {
    const p = res.profile;
    out.push('', `### CPU profile of berth under load (${p.scenario}, ${fmtInt(p.rps)} req/s while profiled)`, '');
    out.push('| area | self ms | share |', '| --- | ---: | ---: |');
    for (const a of p.byArea.slice(0, 12))
      out.push(`| ${a.area} | ${a.selfMs.toFixed(0)} | ${a.selfPct.toFixed(1)} % |`);
    out.push('', '| function | where | self ms | share |', '| --- | --- | ---: | ---: |');
    for (const e of p.top)
      out.push(`| ${e.fn.replace(/\|/g, '\\|')} | ${e.where} | ${e.selfMs.toFixed(0)} | ${e.selfPct.toFixed(1)} % |`);
  }
  return out.join('\n');
}
