/**
 * Long fuzzing of the parsers that read untrusted input: Docker labels → config, rule
 * expressions, TLS ClientHello, and HTTP/1.1 requests (berth's engine differentially against
 * node:http). `npm test` runs the same kinds of properties with a few hundred runs each
 * (test/config/labels/decode.test.ts, test/rules/fuzz.test.ts, test/tcp/client-hello.test.ts,
 * test/engine/differential-fuzz.test.ts); this runs them FUZZ_RUNS times (default 200 000; the
 * HTTP property, two loopback exchanges per case, FUZZ_HTTP_RUNS times, default 20 000) and
 * reports the slowest single case, so a hang or a super-linear input shows up as a number, not
 * only as a timeout.
 *
 *   node bench/fuzz.ts                 # 200 000 runs per property
 *   FUZZ_RUNS=2000000 node bench/fuzz.ts
 *   FUZZ_SEED=42 node bench/fuzz.ts    # reproduce
 */
import { deepStrictEqual } from 'node:assert';
import { performance } from 'node:perf_hooks';
import fc from 'fast-check';
import { decodeContainers } from '../src/config/labels/decode.ts';
import type { ContainerView } from '../src/config/labels/types.ts';
import { parseHttpRule } from '../src/rules/http-rule.ts';
import { parseTcpRule } from '../src/rules/tcp-rule.ts';
import { ClientHelloReader } from '../src/tcp/client-hello.ts';
import { captureClientHello } from '../test/tcp/hello-fixtures.ts';
import { container, options } from '../test/config/labels/fixtures.ts';
import { httpReq, tcpConn } from '../test/rules/helpers.ts';
import { connectionBytes, startSides } from '../test/engine/differential.ts';

const RUNS = Number(process.env.FUZZ_RUNS ?? 200_000);
const HTTP_RUNS = Number(process.env.FUZZ_HTTP_RUNS ?? 20_000);
const SEED = process.env.FUZZ_SEED !== undefined ? Number(process.env.FUZZ_SEED) : undefined;

interface Report {
  name: string;
  runs: number;
  ms: number;
  slowestMs: number;
  failure?: string;
}

function run<T>(name: string, arb: fc.Arbitrary<T>, body: (v: T) => void): Report {
  let slowest = 0;
  const t0 = performance.now();
  const result = fc.check(
    fc.property(arb, (v) => {
      const s = performance.now();
      body(v);
      slowest = Math.max(slowest, performance.now() - s);
    }),
    { numRuns: RUNS, ...(SEED !== undefined ? { seed: SEED } : {}) },
  );
  const report: Report = {
    name,
    runs: result.numRuns,
    ms: Math.round(performance.now() - t0),
    slowestMs: Number(slowest.toFixed(2)),
  };
  if (result.failed)
    report.failure = `seed ${result.seed} path ${result.counterexamplePath}: ${String(result.errorInstance).slice(0, 300)}`;
  return report;
}

const ruleWords = [
  'Host',
  'HostRegexp',
  'Path',
  'PathPrefix',
  'PathRegexp',
  'Method',
  'Header',
  'HeaderRegexp',
  'Query',
  'ClientIP',
  'HostSNI',
  'HostSNIRegexp',
  'ALPN',
  '&&',
  '||',
  '!',
  '(',
  ')',
  '`',
  '"',
  ',',
  ' ',
  'a.test',
  '*',
  '^.*$',
  '/x',
  '{',
  '}',
  '[',
  '\\',
];
const ruleText = fc.array(fc.constantFrom(...ruleWords), { maxLength: 40 }).map((w) => w.join(''));

