import { test, describe, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, writeFile, rename, readFile, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { FileProvider } from '../../../src/providers/file/file-provider.ts';
import type { FileProviderConfig } from '../../../src/config/static/types.ts';
import { RecordingSink } from './recording-sink.ts';

const silent = pino({ level: 'silent' });

/** A router + service pair in YAML, distinguishable by `name` and upstream `ip`. */
function yamlApp(name: string, ip = '127.0.0.2'): string {
  return [
    'http:',
    '  routers:',
    `    ${name}:`,
    `      rule: "Host(\`${name}.test\`) || Host(\`www.${name}.test\`)"`,
    `      service: ${name}`,
    '  services:',
    `    ${name}:`,
    '      loadBalancer:',
    '        servers:',
    `          - url: http://${ip}:8080`,
    '',
  ].join('\n');
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'berth-file-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function startProvider(
  cfg: FileProviderConfig,
  extra: { rewatchMs?: number } = {},
): Promise<{ p: FileProvider; sink: RecordingSink }> {
  const p = new FileProvider(cfg, { logger: silent, debounceMs: 20, ...extra });
  const sink = new RecordingSink();
  cleanups.push(() => p.stop());
  await p.start(sink);
  return { p, sink };
}

function routerNames(sink: RecordingSink): string[] {
  return Object.keys(sink.lastPublish?.config.http?.routers ?? {}).sort();
}

describe('FileProvider: a single file', () => {
  test('publishes the file at start, then every change', async () => {
    const dir = await tempDir();
    const file = join(dir, 'dyn.yml');
    await writeFile(file, yamlApp('one'));
    const { p, sink } = await startProvider({ filename: file, watch: true });
    assert.equal(p.name, 'file');
    assert.equal(sink.publishes.length, 1);
    assert.deepEqual(routerNames(sink), ['one']);
    assert.deepEqual(sink.lastPublish?.diagnostics, []);
    assert.equal(sink.lastState?.status, 'ok');
    assert.equal(typeof sink.lastState?.lastUpdate, 'number');

    await writeFile(file, yamlApp('two'));
    await sink.publishNumber(2, 'the edited file');
    assert.deepEqual(routerNames(sink), ['two']);
  });

  test('an editor-style save (write a temp file, rename over) is picked up', async () => {
    const dir = await tempDir();
    const file = join(dir, 'dyn.yaml');
    await writeFile(file, yamlApp('one'));
    const { sink } = await startProvider({ filename: file, watch: true });
    const tmp = join(dir, '.dyn.yaml.swp');
    await writeFile(tmp, yamlApp('replaced'));
    await rename(tmp, file);
    await sink.publishNumber(2);
    assert.deepEqual(routerNames(sink), ['replaced']);
  });

  test('a JSON file (seed-004 shape) is read as JSON', async () => {
    const dir = await tempDir();
    const file = join(dir, 'dyn.json');
    const seed = await readFile(new URL('../../fixtures/dynamic/seed-004.json', import.meta.url), 'utf8');
    await writeFile(file, seed);
    const { sink } = await startProvider({ filename: file, watch: false });
    assert.deepEqual(sink.lastPublish?.config, JSON.parse(seed));
  });

  test('a broken file keeps the last good config (degraded with the error), then recovers', async () => {
    const dir = await tempDir();
    const file = join(dir, 'dyn.yml');
    await writeFile(file, yamlApp('one'));
    const { sink } = await startProvider({ filename: file, watch: true });

    await writeFile(file, 'http:\n  routers: [\n');
    await sink.until(() => sink.lastState?.status === 'degraded', 'degraded state');
    assert.equal(sink.publishes.length, 1, 'nothing new is published');
    assert.match(sink.lastState?.error ?? '', /dyn\.yml: YAML syntax error at line \d+, column \d+/);

    await writeFile(file, yamlApp('fixed'));
    await sink.publishNumber(2, 'the recovered file');
    await sink.until(() => sink.lastState?.status === 'ok', 'ok again');
    assert.deepEqual(routerNames(sink), ['fixed']);
    assert.equal(sink.lastState?.error, undefined);
  });

  const failures: { desc: string; content: string | null; error: RegExp }[] = [
    { desc: 'an empty file (a truncating save in progress)', content: '', error: /dyn\.yml: the document is empty/ },
    { desc: 'a file that is not an object', content: '- just\n- a list\n', error: /got a list/ },
    { desc: 'a deleted file', content: null, error: /cannot read .*dyn\.yml: ENOENT/ },
  ];
  for (const c of failures) {
    test(`${c.desc} keeps the last good config`, async () => {
      const dir = await tempDir();
      const file = join(dir, 'dyn.yml');
      await writeFile(file, yamlApp('one'));
      const { sink } = await startProvider({ filename: file, watch: true });
      if (c.content === null) await rm(file);
      else await writeFile(file, c.content);
      await sink.until(() => sink.lastState?.status === 'degraded', 'degraded state');
      assert.equal(sink.publishes.length, 1);
      assert.match(sink.lastState?.error ?? '', c.error);
    });
  }

  test('recovering to the very content already applied reports ok without publishing again', async () => {
    const dir = await tempDir();
    const file = join(dir, 'dyn.yml');
    await writeFile(file, yamlApp('one'));
    const { sink } = await startProvider({ filename: file, watch: true });
    await writeFile(file, '{');
    await sink.until(() => sink.lastState?.status === 'degraded', 'degraded state');
    await writeFile(file, yamlApp('one'));
    await sink.until(() => sink.lastState?.status === 'ok', 'ok again');
    assert.equal(sink.publishes.length, 1);
  });

  test('element-level errors do not fail the file: the rest is published with diagnostics', async () => {
    const dir = await tempDir();
    const file = join(dir, 'dyn.yml');
    await writeFile(
      file,
      yamlApp('good').replace('  services:', '    bad:\n      rule: 5\n      service: good\n  services:'),
    );
    const { sink } = await startProvider({ filename: file, watch: false });
    assert.deepEqual(routerNames(sink), ['good']);
    assert.equal(sink.lastState?.status, 'ok');
    assert.deepEqual(
      sink.lastPublish?.diagnostics.map((d) => `${d.source}|${d.element}|${d.message}`),
      [`file ${file}|http.routers.bad.rule|expected a string, got number 5`],
    );
  });

  test('a file missing at start is down, then published once it appears', async () => {
    const dir = await tempDir();
    const file = join(dir, 'later.yml');
    const { sink } = await startProvider({ filename: file, watch: true });
    assert.equal(sink.lastState?.status, 'down');
    assert.equal(sink.publishes.length, 0);
    await writeFile(file, yamlApp('late'));
    await sink.publishNumber(1);
    assert.deepEqual(routerNames(sink), ['late']);
    await sink.until(() => sink.lastState?.status === 'ok', 'ok');
  });

  test('a TOML file is read as Traefik reads it', async () => {
    const dir = await tempDir();
    const file = join(dir, 'dyn.toml');
    await writeFile(
      file,
      '[http.routers.app]\nrule = "Host(`app.test`)"\nservice = "app"\n\n[[http.services.app.loadBalancer.servers]]\nurl = "http://127.0.0.2:8080"\n',
    );
    const { sink } = await startProvider({ filename: file, watch: false });
    assert.equal(sink.lastState?.status, 'ok');
    assert.deepEqual(routerNames(sink), ['app']);
    assert.deepEqual(sink.lastPublish?.config.http?.services?.['app']?.loadBalancer?.servers, [
      { url: 'http://127.0.0.2:8080' },
    ]);
  });

  test('a TOML syntax error names the line and keeps nothing', async () => {
    const dir = await tempDir();
    const file = join(dir, 'dyn.toml');
    await writeFile(file, '[http.routers.app]\nrule = Host\n');
    const { sink } = await startProvider({ filename: file, watch: false });
    assert.equal(sink.lastState?.status, 'down');
    assert.match(sink.lastState?.error ?? '', /TOML syntax error at line 2/);
  });

  test('neither filename nor directory is reported, not thrown', async () => {
    const { sink } = await startProvider({ watch: true });
    assert.equal(sink.lastState?.status, 'down');
    assert.match(sink.lastState?.error ?? '', /filename or a directory/);
  });

  test('a burst of writes ends on the last content', async () => {
    const dir = await tempDir();
    const file = join(dir, 'dyn.yml');
    await writeFile(file, yamlApp('v0'));
    const { sink } = await startProvider({ filename: file, watch: true });
    for (let i = 1; i <= 20; i++) await writeFile(file, yamlApp(`v${i}`));
    await sink.until(() => routerNames(sink).join() === 'v20', 'the last version');
    assert.ok(sink.publishes.length <= 21);
  });

  test('watch: false reads once', async () => {
    const dir = await tempDir();
    const file = join(dir, 'dyn.yml');
    await writeFile(file, yamlApp('one'));
    const still = await startProvider({ filename: file, watch: false });
    const watching = await startProvider({ filename: file, watch: true });
    await writeFile(file, yamlApp('two'));
    await watching.sink.publishNumber(2);
    assert.equal(still.sink.publishes.length, 1);
    assert.deepEqual(routerNames(still.sink), ['one']);
  });
});

describe('FileProvider: a directory', () => {
  test('merges every YAML/TOML/JSON file below it in path order, skipping dot entries', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'a.yml'), yamlApp('alpha'));
    await writeFile(
      join(dir, 'b.json'),
      JSON.stringify({ http: { middlewares: { hsts: { headers: { stsSeconds: 63072000 } } } } }),
    );
    await mkdir(join(dir, 'sub'));
    await writeFile(join(dir, 'sub', 'c.yaml'), yamlApp('gamma', '127.0.0.3'));
    await writeFile(join(dir, 'd.toml'), '[http.middlewares.strip.stripPrefix]\nprefixes = ["/api"]\n');
    await writeFile(join(dir, 'notes.txt'), 'not config');
    await writeFile(join(dir, '.hidden.yml'), yamlApp('hidden'));
    await mkdir(join(dir, '..data'));
    await writeFile(join(dir, '..data', 'x.yml'), yamlApp('twice'));
    const { sink } = await startProvider({ directory: dir, watch: false });
    assert.deepEqual(routerNames(sink), ['alpha', 'gamma']);
    assert.deepEqual(Object.keys(sink.lastPublish?.config.http?.middlewares ?? {}), ['hsts', 'strip']);
    assert.equal(sink.lastState?.status, 'ok');
    assert.deepEqual(sink.lastPublish?.diagnostics ?? [], []);
  });

  test('a name defined in two files: the first file wins and the duplicate is an error', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, '10-first.yml'), yamlApp('shared', '127.0.0.2'));
    await writeFile(join(dir, '20-second.yml'), yamlApp('shared', '127.0.0.9'));
    const { sink } = await startProvider({ directory: dir, watch: false });
    const svc = sink.lastPublish?.config.http?.services?.['shared'];
    assert.equal(svc?.loadBalancer?.servers?.[0]?.url, 'http://127.0.0.2:8080');
    const diags = (sink.lastPublish?.diagnostics ?? []).map((d) => `${d.level} ${d.element}: ${d.message}`);
    assert.deepEqual(diags, [
      'error http.routers.shared: defined in both 10-first.yml and 20-second.yml; the definition in 10-first.yml is used',
      'error http.services.shared: defined in both 10-first.yml and 20-second.yml; the definition in 10-first.yml is used',
    ]);
  });

  test('the same TLS certificate in two files is served once', async () => {
    const dir = await tempDir();
    const tls = 'tls:\n  certificates:\n    - certFile: /c.pem\n      keyFile: /k.pem\n';
    await writeFile(join(dir, 'a.yml'), tls);
    await writeFile(join(dir, 'b.yml'), tls);
    const { sink } = await startProvider({ directory: dir, watch: false });
    assert.deepEqual(sink.lastPublish?.config, { tls: { certificates: [{ certFile: '/c.pem', keyFile: '/k.pem' }] } });
  });

  test('adding, changing and breaking files is watched; one broken file keeps the whole last good config', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'a.yml'), yamlApp('alpha'));
    const { sink } = await startProvider({ directory: dir, watch: true });
    assert.deepEqual(routerNames(sink), ['alpha']);

    await writeFile(join(dir, 'b.yml'), yamlApp('beta'));
    await sink.until(() => routerNames(sink).join() === 'alpha,beta', 'the added file');

    await mkdir(join(dir, 'nested'));
    await writeFile(join(dir, 'nested', 'c.yml'), yamlApp('gamma'));
    await sink.until(() => routerNames(sink).join() === 'alpha,beta,gamma', 'the file in a new subdirectory');

    const published = sink.publishes.length;
    await writeFile(join(dir, 'b.yml'), 'http: [');
    await sink.until(() => sink.lastState?.status === 'degraded', 'degraded');
    assert.equal(sink.publishes.length, published);
    assert.match(sink.lastState?.error ?? '', /b\.yml: YAML syntax error/);

    await rm(join(dir, 'b.yml'));
    await sink.until(() => sink.lastState?.status === 'ok', 'recovered by removing the broken file');
    assert.deepEqual(routerNames(sink), ['alpha', 'gamma']);
  });

  test('a symlinked file (ConfigMap style) is read through the link', async () => {
    const dir = await tempDir();
    await mkdir(join(dir, '..2024'));
    await writeFile(join(dir, '..2024', 'dyn.yml'), yamlApp('linked'));
    await symlink('..2024', join(dir, '..data'));
    await symlink(join('..data', 'dyn.yml'), join(dir, 'dyn.yml'));
    const { sink } = await startProvider({ directory: dir, watch: false });
    assert.deepEqual(routerNames(sink), ['linked']);
    assert.deepEqual(sink.lastPublish?.diagnostics, []);
  });

  test('a directory missing at start is down, then watched once created', async () => {
    const parent = await tempDir();
    const dir = join(parent, 'dynamic');
    const { sink } = await startProvider({ directory: dir, watch: true }, { rewatchMs: 30 });
    assert.equal(sink.lastState?.status, 'down');
    assert.match(sink.lastState?.error ?? '', /cannot read directory/);
    await mkdir(dir);
    await writeFile(join(dir, 'a.yml'), yamlApp('alpha'));
    await sink.publishNumber(1);
    await sink.until(() => routerNames(sink).join() === 'alpha', 'the new directory content');
    await sink.until(() => sink.lastState?.status === 'ok', 'ok');
  });

  test('an empty directory publishes an empty config', async () => {
    const dir = await tempDir();
    const { sink } = await startProvider({ directory: dir, watch: false });
    assert.deepEqual(sink.lastPublish?.config, {});
    assert.equal(sink.lastState?.status, 'ok');
  });

  test('directory wins over filename, as in Traefik', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'a.yml'), yamlApp('fromdir'));
    const { sink } = await startProvider({ directory: dir, filename: join(dir, 'missing.yml'), watch: false });
    assert.deepEqual(routerNames(sink), ['fromdir']);
  });
});
