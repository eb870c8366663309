import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { PrometheusConfig } from '../../src/config/static/types.ts';
import type { RoutingSnapshot } from '../../src/pipeline/snapshot.ts';
import type { ServiceInfo } from '../../src/http/service-builder.ts';
import type { ProviderState } from '../../src/providers/provider.ts';
import type { MetricsSources } from '../../src/observability/metrics-gauges.ts';
import { Metrics } from '../../src/observability/metrics.ts';
import { escapeLabelValue } from '../../src/observability/prometheus-text.ts';
import { parsePrometheus, sampleValue } from './prom-parse.ts';
import { send, serve, type TestRoute } from './serve.ts';

function lbInfo(name: string, servers: { url: string; healthy: boolean }[]): ServiceInfo {
  return {
    name,
    type: 'loadBalancer',
    servers: () => servers.map((s) => ({ ...s, weight: 1 })),
    available: () => servers.some((s) => s.healthy),
  };
}

function sources(over: Partial<MetricsSources> = {}): MetricsSources {
  const serviceInfo = new Map<string, ServiceInfo>([
    [
      'web-svc@docker',
      lbInfo('web-svc@docker', [
        { url: 'http://127.0.0.9:8080', healthy: true },
        { url: 'http://127.0.0.10:8080', healthy: false },
      ]),
    ],
    ['api@internal', { name: 'api@internal', type: 'internal', servers: () => [], available: () => true }],
  ]);
  const snapshot = { version: 7, createdAt: Date.UTC(2024, 0, 1), serviceInfo } as unknown as RoutingSnapshot;
  const providers = new Map<string, ProviderState>([
    ['docker', { status: 'ok' }],
    ['file', { status: 'down', error: 'x' }],
  ]);
  return { snapshot, providers, certificates: [], ...over };
}

const route: TestRoute = (req, res, ctx) => {
  if (req.url === '/none') {
    res.statusCode = 404;
    res.end('404 page not found\n');
    return;
  }
  ctx.router = 'web@docker';
  ctx.service = 'web-svc@docker';
  ctx.upstream = 'http://127.0.0.9:8080';
  if (req.url === '/internal') ctx.service = 'api@internal';
  if (req.url === '/slow') {
    setTimeout(() => res.end('slow'), 150);
    return;
  }
  res.end('hello');
};

async function traffic(
  m: Metrics,
  requests: { path?: string; method?: string; headers?: Record<string, string>; body?: string }[],
): Promise<void> {
  const srv = await serve(route, (req, res, ctx) => m.onResponse(req, res, ctx));
  try {
    for (const r of requests) await send(srv.port, r);
    await new Promise((r) => setTimeout(r, 20));
  } finally {
    await srv.close();
  }
}

