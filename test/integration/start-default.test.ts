/**
 * `npm start` on a fresh checkout: `berth run` without `-c` uses the embedded default configuration
 * (web 127.0.0.1:8080, websecure 127.0.0.1:8443, API 127.0.0.1:7111, state in ./.berth-state), prints
 * where it listens, answers /health, and exits 0 on SIGTERM.
 *
 * Those ports are fixed by the default, so the test first makes sure they are free and fails with a
 * clear message naming the busy one otherwise (never a silent skip).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { waitUntil } from '../helpers/net.ts';
import { idleTimeout, rejectIfCut } from '../helpers/with-timeout.ts';
import { trackChild } from '../helpers/track-child.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const DEFAULT_PORTS = [
  ['web', 8080],
  ['websecure', 8443],
  ['api', 7111],
] as const;

/** Resolves when `port` on 127.0.0.1 can be bound (then releases it); rejects with who needs it otherwise. */
function assertFree(name: string, port: number): Promise<void> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.once('error', (err: NodeJS.ErrnoException) =>
      rej(
        new Error(
          `127.0.0.1:${port} is not free (${err.code}): the embedded default configuration binds ${name} there. Stop whatever listens on it (ss -ltnp 'sport = :${port}') and run the test again.`,
        ),
      ),
    );
    srv.listen(port, '127.0.0.1', () => srv.close(() => res()));
  });
}

function get(port: number, path: string, host = '127.0.0.1'): Promise<{ status: number; body: string }> {
  return new Promise((res, rej) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, headers: { host }, agent: false }, (r) => {
      let body = '';
      r.on('data', (c: Buffer) => {
        body += c.toString();
      });
      r.on('end', () => res({ status: r.statusCode ?? 0, body }));
      rejectIfCut(r, rej, `GET ${path} on ${port}`);
    });
    idleTimeout(req, 30_000, `GET ${path} on ${port}`);
    req.on('error', rej);
    req.end();
  });
}

describe('npm start: berth run with the embedded default configuration', { timeout: 60_000 }, () => {
  let cwd: string;
  let child: ChildProcess | undefined;
  let exited: Promise<number | null>;
  let stdout = '';
  let stderr = '';

  before(async () => {
    for (const [name, port] of DEFAULT_PORTS) await assertFree(name, port);
    cwd = mkdtempSync(join(tmpdir(), 'berth-npm-start-'));
    // What `npm start` runs (package.json scripts.start), from a directory of its own so the state lands there.
    child = trackChild(
      spawn(process.execPath, [join(ROOT, 'src/main.ts'), 'run'], { cwd, stdio: ['ignore', 'pipe', 'pipe'] }),
    );
    child.stdout!.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr!.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    exited = new Promise((r) => child!.once('exit', (code) => r(code)));
    let dead = false;
    void exited.then(() => {
      dead = true;
    });
    await waitUntil(
      () => {
        if (dead) throw new Error('exited');
        return stdout.includes('berth ready');
      },
      'berth to be ready',
      30_000,
      50,
    ).catch((err: Error) => {
      child?.kill('SIGKILL');
      throw new Error(`${err.message}\nstdout:\n${stdout}\nstderr:\n${stderr}`);
    });
  });

  after(async () => {
    if (child && child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
    if (cwd) rmSync(cwd, { recursive: true, force: true });
  });

  test('package.json start script is `node src/main.ts run` (what this test runs)', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    assert.equal(pkg.scripts['start'], 'node src/main.ts run');
  });

  test('prints where it listens', async () => {
    assert.match(stdout, /berth ready: api http:\/\/127\.0\.0\.1:7111/);
    // The JSON log lines are written asynchronously: they may follow the "ready" line. Each
    // entrypoint logs its address, whether it is served in this process or by data-plane workers.
    const expected = [
      /entrypoint web listening on 127\.0\.0\.1:8080/,
      /entrypoint websecure listening on 127\.0\.0\.1:8443/,
      /api listening on http:\/\/127\.0\.0\.1:7111/,
    ];
    await waitUntil(
      () => expected.every((re) => re.test(stdout)),
      `the listening addresses in the output:\n${stdout}`,
      10_000,
      50,
    );
    const eps = await new Promise<string>((res, rej) => {
      const req = httpRequest({ host: '127.0.0.1', port: 7111, path: '/api/entrypoints', agent: false }, (r) => {
        let b = '';
        r.on('data', (c: Buffer) => {
          b += c.toString();
        });
        r.on('end', () => res(b));
        rejectIfCut(r, rej, 'GET /api/entrypoints on 7111');
      });
      idleTimeout(req, 30_000, 'GET /api/entrypoints on 7111');
      req.on('error', rej);
      req.end();
    });
    const byName = Object.fromEntries(
      (JSON.parse(eps) as { name: string; address: string }[]).map((e) => [e.name, e.address]),
    );
    assert.deepEqual(byName, { web: '127.0.0.1:8080', websecure: '127.0.0.1:8443' });
  });

  test('/health answers on the default API address and the entrypoints serve', async () => {
    const health = await get(7111, '/health');
    assert.equal(health.status, 200);
    const h = JSON.parse(health.body) as { status: string; providers: Record<string, { status: string }> };
    assert.ok(['ok', 'degraded'].includes(h.status), health.body);
    assert.ok('docker' in h.providers, 'the default watches the Docker daemons');
    assert.equal((await get(7111, '/ping')).body.trim(), 'OK');
    assert.equal((await get(8080, '/', 'nothing.localhost')).status, 404, 'web answers (no router yet)');
    const issuer = await new Promise<unknown>((res, rej) => {
      const s = tlsConnect(
        { host: '127.0.0.1', port: 8443, servername: 'app.localhost', rejectUnauthorized: false },
        () => {
          res(s.getPeerCertificate().issuer?.CN);
          s.destroy();
        },
      );
      idleTimeout(s, 30_000, 'TLS handshake on 8443');
      s.once('error', rej);
    });
    assert.equal(issuer, 'TRAEFIK DEFAULT CERT', 'websecure serves the generated default certificate');
  });

  test('state goes to ./.berth-state in the working directory', () => {
    const state = join(cwd, '.berth-state');
    assert.ok(existsSync(state) && statSync(state).isDirectory(), `${state} exists`);
  });

  test('SIGTERM drains and exits 0, releasing the ports', async () => {
    child!.kill('SIGTERM');
    const timer = setTimeout(() => child!.kill('SIGKILL'), 20_000);
    const code = await exited;
    clearTimeout(timer);
    assert.equal(code, 0, `exit code\nstderr:\n${stderr}`);
    for (const [name, port] of DEFAULT_PORTS) await assertFree(name, port);
  });
});
