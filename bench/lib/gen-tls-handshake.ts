import { execFile } from 'node:child_process';
import { connect } from 'node:tls';
import { LatencyRecorder, type LoadResult, type LoadSpec } from './load.ts';

/**
 * New TLS connection per request: `connections` loops, each doing a full handshake (no session
 * resumption), one `Connection: close` request, and waiting for the server to close. neither wrk nor
 * autocannon can open a connection per request, so this small Node client measures handshakes/s.
 */
export async function runTlsHandshakes(spec: LoadSpec): Promise<LoadResult> {
  const rec = new LatencyRecorder();
  const deadline = performance.now() + spec.durationMs;
  let errors = 0;
  let non2xx = 0;
  const request = Buffer.from(`GET ${spec.path} HTTP/1.1\r\nHost: ${spec.host}\r\nConnection: close\r\n\r\n`);
  const once = (): Promise<void> =>
    new Promise((resolve) => {
      const t0 = performance.now();
      let head = '';
      const s = connect(
        {
          host: '127.0.0.1',
          port: spec.port,
          servername: 'bench.test',
          rejectUnauthorized: false,
          ALPNProtocols: ['http/1.1'],
        },
        () => s.write(request),
      );
      s.on('data', (d: Buffer) => {
        if (head.length < 12) head += d.toString('latin1', 0, 16);
      });
      s.once('end', () => s.end());
      s.once('close', (hadError) => {
        if (hadError || head.length < 12) errors++;
        else if (head[9] !== '2') non2xx++;
        else rec.add(performance.now() - t0);
        resolve();
      });
      s.on('error', () => undefined);
    });
  const start = performance.now();
  await Promise.all(
    Array.from({ length: spec.connections }, async () => {
      while (performance.now() < deadline) await once();
    }),
  );
  const seconds = (performance.now() - start) / 1000;
  return {
    generator: 'node-tls',
    connections: spec.connections,
    durationS: seconds,
    rps: rec.count / seconds,
    ...rec.summary(),
    mibps: undefined,
    errors,
    non2xx,
  };
}

/**
 * `openssl s_time -new`: C clients, each one connection at a time, a full handshake and an HTTP/1.0
 * GET per connection; `spec.connections` of them run side by side. A second opinion on handshakes/s
 * without Node's TLS client costs. It reports no latency distribution; p50 holds the mean time per
 * connection of one client.
 */
export async function runSTime(spec: LoadSpec): Promise<LoadResult> {
  const seconds = Math.max(1, Math.round(spec.durationMs / 1000));
  const t0 = performance.now();
  const one = (): Promise<number> =>
    new Promise((resolve, reject) => {
      execFile(
        'openssl',
        ['s_time', '-connect', `127.0.0.1:${spec.port}`, '-new', '-time', String(seconds), '-www', spec.path],
        { encoding: 'utf8', timeout: spec.durationMs + 30_000 },
        (err, stdout, stderr) => {
          const m = /(\d+) connections in [\d.]+s/.exec(stdout);
          if (m) resolve(Number(m[1]));
          else reject(new Error(`openssl s_time failed: ${err?.message ?? ''}\n${stdout}\n${stderr}`));
        },
      );
    });
  const counts = await Promise.all(Array.from({ length: spec.connections }, one));
  const wall = (performance.now() - t0) / 1000;
  const n = counts.reduce((a, b) => a + b, 0);
  const mean = n > 0 ? (wall * 1000 * spec.connections) / n : undefined;
  return {
    generator: 'openssl-s_time',
    connections: spec.connections,
    durationS: wall,
    rps: n / wall,
    p50Ms: mean,
    p99Ms: undefined,
    mibps: undefined,
    errors: 0,
    non2xx: 0,
  };
}
