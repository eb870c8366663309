import { createServer, type Server } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect } from 'node:tls';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { startBerth, type BerthProcess } from '../helpers/berth.ts';
import { freePort } from '../helpers/net.ts';
import { tempDir } from '../helpers/temp.ts';
import type { Pebble } from '../helpers/pebble.ts';
import type { CloudflareEmulator } from '../helpers/cloudflare-emulator.ts';
import { rejectIfCut } from '../helpers/with-timeout.ts';

/** One berth host of a test fleet: its ports, its directory, its process. */
export interface FleetHost {
  readonly node: string;
  readonly dir: string;
  readonly web: number;
  readonly websecure: number;
  proc: BerthProcess;
  readonly config: Record<string, unknown>;
  readonly env: Record<string, string>;
}

/** Routers `Host(name)` on websecure with `resolver`, all to one upstream. */
export function routersFor(
  names: readonly { name: string; resolver: string }[],
  upstream: string,
): Record<string, unknown> {
  const routers: Record<string, unknown> = {};
  for (const { name, resolver } of names)
    routers[name.replace(/[^a-z0-9]/g, '-')] = {
      rule: `Host(\`${name}\`)`,
      entryPoints: ['websecure'],
      service: 'up',
      tls: { certResolver: resolver },
    };
  return { http: { routers, services: { up: { loadBalancer: { servers: [{ url: upstream }] } } } } };
}

/**
 * Serves each host its dynamic configuration over HTTP (berth's HTTP provider polls it): parts
 * set per host are merged. Polling needs no file-system notifications, which a machine running
 * many suites at once can run out of.
 */
export class ConfigServer {
  url = '';
  private readonly parts = new Map<string, Map<string, Record<string, unknown>>>();
  private server: Server | undefined;

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const node = (req.url ?? '/').slice(1);
      const merged: { http: { routers: Record<string, unknown>; services: Record<string, unknown> } } = {
        http: { routers: {}, services: {} },
      };
      for (const part of this.parts.get(node)?.values() ?? []) {
        const h = (part as { http?: { routers?: Record<string, unknown>; services?: Record<string, unknown> } }).http;
        Object.assign(merged.http.routers, h?.routers ?? {});
        Object.assign(merged.http.services, h?.services ?? {});
      }
      const body = JSON.stringify(merged);
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body);
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Sets `part` of `node`'s configuration. */
  set(node: string, part: string, config: Record<string, unknown>): void {
    let m = this.parts.get(node);
    if (!m) this.parts.set(node, (m = new Map()));
    m.set(part, config);
  }

  close(): void {
    this.server?.closeAllConnections();
    this.server?.close();
  }
}

/** A plain upstream answering 200 "ok". */
export async function startUpstream(): Promise<{ url: string; server: Server }> {
  const server = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/plain' }).end('ok'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

/** Fleet-wide resolver settings every host shares. */
export function resolvers(pebble: Pebble, dir: string): Record<string, unknown> {
  const base = { email: 'ops@example.com', caServer: pebble.directoryUrl, caCertificates: [pebble.caCertPath] };
  const dns = { provider: 'cloudflare', resolvers: [pebble.dnsServer] };
  return {
    le: { acme: { ...base, storage: join(dir, 'acme.json'), dnsChallenge: dns } },
    // Orders that take a while (3 s before the propagation check): room to kill a host mid-order.
    slow: {
      acme: {
        ...base,
        storage: join(dir, 'acme.json'),
        dnsChallenge: { ...dns, propagation: { delayBeforeChecks: '3s' } },
      },
    },
    web: { acme: { ...base, storage: join(dir, 'acme.json'), httpChallenge: { entryPoint: 'web' } } },
  };
}

/** Starts a berth host in the fleet. */
export async function startHost(opts: {
  node: string;
  pebble: Pebble;
  cf: CloudflareEmulator;
  fleet: Record<string, unknown>;
  configs: ConfigServer;
  web?: number;
}): Promise<FleetHost> {
  const dir = tempDir(`berth-fleet-${opts.node}-`);
  const web = opts.web ?? (await freePort());
  const websecure = await freePort();
  const config = {
    entryPoints: {
      web: { address: `127.0.0.1:${web}` },
      websecure: { address: `127.0.0.1:${websecure}` },
      traefik: { address: `127.0.0.1:${await freePort()}` },
    },
    providers: { http: { endpoint: `${opts.configs.url}/${opts.node}`, pollInterval: '200ms' } },
    certificatesResolvers: resolvers(opts.pebble, dir),
    fleet: { node: opts.node, ...opts.fleet },
    metrics: { prometheus: {} },
  };
  const env = { CF_DNS_API_TOKEN: opts.cf.token, CLOUDFLARE_BASE_URL: opts.cf.url };
  const proc = await startBerth({ dir, config, env });
  return { node: opts.node, dir, web, websecure, proc, config, env };
}

/** Restarts a host (after a kill) with its configuration and directory. */
export async function restartHost(h: FleetHost): Promise<void> {
  h.proc = await startBerth({ dir: h.dir, config: h.config, env: h.env });
}

/** Names a host's ACME manager has valid certificates for (from /certs). */
export async function validNames(h: FleetHost): Promise<Set<string>> {
  const certs = await h.proc.api<{ managed?: { state: string; names: string[] }[] }>('/certs');
  return new Set((certs.managed ?? []).filter((m) => m.state === 'valid').flatMap((m) => m.names));
}

/** The fleet section of a host's /health. */
export async function fleetHealth(
  h: FleetHost,
): Promise<{ connected: boolean; leases: string[]; lastSync?: string; node: string }> {
  return (await h.proc.api<{ fleet: { connected: boolean; leases: string[]; node: string } }>('/health')).fleet;
}

/** The leaf a client trusting `root` receives for `sni` on `port` (rejects when it does not verify). */
export function servedLeaf(port: number, sni: string, root: string): Promise<{ san: string; fingerprint: string }> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port, servername: sni, ca: root }, () => {
      const c = s.getPeerX509Certificate();
      s.destroy();
      if (c) resolve({ san: c.subjectAltName ?? '', fingerprint: c.fingerprint256 });
      else reject(new Error('no certificate'));
    });
    s.setTimeout(10_000, () => s.destroy(new Error(`no TLS handshake with ${sni} on ${port} within 10 s`)));
    s.on('error', reject);
  });
}

/** One HTTPS GET through a host for `name`, verified against `root`; resolves with the status. */
export function get(port: number, name: string, root: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      {
        host: '127.0.0.1',
        port,
        servername: name,
        headers: { host: name },
        path: '/',
        ca: root,
        agent: false,
        timeout: 5000,
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
        rejectIfCut(res, reject, `GET https://${name}/ on ${port}`);
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}
