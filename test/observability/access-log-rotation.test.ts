import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createAccessLog, type AccessLog } from '../../src/observability/access-log.ts';
import { BerthError } from '../../src/lib/errors.ts';
import { HeaderList } from '../../src/engine/header-list.ts';
import { ProxyRequest, type RequestContext } from '../../src/engine/message.ts';
import { DISCARD_SINK, ProxyResponse } from '../../src/engine/response.ts';

describe('access log rotation (reopen)', () => {
  test('after a rename and reopen, later lines go to the new file and none is lost', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'berth-alog-'));
    const file = join(dir, 'access.log');
    const rotated = join(dir, 'access.log.1');
    const errors: string[] = [];
    const log = createAccessLog({ filePath: file, format: 'json' }, { onError: (e) => errors.push(e.message) })!;
    try {
      for (let i = 0; i < 300; i++) log.onResponse(...fakeRequest(i));
      renameSync(file, rotated);
      // Lines logged between the rename and the reopen still land in the rotated file.
      for (let i = 300; i < 400; i++) log.onResponse(...fakeRequest(i));
      log.reopen();
      for (let i = 400; i < 700; i++) log.onResponse(...fakeRequest(i));
      await log.flush();
      const paths = (p: string): string[] =>
        readFileSync(p, 'utf8')
          .trim()
          .split('\n')
          .map((l) => (JSON.parse(l) as { RequestPath: string }).RequestPath);
      const before = paths(rotated);
      const after = paths(file);
      assert.deepEqual(
        [...before, ...after],
        Array.from({ length: 700 }, (_, i) => `/r/${i}`),
      );
      assert.ok(after.length >= 300, `${after.length} lines in the new file`);
      assert.deepEqual(errors, []);
    } finally {
      await log.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a reopen that cannot open the file throws a typed error; lines keep going to the old file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'berth-alog-'));
    const file = join(dir, 'access.log');
    const log = createAccessLog({ filePath: file, format: 'json' })!;
    try {
      log.onResponse(...fakeRequest(0));
      renameSync(file, join(dir, 'old.log'));
      mkdirSync(file);
      assert.throws(
        () => log.reopen(),
        (err: unknown) => err instanceof BerthError && /cannot open/.test(err.message),
      );
      log.onResponse(...fakeRequest(1));
      await log.flush();
      assert.equal(readFileSync(join(dir, 'old.log'), 'utf8').trim().split('\n').length, 2);
    } finally {
      await log.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** The arguments of `onResponse` for a plain proxied GET of `/r/i`. */
function fakeRequest(i: number): Parameters<AccessLog['onResponse']> {
  const req = new ProxyRequest(
    'GET',
    `/r/${i}`,
    new HeaderList(['host', 'a.test']),
    null,
    1,
    1,
    undefined,
    '127.0.0.1',
    4000,
  );
  const res = new ProxyResponse(req, DISCARD_SINK);
  const ctx: RequestContext = {
    entrypoint: 'web',
    scheme: 'http',
    remoteIp: '127.0.0.1',
    clientIp: '127.0.0.1',
    trustedPeer: false,
    host: 'a.test',
    path: `/r/${i}`,
    start: performance.now(),
    router: 'r@file',
    service: 's@file',
    upstream: 'http://127.0.0.9:1',
  };
  return [req, res, ctx];
}
