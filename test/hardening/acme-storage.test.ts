import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../../src/lib/atomic-file.ts';
import { BerthError, ErrorCodes } from '../../src/lib/errors.ts';
import { fillUp, onSmallTmpfs } from '../helpers/tmpfs.ts';

describe('hardening: acme.json on a full disk', () => {
  test('disk full while writing acme.json: STORAGE error, the old file stays valid, no temp file left', async (t) => {
    // A real full filesystem: a 64 KiB tmpfs.
    await onSmallTmpfs(t, 'berth-diskfull-', async (dir) => {
      const file = join(dir, 'acme.json');
      const old = JSON.stringify({ le: { Account: { Email: 'a@example.test' }, Certificates: [] } });
      await writeFileAtomic(file, old);
      fillUp(dir);
      const big = JSON.stringify({ le: { Certificates: [{ certificate: 'x'.repeat(40 * 1024) }] } });
      await assert.rejects(
        writeFileAtomic(file, big),
        (err: unknown) => err instanceof BerthError && err.code === ErrorCodes.STORAGE,
      );
      assert.equal(readFileSync(file, 'utf8'), old, 'the old acme.json is intact');
      JSON.parse(readFileSync(file, 'utf8'));
      assert.deepEqual(
        readdirSync(dir).filter((n) => n.endsWith('.tmp')),
        [],
        'no temp file left behind',
      );
      rmSync(join(dir, 'filler'), { force: true });
      await writeFileAtomic(file, big);
      assert.equal(readFileSync(file, 'utf8'), big, 'writes succeed again once there is space');
    });
  });
});
