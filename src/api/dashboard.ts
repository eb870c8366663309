import { createHash } from 'node:crypto';
import type { ApiRequest, ApiResponse, ApiSources } from './api-server.ts';

/**
 * The dashboard: one self-contained page (inline CSS and JS, no external assets) that polls the
 * API every 2 s — `/health`, `/routes.json`, `/certs`, `/api/http/services` — and shows routers,
 * services and their servers' health, certificates and their expiry, providers and diagnostics.
 *
 * Router names, rules and errors come from container labels, so the page never parses data as
 * HTML: every value goes through `textContent`, and a Content-Security-Policy that allows only this
 * page's own script and style (by hash) backs that up.
 */

const STYLE = `
:root{--bg:#f6f7f9;--fg:#1d2430;--muted:#667085;--card:#fff;--line:#e4e7ec;--ok:#12805c;--okbg:#e3f6ee;--warn:#a15c07;--warnbg:#fdf1dc;--bad:#b42318;--badbg:#fde8e7;--accent:#2f5bd3}
@media (prefers-color-scheme:dark){:root{--bg:#12151b;--fg:#e6e8ec;--muted:#98a2b3;--card:#1b2028;--line:#2b313c;--okbg:#0f3326;--warnbg:#3a2a0c;--badbg:#3d1512;--accent:#7d9cf0}}
*{box-sizing:border-box}body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;background:var(--bg);color:var(--fg)}
header{display:flex;flex-wrap:wrap;align-items:center;gap:12px;padding:14px 24px;background:var(--card);border-bottom:1px solid var(--line);position:sticky;top:0;z-index:1}
header h1{font-size:18px;margin:0;letter-spacing:.5px}header .meta{color:var(--muted);font-size:13px}header .grow,h2 .grow{flex:1}
main{padding:20px 24px;max-width:1400px;margin:0 auto}
section{background:var(--card);border:1px solid var(--line);border-radius:8px;margin-bottom:20px;overflow:hidden}
section h2{font-size:15px;margin:0;padding:12px 16px;border-bottom:1px solid var(--line);display:flex;align-items:center;gap:8px}
section h2 .count{color:var(--muted);font-weight:normal}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(150px,1fr));gap:12px;margin-bottom:20px}
.card{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:12px 16px}.card .n{font-size:24px;font-weight:600}.card .l{color:var(--muted);font-size:12px;text-transform:uppercase;letter-spacing:.5px}
table{width:100%;border-collapse:collapse}th,td{text-align:left;padding:7px 16px;border-bottom:1px solid var(--line);vertical-align:top}
th{font-size:12px;color:var(--muted);font-weight:600;text-transform:uppercase;letter-spacing:.4px}tr:last-child td{border-bottom:0}
code{font:12.5px/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;overflow-wrap:anywhere}code.nw{white-space:nowrap}
.pill{display:inline-block;padding:1px 8px;border-radius:999px;font-size:12px;font-weight:600;white-space:nowrap}
.ok{color:var(--ok);background:var(--okbg)}.warn{color:var(--warn);background:var(--warnbg)}.bad{color:var(--bad);background:var(--badbg)}
.muted{color:var(--muted)}.err{color:var(--bad);font-size:12.5px}.srv{display:block;white-space:nowrap}
.empty{padding:14px 16px;color:var(--muted)}#banner{display:none;padding:10px 24px;background:var(--badbg);color:var(--bad)}
input[type=search]{padding:6px 10px;border:1px solid var(--line);border-radius:6px;background:var(--bg);color:var(--fg);min-width:240px}
`;

