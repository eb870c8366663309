import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AccessLogConfig } from '../../src/config/static/types.ts';
import { createAccessLog } from '../../src/observability/access-log.ts';
import { canonicalHeader } from '../../src/observability/line-values.ts';
import {
  clfTime,
  compileJson,
  rfc3339Local,
  rfc3339Utc,
  type AccessRecord,
} from '../../src/observability/access-log-format.ts';
import { BerthError } from '../../src/lib/errors.ts';
import { memorySink, send, serve, type TestRoute } from './serve.ts';
import { waitUntil } from '../helpers/net.ts';

const proxied: TestRoute = (req, res, ctx) => {
  ctx.router = 'web@docker';
  ctx.service = 'web-svc@docker';
  ctx.upstream = 'http://127.0.0.9:8080';
  if (req.url === '/missing') {
    res.statusCode = 404;
    res.end('nope');
    return;
  }
  if (req.url === '/slow') {
    setTimeout(() => res.end('late'), 60);
    return;
  }
  res.setHeader('content-type', 'text/plain');
  res.setHeader('x-secret', 'hush');
  res.write('hello ');
  res.end('world');
};

/** Starts a server with an access log on a memory sink, runs `fn`, returns the lines. */
async function withLog(cfg: AccessLogConfig, route: TestRoute, fn: (port: number) => Promise<void>): Promise<string[]> {
  const sink = memorySink();
  const log = createAccessLog(cfg, { sink })!;
  const srv = await serve(route, (req, res, ctx) => log.onResponse(req, res, ctx));
  try {
    await fn(srv.port);
    // The line is written when the response closes, just after the client saw the end.
    await new Promise((r) => setTimeout(r, 20));
    await log.flush();
  } finally {
    await srv.close();
    await log.close();
  }
  assert.equal(sink.closed, true);
  return sink.lines;
}

describe('access log: JSON format', () => {
  test('a proxied request carries router, service, status, duration and sizes', async () => {
    const lines = await withLog({ format: 'json' }, proxied, async (port) => {
      await send(port, {
        path: '/a?b=1',
        headers: { host: 'app.example.com:8000', 'user-agent': 'ua/1' },
        method: 'POST',
        body: 'xyz',
      });
    });
    assert.equal(lines.length, 1);
    const rec = JSON.parse(lines[0]!) as Record<string, unknown>;
    assert.equal(rec.RouterName, 'web@docker');
    assert.equal(rec.ServiceName, 'web-svc@docker');
    assert.equal(rec.ServiceURL, 'http://127.0.0.9:8080');
    assert.equal(rec.ServiceAddr, '127.0.0.9:8080');
    assert.equal(rec.DownstreamStatus, 200);
    assert.equal(rec.OriginStatus, 200);
    assert.equal(rec.DownstreamContentSize, 11);
    assert.equal(rec.OriginContentSize, 11);
    assert.equal(rec.RequestContentSize, 3);
    assert.equal(rec.RequestMethod, 'POST');
    assert.equal(rec.RequestPath, '/a?b=1');
    assert.equal(rec.RequestProtocol, 'HTTP/1.1');
    assert.equal(rec.RequestScheme, 'http');
    assert.equal(rec.RequestAddr, 'app.example.com:8000');
    assert.equal(rec.RequestHost, 'app.example.com');
    assert.equal(rec.RequestPort, '8000');
    assert.equal(rec.ClientHost, '127.0.0.1');
    assert.match(String(rec.ClientAddr), /^127\.0\.0\.1:\d+$/);
    assert.equal(rec.ClientUsername, '-');
    assert.equal(rec.EntryPointName, 'web');
    assert.equal(rec.RequestCount, 1);
    assert.equal(rec.RetryAttempts, 0);
    assert.equal(typeof rec.Duration, 'number');
    assert.ok((rec.Duration as number) > 0);
    assert.ok(Number.isInteger(rec.Duration));
    assert.match(String(rec.StartUTC), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    assert.match(String(rec.StartLocal), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}(Z|[+-]\d\d:\d\d)$/);
    assert.equal(rec.level, 'info');
    assert.equal(rec.msg, '');
    assert.match(String(rec.time), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)$/);
    // Headers are dropped by default, as in Traefik.
    assert.equal(rec['request_User-Agent'], undefined);
  });

  test('an answer of berth itself (no upstream) has no origin fields and Overhead = Duration', async () => {
    const lines = await withLog(
      { format: 'json' },
      (_req, res) => {
        res.statusCode = 404;
        res.end('404 page not found\n');
      },
      async (port) => {
        await send(port, { headers: { host: 'nobody.test' } });
      },
    );
    const rec = JSON.parse(lines[0]!) as Record<string, unknown>;
    assert.equal(rec.DownstreamStatus, 404);
    assert.equal(rec.DownstreamContentSize, 19);
    assert.equal(rec.OriginStatus, undefined);
    assert.equal(rec.RouterName, undefined);
    assert.equal(rec.Overhead, rec.Duration);
  });

  test('HEAD responses count no body bytes', async () => {
    const lines = await withLog({ format: 'json' }, proxied, async (port) => {
      await send(port, { method: 'HEAD' });
    });
    assert.equal((JSON.parse(lines[0]!) as Record<string, unknown>).DownstreamContentSize, 0);
  });

  test('hostile strings stay inside their JSON values', async () => {
    const route: TestRoute = (_req, res, ctx) => {
      ctx.router = 'r"},"evil":"1\n@docker';
      res.end('x');
    };
    const lines = await withLog({ format: 'json' }, route, async (port) => {
      await send(port, { path: '/p%22q' });
    });
    assert.equal(lines.length, 1);
    const rec = JSON.parse(lines[0]!) as Record<string, unknown>;
    assert.equal(rec.RouterName, 'r"},"evil":"1\n@docker');
    assert.equal(rec.evil, undefined);
  });
});

