import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseWrk } from '../../bench/lib/gen-wrk.ts';
import { parseArgs } from '../../bench/lib/args.ts';
import { computeChecks, scenarioTable } from '../../bench/lib/report.ts';
import type { BenchResults, ScenarioResult } from '../../bench/lib/results.ts';

const ROOT = resolve(import.meta.dirname, '../..');

test('bench harness: one tiny scenario, berth vs direct, produces a table and JSON', { timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bench-smoke-'));
  const json = join(dir, 'out.json');
  try {
    const { stdout } = await new Promise<{ stdout: string; stderr: string }>((res, rej) => {
      execFile(
        process.execPath,
        [
          join(ROOT, 'bench/run.ts'),
          '--quick',
          '--only',
          'http-keepalive',
          '--targets',
          'direct,berth',
          '--generators',
          'autocannon',
          '--duration',
          '1000',
          '--no-install',
          '--no-profile',
          '--no-extras',
          '--node-upstream',
          '--json',
          json,
        ],
        { cwd: ROOT, encoding: 'utf8', timeout: 110_000 },
        (err, out, errOut) =>
          err ? rej(new Error(`${err.message}\n${errOut}`)) : res({ stdout: out, stderr: errOut }),
      );
    });
    assert.match(stdout, /### http-keepalive:/);
    assert.match(stdout, /\| target \| generator \| conns \| req\/s \| p50 ms \| p99 ms \|/);
    assert.match(stdout, /\| berth \| autocannon \| 50 \|/);
    assert.match(stdout, /\| direct \| autocannon \| 50 \|/);
    const res = JSON.parse(readFileSync(json, 'utf8')) as BenchResults;
    assert.equal(res.scenarios.length, 1);
    const rows = res.scenarios[0]!.rows;
    assert.deepEqual(
      rows.map((r) => [r.label, r.generator]),
      [
        ['direct', 'autocannon'],
        ['berth', 'autocannon'],
      ],
    );
    for (const r of rows) {
      assert.equal(r.failed, undefined);
      assert.ok(r.rps > 0, `${r.label} measured requests`);
      assert.equal(r.non2xx, 0, `${r.label} answered 2xx`);
    }
    assert.ok((res.memory.find((r) => r.target === 'berth')?.idleKb ?? 0) > 0, 'berth idle PSS read from /proc');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('wrk report parsing', () => {
  const cases = [
    {
      desc: 'latency distribution, transfer and errors',
      text: `Running 1s test @ http://127.0.0.1:1/\n  1 threads and 50 connections\n  Latency Distribution\n     50%  512.00us\n     75%    1.00ms\n     90%    2.00ms\n     99%    6.61ms\n  68759 requests in 1.00s, 10.23MB read\n  Socket errors: connect 1, read 2, write 0, timeout 3\n  Non-2xx or 3xx responses: 4\nRequests/sec:  68759.12\nTransfer/sec:     10.23MB\n`,
      want: { rps: 68759.12, p50Ms: 0.512, p99Ms: 6.61, mibps: 10.23, errors: 6, non2xx: 4, durationS: 1 },
    },
    {
      desc: 'seconds and KB units',
      text: `     50%    1.50s\n     99%    2.00s\n  10 requests in 2.00s, 1.00KB read\nRequests/sec:      5.00\nTransfer/sec:     512.00B\n`,
      want: { rps: 5, p50Ms: 1500, p99Ms: 2000, mibps: 512 / 1048576, errors: 0, non2xx: 0, durationS: 2 },
    },
  ];
  for (const c of cases) {
    const r = parseWrk(c.text, 50);
    assert.ok(r, c.desc);
    for (const [k, v] of Object.entries(c.want))
      assert.ok(
        Math.abs((r as unknown as Record<string, number>)[k]! - v) < 1e-9,
        `${c.desc}: ${k} = ${(r as unknown as Record<string, number>)[k]}, want ${v}`,
      );
  }
  assert.equal(
    parseWrk('unable to connect to 127.0.0.1:1 Connection refused', 10),
    undefined,
    'a failed wrk run has no result',
  );
});

test('bench arguments', () => {
  const cases = [
    {
      desc: 'defaults are quick with everything',
      argv: [],
      want: { mode: 'quick', durationMs: 1000, profile: false, extras: false, rounds: 1 },
    },
    {
      desc: 'full profiles, runs the extras, three rounds',
      argv: ['--full'],
      want: { mode: 'full', durationMs: 1000, profile: true, extras: true, rounds: 3 },
    },
    {
      desc: 'idle connections by count',
      argv: ['--idle-connections', '500'],
      want: { mode: 'quick', durationMs: 1000, profile: false, extras: false, rounds: 1 },
    },
    {
      desc: 'explicit duration and no profile',
      argv: ['--full', '--duration', '500', '--no-profile', '--rounds', '2'],
      want: { mode: 'full', durationMs: 500, profile: false, extras: true, rounds: 2 },
    },
  ];
  for (const c of cases) {
    const a = parseArgs(c.argv);
    assert.deepEqual(
      { mode: a.mode, durationMs: a.durationMs, profile: a.profile, extras: a.extras, rounds: a.rounds },
      c.want,
      c.desc,
    );
  }
  const bad = [
    { desc: 'unknown scenario', argv: ['--only', 'nope'], err: /unknown scenario: nope/ },
    { desc: 'unknown target', argv: ['--targets', 'traefik'], err: /unknown target: traefik/ },
    { desc: 'unknown flag', argv: ['--fast'], err: /unknown flag --fast/ },
    { desc: 'bad duration', argv: ['--duration', 'x'], err: /--duration/ },
    { desc: 'missing value', argv: ['--json'], err: /--json needs a path/ },
    { desc: 'bad rounds', argv: ['--rounds', '0'], err: /--rounds/ },
    { desc: 'bad idle connections', argv: ['--idle-connections', '-1'], err: /--idle-connections/ },
  ];
  for (const c of bad) assert.throws(() => parseArgs(c.argv), c.err, c.desc);
  assert.ok(!parseArgs([]).scenarios.includes('access-log'), 'quick leaves the minutes-long access-log run out');
  assert.ok(parseArgs(['--full']).scenarios.includes('access-log'), 'full runs it');
  assert.deepEqual(
    parseArgs(['--only', 'idle-connections,access-log']).scenarios,
    ['idle-connections', 'access-log'],
    'both can be asked for by name',
  );
  assert.equal(parseArgs(['--idle-connections', '500']).idleConnections, 500);
});

test('report: ratios are per generator, checks say what was not measured', () => {
  const row = (target: 'direct' | 'berth' | 'caddy', generator: 'wrk' | 'autocannon', rps: number) => ({
    target,
    label: target,
    routers: 1,
    generator,
    connections: 50,
    durationS: 1,
    rps,
    p50Ms: 1,
    p99Ms: 2,
    mibps: undefined,
    errors: 0,
    non2xx: 0,
    pssMaxKb: 1024,
  });
  const s: ScenarioResult = {
    id: 'http-keepalive',
    title: 't',
    unit: 'req/s',
    rows: [
      row('direct', 'autocannon', 1000),
      row('berth', 'autocannon', 500),
      row('caddy', 'autocannon', 250),
      row('direct', 'wrk', 4000),
      row('berth', 'wrk', 3000),
      row('caddy', 'wrk', 1000),
    ],
  };
  const table = scenarioTable(s);
  assert.match(
    table,
    /\| berth \| autocannon \| 50 \| 500 \| 1\.00 \| 2\.00 \| 1 \| 0\.50× \| 1\.00× \| 2\.00× \| client-bound \|/,
  );
  assert.match(table, /\| berth \| wrk \| 50 \| 3,000 \| 1\.00 \| 2\.00 \| 1 \| 0\.75× \| 1\.00× \| 3\.00× \| {2}\|/);
  const res = { scenarios: [s], memory: [], extras: {}, checks: [] } as unknown as BenchResults;
  const checks = computeChecks(res);
  assert.deepEqual(
    checks.find((c) => c.goal.includes('3× Caddy') && c.goal.startsWith('HTTP ')),
    { goal: 'HTTP keep-alive ≥ 3× Caddy', measured: '3.00× (3,000 vs 1,000 req/s, wrk)', met: true },
  );
  assert.equal(checks.find((c) => c.goal.includes('nginx'))?.met, undefined, 'nginx missing: not measured');
  assert.equal(checks.find((c) => c.goal.startsWith('Idle PSS'))?.measured, 'not measured');
  const rounds = {
    ...s,
    rows: s.rows.map((r) =>
      r.label === 'berth'
        ? { ...r, roundsRps: [2000, 3000, 4000] }
        : r.label === 'caddy'
          ? { ...r, roundsRps: [1000, 1000, 1000] }
          : r,
    ),
  };
  const straddle = computeChecks({ ...res, scenarios: [rounds] }).find((c) => c.goal === 'HTTP keep-alive ≥ 3× Caddy');
  assert.deepEqual(straddle, {
    goal: 'HTTP keep-alive ≥ 3× Caddy',
    measured: '3.00× (3,000 vs 1,000 req/s, wrk; rounds 2.00–4.00×)',
    met: true,
    verdict: 'yes (rounds straddle)',
  });
  assert.equal(checks.find((c) => c.goal.startsWith('Access log'))?.measured, 'not measured (--full runs it)');
});

test('report: memory goals and the access-log interval', () => {
  const conns = (perConnectionKb: number) => ({
    wanted: 10_000,
    held: 10_000,
    beforeKb: 0,
    afterKb: perConnectionKb * 10_000,
    perConnectionKb,
  });
  const res = {
    scenarios: [],
    checks: [],
    memory: [
      {
        target: 'berth',
        idleKb: 80 * 1024,
        manyRoutersIdleKb: 200 * 1024,
        manyRoutersReadyMs: 2500,
        loadMaxKb: undefined,
        idleConnections: conns(4),
      },
      {
        target: 'nginx-1w',
        idleKb: 16 * 1024,
        manyRoutersIdleKb: undefined,
        manyRoutersReadyMs: undefined,
        loadMaxKb: undefined,
        idleConnections: conns(2),
      },
    ],
    extras: {
      'access-log': {
        command: 'node bench/access-log.ts',
        ok: true,
        output:
          'CPU-bound throughput, % slower per run (negative: faster): 2.0, 6.0, 4.0; mean 4.0 %, 95 % interval -1.0 to 9.0 % → undecided',
      },
    },
  } as unknown as BenchResults;
  const checks = computeChecks(res);
  const get = (prefix: string) => checks.find((c) => c.goal.startsWith(prefix));
  assert.deepEqual([get('Idle PSS')?.met, get('PSS ≤ 150')?.met, get('Last of')?.met], [true, false, true]);
  assert.equal(get('Memory per idle')?.measured, '4.0 KiB vs 2.0 KiB (2.0×)');
  assert.deepEqual(get('Access log'), {
    goal: 'Access log: CPU per request grows ≤ 5 % (95 % interval over runs)',
    measured: 'mean 4.0 %, interval -1 to 9 % (runs: 2.0, 6.0, 4.0 %)',
    met: undefined,
    verdict: 'undecided (interval contains 5 %)',
  });
});