const SCRIPT = `
'use strict';
const $ = (id) => document.getElementById(id);
const el = (tag, cls, text) => { const e = document.createElement(tag); if (cls) e.className = cls; if (text !== undefined && text !== null) e.textContent = String(text); return e; };
const pill = (text, kind) => el('span', 'pill ' + kind, text);
const statusKind = (s) => (s === 'enabled' || s === 'ok' || s === 'UP' || s === 'valid') ? 'ok' : (s === 'warning' || s === 'degraded' || s === 'starting' || s === 'renewing' || s === 'pending') ? 'warn' : 'bad';
const td = (...children) => { const c = el('td'); for (const ch of children) c.append(typeof ch === 'string' ? document.createTextNode(ch) : ch); return c; };
const list = (a) => Array.isArray(a) ? a : [];
let filter = '';
let last = null;

function fill(tbodyId, rows, cols, emptyText) {
  const body = $(tbodyId);
  body.replaceChildren();
  if (rows.length === 0) { const tr = el('tr'); const c = el('td', 'empty', emptyText); c.colSpan = cols; tr.append(c); body.append(tr); }
  for (const r of rows) body.append(r);
}

function serversCell(servers) {
  const c = el('td');
  for (const s of list(servers)) {
    const url = s.url || s.address || '';
    const line = el('span', 'srv');
    if (s.healthy === true || s.healthy === false) line.append(pill(s.healthy ? 'UP' : 'DOWN', s.healthy ? 'ok' : 'bad'), ' ');
    line.append(el('code', null, url));
    c.append(line);
  }
  if (!c.firstChild) c.append(el('span', 'muted', '—'));
  return c;
}

function renderRouters(routes) {
  const rows = [];
  const all = [
    ...list(routes.http).map((r) => ({ ...r, kind: 'http' })),
    ...list(routes.tcp).map((r) => ({ ...r, kind: 'tcp' })),
    ...list(routes.udp).map((r) => ({ ...r, kind: 'udp' })),
  ];
  const shown = all.filter((r) => !filter || [r.name, r.rule, r.service].some((v) => String(v || '').toLowerCase().includes(filter)));
  for (const r of shown) {
    const tr = el('tr');
    tr.dataset.router = r.name;
    const errs = el('td');
    for (const e of list(r.errors)) errs.append(el('div', 'err', e));
    tr.append(
      td(pill(r.status || 'enabled', statusKind(r.status || 'enabled'))),
      td(el('code', 'nw', r.name)),
      td(el('span', 'muted', r.kind)),
      td(r.rule ? el('code', null, r.rule) : el('span', 'muted', '—')),
      td(list(r.entryPoints).join(', ') || 'all'),
      td(el('code', 'nw', r.service)),
      serversCell(r.servers),
      errs,
    );
    rows.push(tr);
  }
  $('routers-count').textContent = shown.length === all.length ? String(all.length) : shown.length + ' of ' + all.length;
  fill('routers', rows, 8, all.length ? 'No router matches the filter.' : 'No routers yet.');
}

function renderServices(services) {
  const rows = [];
  for (const s of list(services)) {
    const tr = el('tr');
    tr.dataset.service = s.name;
    const type = s.loadBalancer ? 'loadBalancer' : s.weighted ? 'weighted' : s.failover ? 'failover' : s.mirroring ? 'mirroring' : 'internal';
    const servers = Object.entries(s.serverStatus || {}).map(([url, st]) => ({ url, healthy: st === 'UP' }));
    const errs = el('td');
    for (const e of list(s.error)) errs.append(el('div', 'err', e));
    tr.append(td(pill(s.status || 'enabled', statusKind(s.status || 'enabled'))), td(el('code', null, s.name)), td(el('span', 'muted', type)), serversCell(servers), errs);
    rows.push(tr);
  }
  $('services-count').textContent = String(rows.length);
  fill('services', rows, 5, 'No HTTP services.');
}

function renderCerts(certs) {
  const stored = Array.isArray(certs) ? certs : list(certs && certs.store);
  const managed = Array.isArray(certs) ? [] : list(certs && certs.managed);
  const rows = [];
  const now = Date.now();
  const row = (names, notAfter, source, state, error) => {
    const tr = el('tr');
    tr.dataset.cert = list(names)[0] || '';
    let days = null;
    const t = notAfter ? Date.parse(notAfter) : NaN;
    if (!Number.isNaN(t)) days = Math.floor((t - now) / 86400000);
    const daysCell = days === null ? el('span', 'muted', '—') : pill(days < 0 ? 'expired' : days + ' days', days < 7 ? 'bad' : days < 30 ? 'warn' : 'ok');
    tr.append(
      td(list(names).length ? el('code', null, list(names).join(', ')) : el('span', 'muted', 'default certificate')),
      td(Number.isNaN(t) ? '—' : new Date(t).toISOString().slice(0, 10)),
      td(daysCell),
      td(el('span', 'muted', source || '')),
      td(state ? pill(state, statusKind(state)) : '', error ? el('div', 'err', error) : ''),
    );
    rows.push(tr);
  };
  for (const m of managed) row(m.names && m.names.length ? m.names : [m.main, ...list(m.sans)], m.notAfter, 'acme: ' + (m.resolver || ''), m.state, m.lastError);
  for (const c of stored) row(c.names, c.notAfter, c.source || c.issuer || '', null, null);
  $('certs-count').textContent = String(rows.length);
  fill('certs', rows, 5, 'No certificates.');
}

function renderProviders(health) {
  const rows = [];
  for (const [name, st] of Object.entries(health.providers || {})) {
    const tr = el('tr');
    tr.dataset.provider = name;
    tr.append(
      td(el('code', null, name)),
      td(pill(st.status, statusKind(st.status))),
      td(st.lastUpdate ? new Date(st.lastUpdate).toLocaleTimeString() : '—'),
      td(st.error ? el('span', 'err', st.error) : el('span', 'muted', '—')),
    );
    rows.push(tr);
  }
  const f = health.fleet;
  if (f) {
    // Fleet mode: the Redis connection, the leases this host holds, the last reconcile.
    const tr = el('tr');
    tr.dataset.provider = 'fleet';
    const detail = (f.leases && f.leases.length ? 'ordering ' + f.leases.join(', ') + '; ' : '') + (f.lastSync ? 'synced ' + new Date(f.lastSync).toLocaleTimeString() : 'not synced yet');
    tr.append(
      td(el('code', null, 'fleet (' + f.node + ')')),
      td(pill(f.connected ? 'connected' : 'disconnected', f.connected ? 'ok' : 'bad')),
      td(el('span', 'muted', detail)),
      td(f.lastError ? el('span', 'err', f.lastError) : el('span', 'muted', '—')),
    );
    rows.push(tr);
  }
  $('providers-count').textContent = String(rows.length);
  fill('providers', rows, 4, 'No providers.');
}

function renderDiagnostics(routes) {
  const rows = [];
  for (const d of list(routes.diagnostics)) {
    const tr = el('tr');
    tr.append(td(pill(d.level, d.level === 'error' ? 'bad' : d.level === 'warning' ? 'warn' : 'ok')), td(el('code', null, d.element || '')), td(el('span', 'muted', d.source || '')), td(d.message || ''));
    rows.push(tr);
  }
  $('diag-count').textContent = String(rows.length);
  fill('diagnostics', rows, 4, 'No problems.');
}

function renderHeader(health, routes) {
  const st = health.status || 'unknown';
  const s = $('status');
  s.replaceChildren(pill(st, statusKind(st)));
  $('version').textContent = 'v' + (health.version || '?') + ' · config #' + (routes.version ?? health.configVersion ?? '?') + ' · up ' + uptime(health.uptimeSeconds || 0);
  $('c-routers').textContent = String(health.routers ?? 0);
  $('c-services').textContent = String(health.services ?? 0);
  $('c-auto').textContent = String(health.autoRoutes ?? 0);
  $('c-errors').textContent = String(health.errors ?? 0);
}

function uptime(s) {
  const d = Math.floor(s / 86400), h = Math.floor(s % 86400 / 3600), m = Math.floor(s % 3600 / 60);
  return d ? d + 'd ' + h + 'h' : h ? h + 'h ' + m + 'm' : m + 'm ' + (s % 60) + 's';
}

async function getJson(path) {
  const r = await fetch(path, { cache: 'no-store', headers: { accept: 'application/json' } });
  if (!r.ok) throw new Error(path + ': ' + r.status);
  return r.json();
}

async function refresh() {
  const [health, routes, certs, services] = await Promise.allSettled([getJson('/health'), getJson('/routes.json'), getJson('/certs'), getJson('/api/http/services')]);
  const banner = $('banner');
  if (health.status === 'rejected' || routes.status === 'rejected') {
    banner.style.display = 'block';
    banner.textContent = 'The API does not answer (' + String((health.reason || routes.reason || '').message || '') + '); showing the last known state.';
  } else banner.style.display = 'none';
  if (routes.status === 'fulfilled') { last = routes.value; renderRouters(routes.value); renderDiagnostics(routes.value); }
  if (health.status === 'fulfilled') { renderProviders(health.value); renderHeader(health.value, routes.status === 'fulfilled' ? routes.value : {}); }
  if (certs.status === 'fulfilled') renderCerts(certs.value);
  if (services.status === 'fulfilled') renderServices(services.value);
  $('updated').textContent = 'updated ' + new Date().toLocaleTimeString();
  document.body.dataset.loaded = String(Number(document.body.dataset.loaded || 0) + 1);
}

$('filter').addEventListener('input', (e) => { filter = e.target.value.trim().toLowerCase(); if (last) renderRouters(last); });
const loop = () => refresh().catch(() => {}).finally(() => setTimeout(loop, 2000));
loop();
`;