describe('metrics: Prometheus exposition', () => {
  test('counters, histograms and bytes move with traffic and the output parses strictly', async () => {
    const m = new Metrics({ addRoutersLabels: true });
    const before = parsePrometheus(m.render(sources()));
    assert.equal(sampleValue(before, 'traefik_entrypoint_requests_total'), undefined);

    await traffic(m, [{}, {}, { method: 'POST', body: 'abcd' }, { path: '/none' }, { path: '/slow' }]);
    const fams = parsePrometheus(m.render(sources()));
    const ep = { entrypoint: 'web', protocol: 'http' };
    assert.equal(sampleValue(fams, 'traefik_entrypoint_requests_total', { ...ep, code: '200', method: 'GET' }), 3);
    assert.equal(sampleValue(fams, 'traefik_entrypoint_requests_total', { ...ep, code: '200', method: 'POST' }), 1);
    assert.equal(sampleValue(fams, 'traefik_entrypoint_requests_total', { ...ep, code: '404', method: 'GET' }), 1);
    assert.equal(
      sampleValue(fams, 'traefik_entrypoint_requests_bytes_total', { ...ep, code: '200', method: 'POST' }),
      4,
    );
    assert.equal(
      sampleValue(fams, 'traefik_entrypoint_responses_bytes_total', { ...ep, code: '200', method: 'GET' }),
      14,
    );
    assert.equal(
      sampleValue(fams, 'traefik_entrypoint_request_duration_seconds_count', { ...ep, code: '200', method: 'GET' }),
      3,
    );
    // The slow request (≥ 150 ms) lands above the 0.1 s bucket.
    assert.equal(
      sampleValue(fams, 'traefik_entrypoint_request_duration_seconds_bucket', {
        ...ep,
        code: '200',
        method: 'GET',
        le: '0.1',
      }),
      2,
    );
    assert.equal(
      sampleValue(fams, 'traefik_entrypoint_request_duration_seconds_bucket', {
        ...ep,
        code: '200',
        method: 'GET',
        le: '+Inf',
      }),
      3,
    );
    assert.ok(
      sampleValue(fams, 'traefik_entrypoint_request_duration_seconds_sum', { ...ep, code: '200', method: 'GET' })! >=
        0.15,
    );
    assert.equal(
      sampleValue(fams, 'traefik_router_requests_total', {
        code: '200',
        method: 'GET',
        protocol: 'http',
        router: 'web@docker',
        service: 'web-svc@docker',
      }),
      3,
    );
    assert.equal(
      sampleValue(fams, 'traefik_service_requests_total', {
        code: '200',
        method: 'GET',
        protocol: 'http',
        service: 'web-svc@docker',
      }),
      3,
    );
    // A 404 without a router counts on the entrypoint only.
    assert.equal(sampleValue(fams, 'traefik_service_requests_total', { code: '404' }), undefined);
    assert.equal(fams.get('traefik_entrypoint_request_duration_seconds')?.type, 'histogram');
    assert.equal(fams.get('traefik_entrypoint_requests_total')?.type, 'counter');

    await traffic(m, [{}]);
    const after = parsePrometheus(m.render(sources()));
    assert.equal(sampleValue(after, 'traefik_entrypoint_requests_total', { ...ep, code: '200', method: 'GET' }), 4);
  });

  test('config, server, provider and certificate gauges', () => {
    const m = new Metrics({});
    const fams = parsePrometheus(
      m.render(
        sources({
          certificates: [
            {
              names: ['*.repo.example.com', 'repo.example.com'],
              notAfter: new Date(Date.UTC(2030, 0, 1)),
              serial: '0a1b',
            },
            {
              names: ['*.repo.example.com', 'repo.example.com'],
              notAfter: new Date(Date.UTC(2030, 0, 1)),
              serial: '0a1b',
            },
          ],
          openConnections: [{ entrypoint: 'web', protocol: 'TCP', count: 3 }],
          acmeStorage: [
            { resolver: 'le', storage: '/var/lib/berth/acme.json', stored: false, failedWrites: 2 },
            { resolver: 'staging', storage: 'acme.json', stored: true, failedWrites: 0 },
          ],
        }),
      ),
    );
    assert.equal(sampleValue(fams, 'traefik_config_reloads_total'), 7);
    assert.equal(sampleValue(fams, 'traefik_config_last_reload_success'), Date.UTC(2024, 0, 1) / 1000);
    assert.equal(
      sampleValue(fams, 'traefik_service_server_up', { service: 'web-svc@docker', url: 'http://127.0.0.9:8080' }),
      1,
    );
    assert.equal(
      sampleValue(fams, 'traefik_service_server_up', { service: 'web-svc@docker', url: 'http://127.0.0.10:8080' }),
      0,
    );
    assert.equal(sampleValue(fams, 'traefik_service_server_up', { service: 'api@internal' }), undefined);
    assert.equal(
      sampleValue(fams, 'traefik_tls_certs_not_after', {
        cn: '*.repo.example.com',
        sans: '*.repo.example.com,repo.example.com',
        serial: '0a1b',
      }),
      Date.UTC(2030, 0, 1) / 1000,
    );
    assert.equal(fams.get('traefik_tls_certs_not_after')?.samples.length, 1);
    assert.equal(sampleValue(fams, 'traefik_open_connections', { entrypoint: 'web', protocol: 'TCP' }), 3);
    assert.equal(sampleValue(fams, 'berth_provider_up', { provider: 'docker' }), 1);
    assert.equal(sampleValue(fams, 'berth_provider_up', { provider: 'file' }), 0);
    assert.equal(
      sampleValue(fams, 'berth_acme_storage_stored', { resolver: 'le', storage: '/var/lib/berth/acme.json' }),
      0,
    );
    assert.equal(
      sampleValue(fams, 'berth_acme_storage_write_failures_total', {
        resolver: 'le',
        storage: '/var/lib/berth/acme.json',
      }),
      2,
    );
    assert.equal(sampleValue(fams, 'berth_acme_storage_stored', { resolver: 'staging', storage: 'acme.json' }), 1);
    assert.equal(fams.get('berth_acme_storage_write_failures_total')?.type, 'counter');
  });

  const options: { desc: string; cfg: PrometheusConfig; present: string[]; absent: string[] }[] = [
    {
      desc: 'defaults: entrypoint and service labels, no routers',
      cfg: {},
      present: ['traefik_entrypoint_requests_total', 'traefik_service_requests_total'],
      absent: ['traefik_router_requests_total'],
    },
    {
      desc: 'prefix renames every Traefik family',
      cfg: { prefix: 'edge', addRoutersLabels: true },
      present: [
        'edge_entrypoint_requests_total',
        'edge_router_requests_total',
        'edge_service_requests_total',
        'edge_config_reloads_total',
        'berth_provider_up',
      ],
      absent: ['traefik_entrypoint_requests_total'],
    },
    {
      desc: 'an invalid prefix falls back to traefik',
      cfg: { prefix: 'bad-prefix!' },
      present: ['traefik_entrypoint_requests_total'],
      absent: [],
    },
    {
      desc: 'labels switched off',
      cfg: { addEntryPointsLabels: false, addServicesLabels: false },
      present: ['traefik_config_reloads_total'],
      absent: ['traefik_entrypoint_requests_total', 'traefik_service_requests_total', 'traefik_service_server_up'],
    },
  ];
  for (const c of options) {
    test(c.desc, async () => {
      const m = new Metrics(c.cfg);
      await traffic(m, [{}]);
      const fams = parsePrometheus(m.render(sources()));
      for (const n of c.present) assert.ok(sampleValue(fams, n) !== undefined, `${n} present`);
      for (const n of c.absent) assert.equal(sampleValue(fams, n), undefined, `${n} absent`);
    });
  }

  test('custom buckets', async () => {
    const m = new Metrics({ buckets: [0.5, 0.05] });
    await traffic(m, [{}]);
    const fams = parsePrometheus(m.render(sources()));
    const les = fams
      .get('traefik_entrypoint_request_duration_seconds')!
      .samples.filter((s) => s.name.endsWith('_bucket'))
      .map((s) => s.labels.le);
    assert.deepEqual(les, ['0.05', '0.5', '+Inf']);
  });

  test('internal services are not counted unless addInternals; entrypoints can opt out', async () => {
    const m = new Metrics({});
    await traffic(m, [{ path: '/internal' }]);
    assert.equal(sampleValue(parsePrometheus(m.render(sources())), 'traefik_entrypoint_requests_total'), undefined);
    const m2 = new Metrics({}, { addInternals: true });
    await traffic(m2, [{ path: '/internal' }]);
    assert.equal(
      sampleValue(parsePrometheus(m2.render(sources())), 'traefik_service_requests_total', { service: 'api@internal' }),
      1,
    );
    const m3 = new Metrics({}, { entryPoints: { web: { observability: { metrics: false } } as never } });
    await traffic(m3, [{}]);
    assert.equal(sampleValue(parsePrometheus(m3.render(sources())), 'traefik_entrypoint_requests_total'), undefined);
  });

  test('headerLabels add a label from a request header; reserved or invalid names are ignored', async () => {
    const m = new Metrics({ headerLabels: { tenant: 'X-Tenant', code: 'X-Code', 'bad-name': 'X-B' } });
    await traffic(m, [{ headers: { 'x-tenant': 'acme' } }, {}]);
    const fams = parsePrometheus(m.render(sources()));
    assert.equal(sampleValue(fams, 'traefik_entrypoint_requests_total', { tenant: 'acme' }), 1);
    assert.equal(sampleValue(fams, 'traefik_entrypoint_requests_total', { tenant: '' }), 1);
  });

  test('label values from labels (router names, URLs, header values) are escaped', async () => {
    const nasty = 'we"ird\\name\nwith newline@docker';
    const serviceInfo = new Map<string, ServiceInfo>([
      [nasty, lbInfo(nasty, [{ url: 'http://h/"x"', healthy: true }])],
    ]);
    const snap = { version: 1, createdAt: 0, serviceInfo } as unknown as RoutingSnapshot;
    const m = new Metrics({ headerLabels: { tenant: 'x-tenant' } });
    const evil: TestRoute = (_req, res, ctx) => {
      ctx.router = nasty;
      ctx.service = nasty;
      res.end();
    };
    const srv = await serve(evil, (req, res, ctx) => m.onResponse(req, res, ctx));
    await send(srv.port, { headers: { 'x-tenant': 'a"b\\c' } });
    await new Promise((r) => setTimeout(r, 20));
    await srv.close();
    const fams = parsePrometheus(
      m.render({
        snapshot: snap,
        providers: new Map([['we"ird', { status: 'ok' }]]),
        certificates: [{ names: ['a"b'], notAfter: new Date(0) }],
      }),
    );
    assert.equal(sampleValue(fams, 'traefik_service_requests_total', { service: nasty, tenant: 'a"b\\c' }), 1);
    assert.equal(sampleValue(fams, 'traefik_service_server_up', { service: nasty, url: 'http://h/"x"' }), 1);
    assert.equal(sampleValue(fams, 'berth_provider_up', { provider: 'we"ird' }), 1);
    assert.equal(escapeLabelValue('a\\b"c\nd'), 'a\\\\b\\"c\\nd');
  });

  test('methods Node parses (WebDAV too) keep their own label value', async () => {
    const m = new Metrics({});
    const srv = await serve(route, (req, res, ctx) => m.onResponse(req, res, ctx));
    await send(srv.port, { method: 'PROPFIND' });
    await new Promise((r) => setTimeout(r, 20));
    await srv.close();
    const fams = parsePrometheus(m.render(sources()));
    assert.equal(sampleValue(fams, 'traefik_entrypoint_requests_total', { method: 'PROPFIND' }), 1);
    assert.equal(
      fams.get('traefik_entrypoint_requests_total')!.samples.every((s) => s.labels.method !== 'EXTENSION_METHOD'),
      true,
    );
  });
});