const labelKey = fc.oneof(
  fc.constantFrom(
    'traefik.enable',
    'traefik.http.routers.r.rule',
    'traefik.http.routers.r.service',
    'traefik.http.services.s.loadbalancer.server.port',
    'traefik.http.middlewares.m.basicauth.users',
    'traefik.tcp.routers.t.rule',
    'traefik.udp.routers.u.entrypoints',
    'traefik.http.routers.r.tls.certresolver',
    'traefik.http.routers.r.middlewares',
  ),
  fc
    .array(
      fc.constantFrom(
        'traefik',
        'http',
        'tcp',
        'routers',
        'services',
        'r',
        's',
        'rule',
        'port',
        '0',
        '__proto__',
        'constructor',
        'loadbalancer',
        'server',
      ),
      { minLength: 1, maxLength: 7 },
    )
    .map((p) => p.join('.')),
  fc.string({ maxLength: 40 }),
);
const labelValue = fc.oneof(
  fc.string({ maxLength: 80 }),
  ruleText,
  fc.constantFrom('true', 'false', '80', '-1', '99999', 'Host(`a.test`)', 'a\r\nb', '\u0000'),
);
const containers = fc.array(
  fc
    .record({
      name: fc.constantFrom('a', 'b', 'web_1'),
      daemon: fc.constantFrom('docker-1', 'docker-2'),
      labels: fc.dictionary(labelKey, labelValue, { maxKeys: 16 }),
      running: fc.boolean(),
      networkMode: fc.constantFrom('bridge', 'host', 'none'),
    })
    .map((c) => container(c as Partial<ContainerView> & { name: string })),
  { maxLength: 4 },
);

const hellos = [
  await captureClientHello({ servername: 'a.example.com', alpn: ['h2', 'http/1.1'] }),
  await captureClientHello({}),
];

const reports: Report[] = [];
reports.push(
  run('rules: arbitrary strings', fc.string({ maxLength: 300, unit: 'binary' }), (s) => {
    const h = parseHttpRule(s);
    const t = parseTcpRule(s);
    if (h.ok) h.rule.match(httpReq());
    if (t.ok) t.rule.match(tcpConn());
  }),
);
reports.push(
  run('rules: grammar soup', ruleText, (s) => {
    const h = parseHttpRule(s);
    if (h.ok) h.rule.match(httpReq());
    const t = parseTcpRule(s);
    if (t.ok) t.rule.match(tcpConn());
  }),
);
reports.push(
  run('labels: random containers', containers, (cs) => {
    const r = decodeContainers(cs, options({ exposedByDefault: true }));
    JSON.stringify(r);
  }),
);
reports.push(
  run('client hello: random chunks', fc.array(fc.uint8Array({ maxLength: 400 }), { maxLength: 6 }), (chunks) => {
    const r = new ClientHelloReader(4096);
    for (const c of chunks) if (r.push(Buffer.from(c)).status !== 'need-more') break;
  }),
);
reports.push(
  run(
    'client hello: mutated real hellos, random splits',
    fc.tuple(
      fc.nat({ max: hellos.length - 1 }),
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 12 }),
      fc.array(fc.nat({ max: 600 }), { maxLength: 5 }),
    ),
    ([i, muts, cuts]) => {
      const bytes = Buffer.from(hellos[i]!);
      for (const [pos, v] of muts) bytes[pos % bytes.length] = v;
      const r = new ClientHelloReader(65536);
      let last = 0;
      for (const c of [...cuts.map((x) => x % bytes.length).sort((a, b) => a - b), bytes.length]) {
        if (r.push(bytes.subarray(last, c)).status !== 'need-more') break;
        last = c;
      }
    },
  ),
);

{
  // The engine and node:http must hand the application the same requests for the same bytes.
  const sides = await startSides();
  let slowest = 0;
  const t0 = performance.now();
  const result = await fc.check(
    fc.asyncProperty(connectionBytes, async (bytes) => {
      const s = performance.now();
      const { node, engine } = await sides.compare(bytes);
      slowest = Math.max(slowest, performance.now() - s);
      deepStrictEqual(engine, node, JSON.stringify(bytes.toString('latin1')));
    }),
    { numRuns: HTTP_RUNS, ...(SEED !== undefined ? { seed: SEED } : {}) },
  );
  await sides.close();
  const report: Report = {
    name: 'http/1.1: engine vs node:http, generated and mutated',
    runs: result.numRuns,
    ms: Math.round(performance.now() - t0),
    slowestMs: Number(slowest.toFixed(2)),
  };
  if (result.failed)
    report.failure = `seed ${result.seed} path ${result.counterexamplePath}: ${String(result.errorInstance).slice(0, 500)}`;
  reports.push(report);
}

console.table(reports.map(({ failure, ...r }) => ({ ...r, result: failure ? 'FAIL' : 'ok' })));
const failed = reports.filter((r) => r.failure);
for (const f of failed) console.error(`${f.name}: ${f.failure}`);
process.exitCode = failed.length > 0 ? 1 : 0;
