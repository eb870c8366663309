import { createRequire } from 'node:module';
import type { LoadResult, LoadSpec } from './load.ts';

/** The part of autocannon's result the bench reads. */
interface AutocannonResult {
  duration: number;
  requests: { total: number };
  latency: { p50: number; p99: number };
  throughput: { total: number };
  errors: number;
  timeouts: number;
  resets?: number;
  non2xx: number;
}
type Autocannon = (opts: Record<string, unknown>) => Promise<AutocannonResult>;

// autocannon ships no types; require keeps the one untyped edge in this file.
const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;

/** Runs autocannon in this process (it is single-threaded JS: a ceiling of its own). */
export async function runAutocannon(spec: LoadSpec): Promise<LoadResult> {
  const r = await autocannon({
    url: `${spec.tls ? 'https' : 'http'}://127.0.0.1:${spec.port}${spec.path}`,
    connections: spec.connections,
    pipelining: 1,
    duration: spec.durationMs / 1000,
    headers: { host: spec.host },
    servername: 'bench.test',
    tlsOptions: { rejectUnauthorized: false, ALPNProtocols: ['http/1.1'] },
    timeout: 10,
  });
  const seconds = r.duration > 0 ? r.duration : spec.durationMs / 1000;
  return {
    generator: 'autocannon',
    connections: spec.connections,
    durationS: seconds,
    rps: r.requests.total / seconds,
    p50Ms: r.latency.p50,
    p99Ms: r.latency.p99,
    mibps: r.throughput.total / seconds / 1048576,
    errors: r.errors + r.timeouts + (r.resets ?? 0),
    non2xx: r.non2xx,
  };
}
