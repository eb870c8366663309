import { execFile } from 'node:child_process';
import type { LoadResult, LoadSpec } from './load.ts';

/** wrk's duration units → milliseconds. */
const TIME_MS: Record<string, number> = { us: 0.001, ms: 1, s: 1000, m: 60_000 };
const SIZE_MIB: Record<string, number> = { B: 1 / 1048576, KB: 1 / 1024, MB: 1, GB: 1024 };

/**
 * Parses wrk's text report (`--latency`). Returns undefined when the report has no
 * `Requests/sec` line (wrk failed).
 */
export function parseWrk(text: string, connections: number): LoadResult | undefined {
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(text);
  if (!rps) return undefined;
  const lat = (p: string): number | undefined => {
    const m = new RegExp(`^\\s+${p}%\\s+([\\d.]+)(us|ms|s|m)\\s*$`, 'm').exec(text);
    return m ? Number(m[1]) * (TIME_MS[m[2]!] ?? NaN) : undefined;
  };
  const transfer = /Transfer\/sec:\s+([\d.]+)(B|KB|MB|GB)/.exec(text);
  const dur = /requests in ([\d.]+)(us|ms|s|m),/.exec(text);
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text);
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(text);
  return {
    generator: 'wrk',
    connections,
    durationS: dur ? (Number(dur[1]) * (TIME_MS[dur[2]!] ?? NaN)) / 1000 : NaN,
    rps: Number(rps[1]),
    p50Ms: lat('50'),
    p99Ms: lat('99'),
    mibps: transfer ? Number(transfer[1]) * (SIZE_MIB[transfer[2]!] ?? NaN) : undefined,
    errors: sock ? Number(sock[1]) + Number(sock[2]) + Number(sock[3]) + Number(sock[4]) : 0,
    non2xx: non2xx ? Number(non2xx[1]) : 0,
  };
}

/**
 * Runs wrk with one thread: a C event loop that outruns autocannon by a wide margin, while
 * leaving the other core to the proxy under test.
 */
export function runWrk(spec: LoadSpec, threads = 1): Promise<LoadResult> {
  const url = `${spec.tls ? 'https' : 'http'}://127.0.0.1:${spec.port}${spec.path}`;
  const args = [
    '-t',
    String(threads),
    '-c',
    String(Math.max(threads, spec.connections)),
    '-d',
    `${Math.max(1, Math.round(spec.durationMs / 1000))}s`,
    '--timeout',
    '10s',
    '--latency',
    '-H',
    `Host: ${spec.host}`,
    url,
  ];
  return new Promise((resolve, reject) => {
    execFile('wrk', args, { encoding: 'utf8', timeout: spec.durationMs + 30_000 }, (err, stdout, stderr) => {
      const r = parseWrk(stdout, spec.connections);
      if (r) resolve(r);
      else reject(new Error(`wrk failed: ${err?.message ?? ''}\n${stdout}\n${stderr}`));
    });
  });
}
