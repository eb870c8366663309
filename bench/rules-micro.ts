/**
 * Micro benchmark of the routing lookup: `find()` with 1 router vs 10,000 routers with distinct
 * hosts (plus a few host-less routers), HTTP and SNI. Not part of the test suite.
 * Run: ./node_modules/.bin/node bench/rules-micro.ts
 */
import { normalizeHost } from '../src/rules/host.ts';
import { defaultPriority, parseHttpRule } from '../src/rules/http-rule.ts';
import { buildRouterIndex } from '../src/rules/router-index.ts';
import { buildSniIndex } from '../src/rules/sni-index.ts';
import { parseTcpRule } from '../src/rules/tcp-rule.ts';
import type { HttpRequestView, TcpConnectionView } from '../src/rules/types.ts';

function httpRouters(n: number) {
  const out = [];
  for (let i = 0; i < n; i++) {
    const rule = `Host(\`svc${i}.repo.example.com\`) && PathPrefix(\`/\`)`;
    const r = parseHttpRule(rule);
    if (!r.ok) throw new Error(r.error);
    out.push({ name: `r${i}@docker`, priority: defaultPriority(rule), rule: r.rule });
  }
  for (const rule of ['PathPrefix(`/.well-known/acme-challenge/`)', 'HostRegexp(`^nothing\\.`)']) {
    const r = parseHttpRule(rule);
    if (!r.ok) throw new Error(r.error);
    out.push({ name: rule, priority: defaultPriority(rule), rule: r.rule });
  }
  return out;
}

function tcpRouters(n: number) {
  const out = [];
  for (let i = 0; i < n; i++) {
    const r = parseTcpRule(`HostSNI(\`db${i}.example.com\`)`);
    if (!r.ok) throw new Error(r.error);
    out.push({ name: `t${i}`, priority: 30, rule: r.rule });
  }
  return out;
}

function time(label: string, iterations: number, fn: (i: number) => unknown): void {
  for (let i = 0; i < 10_000; i++) fn(i); // warm up
  const start = process.hrtime.bigint();
  let sink = 0;
  for (let i = 0; i < iterations; i++) if (fn(i) !== undefined) sink++;
  const ns = Number(process.hrtime.bigint() - start) / iterations;
  console.log(`${label.padEnd(44)} ${ns.toFixed(1).padStart(8)} ns/op  (${sink} hits)`);
}

const N = 1_000_000;
for (const n of [1, 10_000]) {
  const index = buildRouterIndex(httpRouters(n));
  const reqs: HttpRequestView[] = Array.from({ length: 1024 }, (_, i) => ({
    host: `svc${i % n}.repo.example.com`,
    path: '/index.html',
    method: 'GET',
    headers: {},
    query: '',
    clientIp: '127.0.0.1',
  }));
  time(`http find, ${n} routers`, N, (i) => index.find(reqs[i & 1023] as HttpRequestView));
  const miss: HttpRequestView = { ...(reqs[0] as HttpRequestView), host: 'unknown.example.com' };
  time(`http find (unknown host), ${n} routers`, N, () => index.find(miss));

  const sni = buildSniIndex(tcpRouters(n));
  const conns: TcpConnectionView[] = Array.from({ length: 1024 }, (_, i) => ({
    sni: `db${i % n}.example.com`,
    alpn: [],
    clientIp: '127.0.0.1',
    tls: true,
  }));
  time(`sni find, ${n} routers`, N, (i) => sni.find(conns[i & 1023] as TcpConnectionView));
}
const raw = ['Svc1.Repo.Example.com:443', 'example.com', '[::1]:8443', 'example.com.'];
time('normalizeHost', N, (i) => normalizeHost(raw[i & 3] as string));
