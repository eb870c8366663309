/**
 * DNS automation (`edge.dns`) end to end: a berth process, a real dockerd and the Cloudflare
 * emulator, which fails its first five answers. The machine records and the machine wildcard are
 * put in place once Cloudflare answers again, a repository's wildcard when its first container
 * starts; a restart writes nothing; a new public address (SIGHUP) moves every record.
 */
import { after, before, describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { parse, stringify } from 'yaml';
import { hasTool, needTools } from '../helpers/tools.ts';
import { randomLoopback, startDockerds, type DockerdFleet } from '../helpers/dockerd.ts';
import { startBerth, type BerthProcess } from '../helpers/berth.ts';
import { startCloudflareEmulator, type CloudflareEmulator } from '../helpers/cloudflare-emulator.ts';
import { freePort, waitUntil } from '../helpers/net.ts';
import { tempDir } from '../helpers/temp.ts';

const available = hasTool('dockerd') && hasTool('docker') && hasTool('busybox');

interface Health {
  status: string;
  dns?: { status: string; records: string[]; pending: string[]; failures: number };
}

describe('DNS automation through berth, a real dockerd and the Cloudflare emulator', {
  concurrency: false,
  timeout: 180_000,
}, () => {
  const ip = randomLoopback();
  const dir = tempDir('berth-dns-e2e-');
  let fleet: DockerdFleet | undefined;
  let cf: CloudflareEmulator;
  let berth: BerthProcess | undefined;
  let config: Record<string, any>;
  let env: Record<string, string>;

  /** `name content ttl proxied` of every A record. */
  const records = (): string[] =>
    cf
      .records('A')
      .map((r) => `${r.name} ${r.content} ${r.ttl} ${r.proxied}`)
      .sort();
  const writes = (): number => ['POST', 'PATCH', 'PUT', 'DELETE'].reduce((n, m) => n + (cf.counters[m] ?? 0), 0);
  const dnsOk = async (): Promise<boolean> => (await berth!.api<Health>('/health')).dns?.status === 'ok';

  before(async () => {
    cf = await startCloudflareEmulator();
    cf.addZone('example.com');
    if (!available) return;
    fleet = await startDockerds(1);
    const port = 30000 + Math.floor(Math.random() * 20000);
    config = {
      providers: { docker: { endpoints: [fleet.glob], exposedByDefault: false } },
      edge: {
        machineName: 'server-1',
        baseDomain: 'example.com',
        publicIPv4: ip,
        webPort: await freePort(ip),
        websecurePort: await freePort(ip),
        dynamicPorts: `${port}-${port}`,
        dns: { provider: 'cloudflare', ttl: 120, proxied: false },
      },
      log: { level: 'warn' },
    };
    env = { CF_DNS_API_TOKEN: cf.token, CLOUDFLARE_BASE_URL: cf.url };
    // Cloudflare is down when berth starts: its first five answers are errors.
    cf.failNext(5, 503);
    berth = await startBerth({ dir, config, env });
  });
  after(async () => {
    await berth?.stop();
    await fleet?.stop();
    await cf.close();
  });

  const ready = (t: TestContext): boolean => needTools(t, 'dockerd', 'docker', 'busybox') && berth !== undefined;

  test('machine records and the machine wildcard, created after the first five answers failed', async (t) => {
    if (!ready(t)) return;
    await waitUntil(dnsOk, 'DNS records in place', 60_000, 100);
    assert.equal(cf.counters['injected'], 5, 'the five failures were answered');
    assert.deepEqual(records(), [`*.server-1.example.com ${ip} 120 false`, `server-1.example.com ${ip} 120 false`]);
    const health = await berth!.api<Health>('/health');
    assert.deepEqual(health.dns?.records, ['server-1.example.com', '*.server-1.example.com']);
    assert.equal(health.status, 'ok');
  });

  test('a repository wildcard when its first container starts', async (t) => {
    if (!ready(t)) return;
    const box = randomLoopback();
    await fleet!.daemons[0]!.runHttpd({
      name: 'myapp',
      ip: box,
      port: 8080,
      labels: {
        'rediacc.service_name': 'myapp',
        'rediacc.repo_name': 'marketing',
        'rediacc.service_ip': box,
        'rediacc.service_port': '8080',
      },
    });
    await waitUntil(
      () => records().includes(`*.marketing.server-1.example.com ${ip} 120 false`),
      'the repository wildcard',
    );
    await waitUntil(dnsOk, 'DNS automation ok again');
    assert.equal(records().length, 3);
  });

  test('a restart writes nothing: the records are already right', async (t) => {
    if (!ready(t)) return;
    await berth!.stop();
    cf.resetCounters();
    berth = await startBerth({ dir, config, env });
    await waitUntil(
      async () =>
        (await berth!.api<Health>('/health')).dns?.records.includes('*.marketing.server-1.example.com') === true &&
        (await dnsOk()),
      'every record checked after the restart',
    );
    assert.equal(writes(), 0, `no record written: ${cf.log.join(', ')}`);
    assert.ok((cf.counters['GET'] ?? 0) > 0, 'they were checked');
    assert.equal(records().length, 3);
  });

  test('a new public address on SIGHUP moves every record, in place', async (t) => {
    if (!ready(t)) return;
    const moved = randomLoopback();
    const file = parse(readFileSync(berth!.configPath, 'utf8')) as Record<string, any>;
    file['edge'].publicIPv4 = moved;
    writeFileSync(berth!.configPath, stringify(file));
    cf.resetCounters();
    berth!.child.kill('SIGHUP');
    await waitUntil(() => records().every((r) => r.includes(` ${moved} `)), 'every record on the new address');
    assert.deepEqual(records(), [
      `*.marketing.server-1.example.com ${moved} 120 false`,
      `*.server-1.example.com ${moved} 120 false`,
      `server-1.example.com ${moved} 120 false`,
    ]);
    assert.equal(cf.counters['POST'] ?? 0, 0, 'updated, not duplicated');
    await waitUntil(dnsOk, 'DNS automation ok');
  });
});
