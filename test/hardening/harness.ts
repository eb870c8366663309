import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { connect as netConnect, type Socket } from 'node:net';
import { join } from 'node:path';
import { connect as tlsConnect, type ConnectionOptions, type TLSSocket } from 'node:tls';
import { stringify } from 'yaml';
import { startBerth, type BerthProcess } from '../helpers/berth.ts';
import { freePort, freeUdpPort, waitUntil } from '../helpers/net.ts';
import type { RecordingUpstream } from '../helpers/recording-upstream.ts';
import { buildCertificate } from '../../src/tls/x509-builder.ts';
import { tempDir } from '../helpers/temp.ts';
import { timeoutSignal, withTimeout } from '../helpers/with-timeout.ts';
import { trackChild } from '../helpers/track-child.ts';

/** A berth child process with a file provider, plus the ports of its entrypoints. */
export interface Edge {
  readonly berth: BerthProcess;
  readonly dir: string;
  /** Port by entrypoint name. */
  readonly ports: Record<string, number>;
  /** Replaces the dynamic file atomically (the provider watches it). */
  writeDynamic(cfg: unknown): void;
  /** Resources right after start (after a warm-up request). */
  baseline: Resources;
}

/** Open file descriptors and resident memory of a process. */
export interface Resources {
  readonly fds: number;
  readonly rssKb: number;
}

export function resources(pid: number): Resources {
  const fds = readdirSync(`/proc/${pid}/fd`).length;
  const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return { fds, rssKb: Number(m?.[1] ?? 0) };
}

/**
 * Starts berth with the given entrypoints (name → `{ udp?: true, ...extra }`), static extras
 * (`limits`, …) and dynamic config, served by a watched file provider.
 */
export async function startEdge(opts: {
  entrypoints: Record<string, Record<string, unknown> & { udp?: boolean }>;
  dynamic: unknown;
  static?: Record<string, unknown>;
  env?: Record<string, string>;
}): Promise<Edge> {
  const dir = tempDir('berth-hardening-');
  const dynPath = join(dir, 'dynamic.yaml');
  const writeDynamic = (cfg: unknown): void => {
    const tmp = `${dynPath}.tmp`;
    writeFileSync(tmp, typeof cfg === 'string' ? cfg : stringify(cfg));
    renameSync(tmp, dynPath);
  };
  writeDynamic(opts.dynamic);
  const ports: Record<string, number> = {};
  const entryPoints: Record<string, unknown> = {};
  for (const [name, ep] of Object.entries(opts.entrypoints)) {
    const { udp, ...rest } = ep;
    const port = udp ? await freeUdpPort() : await freePort();
    ports[name] = port;
    entryPoints[name] = { address: `127.0.0.1:${port}${udp ? '/udp' : ''}`, ...rest };
  }
  const berth = await startBerth({
    dir,
    // One process: the data plane runs in the pid whose descriptors, memory and limits are checked.
    config: {
      entryPoints,
      providers: { file: { filename: dynPath, watch: true } },
      log: { level: 'warn' },
      workers: 1,
      ...opts.static,
    },
    ...(opts.env ? { env: opts.env } : {}),
  });
  return { berth, dir, ports, writeDynamic, baseline: resources(berth.pid) };
}

/**
 * After an attack: berth is alive, `/health` answers, and fds/RSS come back near `base`
 * (slack: 16 fds, 64 MiB — garbage collection and pooled upstream sockets are not leaks).
 */