const BODY = `<header><h1>berth</h1><span id="status"></span><span class="meta" id="version"></span><span class="grow"></span><span class="meta" id="updated"></span></header>
<div id="banner" role="alert"></div>
<main>
<div class="cards">
<div class="card"><div class="n" id="c-routers">–</div><div class="l">Routers</div></div>
<div class="card"><div class="n" id="c-services">–</div><div class="l">Services</div></div>
<div class="card"><div class="n" id="c-auto">–</div><div class="l">Auto-routes</div></div>
<div class="card"><div class="n" id="c-errors">–</div><div class="l">Errors</div></div>
</div>
<section><h2>Providers <span class="count" id="providers-count"></span></h2><table><thead><tr><th>Name</th><th>State</th><th>Last update</th><th>Error</th></tr></thead><tbody id="providers"></tbody></table></section>
<section><h2>Routers <span class="count" id="routers-count"></span><span class="grow"></span><input type="search" id="filter" placeholder="Filter by name, rule or service" aria-label="Filter routers"></h2>
<table><thead><tr><th>Status</th><th>Name</th><th>Kind</th><th>Rule</th><th>Entrypoints</th><th>Service</th><th>Servers</th><th>Errors</th></tr></thead><tbody id="routers"></tbody></table></section>
<section><h2>Services <span class="count" id="services-count"></span></h2><table><thead><tr><th>Status</th><th>Name</th><th>Type</th><th>Servers</th><th>Errors</th></tr></thead><tbody id="services"></tbody></table></section>
<section><h2>Certificates <span class="count" id="certs-count"></span></h2><table><thead><tr><th>Names</th><th>Expires</th><th>Left</th><th>Source</th><th>State</th></tr></thead><tbody id="certs"></tbody></table></section>
<section><h2>Diagnostics <span class="count" id="diag-count"></span></h2><table><thead><tr><th>Level</th><th>Element</th><th>Source</th><th>Message</th></tr></thead><tbody id="diagnostics"></tbody></table></section>
</main>`;

