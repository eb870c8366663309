import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ServicePool } from '../../src/http/service-builder.ts';
import type { HttpService } from '../../src/config/dynamic/types.ts';
import { startUpstream } from '../helpers/upstreams.ts';

describe('health checks run in one pool and replicate to the others', () => {
  test('the probing pool reports its verdicts; a pool that does not probe applies them', async () => {
    let probes = 0;
    const up = await startUpstream((req, res) => {
      if (req.url === '/health') probes++;
      res.statusCode = req.url === '/health' ? 503 : 200;
      res.end();
    });
    const svc: HttpService = {
      loadBalancer: { servers: [{ url: up.url }], healthCheck: { path: '/health', interval: '1h' } },
    };
    const worker = new ServicePool({}, { probes: false });
    const control = new ServicePool({});
    try {
      const inWorker = worker.balancer('app', svc).lb;
      assert.deepEqual(worker.healthStates(), [], 'a pool that does not probe has no verdicts of its own');
      const changed = new Promise<void>((resolve) => control.onHealthChange(resolve));
      control.balancer('app', svc);
      await changed;
      assert.deepEqual(control.healthStates(), [['app', up.url, false]]);
      assert.equal(probes, 1, 'one probe: the pool that does not probe sent none');
      assert.equal(inWorker.hasHealthy(), true, 'until told, the worker keeps its server');
      worker.applyHealth(control.healthStates());
      assert.equal(inWorker.hasHealthy(), false);
      // A balancer built after the verdict (a new configuration) starts from it.
      const rebuilt = worker.balancer('app', { loadBalancer: { ...svc.loadBalancer, passHostHeader: true } }).lb;
      assert.equal(rebuilt.hasHealthy(), false);
      worker.applyHealth([['app', up.url, true]]);
      assert.equal(rebuilt.hasHealthy(), true);
    } finally {
      worker.close();
      control.close();
      await up.close();
    }
  });
});