export async function assertRecovered(
  edge: Edge,
  what: string,
  slack: { fds?: number; rssKb?: number } = {},
): Promise<void> {
  assert.equal(edge.berth.child.exitCode, null, `berth is alive after ${what}`);
  const res = await fetch(`${edge.berth.apiUrl}/health`, {
    signal: timeoutSignal(15_000, `${edge.berth.apiUrl}/health`),
  });
  assert.equal(res.status, 200, `/health answers after ${what}`);
  await res.arrayBuffer();
  const fdSlack = slack.fds ?? 16;
  const rssSlack = slack.rssKb ?? 64 * 1024;
  let last = resources(edge.berth.pid);
  try {
    await waitUntil(
      () => {
        last = resources(edge.berth.pid);
        return last.fds <= edge.baseline.fds + fdSlack && last.rssKb <= edge.baseline.rssKb + rssSlack;
      },
      'resources to return near the baseline',
      15_000,
      100,
    );
  } catch {
    assert.fail(
      `after ${what}: fds ${last.fds} (baseline ${edge.baseline.fds}), RSS ${last.rssKb} KiB (baseline ${edge.baseline.rssKb} KiB)`,
    );
  }
}

/** What a raw exchange saw. */
export interface Exchange {
  /** Everything received, latin1. */
  readonly text: string;
  /** The first status code, 0 when none. */
  readonly status: number;
  /** Every status line's code, in order. */
  readonly statuses: number[];
  /** True when the server closed (or reset) the connection. */
  readonly closed: boolean;
}

/**
 * Sends `parts` (written one by one, `gapMs` apart) on a fresh connection and collects the answer
 * until the server closes, `until(text)` holds, or `maxMs` passes (then `closed` is false).
 */
export function exchange(
  port: number,
  parts: string | Buffer | (string | Buffer)[],
  opts: {
    tls?: ConnectionOptions;
    maxMs?: number;
    gapMs?: number;
    until?: (text: string) => boolean;
    endAfterWrite?: boolean;
  } = {},
): Promise<Exchange> {
  const list = Array.isArray(parts) ? parts : [parts];
  return new Promise((resolve) => {
    let text = '';
    let done = false;
    let s: Socket | TLSSocket;
    const finish = (closed: boolean): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      s.destroy();
      const statuses = [...text.matchAll(/HTTP\/1\.[01] (\d{3}) /g)].map((m) => Number(m[1]));
      resolve({ text, status: statuses[0] ?? 0, statuses, closed });
    };
    const write = async (): Promise<void> => {
      for (const p of list) {
        if (done || s.destroyed) return;
        s.write(p);
        if (opts.gapMs) await new Promise((r) => setTimeout(r, opts.gapMs));
      }
      if (opts.endAfterWrite) s.end();
    };
    s = opts.tls
      ? tlsConnect({ host: '127.0.0.1', port, rejectUnauthorized: false, ...opts.tls }, () => void write())
      : netConnect(port, '127.0.0.1', () => void write());
    s.on('data', (d: Buffer) => {
      text += d.toString('latin1');
      if (opts.until?.(text)) finish(false);
    });
    s.on('close', () => finish(true));
    s.on('error', () => finish(true));
    const timer = setTimeout(() => finish(false), opts.maxMs ?? 3000);
  });
}

/** A complete HTTP/1.1 response (by Content-Length) has arrived in `text`, `n` times. */
export function responses(n: number): (text: string) => boolean {
  return (text) => {
    let count = 0;
    let off = 0;
    for (;;) {
      const end = text.indexOf('\r\n\r\n', off);
      if (end < 0) return false;
      const head = text.slice(off, end);
      const m = /\r\ncontent-length: *(\d+)/i.exec(head);
      const len = m ? Number(m[1]) : 0;
      if (text.length < end + 4 + len) return false;
      off = end + 4 + len;
      if (++count >= n) return true;
    }
  };
}

/** Bodies of the responses in `text` (by Content-Length). */
export function bodies(text: string): string[] {
  const out: string[] = [];
  let off = 0;
  for (;;) {
    const end = text.indexOf('\r\n\r\n', off);
    if (end < 0) return out;
    const m = /\r\ncontent-length: *(\d+)/i.exec(text.slice(off, end));
    const len = m ? Number(m[1]) : 0;
    out.push(text.slice(end + 4, end + 4 + len));
    off = end + 4 + len;
  }
}

