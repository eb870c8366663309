import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { gunzipSync } from 'node:zlib';
import { middlewareFactories } from '../../../src/http/middlewares/registry.ts';
import { build, fixedHandler, send, startHarness } from './harness.ts';

const BODY = 'chained response '.repeat(300);

describe('middlewares composed in router order', () => {
  const orders = [
    { desc: 'headers → compress → buffering', order: ['headers', 'compress', 'buffering'] },
    { desc: 'buffering → compress → headers', order: ['buffering', 'compress', 'headers'] },
    { desc: 'compress → headers → buffering', order: ['compress', 'headers', 'buffering'] },
  ];
  const options: Record<string, Record<string, unknown>> = {
    headers: { stsSeconds: 60, forceSTSHeader: true, customResponseHeaders: { 'X-Served-By': 'berth' } },
    compress: {},
    buffering: { maxResponseBodyBytes: 100_000 },
  };
  for (const c of orders) {
    test(c.desc, async () => {
      const chain = c.order.map((t) => build(middlewareFactories[t]!, options[t]!));
      const h = await startHarness(
        chain,
        {},
        {
          final: fixedHandler(200, { 'content-type': 'text/plain' }, [
            Buffer.from(BODY.slice(0, 100)),
            Buffer.from(BODY.slice(100)),
          ]),
        },
      );
      try {
        const r = await send(h.port, { headers: { 'accept-encoding': 'gzip' } });
        assert.equal(r.status, 200);
        assert.equal(r.headers['strict-transport-security'], 'max-age=60');
        assert.equal(r.headers['x-served-by'], 'berth');
        assert.equal(r.headers['content-encoding'], 'gzip');
        assert.equal(gunzipSync(r.body).toString(), BODY);
      } finally {
        await h.close();
      }
    });
  }
});
