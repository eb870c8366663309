import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { needTools, requireIntegration } from '../helpers/tools.ts';
import { closeAll, recordingHandoff, selfSigned, startEntrypoint } from '../tcp/harness.ts';
import { canRunPostgres, startPostgres, startRedis } from './l4-peers.ts';

const execFileP = promisify(execFile);

function relayConfig(port: number) {
  return {
    tcp: {
      routers: { 'db@file': { rule: 'HostSNI(`*`)', service: 'db@file' } },
      services: { 'db@file': { loadBalancer: { servers: [{ address: `127.0.0.1:${port}` }] } } },
    },
  };
}

describe('HostSNI(`*`) relay to real servers', () => {
  test('redis-cli through the TCP router', async (t) => {
    if (!needTools(t, 'redis-server', 'redis-cli')) return;
    const redis = await startRedis();
    const handoff = recordingHandoff(selfSigned('web.example.com'));
    const ep = await startEntrypoint(relayConfig(redis.port), { handoff });
    try {
      const cli = (...args: string[]): Promise<string> =>
        execFileP('redis-cli', ['-h', '127.0.0.1', '-p', String(ep.port), ...args]).then((r) => r.stdout.trim());
      assert.equal(await cli('ping'), 'PONG');
      assert.equal(await cli('set', 'berth', 'l4'), 'OK');
      assert.equal(await cli('get', 'berth'), 'l4');
      // A value larger than socket buffers: backpressure both ways (-x reads it from stdin).
      const big = 'x'.repeat(2 * 1024 * 1024);
      const setBig = execFileP('redis-cli', ['-h', '127.0.0.1', '-p', String(ep.port), '-x', 'set', 'big']);
      setBig.child.stdin?.end(big);
      assert.equal((await setBig).stdout.trim(), 'OK');
      assert.equal(await cli('strlen', 'big'), String(big.length));
      const got = await execFileP('redis-cli', ['-h', '127.0.0.1', '-p', String(ep.port), 'get', 'big'], {
        maxBuffer: 8 * 1024 * 1024,
      });
      assert.equal(got.stdout.trim().length, big.length);
      assert.deepEqual(handoff.calls, []);
    } finally {
      handoff.close();
      await closeAll(ep.server);
      await redis.stop();
    }
  });

  test('psql through the TCP router (server-first auth handshake)', async (t) => {
    if (!canRunPostgres()) {
      if (requireIntegration) throw new Error('PostgreSQL (initdb, psql, user postgres) is required');
      t.skip('PostgreSQL not available');
      return;
    }
    const pg = await startPostgres();
    const handoff = recordingHandoff(selfSigned('web.example.com'));
    const ep = await startEntrypoint(relayConfig(pg.port), { handoff });
    try {
      const { stdout } = await execFileP(
        'psql',
        ['-h', '127.0.0.1', '-p', String(ep.port), '-U', 'postgres', '-tAc', "select 'through-berth', 6*7"],
        { env: { ...process.env, PGSSLMODE: 'prefer', PGCONNECT_TIMEOUT: '10' } },
      );
      assert.equal(stdout.trim(), 'through-berth|42');
    } finally {
      handoff.close();
      await closeAll(ep.server);
      await pg.stop();
    }
  });
});
