import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { HttpProvider } from '../../../src/providers/http/http-provider.ts';
import type { HttpProviderConfig } from '../../../src/config/static/types.ts';
import { hasTool, needTools } from '../../helpers/tools.ts';
import { RecordingSink } from '../file/recording-sink.ts';

const SEED_TEXT = readFileSync(new URL('../../fixtures/dynamic/seed-004.json', import.meta.url), 'utf8');

describe('HttpProvider over HTTPS (providers.http.tls)', () => {
  let dir = '';
  let server: Server | undefined;
  let url = '';

  before(async () => {
    if (!hasTool('openssl')) return;
    dir = mkdtempSync(join(tmpdir(), 'berth-http-tls-'));
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
        '-days',
        '2',
        '-subj',
        '/CN=control-plane',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
      ],
      { stdio: 'ignore' },
    );
    server = createServer(
      { cert: readFileSync(join(dir, 'cert.pem')), key: readFileSync(join(dir, 'key.pem')) },
      (_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json' }).end(SEED_TEXT);
      },
    );
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/v1/traefik/proxy-config`;
  });

  after(async () => {
    if (server) {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server!.close(() => resolve()));
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const cases: {
    desc: string;
    tls: (dir: string) => HttpProviderConfig['tls'] | undefined;
    want: 'ok' | 'down';
    error?: RegExp;
  }[] = [
    { desc: 'trusting the control plane CA by path', tls: (d) => ({ ca: join(d, 'cert.pem') }), want: 'ok' },
    {
      desc: 'trusting the control plane CA given as PEM content',
      tls: (d) => ({ ca: readFileSync(join(d, 'cert.pem'), 'utf8') }),
      want: 'ok',
    },
    { desc: 'insecureSkipVerify', tls: () => ({ insecureSkipVerify: true }), want: 'ok' },
    {
      desc: 'no tls settings: the self-signed certificate is refused',
      tls: () => undefined,
      want: 'down',
      error: /self[- ]signed/i,
    },
  ];
  for (const c of cases) {
    test(c.desc, async (t) => {
      if (!needTools(t, 'openssl')) return;
      const cfg: HttpProviderConfig = { endpoint: url, pollInterval: '50ms', pollTimeout: '2s' };
      const tls = c.tls(dir);
      if (tls) cfg.tls = tls;
      const p = new HttpProvider(cfg, { logger: pino({ level: 'silent' }) });
      const sink = new RecordingSink();
      try {
        await p.start(sink);
        await sink.until(() => sink.lastState?.status === c.want, c.want);
        if (c.want === 'ok') assert.deepEqual(sink.lastPublish?.config, JSON.parse(SEED_TEXT));
        else assert.match(sink.lastState?.error ?? '', c.error!);
      } finally {
        await p.stop();
      }
    });
  }
});
