/**
 * Discovery latency: how long after `docker start` returns is the container routable through berth?
 * Traefik with a 5 s poll answers that with "up to ~5 s"; berth follows the events stream.
 *
 * Self-contained: starts its own dockerd and berth on loopback, runs N (default 50) stop/start
 * cycles of a labelled busybox httpd, and prints min/p50/p95/max of the time from `docker start`
 * returning to the first 200 through berth's web entrypoint.
 *
 *   node bench/discovery-latency.ts [N]        (SETTLE_MS=0 for back-to-back stop/start)
 */
import { request } from 'node:http';
import { startDockerds, randomLoopback } from '../test/helpers/dockerd.ts';
import { startBerth } from '../test/helpers/berth.ts';
import { freePort, waitUntil } from '../test/helpers/net.ts';

const runs = Number(process.argv[2] ?? process.env.RUNS ?? 50);
const HOST = 'latency.bench.test';
/**
 * Quiet time between the stop being applied and the next start. berth rebuilds at most once per
 * throttle window (leading edge, ≤ 500 ms), so a start right after a stop measures the throttle;
 * after a quiet period it measures discovery itself. `SETTLE_MS=0` shows the burst case.
 */
const settleMs = Number(process.env.SETTLE_MS ?? 600);

function status(port: number): Promise<number> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: '/', headers: { host: HOST }, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', () => resolve(0));
    req.end();
  });
}

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

const fleet = await startDockerds(1);
const daemon = fleet.daemons[0]!;
const web = await freePort();
const berth = await startBerth({
  config: {
    entryPoints: { web: { address: `127.0.0.1:${web}` } },
    providers: { docker: { endpoints: [fleet.glob], exposedByDefault: false } },
    log: { level: 'warn' },
  },
});
try {
  const ip = randomLoopback();
  await daemon.runHttpd({
    name: 'bench',
    ip,
    port: 8080,
    labels: {
      'traefik.enable': 'true',
      'traefik.http.routers.bench.rule': `Host(\`${HOST}\`)`,
      'traefik.http.services.bench.loadbalancer.server.port': '8080',
      'rediacc.service_ip': ip,
    },
  });
  await waitUntil(async () => (await status(web)) === 200, 'first route', 20_000);
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    await daemon.stopContainer('bench');
    await waitUntil(async () => (await status(web)) === 404, 'route removed', 20_000, 5);
    await new Promise((r) => setTimeout(r, settleMs));
    await daemon.startContainer('bench');
    const t0 = performance.now();
    while ((await status(web)) !== 200) {
      if (performance.now() - t0 > 20_000) throw new Error('container not routable after 20 s');
      await new Promise((r) => setTimeout(r, 1));
    }
    samples.push(performance.now() - t0);
    process.stderr.write('.');
  }
  process.stderr.write('\n');
  const s = [...samples].sort((x, y) => x - y);
  const f = (n: number): string => `${n.toFixed(1)} ms`;
  console.log(
    `discovery latency over ${s.length} docker start (from the command returning to the first 200 through berth; ${settleMs} ms quiet before each start)`,
  );
  console.log(`min ${f(s[0]!)}  p50 ${f(pct(s, 50))}  p95 ${f(pct(s, 95))}  max ${f(s[s.length - 1]!)}`);
} finally {
  await berth.stop();
  await fleet.stop();
}