describe('metrics across data-plane workers', () => {
  test("workers' states add up with the primary's own counts, through JSON", async () => {
    const primary = new Metrics({ addRoutersLabels: true });
    const a = new Metrics({ addRoutersLabels: true });
    const b = new Metrics({ addRoutersLabels: true });
    await traffic(a, [{}, {}]);
    await traffic(b, [{}, { path: '/none' }]);
    await traffic(primary, [{}]);
    const workers = [JSON.parse(JSON.stringify(a.exportState())), JSON.parse(JSON.stringify(b.exportState()))];
    const fams = parsePrometheus(primary.render(sources({ workers })));
    const sel = { code: '200', method: 'GET', entrypoint: 'web' };
    assert.equal(sampleValue(fams, 'traefik_entrypoint_requests_total', sel), 4);
    assert.equal(sampleValue(fams, 'traefik_entrypoint_request_duration_seconds_count', sel), 4);
    assert.equal(sampleValue(fams, 'traefik_entrypoint_responses_bytes_total', sel), 20);
    assert.equal(sampleValue(fams, 'traefik_entrypoint_requests_total', { code: '404' }), 1);
    assert.equal(sampleValue(fams, 'traefik_router_requests_total', { code: '200', router: 'web@docker' }), 4);
    // Rendering did not change the primary's own counts.
    assert.equal(sampleValue(parsePrometheus(primary.render(sources())), 'traefik_entrypoint_requests_total', sel), 1);
  });

  test("absorb keeps an exited worker's counts; states with other buckets are ignored", async () => {
    const primary = new Metrics({});
    const gone = new Metrics({});
    const odd = new Metrics({ buckets: [1, 2] });
    await traffic(gone, [{}, {}]);
    await traffic(odd, [{}]);
    primary.absorb(gone.exportState());
    primary.absorb(odd.exportState());
    const fams = parsePrometheus(primary.render(sources({ workers: [odd.exportState()] })));
    assert.equal(sampleValue(fams, 'traefik_entrypoint_requests_total', { code: '200', entrypoint: 'web' }), 2);
  });
});

