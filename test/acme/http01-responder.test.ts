import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request, type Server } from 'node:http';
import { Http01Responder } from '../../src/acme/http01-responder.ts';
import { idleTimeout, rejectIfCut } from '../helpers/with-timeout.ts';

function fetchRaw(port: number, method: string, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        body += c;
      });
      rejectIfCut(res, reject, `fetchRaw on ${port}`);
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    idleTimeout(req, 30_000, `fetchRaw on ${port}`);
    req.on('error', reject);
    req.end();
  });
}

describe('Http01Responder (the worker side of HTTP-01 uses it too)', () => {
  test('answers published tokens, passes everything else on, and forgets replaced tokens', async (t) => {
    const tokens = new Http01Responder();
    tokens.replace([
      ['tok1', 'tok1.key'],
      ['tok2', 'tok2.key'],
    ]);
    const server: Server = createServer((req, res) => {
      if (!tokens.handle(req, res)) {
        res.statusCode = 404;
        res.end('routed');
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    t.after(() => server.close());
    const port = (server.address() as { port: number }).port;
    const cases: { desc: string; method: string; path: string; status: number; body: string }[] = [
      { desc: 'known token', method: 'GET', path: '/.well-known/acme-challenge/tok1', status: 200, body: 'tok1.key' },
      {
        desc: 'known token with a query',
        method: 'GET',
        path: '/.well-known/acme-challenge/tok2?x=1',
        status: 200,
        body: 'tok2.key',
      },
      { desc: 'HEAD has no body', method: 'HEAD', path: '/.well-known/acme-challenge/tok1', status: 200, body: '' },
      {
        desc: 'unknown token goes to routing',
        method: 'GET',
        path: '/.well-known/acme-challenge/nope',
        status: 404,
        body: 'routed',
      },
      { desc: 'other paths go to routing', method: 'GET', path: '/tok1', status: 404, body: 'routed' },
    ];
    for (const c of cases)
      assert.deepEqual(await fetchRaw(port, c.method, c.path), { status: c.status, body: c.body }, c.desc);
    tokens.replace([['tok2', 'tok2.key']]);
    assert.deepEqual(
      await fetchRaw(port, 'GET', '/.well-known/acme-challenge/tok1'),
      { status: 404, body: 'routed' },
      'replaced token',
    );
  });
});
