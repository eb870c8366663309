import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DASHBOARD_CSP, DASHBOARD_HTML, dashboardHandler } from '../../src/api/dashboard.ts';
import type { ApiSources } from '../../src/api/api-server.ts';

const sha = (s: string): string => `'sha256-${createHash('sha256').update(s).digest('base64')}'`;

describe('dashboard page', () => {
  test('self-contained: no external scripts, styles, images or fonts', () => {
    assert.doesNotMatch(DASHBOARD_HTML, /\s(src|href)=["']?(https?:)?\/\//i);
    assert.doesNotMatch(DASHBOARD_HTML, /@import|url\(/i);
    assert.doesNotMatch(DASHBOARD_HTML, /<script[^>]+src=/i);
  });

  test('the CSP allows exactly the inline script and style, by hash', () => {
    const script = /<script>([\s\S]*?)<\/script>/.exec(DASHBOARD_HTML)![1]!;
    const style = /<style>([\s\S]*?)<\/style>/.exec(DASHBOARD_HTML)![1]!;
    assert.ok(DASHBOARD_CSP.includes(`script-src ${sha(script)};`));
    assert.ok(DASHBOARD_CSP.includes(`style-src ${sha(style)};`));
    assert.match(DASHBOARD_CSP, /default-src 'none'/);
    assert.match(DASHBOARD_CSP, /connect-src 'self'/);
    assert.doesNotMatch(DASHBOARD_CSP, /unsafe-inline|unsafe-eval/);
    assert.doesNotMatch(
      DASHBOARD_HTML,
      /\sstyle=|\son[a-z]+=/i,
      'no inline style or handler attributes (the CSP would block them)',
    );
  });

  test('data reaches the page only through textContent, never as HTML', () => {
    assert.doesNotMatch(DASHBOARD_HTML, /innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(|new Function/);
  });

  const cases = [
    { desc: 'GET serves the page with security headers', method: 'GET', body: true },
    { desc: 'HEAD sends the headers only', method: 'HEAD', body: false },
  ];
  for (const c of cases) {
    test(c.desc, async () => {
      const handler = dashboardHandler({} as ApiSources);
      const server = createServer((req, res) => handler(req, res));
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
      try {
        const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`, { method: c.method });
        assert.equal(res.status, 200);
        assert.equal(res.headers.get('content-type'), 'text/html; charset=utf-8');
        assert.equal(res.headers.get('content-security-policy'), DASHBOARD_CSP);
        assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
        assert.equal(res.headers.get('cache-control'), 'no-store');
        const text = await res.text();
        assert.equal(text === DASHBOARD_HTML, c.body);
      } finally {
        server.close();
      }
    });
  }
});
