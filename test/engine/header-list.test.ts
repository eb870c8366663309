import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { checkHeader, hasToken, HeaderList, sameName } from '../../src/engine/header-list.ts';

describe('HeaderList: the flat header list the engine routes and forwards', () => {
  const list = (): HeaderList =>
    new HeaderList([
      'Host',
      'a.test',
      'X-Multi',
      'one',
      'Cookie',
      'a=1',
      'x-multi',
      'two',
      'Set-Cookie',
      's=1',
      'cookie',
      'b=2',
      'Set-Cookie',
      't=2',
      'Content-Type',
      'text/a',
      'content-type',
      'text/b',
    ]);

  test('lookups ignore the case of names; values join as Node joins them', () => {
    const h = list();
    const cases = [
      { desc: 'single line', name: 'host', get: 'a.test', first: 'a.test', all: ['a.test'] },
      { desc: 'two lines joined with a comma', name: 'x-multi', get: 'one, two', first: 'one', all: ['one', 'two'] },
      { desc: 'cookies joined with a semicolon', name: 'cookie', get: 'a=1; b=2', first: 'a=1', all: ['a=1', 'b=2'] },
      { desc: 'absent', name: 'x-none', get: undefined, first: undefined, all: [] },
    ];
    for (const c of cases) {
      assert.equal(h.get(c.name), c.get, c.desc);
      assert.equal(h.first(c.name), c.first, c.desc);
      assert.deepEqual(h.getAll(c.name), c.all, c.desc);
      assert.equal(h.has(c.name), c.get !== undefined, c.desc);
    }
  });

  test('toObject gives what IncomingMessage.headers would hold', () => {
    assert.deepEqual(list().toObject(), {
      host: 'a.test',
      'x-multi': 'one, two',
      cookie: 'a=1; b=2',
      'set-cookie': ['s=1', 't=2'],
      'content-type': 'text/a',
    });
  });

  test('set replaces every line where the first was; append adds; delete removes all', () => {
    const h = list();
    h.set('x-multi', 'only');
    assert.deepEqual(h.raw.slice(0, 4), ['Host', 'a.test', 'X-Multi', 'only']);
    assert.deepEqual(h.getAll('x-multi'), ['only']);
    h.set('set-cookie', ['u=1', 'v=2', 'w=3']);
    assert.deepEqual(h.getAll('set-cookie'), ['u=1', 'v=2', 'w=3']);
    h.set('x-new', 'n');
    assert.deepEqual(h.raw.slice(-2), ['x-new', 'n']);
    h.append('x-new', 'm');
    assert.deepEqual(h.getAll('x-new'), ['n', 'm']);
    assert.equal(h.delete('cookie'), true);
    assert.equal(h.delete('cookie'), false);
    assert.equal(h.has('cookie'), false);
    h.set('x-new', []);
    assert.equal(h.has('x-new'), false);
    assert.deepEqual(h.names(), ['host', 'x-multi', 'set-cookie', 'content-type']);
    const copy = h.clone();
    copy.clear();
    assert.equal(copy.size, 0);
    assert.equal(h.size, 7);
  });

  test('helpers: case-insensitive names and tokens; invalid names and values are refused', () => {
    assert.equal(sameName('Content-Length', 'content-length'), true);
    assert.equal(sameName('Content-Lengt', 'content-length'), false);
    assert.equal(sameName('Content_Length', 'content-length'), false);
    assert.equal(hasToken('keep-alive, Upgrade', 'upgrade'), true);
    assert.equal(hasToken('100-Continue', '100-continue'), true);
    assert.equal(hasToken('keep-alive', 'close'), false);
    for (const [name, value] of [
      ['x a', 'v'],
      ['x:y', 'v'],
      ['', 'v'],
      ['x', 'a\r\nb'],
      ['x', 'a\u0000'],
      ['x', '€'],
    ]) {
      assert.throws(() => checkHeader(name!, value!), TypeError, `${JSON.stringify(name)}: ${JSON.stringify(value)}`);
    }
    checkHeader('X-Ok', 'tab\tand latin1 é');
  });
});
