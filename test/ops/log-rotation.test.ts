import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBerth } from '../helpers/berth.ts';
import { freePort, waitUntil } from '../helpers/net.ts';
import { idleTimeout, rejectIfCut } from '../helpers/with-timeout.ts';

/** GET / on the entrypoint (no route: berth answers 404, and logs it). */
function get(port: number, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      res.resume();
      rejectIfCut(res, reject, `get on ${port}`);
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    idleTimeout(req, 30_000, `get on ${port}`);
    req.on('error', reject);
    req.end();
  });
}

const paths = (file: string): string[] =>
  existsSync(file)
    ? readFileSync(file, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => (JSON.parse(l) as { RequestPath: string }).RequestPath)
    : [];

describe('log rotation: SIGUSR1 reopens the log files (as Traefik)', () => {
  for (const workers of [1, 2]) {
    test(`workers ${workers}: after logrotate's rename and SIGUSR1, new lines go to a new file; no debugger opens`, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'berth-rotate-'));
      const accessLog = join(dir, 'logs', 'access.log');
      const berthLog = join(dir, 'logs', 'berth.log');
      const port = await freePort();
      const berth = await startBerth({
        dir,
        config: {
          workers,
          log: { level: 'info', filePath: berthLog },
          entryPoints: { web: { address: `127.0.0.1:${port}` } },
          accessLog: { filePath: accessLog, format: 'json' },
        },
      });
      try {
        // Workers serve once they listen; until then connections may be refused.
        await waitUntil(async () => (await get(port, '/warm').catch(() => 0)) === 404, 'the entrypoint', 20_000);
        for (let i = 0; i < 20; i++) assert.equal(await get(port, `/before/${i}`), 404);
        await waitUntil(
          () => paths(accessLog).filter((p) => p.startsWith('/before/')).length === 20,
          'the lines before rotation',
          10_000,
        );
        renameSync(accessLog, `${accessLog}.1`);
        renameSync(berthLog, `${berthLog}.1`);
        process.kill(berth.pid, 'SIGUSR1');
        await waitUntil(
          () => existsSync(berthLog) && readFileSync(berthLog, 'utf8').includes('SIGUSR1: log files reopened'),
          'berth.log reopened',
          10_000,
        );
        // Every process that serves reopens (the workers on the primary's word) and says so.
        const reopened = (): number =>
          (existsSync(berthLog) ? readFileSync(berthLog, 'utf8').split('\n') : []).filter(
            (l) => l.includes('access log reopened') && (workers === 1 || l.includes('"worker"')),
          ).length;
        await waitUntil(() => reopened() >= workers, 'every serving process to reopen its access log', 10_000);
        for (let i = 0; i < 20; i++) assert.equal(await get(port, `/after/${i}`), 404);
        await waitUntil(
          () => paths(accessLog).filter((p) => p.startsWith('/after/')).length === 20,
          'every later line in the new file',
          10_000,
        );
        // Workers write their lines each in order, interleaved with the others'.
        assert.deepEqual(
          paths(`${accessLog}.1`)
            .filter((p) => p.startsWith('/before/'))
            .sort(),
          Array.from({ length: 20 }, (_, i) => `/before/${i}`).sort(),
        );
        assert.equal(
          paths(`${accessLog}.1`).filter((p) => p.startsWith('/after/')).length,
          0,
          'nothing after the reopen went to the rotated file',
        );
        assert.ok(!berth.logs.some((l) => /Debugger listening/.test(l)), 'SIGUSR1 must not open the inspector');
        assert.equal(berth.child.exitCode, null, 'still running');
      } finally {
        await berth.stop();
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});
