import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type * as packet from 'dns-packet';
import { freeDualPort, waitUntil } from './net.ts';
import { tempDir } from './temp.ts';
import { trackChild } from './track-child.ts';
import { withTimeout } from './with-timeout.ts';
import { query } from '../../src/dns/dns-client.ts';

/**
 * A real authoritative Knot DNS on loopback for RFC 2136 tests: the given zones (SOA, NS, an A
 * for ns1) accept updates signed with one TSIG key; pebble can validate DNS-01 against it.
 */
export interface Knot {
  /** `127.0.0.1:port` (UDP and TCP). */
  readonly server: string;
  readonly port: number;
  readonly keyName: string;
  readonly algorithm: string;
  /** Base64 secret of the key. */
  readonly secret: string;
  /** TXT values currently served for `name`. */
  txt(name: string): Promise<string[]>;
  stop(): Promise<void>;
}

/** Starts knotd with `zones`, each with optional extra zone-file lines (e.g. CNAMEs). */
export async function startKnot(zones: Record<string, string[]> = { 'example.com': [] }): Promise<Knot> {
  const dir = tempDir('berth-knot-');
  const port = await freeDualPort();
  const secret = randomBytes(32).toString('base64');
  const keyName = 'berth-key';
  const zoneEntries: string[] = [];
  for (const [zone, extra] of Object.entries(zones)) {
    writeFileSync(
      join(dir, `${zone}.zone`),
      [
        `$ORIGIN ${zone}.`,
        '$TTL 60',
        `@ IN SOA ns1.${zone}. hostmaster.${zone}. 1 60 60 600 5`,
        `@ IN NS ns1.${zone}.`,
        'ns1 IN A 127.0.0.1',
        ...extra,
        '',
      ].join('\n'),
    );
    zoneEntries.push(
      `  - domain: ${zone}\n    storage: ${dir}\n    file: ${zone}.zone\n    acl: berth-update\n    zonefile-sync: -1\n    journal-content: none`,
    );
  }
  writeFileSync(
    join(dir, 'knot.conf'),
    [
      'server:',
      `  listen: 127.0.0.1@${port}`,
      `  rundir: ${dir}`,
      '  user: root:root',
      'log:',
      '  - target: stderr',
      '    any: warning',
      'database:',
      `  storage: ${dir}/db`,
      'key:',
      `  - id: ${keyName}`,
      '    algorithm: hmac-sha256',
      `    secret: ${secret}`,
      'acl:',
      '  - id: berth-update',
      `    key: ${keyName}`,
      '    action: update',
      'zone:',
      ...zoneEntries,
      '',
    ].join('\n'),
  );
  const output: string[] = [];
  const p = trackChild(spawn('knotd', ['-c', join(dir, 'knot.conf')], { stdio: ['ignore', 'pipe', 'pipe'] }));
  p.stdout?.on('data', (d: Buffer) => output.push(d.toString()));
  p.stderr?.on('data', (d: Buffer) => output.push(d.toString()));
  const server = { host: '127.0.0.1', port };
  const first = Object.keys(zones)[0]!;
  try {
    await waitUntil(
      async () => {
        if (p.exitCode !== null) throw new Error(`knotd exited: ${output.join('')}`);
        try {
          const a = await query(server, first, 'SOA', { timeoutMs: 300, recursion: false });
          return (a.answers ?? []).some((r) => r.type === 'SOA');
        } catch {
          return false;
        }
      },
      'knotd to serve its zone',
      10_000,
      50,
    );
  } catch (err) {
    p.kill('SIGKILL');
    throw err;
  }
  return {
    server: `127.0.0.1:${port}`,
    port,
    keyName,
    algorithm: 'hmac-sha256',
    secret,
    async txt(name: string): Promise<string[]> {
      const a = await query(server, name, 'TXT', { timeoutMs: 1000, recursion: false });
      return (a.answers ?? [])
        .filter((r): r is packet.TxtAnswer => r.type === 'TXT')
        .map((r) => (Array.isArray(r.data) ? r.data : [r.data]).map((c) => c.toString()).join(''));
    },
    async stop(): Promise<void> {
      if (p.exitCode !== null || p.signalCode !== null) return;
      const gone = new Promise<void>((r) => p.once('exit', () => r()));
      p.kill('SIGTERM');
      const t = setTimeout(() => p.kill('SIGKILL'), 3000);
      await withTimeout(gone, 15_000, `knotd on ${port} (pid ${p.pid}) to exit`).finally(() => clearTimeout(t));
    },
  };
}
