import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { freePort, waitUntil } from '../helpers/net.ts';
import { needTools } from '../helpers/tools.ts';
import { startUpstream, type Upstream } from '../helpers/upstreams.ts';
import { get, startActivated, waitForApi, writeOpsConfig, type ActivatedBerth } from '../ops/fixtures.ts';

describe("workers on systemd's one socket", () => {
  let activated: ActivatedBerth | undefined;
  let up: Upstream | undefined;
  let dir = '';
  after(async () => {
    await activated?.stop();
    await up?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('a worker that fails makes berth drain and exit 1; restarted on the socket, it serves again', async (t) => {
    if (!needTools(t, 'systemd-socket-activate')) return;
    up = await startUpstream((_req, res) => {
      res.end('via web');
    });
    const socket = await freePort();
    const cfg = await writeOpsConfig({
      entrypoints: { web: { port: await freePort(), upstream: up.url } },
      workers: 2,
    });
    dir = cfg.dir;
    const dyn = join(cfg.dir, 'dynamic.yaml');
    const doc = parse(readFileSync(dyn, 'utf8')) as { http: { routers: Record<string, unknown> } };
    doc.http.routers.crash = {
      rule: 'Path(`/crash`)',
      priority: 1000,
      entryPoints: ['web'],
      service: 'crash@internal',
    };
    writeFileSync(dyn, stringify(doc));
    activated = await startActivated({
      sockets: { web: socket },
      configPath: cfg.configPath,
      dir: cfg.dir,
      apiPort: cfg.apiPort,
      env: { BERTH_TEST_HOOKS: '1' },
    });
    assert.deepEqual(await get(socket), { status: 200, body: 'via web' });
    const first = activated.current()!;
    await get(socket, '/crash').catch(() => undefined);
    await waitUntil(
      () => {
        const pid = activated!.current();
        return pid !== undefined && pid !== first;
      },
      'a new berth process',
      30_000,
      50,
    ).catch((err: unknown) => {
      throw new Error(`${(err as Error).message}\n${activated!.logs.join('\n')}`);
    });
    assert.ok(
      activated.logs.some((l) => l.includes('holding the inherited socket of web')),
      activated.logs.join('\n'),
    );
    await waitForApi(cfg.apiPort);
    assert.deepEqual(await get(socket), { status: 200, body: 'via web' });
  });
});