describe('the strict parser refuses broken expositions', () => {
  const bad: { desc: string; text: string }[] = [
    { desc: 'no trailing newline', text: '# TYPE a_total counter\na_total 1' },
    { desc: 'sample without TYPE', text: 'a 1\n' },
    { desc: 'unescaped quote', text: '# TYPE a gauge\na{x="a"b"} 1\n' },
    { desc: 'bad escape', text: '# TYPE a gauge\na{x="\\t"} 1\n' },
    { desc: 'duplicate series', text: '# TYPE a gauge\na{x="1"} 1\na{x="1"} 2\n' },
    { desc: 'non-contiguous family', text: '# TYPE a gauge\n# TYPE b gauge\na 1\nb 1\na{x="2"} 1\n' },
    {
      desc: '+Inf bucket differs from count',
      text: '# TYPE h histogram\nh_bucket{le="1"} 1\nh_bucket{le="+Inf"} 2\nh_sum 1\nh_count 3\n',
    },
    {
      desc: 'non-cumulative buckets',
      text: '# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="2"} 1\nh_bucket{le="+Inf"} 2\nh_sum 1\nh_count 2\n',
    },
    { desc: 'bad value', text: '# TYPE a gauge\na one\n' },
  ];
  for (const c of bad) test(c.desc, () => assert.throws(() => parsePrometheus(c.text)));
});
