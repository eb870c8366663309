import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { VERSION } from '../../src/version.ts';

const MAIN = resolve(import.meta.dirname, '../../src/main.ts');

/** Runs the berth command line and resolves with its exit code and output. */
function berth(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(process.execPath, [MAIN, ...args], { timeout: 30_000 }, (err, stdout, stderr) => {
      done({ code: err ? Number(err.code ?? 1) : 0, stdout, stderr });
    });
  });
}

describe('berth: version and help from the command line', () => {
  const cases: { desc: string; args: string[]; code: number; stdout?: RegExp; stderr?: RegExp }[] = [
    {
      desc: '--version prints the version',
      args: ['--version'],
      code: 0,
      stdout: new RegExp(`^berth ${VERSION} \\(node v\\d+`),
    },
    { desc: '-v prints the version', args: ['-v'], code: 0, stdout: new RegExp(`^berth ${VERSION} \\(node`) },
    { desc: 'version prints the version', args: ['version'], code: 0, stdout: new RegExp(`^berth ${VERSION} \\(node`) },
    { desc: '-h prints the usage', args: ['-h'], code: 0, stdout: /^berth .*\n\nusage: berth <command>/ },
    { desc: '--help prints the usage', args: ['--help'], code: 0, stdout: /usage: berth <command>/ },
    { desc: 'help prints the usage', args: ['help'], code: 0, stdout: /usage: berth <command>/ },
    {
      desc: '--help after a command still prints the usage',
      args: ['check', '--help'],
      code: 0,
      stdout: /usage: berth <command>/,
    },
    {
      desc: 'an unknown option is refused with the usage',
      args: ['routes', '--verbose'],
      code: 2,
      stderr: /Unknown option '--verbose'[\s\S]*usage: berth/,
    },
  ];
  for (const c of cases) {
    test(c.desc, async () => {
      const r = await berth(...c.args);
      assert.equal(r.code, c.code, r.stderr);
      if (c.stdout) assert.match(r.stdout, c.stdout);
      if (c.stderr) assert.match(r.stderr, c.stderr);
    });
  }
});