const hash = (s: string): string => `'sha256-${createHash('sha256').update(s).digest('base64')}'`;

/** The page, built once. */
export const DASHBOARD_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="referrer" content="no-referrer"><link rel="icon" href="data:,"><title>berth dashboard</title>
<style>${STYLE}</style></head>
<body>${BODY}
<script>${SCRIPT}</script>
</body></html>
`;

/** Only this page's own script and style may run; data can only come from the same origin. */
export const DASHBOARD_CSP = `default-src 'none'; script-src ${hash(SCRIPT)}; style-src ${hash(STYLE)}; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`;

const BODY_BYTES = Buffer.from(DASHBOARD_HTML);

/**
 * Serves the dashboard page (`GET /`, `/dashboard`). The page reads everything through the API,
 * so `sources` is not consulted per request; it is taken so the page can grow server-side parts.
 */
export function dashboardHandler(_sources: ApiSources): (req: ApiRequest, res: ApiResponse) => void {
  return (req, res) => {
    res.writeHead(200, {
      'content-type': 'text/html; charset=utf-8',
      'content-length': BODY_BYTES.length,
      'cache-control': 'no-store',
      'content-security-policy': DASHBOARD_CSP,
      'x-content-type-options': 'nosniff',
      'x-frame-options': 'DENY',
      'referrer-policy': 'no-referrer',
    });
    res.end(req.method === 'HEAD' ? undefined : BODY_BYTES);
  };
}