describe('access log: JSON escaping', () => {
  const base: AccessRecord = {
    StartUTC: Date.UTC(2024, 0, 2),
    Duration: 1,
    EntryPointName: 'web',
    ClientAddr: '127.0.0.1:1',
    ClientHost: '127.0.0.1',
    ClientPort: '1',
    ClientUsername: '-',
    RequestAddr: 'h',
    RequestHost: 'h',
    RequestPort: '-',
    RequestMethod: 'GET',
    RequestPath: '/',
    RequestProtocol: 'HTTP/1.1',
    RequestScheme: 'http',
    RequestContentSize: 0,
    OriginStatus: undefined,
    OriginContentSize: undefined,
    OriginDuration: undefined,
    DownstreamStatus: 200,
    DownstreamContentSize: 0,
    Overhead: 1,
    RequestCount: 1,
    RetryAttempts: 0,
    RouterName: undefined,
    ServiceName: undefined,
    ServiceURL: undefined,
    ServiceAddr: undefined,
    TLSVersion: undefined,
    TLSCipher: undefined,
  };
  const values = [
    { desc: 'plain ASCII', v: 'web@docker' },
    { desc: 'quotes and backslashes', v: 'a"b\\c' },
    { desc: 'control characters', v: 'a\u0000b\tc\u001fd\ne' },
    { desc: 'non-ASCII', v: 'café-日本-🚀' },
    { desc: 'a lone surrogate', v: 'x\ud800y' },
    { desc: 'U+2028 and U+2029', v: 'a\u2028b\u2029c' },
  ];
  const format = compileJson([
    ['RouterName', 'keep'],
    ['RequestPath', 'keep'],
    ['ClientHost', 'redact'],
  ]);
  for (const c of values) {
    test(c.desc, () => {
      const line = format(
        { ...base, RouterName: c.v, RequestPath: '/' + c.v },
        [{ key: 'request_X-' + c.v, value: c.v }],
        Date.now(),
      );
      assert.ok(line.endsWith('}\n'));
      assert.equal(line.indexOf('\n'), line.length - 1, 'one line');
      const rec = JSON.parse(line) as Record<string, unknown>;
      assert.equal(rec.RouterName, c.v);
      assert.equal(rec.RequestPath, '/' + c.v);
      assert.equal(rec['request_X-' + c.v], c.v);
      assert.equal(rec.ClientHost, 'REDACTED');
    });
  }
});