/**
 * Proves nothing else reached the upstream: a canary request is sent through berth and awaited;
 * afterwards the upstream must hold exactly the canary beyond `before` requests.
 */
export async function assertNothingForwarded(
  port: number,
  host: string,
  up: RecordingUpstream,
  before: number,
  what: string,
): Promise<void> {
  const canary = `/canary-${Math.random().toString(36).slice(2)}`;
  const r = await exchange(port, `GET ${canary} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`, {
    until: responses(1),
  });
  assert.equal(r.status, 200, `canary after ${what}: ${r.text.slice(0, 200)}`);
  const got = up.requests().slice(before);
  assert.deepEqual(
    got.map((q) => q.target),
    [canary],
    `${what}: the upstream received ${JSON.stringify(got.map((q) => `${q.method} ${q.target}`))}`,
  );
}

/** A private CA and leaf certificates for TLS tests. */
export function testPki(): {
  ca: { cert: string; key: string };
  leaf(names: string[]): { cert: string; key: string };
  client(name: string): { cert: string; key: string };
} {
  const ca = buildCertificate({ commonName: 'berth hardening CA', isCA: true });
  const issuer = { commonName: 'berth hardening CA', key: ca.key };
  return {
    ca,
    leaf: (names) => buildCertificate({ commonName: names[0] ?? 'x', dnsNames: names, issuer }),
    client: (name) => buildCertificate({ commonName: name, issuer, clientAuth: true }),
  };
}

/** `user:{SHA}…` entry for basicAuth. */
export function shaUser(user: string, password: string): string {
  return `${user}:{SHA}${createHash('sha1').update(password).digest('base64')}`;
}

/** Waits until `host` on `port` answers `status` (the file provider is applied asynchronously). */
export async function waitForRoute(
  port: number,
  host: string,
  status = 200,
  path = '/',
  tls?: ConnectionOptions,
): Promise<void> {
  await waitUntil(
    async () =>
      (
        await exchange(port, `GET ${path} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`, {
          until: responses(1),
          ...(tls ? { tls } : {}),
        })
      ).status === status,
    `${host}${path} to answer ${status}`,
    15_000,
    50,
  );
}

export { freePort, waitUntil };

/**
 * A black-holed upstream: a listening socket (python3, backlog 0) that never accepts, with its
 * accept queue filled, so further SYNs are dropped and a connect attempt hangs until its timeout.
 */
export async function startBlackHole(): Promise<{ port: number; close(): void }> {
  const { spawn } = await import('node:child_process');
  const child = trackChild(
    spawn(
      'python3',
      [
        '-c',
        'import socket,sys,time\ns=socket.socket()\ns.bind(("127.0.0.1",0))\ns.listen(0)\nprint(s.getsockname()[1],flush=True)\ntime.sleep(600)',
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    ),
  );
  const listening = new Promise<number>((resolve, reject) => {
    child.stdout!.once('data', (d: Buffer) => resolve(Number(d.toString().trim())));
    child.once('error', reject);
    child.once('exit', (code) =>
      reject(new Error(`the black-hole listener exited (${code}) before printing its port`)),
    );
  });
  const port = await withTimeout(listening, 15_000, 'the black-hole listener to print its port').catch((err) => {
    child.kill('SIGKILL');
    throw err;
  });
  const fillers: Socket[] = [];
  for (let i = 0; i < 16; i++) {
    const connected = await new Promise<boolean>((resolve) => {
      const s = netConnect(port, '127.0.0.1');
      fillers.push(s);
      s.on('error', () => resolve(false));
      s.once('connect', () => resolve(true));
      setTimeout(() => resolve(false), 300);
    });
    if (!connected) break;
  }
  return {
    port,
    close: () => {
      for (const s of fillers) s.destroy();
      child.kill('SIGKILL');
    },
  };
}
