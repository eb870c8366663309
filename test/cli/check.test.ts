import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tempDir } from '../helpers/temp.ts';

const MAIN = fileURLToPath(new URL('../../src/main.ts', import.meta.url));

/** Runs `berth <args>` to completion; `env` replaces the TRAEFIK_* variables of this process. */
export function berth(
  args: readonly string[],
  opts: { cwd?: string; env?: Record<string, string> } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const env: Record<string, string | undefined> = { ...process.env, ...opts.env };
  for (const k of Object.keys(process.env)) if (/^TRAEFIK_/i.test(k) && !(k in (opts.env ?? {}))) delete env[k];
  return new Promise((resolve) => {
    execFile(process.execPath, [MAIN, ...args], { cwd: opts.cwd, timeout: 30_000, env }, (err, stdout, stderr) => {
      const code = err && typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

describe('berth check: keys accepted without effect are warnings', () => {
  test('static and dynamic (TOML) keys are named with what happens instead; exit 0', async () => {
    const dir = tempDir('berth-check-');
    await writeFile(
      join(dir, 'dyn.toml'),
      '[http.routers.app]\nrule = "Host(`app.test`)"\nservice = "app"\nruleSyntax = "v2"\n\n[[http.services.app.loadBalancer.servers]]\nurl = "http://127.0.0.1:9"\n\n[http.middlewares.m.headers]\nfeaturePolicy = "camera \'none\'"\n',
    );
    await writeFile(
      join(dir, 'berth.yaml'),
      [
        'entryPoints:',
        '  web:',
        '    address: "127.0.0.1:0"',
        '    http:',
        '      encodeQuerySemicolons: true',
        'certificatesResolvers:',
        '  le:',
        '    acme:',
        '      certificateTimeout: 30s',
        '      tlsChallenge: {}',
        'providers:',
        '  file:',
        `    filename: ${join(dir, 'dyn.toml')}`,
        '',
      ].join('\n'),
    );
    const r = await berth(['check', '-c', join(dir, 'berth.yaml')]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stderr,
      /warning: .*certificatesResolvers\.le\.acme\.certificateTimeout: certificateTimeout has no effect in berth: berth orders with its defaults/,
    );
    assert.match(
      r.stderr,
      /warning: .*entryPoints\.web\.http\.encodeQuerySemicolons: encodeQuerySemicolons has no effect in berth/,
    );
    // ruleSyntax takes effect (the rule is read with the v2 syntax): no warning.
    assert.doesNotMatch(r.stderr, /ruleSyntax/);
    assert.match(
      r.stderr,
      /warning: .*http\.middlewares\.m\.headers\.featurePolicy: featurePolicy has no effect in berth/,
    );
    assert.match(r.stdout, /dyn\.toml: ok \(1 router\(s\), 0 error\(s\), 1 warning\(s\)\)/);
  });

  test('an error in a dynamic file fails the check', async () => {
    const dir = tempDir('berth-check-');
    await writeFile(join(dir, 'dyn.yml'), 'http:\n  routers:\n    app:\n      rulle: x\n      service: s\n');
    await writeFile(
      join(dir, 'berth.yaml'),
      `entryPoints:\n  web:\n    address: "127.0.0.1:0"\nproviders:\n  file:\n    filename: ${join(dir, 'dyn.yml')}\n`,
    );
    const r = await berth(['check', '-c', join(dir, 'berth.yaml')]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /http\.routers\.app\.rulle: unknown key, did you mean "rule"\?/);
  });
});

describe("berth's own options", () => {
  for (const args of [['--version'], ['-v'], ['version']]) {
    test(`${args.join(' ')} prints the version`, async () => {
      const r = await berth(args);
      assert.equal(r.code, 0);
      assert.match(r.stdout, /^berth \S+ \(node v\d+/);
    });
  }
  for (const args of [['-h'], ['--help'], [], ['check', '--help']]) {
    test(`${args.join(' ') || '(nothing)'} prints the usage`, async () => {
      const r = await berth(args);
      assert.equal(r.code, 0);
      assert.match(r.stdout, /^berth .* — an edge proxy/);
    });
  }
  test('an unknown option is refused with the usage', async () => {
    const r = await berth(['check', '--nope']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /Unknown option '--nope'/);
  });

  test('check reads a Traefik command line as run would', async () => {
    const r = await berth([
      'check',
      '--entrypoints.web.address=127.0.0.1:0',
      '--providers.docker.exposedbydefault=false',
      '--entrypoints.web.http.encodequerysemicolons=true',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^command line: ok \(entrypoints: web=127\.0\.0\.1:0\)/);
    assert.match(
      r.stderr,
      /warning: command line: --entrypoints\.web\.http\.encodequerysemicolons: encodeQuerySemicolons has no effect in berth/,
    );
  });

  test('check reports a flag it does not know', async () => {
    const r = await berth(['check', '--entrypoints.web.adress=:80']);
    assert.equal(r.code, 2);
    assert.match(
      r.stderr,
      /error: command line: --entrypoints\.web\.adress: unknown key "adress" \(did you mean "address"\?\)/,
    );
  });
});