describe('access log: fields', () => {
  const cases: { desc: string; cfg: AccessLogConfig['fields']; expect: Record<string, unknown>; absent: string[] }[] = [
    {
      desc: 'names drop a field, case-insensitively',
      cfg: { names: { clienthost: 'drop', RouterName: 'drop' } },
      expect: { DownstreamStatus: 200 },
      absent: ['ClientHost', 'RouterName'],
    },
    {
      desc: 'redact replaces the value',
      cfg: { names: { ClientHost: 'redact' } },
      expect: { ClientHost: 'REDACTED' },
      absent: [],
    },
    {
      desc: 'defaultMode drop keeps only named fields',
      cfg: { defaultMode: 'drop', names: { DownstreamStatus: 'keep' } },
      expect: { DownstreamStatus: 200, level: 'info' },
      absent: ['RouterName', 'Duration', 'StartUTC'],
    },
    {
      desc: 'headers: named ones kept or redacted, the rest dropped',
      cfg: { headers: { defaultMode: 'drop', names: { 'User-Agent': 'keep', authorization: 'redact' } } },
      expect: { 'request_User-Agent': 'ua/1', request_Authorization: 'REDACTED' },
      absent: ['request_X-Other', 'downstream_Content-Type'],
    },
    {
      desc: 'headers: defaultMode keep writes request and downstream headers, names still drop',
      cfg: { headers: { defaultMode: 'keep', names: { 'x-secret': 'drop', 'X-Other': 'redact' } } },
      expect: { 'request_User-Agent': 'ua/1', 'request_X-Other': 'REDACTED', 'downstream_Content-Type': 'text/plain' },
      absent: ['downstream_X-Secret'],
    },
  ];
  for (const c of cases) {
    test(c.desc, async () => {
      const lines = await withLog({ format: 'json', fields: c.cfg! }, proxied, async (port) => {
        await send(port, { headers: { 'user-agent': 'ua/1', authorization: 'Basic abc', 'x-other': 'o' } });
      });
      const rec = JSON.parse(lines[0]!) as Record<string, unknown>;
      for (const [k, v] of Object.entries(c.expect)) assert.equal(rec[k], v, k);
      for (const k of c.absent) assert.equal(k in rec, false, k);
    });
  }

  test('canonical header names follow Go', () => {
    for (const [a, b] of [
      ['user-agent', 'User-Agent'],
      ['X-FORWARDED-FOR', 'X-Forwarded-For'],
      ['referer', 'Referer'],
    ])
      assert.equal(canonicalHeader(a!), b);
  });
});

describe('access log: filters', () => {
  const cases: { desc: string; filters: AccessLogConfig['filters']; paths: string[]; expect: string[] }[] = [
    { desc: 'no filters: everything', filters: undefined, paths: ['/', '/missing'], expect: ['/', '/missing'] },
    { desc: 'empty filters: everything', filters: {}, paths: ['/', '/missing'], expect: ['/', '/missing'] },
    {
      desc: 'statusCodes range keeps 4xx only',
      filters: { statusCodes: ['400-499'] },
      paths: ['/', '/missing'],
      expect: ['/missing'],
    },
    { desc: 'statusCodes single code', filters: { statusCodes: ['200'] }, paths: ['/', '/missing'], expect: ['/'] },
    {
      desc: 'minDuration keeps slow requests',
      filters: { minDuration: '30ms' },
      paths: ['/', '/slow'],
      expect: ['/slow'],
    },
    {
      desc: 'filters are alternatives: code OR duration',
      filters: { statusCodes: ['404'], minDuration: '30ms' },
      paths: ['/', '/slow', '/missing'],
      expect: ['/slow', '/missing'],
    },
    {
      desc: 'retryAttempts alone keeps nothing without retries',
      filters: { retryAttempts: true },
      paths: ['/', '/missing'],
      expect: [],
    },
  ];
  for (const c of cases) {
    test(c.desc, async () => {
      const lines = await withLog(
        { format: 'json', ...(c.filters ? { filters: c.filters } : {}) },
        proxied,
        async (port) => {
          for (const p of c.paths) await send(port, { path: p });
        },
      );
      assert.deepEqual(
        lines.map((l) => (JSON.parse(l) as { RequestPath: string }).RequestPath),
        c.expect,
      );
    });
  }

  test('retryAttempts keeps a request that was retried', async () => {
    const route: TestRoute = (req, res, ctx) => {
      if (req.url === '/retried') ctx.extra = { retryAttempts: 2 };
      res.end();
    };
    const lines = await withLog({ format: 'json', filters: { retryAttempts: true } }, route, async (port) => {
      await send(port, { path: '/' });
      await send(port, { path: '/retried' });
    });
    assert.equal(lines.length, 1);
    assert.equal((JSON.parse(lines[0]!) as Record<string, unknown>).RetryAttempts, 2);
  });

  test('internal services are left out unless addInternals', async () => {
    const route: TestRoute = (_req, res, ctx) => {
      ctx.service = 'ping@internal';
      res.end('OK');
    };
    assert.equal(
      (
        await withLog({ format: 'json' }, route, async (p) => {
          await send(p);
        })
      ).length,
      0,
    );
    assert.equal(
      (
        await withLog({ format: 'json', addInternals: true }, route, async (p) => {
          await send(p);
        })
      ).length,
      1,
    );
  });

  test('entrypoints with observability.accessLogs false are left out', async () => {
    const sink = memorySink();
    const log = createAccessLog(
      { format: 'json' },
      { sink, entryPoints: { web: { observability: { accessLogs: false } } as never } },
    )!;
    const srv = await serve(proxied, (req, res, ctx) => log.onResponse(req, res, ctx));
    await send(srv.port);
    await new Promise((r) => setTimeout(r, 20));
    await srv.close();
    await log.close();
    assert.equal(sink.lines.length, 0);
  });
});

