import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { startBerth, type BerthProcess } from '../helpers/berth.ts';
import { freePort, waitUntil } from '../helpers/net.ts';
import { startUpstream, type Upstream } from '../helpers/upstreams.ts';
import { idleTimeout, rejectIfCut } from '../helpers/with-timeout.ts';

interface Seen {
  method: string;
  url: string;
  body: string;
}

function send(port: number, host: string, path: string, body?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path, method: body === undefined ? 'GET' : 'POST', headers: { host }, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        rejectIfCut(res, reject, `send on ${port}`);
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
      },
    );
    idleTimeout(req, 30_000, `send on ${port}`);
    req.on('error', reject);
    req.end(body);
  });
}

/** An upstream that records what it receives and answers with its name. */
async function recording(name: string, seen: Seen[], delayMs = 0): Promise<Upstream> {
  return startUpstream((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => {
      body += c;
    });
    req.on('end', () => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', body });
      setTimeout(() => res.end(name), delayMs);
    });
  });
}

describe('mirroring services: the main service answers, mirrors get their share of copies', { timeout: 60_000 }, () => {
  const mainSeen: Seen[] = [];
  const mirrorSeen: Seen[] = [];
  const bigSeen: Seen[] = [];
  let main: Upstream;
  let mirror: Upstream;
  let slowMirror: Upstream;
  let berth: BerthProcess;
  let port = 0;
  let dir = '';

  before(async () => {
    main = await recording('main', mainSeen);
    mirror = await recording('mirror', mirrorSeen);
    // A mirror that answers late must never delay the client.
    slowMirror = await recording('slow', bigSeen, 3000);
    dir = mkdtempSync(join(tmpdir(), 'berth-mirror-'));
    const dyn = join(dir, 'dynamic.yaml');
    writeFileSync(
      dyn,
      stringify({
        http: {
          routers: {
            half: { rule: 'Host(`half.test`)', service: 'half' },
            small: { rule: 'Host(`small.test`)', service: 'small' },
            nobody: { rule: 'Host(`nobody.test`)', service: 'nobody' },
          },
          services: {
            main: { loadBalancer: { servers: [{ url: main.url }] } },
            mirror: { loadBalancer: { servers: [{ url: mirror.url }] } },
            slow: { loadBalancer: { servers: [{ url: slowMirror.url }] } },
            half: {
              mirroring: {
                service: 'main',
                mirrors: [
                  { name: 'mirror', percent: 50 },
                  { name: 'slow', percent: 100 },
                ],
              },
            },
            small: { mirroring: { service: 'main', maxBodySize: 8, mirrors: [{ name: 'mirror', percent: 100 }] } },
            nobody: { mirroring: { service: 'main', mirrorBody: false, mirrors: [{ name: 'mirror', percent: 100 }] } },
          },
        },
      }),
    );
    port = await freePort();
    berth = await startBerth({
      config: {
        workers: 1,
        entryPoints: { web: { address: `127.0.0.1:${port}` } },
        providers: { file: { filename: dyn } },
      },
    });
    await waitUntil(async () => (await send(port, 'half.test', '/probe')).status === 200, 'the mirroring route');
  });

  after(async () => {
    await berth?.stop();
    await Promise.all([main?.close(), mirror?.close(), slowMirror?.close()]);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('percent: every second request is copied to a 50 % mirror; the answer is always the main one, at once', async () => {
    mainSeen.length = 0;
    mirrorSeen.length = 0;
    bigSeen.length = 0;
    for (let i = 0; i < 10; i++) {
      const r = await send(port, 'half.test', `/r${i}`);
      assert.deepEqual(r, { status: 200, body: 'main' });
    }
    await waitUntil(() => mirrorSeen.length >= 5 && bigSeen.length >= 10, 'the mirror copies');
    assert.equal(mainSeen.length, 10);
    assert.equal(mirrorSeen.length, 5, '50 % of 10');
    assert.equal(bigSeen.length, 10, '100 % of 10, although that mirror answers after 3 s');
  });

  test('a body reaches the main service and the mirrors alike', async () => {
    mainSeen.length = 0;
    mirrorSeen.length = 0;
    assert.deepEqual(await send(port, 'half.test', '/post', 'hello mirror'), { status: 200, body: 'main' });
    assert.deepEqual(await send(port, 'half.test', '/post2', 'second body'), { status: 200, body: 'main' });
    await waitUntil(() => mirrorSeen.length >= 1, 'the mirrored POST');
    assert.deepEqual(
      mainSeen.map((s) => s.body),
      ['hello mirror', 'second body'],
    );
    assert.equal(mirrorSeen.length, 1);
    assert.ok(['hello mirror', 'second body'].includes(mirrorSeen[0]!.body));
    assert.equal(mirrorSeen[0]!.method, 'POST');
  });

  test('maxBodySize: a larger body is served but not mirrored; mirrorBody false sends copies without the body', async () => {
    mainSeen.length = 0;
    mirrorSeen.length = 0;
    assert.deepEqual(await send(port, 'small.test', '/big', 'more than eight bytes'), { status: 200, body: 'main' });
    assert.deepEqual(await send(port, 'small.test', '/tiny', 'eight b!'), { status: 200, body: 'main' });
    await waitUntil(() => mirrorSeen.length >= 1, 'the small body mirrored');
    assert.deepEqual(
      mainSeen.map((s) => [s.url, s.body]),
      [
        ['/big', 'more than eight bytes'],
        ['/tiny', 'eight b!'],
      ],
    );
    assert.deepEqual(
      mirrorSeen.map((s) => [s.url, s.body]),
      [['/tiny', 'eight b!']],
    );

    mirrorSeen.length = 0;
    assert.deepEqual(await send(port, 'nobody.test', '/nb', 'secret body'), { status: 200, body: 'main' });
    await waitUntil(() => mirrorSeen.length >= 1, 'the bodiless copy');
    assert.deepEqual(
      mirrorSeen.map((s) => [s.method, s.url, s.body]),
      [['POST', '/nb', '']],
    );
  });
});
