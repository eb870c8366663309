import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { startBerth } from '../helpers/berth.ts';
import { freePort } from '../helpers/net.ts';
import { needTools } from '../helpers/tools.ts';
import { startUpstream } from '../helpers/upstreams.ts';
import { tempDir } from '../helpers/temp.ts';

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** A rule carrying markup, as a hostile container label could: it must show as text, never run. */
const HOSTILE_RULE = 'Host(`evil.test`) && Path(`/<img src=x onerror="window.__xss=1">`)';

test('dashboard in headless Chromium: a new router appears, a removed one disappears, nothing from labels runs', {
  timeout: 120_000,
}, async (t) => {
  if (!needTools(t, 'chromium')) return;
  const { chromium } = await import('playwright-core');
  const dir = tempDir('berth-dash-');
  const shots = mkdtempSync(join(tmpdir(), 'berth-dash-shots-'));
  const dynPath = join(dir, 'dynamic.yaml');
  const up = await startUpstream((_req, res) => res.end('ok'));
  const writeDyn = (routers: Record<string, unknown>): void => {
    writeFileSync(
      `${dynPath}.tmp`,
      stringify({ http: { routers, services: { app: { loadBalancer: { servers: [{ url: up.url }] } } } } }),
    );
    renameSync(`${dynPath}.tmp`, dynPath);
  };
  const base = {
    stable: { rule: 'Host(`stable.test`)', service: 'app' },
    evil: { rule: HOSTILE_RULE, service: 'app' },
  };
  writeDyn(base);
  const berth = await startBerth({
    dir,
    config: {
      entryPoints: { web: { address: `127.0.0.1:${await freePort()}` } },
      providers: { file: { filename: dynPath, watch: true } },
    },
  });
  const profile = tempDir('berth-chromium-');
  const browser = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
  });
  t.after(async () => {
    await browser.close().catch(() => undefined);
    await berth.stop();
    await up.close();
    rmSync(dir, { recursive: true, force: true });
    rmSync(profile, { recursive: true, force: true });
  });

  const page = await browser.newPage();
  const consoleErrors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') consoleErrors.push(m.text());
  });
  page.on('pageerror', (e) => consoleErrors.push(e.message));
  const res = await page.goto(`${berth.apiUrl}/`);
  assert.equal(res?.status(), 200);
  assert.match(res?.headers()['content-security-policy'] ?? '', /script-src 'sha256-/);
  await page.locator('[data-router="stable@file"]').waitFor({ timeout: 15_000 });

  // A router created a moment ago shows up on a later poll.
  writeDyn({ ...base, fresh: { rule: 'Host(`fresh.test`)', service: 'app' } });
  const fresh = page.locator('[data-router="fresh@file"]');
  await fresh.waitFor({ timeout: 15_000 });
  const text = await fresh.innerText();
  assert.match(text, /enabled/);
  assert.match(text, /Host\(`fresh\.test`\)/);
  assert.match(text, /app@file/);
  assert.match(text, new RegExp(up.url.replace(/[.]/g, '\\.')));
  assert.match(await page.locator('[data-provider="file"]').innerText(), /ok/);
  assert.match(await page.locator('[data-service="app@file"]').innerText(), /UP/);
  await page.locator('[data-cert]').first().waitFor({ timeout: 5_000 });
  assert.match(await page.locator('[data-cert]').first().innerText(), /\d+ days|expired/);

  // Markup in a rule is shown as text and never becomes elements or runs.
  const evil = page.locator('[data-router="evil@file"]');
  assert.ok((await evil.innerText()).includes('<img src=x onerror="window.__xss=1">'));
  assert.equal(await evil.locator('img').count(), 0);
  assert.equal(await page.evaluate('typeof window.__xss'), 'undefined');

  const before = join(shots, 'dashboard-with-router.png');
  await page.screenshot({ path: before, fullPage: true });
  t.diagnostic(`screenshot: ${before}`);

  // The router disappears once the configuration no longer has it.
  writeDyn(base);
  await fresh.waitFor({ state: 'detached', timeout: 15_000 });
  assert.equal(await page.locator('[data-router="stable@file"]').count(), 1);
  const afterShot = join(shots, 'dashboard-without-router.png');
  await page.screenshot({ path: afterShot, fullPage: true });
  t.diagnostic(`screenshot: ${afterShot}`);
  assert.deepEqual(consoleErrors, []);
});

test("dashboard in headless Chromium: a container's router appears when it starts and goes when it stops", {
  timeout: 150_000,
}, async (t) => {
  if (!needTools(t, 'chromium', 'dockerd', 'busybox')) return;
  const { chromium } = await import('playwright-core');
  const { startDockerds } = await import('../helpers/dockerd.ts');
  const fleet = await startDockerds(1);
  const berth = await startBerth({
    config: {
      entryPoints: { web: { address: `127.0.0.1:${await freePort()}` } },
      providers: { docker: { endpoints: [fleet.glob], exposedByDefault: false } },
    },
  });
  const profile = tempDir('berth-chromium-');
  const shots = mkdtempSync(join(tmpdir(), 'berth-dash-shots-'));
  const browser = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
  });
  t.after(async () => {
    await browser.close().catch(() => undefined);
    await berth.stop();
    await fleet.stop();
    rmSync(profile, { recursive: true, force: true });
  });
  const page = await browser.newPage();
  assert.equal((await page.goto(`${berth.apiUrl}/`))?.status(), 200);
  const d = fleet.daemons[0]!;
  const c = await d.runHttpd({
    name: 'shop',
    port: 8080,
    labels: {
      'traefik.enable': 'true',
      'traefik.http.routers.shop.rule': 'Host(`shop.test`)',
      'traefik.http.services.shop.loadbalancer.server.port': '8080',
    },
  });
  void c;
  const row = page.locator('[data-router="shop@docker"]');
  await row.waitFor({ timeout: 20_000 });
  assert.match(await row.innerText(), /Host\(`shop\.test`\)/);
  const shot = join(shots, 'dashboard-container-running.png');
  await page.screenshot({ path: shot, fullPage: true });
  t.diagnostic(`screenshot: ${shot}`);
  await d.stopContainer('shop');
  await row.waitFor({ state: 'detached', timeout: 20_000 });
  const gone = join(shots, 'dashboard-container-stopped.png');
  await page.screenshot({ path: gone, fullPage: true });
  t.diagnostic(`screenshot: ${gone}`);
});