describe('access log: common log format', () => {
  test('Traefik CLF with request count, router, service URL and duration', async () => {
    const lines = await withLog({}, proxied, async (port) => {
      await send(port, { path: '/x', headers: { 'user-agent': 'ua/1', referer: 'http://r/' } });
    });
    assert.match(
      lines[0]!,
      /^127\.0\.0\.1 - - \[\d\d\/[A-Z][a-z]{2}\/\d{4}:\d\d:\d\d:\d\d \+0000\] "GET \/x HTTP\/1\.1" 200 11 "-" "-" 1 "web@docker" "http:\/\/127\.0\.0\.9:8080" \d+ms$/,
    );
  });

  test('referer and user agent appear when their headers are kept', async () => {
    const lines = await withLog(
      { format: 'common', fields: { headers: { names: { 'User-Agent': 'keep', Referer: 'keep' } } } },
      proxied,
      async (port) => {
        await send(port, { headers: { 'user-agent': 'curl/8 "quoted"', referer: 'http://r/' } });
      },
    );
    assert.match(lines[0]!, / 200 11 "http:\/\/r\/" "curl\/8 \\"quoted\\"" 1 /);
  });

  test('genericCLF stops after the user agent; no-router answers show "-"', async () => {
    const lines = await withLog(
      { format: 'genericCLF' },
      (_req, res) => {
        res.statusCode = 404;
        res.end('x');
      },
      async (port) => {
        await send(port);
      },
    );
    assert.match(lines[0]!, /^127\.0\.0\.1 - - \[[^\]]+\] "GET \/ HTTP\/1\.1" 404 1 "-" "-"$/);
  });

  test('time formats', () => {
    const ms = Date.UTC(2024, 0, 2, 3, 4, 5, 6) + 0.789;
    assert.equal(clfTime(ms), '02/Jan/2024:03:04:05 +0000');
    assert.equal(rfc3339Utc(ms), '2024-01-02T03:04:05.006789Z');
    assert.match(rfc3339Local(ms), /^2024-01-0[12]T\d\d:\d\d:05\.006789(Z|[+-]\d\d:\d\d)$/);
  });
});

