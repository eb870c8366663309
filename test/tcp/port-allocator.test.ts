import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PortAllocator } from '../../src/tcp/port-allocator.ts';

function withDir(fn: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'berth-ports-'));
  try {
    fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('PortAllocator', () => {
  test('stable across a restart (new instance, same state directory)', () =>
    withDir((dir) => {
      const a = new PortAllocator(dir, { from: 10000, to: 10010 });
      assert.deepEqual(a.assign('db@docker', 'tcp'), { port: 10000 });
      assert.deepEqual(a.assign('cache@docker', 'tcp'), { port: 10001 });
      assert.deepEqual(a.assign('dns@docker', 'udp'), { port: 10000 }, 'UDP ports are allocated separately');
      const b = new PortAllocator(dir, { from: 10000, to: 10010 });
      assert.deepEqual(b.assign('cache@docker', 'tcp'), { port: 10001 });
      assert.deepEqual(b.assign('db@docker', 'tcp'), { port: 10000 });
      assert.deepEqual(
        b.list().map((x) => `${x.protocol}/${x.port}/${x.key}`),
        ['tcp/10000/db@docker', 'tcp/10001/cache@docker', 'udp/10000/dns@docker'],
      );
      assert.ok(JSON.parse(readFileSync(join(dir, 'ports.json'), 'utf8')).allocations.length === 3);
    }));

  test('exhaustion gives a clear error; stale keys from earlier runs are reclaimed', () =>
    withDir((dir) => {
      const a = new PortAllocator(dir, { from: 10000, to: 10001 });
      a.assign('a', 'tcp');
      a.assign('b', 'tcp');
      const full = a.assign('c', 'tcp');
      assert.ok('error' in full && /no free tcp port in edge.dynamicPorts 10000-10001/.test(full.error));
      // After a restart, "a" and "b" are not live until their routers ask again: "c" takes the oldest.
      const b = new PortAllocator(dir, { from: 10000, to: 10001 });
      assert.deepEqual(b.assign('b', 'tcp'), { port: 10001 });
      assert.deepEqual(b.assign('c', 'tcp'), { port: 10000 });
    }));

  test('a corrupt state file is moved aside with a diagnostic', () =>
    withDir((dir) => {
      writeFileSync(join(dir, 'ports.json'), '{ not json');
      const a = new PortAllocator(dir, { from: 10000, to: 10010 });
      assert.equal(a.diagnostics.length, 1);
      assert.match(a.diagnostics[0]!.message, /not valid JSON.*moved aside/);
      assert.ok(readdirSync(dir).some((f) => f.startsWith('ports.json.corrupt-')));
      assert.deepEqual(a.assign('x', 'tcp'), { port: 10000 });
    }));

  test('a port outside a narrowed range is reassigned', () =>
    withDir((dir) => {
      const a = new PortAllocator(dir, { from: 10000, to: 10010 });
      a.assign('a', 'tcp');
      a.assign('b', 'tcp');
      const b = new PortAllocator(dir, { from: 20000, to: 20001 });
      assert.deepEqual(b.assign('b', 'tcp'), { port: 20000 });
    }));

  test('an unwritable state directory is an error value, not an exception', () =>
    withDir((dir) => {
      const file = join(dir, 'file');
      writeFileSync(file, 'x');
      const a = new PortAllocator(join(file, 'sub'), { from: 10000, to: 10001 });
      const r = a.assign('a', 'tcp');
      assert.ok('error' in r && /not persisted/.test(r.error));
    }));
});