describe('access log: output', () => {
  test('absent section → no access log', () => {
    assert.equal(createAccessLog(undefined), undefined);
  });

  test('writes to filePath (directories created), appending', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'berth-al-'));
    try {
      const file = join(dir, 'sub', 'access.log');
      for (let round = 0; round < 2; round++) {
        const log = createAccessLog({ filePath: file, format: 'json' })!;
        const srv = await serve(proxied, (req, res, ctx) => log.onResponse(req, res, ctx));
        await send(srv.port);
        await new Promise((r) => setTimeout(r, 20));
        await srv.close();
        await log.close();
      }
      const lines = readFileSync(file, 'utf8').trim().split('\n');
      assert.equal(lines.length, 2);
      for (const l of lines) assert.equal((JSON.parse(l) as { DownstreamStatus: number }).DownstreamStatus, 200);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a full disk (/dev/full) behind filePath: the log thread reports the write error once, nothing throws', {
    skip: !existsSync('/dev/full') && 'no /dev/full',
  }, async () => {
    const errors: Error[] = [];
    const log = createAccessLog({ filePath: '/dev/full', format: 'json' }, { onError: (e) => errors.push(e) })!;
    const srv = await serve(proxied, (req, res, ctx) => log.onResponse(req, res, ctx));
    try {
      for (let i = 0; i < 3; i++) {
        await send(srv.port);
        await new Promise((r) => setTimeout(r, 30));
        await log.flush();
      }
      assert.equal(errors.length, 1, errors.map((e) => e.message).join('\n'));
      assert.match(errors[0]!.message, /ENOSPC/);
    } finally {
      await srv.close();
      await log.close();
    }
  });

  test('without filePath, lines go to stdout as UTF-8, many batches in order', () => {
    // A child process, so its stdout can be read whole.
    const script = `
      import { createAccessLog } from ${JSON.stringify(new URL('../../src/observability/access-log.ts', import.meta.url).href)};
      import { HeaderList } from ${JSON.stringify(new URL('../../src/engine/header-list.ts', import.meta.url).href)};
      import { ProxyRequest } from ${JSON.stringify(new URL('../../src/engine/message.ts', import.meta.url).href)};
      import { DISCARD_SINK, ProxyResponse } from ${JSON.stringify(new URL('../../src/engine/response.ts', import.meta.url).href)};
      const log = createAccessLog({ format: 'json' });
      for (let i = 0; i < 500; i++) {
        const req = new ProxyRequest('GET', '/café/' + i, new HeaderList(['host', 'a.test']), null, 1, 1, undefined, '127.0.0.1', 4000);
        const res = new ProxyResponse(req, DISCARD_SINK);
        log.onResponse(req, res, { entrypoint: 'web', scheme: 'http', remoteIp: '127.0.0.1', clientIp: '127.0.0.1', trustedPeer: false, host: 'a.test', path: '/', start: performance.now() });
      }
      await log.close();
    `;
    const out = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    assert.equal(out.status, 0, out.stderr);
    const lines = out.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { RequestPath: string; RequestCount: number });
    assert.equal(lines.length, 500);
    lines.forEach((l, i) => {
      assert.equal(l.RequestPath, `/café/${i}`);
      assert.equal(l.RequestCount, i + 1);
    });
  });

  test('a file that cannot be opened is a typed error at creation', () => {
    const dir = mkdtempSync(join(tmpdir(), 'berth-al-'));
    try {
      assert.throws(
        () => createAccessLog({ filePath: dir }),
        (err: unknown) =>
          err instanceof BerthError &&
          err.code === 'BERTH_ERR_CONFIG_INVALID' &&
          /accessLog\.filePath/.test(err.message),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('bufferingSize batches lines; the flush timer writes a partial batch', async () => {
    // Each half has its own log, so neither depends on how long requests take: a batch of three
    // with a timer that never fires in the test, then one line that only the timer can write.
    const sink = memorySink();
    const log = createAccessLog({ format: 'json', bufferingSize: 3 }, { sink, flushMs: 3_600_000 })!;
    const srv = await serve(proxied, (req, res, ctx) => log.onResponse(req, res, ctx));
    const timedSink = memorySink();
    const timed = createAccessLog({ format: 'json', bufferingSize: 3 }, { sink: timedSink, flushMs: 50 })!;
    const timedSrv = await serve(proxied, (req, res, ctx) => timed.onResponse(req, res, ctx));
    try {
      for (let i = 0; i < 3; i++) await send(srv.port);
      await waitUntil(() => sink.lines.length === 3, 'the first batch');
      assert.equal(sink.writes, 1);
      await send(timedSrv.port);
      await waitUntil(() => timedSink.lines.length === 1, 'the timer flush');
      assert.equal(timedSink.writes, 1);
    } finally {
      await srv.close();
      await timedSrv.close();
      await log.close();
      await timed.close();
    }
  });

  test('write errors are reported once and never thrown', async () => {
    const errors: Error[] = [];
    const sink = {
      write: (_t: readonly Uint8Array[], done: (e: Error | null) => void) =>
        setImmediate(() => done(new Error('disk full'))),
      close() {},
    };
    const log = createAccessLog({ format: 'json' }, { sink, onError: (e) => errors.push(e) })!;
    const srv = await serve(proxied, (req, res, ctx) => log.onResponse(req, res, ctx));
    try {
      for (let i = 0; i < 3; i++) {
        await send(srv.port);
        await new Promise((r) => setTimeout(r, 10));
      }
      await log.flush();
      assert.equal(errors.length, 1);
      assert.equal(errors[0]!.message, 'disk full');
    } finally {
      await srv.close();
      await log.close();
    }
  });
});
