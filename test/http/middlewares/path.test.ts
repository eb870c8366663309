import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { MiddlewareFactory } from '../../../src/http/middlewares/types.ts';
import { stripPrefixFactory } from '../../../src/http/middlewares/strip-prefix.ts';
import { stripPrefixRegexFactory } from '../../../src/http/middlewares/strip-prefix-regex.ts';
import { addPrefixFactory } from '../../../src/http/middlewares/add-prefix.ts';
import { replacePathFactory, replacePathRegexFactory } from '../../../src/http/middlewares/replace-path.ts';
import { echoOf, send, startHarness } from './harness.ts';

interface Case {
  desc: string;
  factory: MiddlewareFactory;
  options: Record<string, unknown>;
  path: string;
  url: string;
  ctxPath?: string;
  headers?: Record<string, string | undefined>;
}

const cases: Case[] = [
  {
    desc: 'stripPrefix strips and sets X-Forwarded-Prefix',
    factory: stripPrefixFactory,
    options: { prefixes: ['/api'] },
    path: '/api/users?id=1',
    url: '/users?id=1',
    ctxPath: '/users',
    headers: { 'x-forwarded-prefix': '/api' },
  },
  {
    desc: 'stripPrefix of the whole path leaves /',
    factory: stripPrefixFactory,
    options: { prefixes: ['/api'] },
    path: '/api',
    url: '/',
    headers: { 'x-forwarded-prefix': '/api' },
  },
  {
    desc: 'stripPrefix with trailing slash prefix keeps a leading slash',
    factory: stripPrefixFactory,
    options: { prefixes: ['/api/'] },
    path: '/api/v1',
    url: '/v1',
    headers: { 'x-forwarded-prefix': '/api/' },
  },
  {
    desc: 'stripPrefix uses the first matching prefix',
    factory: stripPrefixFactory,
    options: { prefixes: '/foo,/foo/bar' },
    path: '/foo/bar/baz',
    url: '/bar/baz',
    headers: { 'x-forwarded-prefix': '/foo' },
  },
  {
    desc: 'stripPrefix without a match changes nothing',
    factory: stripPrefixFactory,
    options: { prefixes: ['/api'] },
    path: '/web/x',
    url: '/web/x',
    headers: { 'x-forwarded-prefix': undefined },
  },
  {
    desc: 'stripPrefix appends to an existing X-Forwarded-Prefix',
    factory: stripPrefixFactory,
    options: { prefixes: ['/b'] },
    path: '/b/c',
    url: '/c',
    headers: { 'x-forwarded-prefix': '/a, /b' },
  },
  {
    desc: 'stripPrefix matches the decoded path (an encoded slash too, as Traefik) and keeps the rest as written',
    factory: stripPrefixFactory,
    options: { prefixes: ['/a/b'] },
    path: '/a%2Fb/c%3Bd',
    url: '/c%3Bd',
    headers: { 'x-forwarded-prefix': '/a/b' },
  },
  {
    desc: 'stripPrefix with a prefix written with a space and non-ASCII',
    factory: stripPrefixFactory,
    options: { prefixes: ['/caf\u00e9 menu'] },
    path: '/caf%C3%A9%20menu/x',
    url: '/x',
    headers: { 'x-forwarded-prefix': '/caf\u00e9 menu' },
  },
  {
    desc: 'stripPrefixRegex strips the matched prefix',
    factory: stripPrefixRegexFactory,
    options: { regex: ['/foo/[a-z0-9]+/[0-9]+/'] },
    path: '/foo/abc/12/bar',
    url: '/bar',
    headers: { 'x-forwarded-prefix': '/foo/abc/12/' },
  },
  {
    desc: 'stripPrefixRegex ignores matches not at the start',
    factory: stripPrefixRegexFactory,
    options: { regex: ['/bar'] },
    path: '/foo/bar',
    url: '/foo/bar',
    headers: { 'x-forwarded-prefix': undefined },
  },
  {
    desc: 'addPrefix prepends',
    factory: addPrefixFactory,
    options: { prefix: '/foo' },
    path: '/bar?x=y',
    url: '/foo/bar?x=y',
    ctxPath: '/foo/bar',
  },
  {
    desc: 'addPrefix without leading slash',
    factory: addPrefixFactory,
    options: { prefix: 'foo' },
    path: '/bar',
    url: '/foo/bar',
  },
  {
    desc: 'replacePath replaces and records X-Replaced-Path',
    factory: replacePathFactory,
    options: { path: '/foo' },
    path: '/bar/baz?q=1',
    url: '/foo?q=1',
    ctxPath: '/foo',
    headers: { 'x-replaced-path': '/bar/baz' },
  },
  {
    desc: 'replacePathRegex with a capture',
    factory: replacePathRegexFactory,
    options: { regex: '^/foo/(.*)', replacement: '/bar/$1' },
    path: '/foo/baz?q=1',
    url: '/bar/baz?q=1',
    headers: { 'x-replaced-path': '/foo/baz' },
  },
  {
    desc: 'replacePathRegex with ${1} and no match',
    factory: replacePathRegexFactory,
    options: { regex: '^/nope/(.*)', replacement: '/x/${1}' },
    path: '/foo',
    url: '/foo',
    headers: { 'x-replaced-path': undefined },
  },
  {
    desc: 'replacePathRegex cannot inject a query',
    factory: replacePathRegexFactory,
    options: { regex: '^/(.*)', replacement: '/a?admin=1' },
    path: '/z',
    url: '/a%3Fadmin=1',
  },
  {
    desc: 'replacePathRegex: Go template, $1x is the (empty) group named 1x',
    factory: replacePathRegexFactory,
    options: { regex: '^/(a)', replacement: '/$1x/${1}x' },
    path: '/a',
    url: '//ax',
  },
  {
    desc: 'replacePathRegex: Go syntax (?P<name>) and \\z',
    factory: replacePathRegexFactory,
    options: { regex: '^/(?P<first>[^/]+)/rest\\z', replacement: '/${first}' },
    path: '/one/rest',
    url: '/one',
  },
];

describe('path middlewares', () => {
  for (const c of cases) {
    test(c.desc, async () => {
      const h = await startHarness(c.factory, c.options);
      try {
        const extra = c.desc.includes('appends') ? { 'x-forwarded-prefix': '/a' } : {};
        const echo = echoOf(await send(h.port, { path: c.path, headers: extra }));
        assert.equal(echo.url, c.url);
        if (c.ctxPath) assert.equal(echo.path, c.ctxPath);
        for (const [k, v] of Object.entries(c.headers ?? {})) assert.equal(echo.headers[k], v, k);
      } finally {
        await h.close();
      }
    });
  }

  const invalid = [
    {
      desc: 'stripPrefix without prefixes',
      factory: stripPrefixFactory,
      options: {},
      error: 'prefixes: at least one prefix is required',
    },
    {
      desc: 'stripPrefixRegex with a bad expression',
      factory: stripPrefixRegexFactory,
      options: { regex: ['['] },
      error: /^regex\[0\]: invalid regular expression/,
    },
    { desc: 'addPrefix empty', factory: addPrefixFactory, options: { prefix: '' }, error: 'prefix: cannot be empty' },
    { desc: 'replacePath missing path', factory: replacePathFactory, options: {}, error: 'path: required' },
    {
      desc: 'replacePathRegex missing regex',
      factory: replacePathRegexFactory,
      options: { replacement: '/x' },
      error: 'regex: required',
    },
    {
      desc: 'replacePathRegex with a Unicode class Go knows and berth refuses',
      factory: replacePathRegexFactory,
      options: { regex: '^/\\pL+', replacement: '/x' },
      error: /^regex: invalid regular expression/,
    },
    {
      desc: 'stripPrefixRegex with a lookahead (not RE2)',
      factory: stripPrefixRegexFactory,
      options: { regex: ['/(?=a)'] },
      error: /^regex\[0\]: invalid regular expression/,
    },
  ];
  for (const c of invalid) {
    test(`invalid: ${c.desc}`, () => {
      const built = c.factory(c.options, {
        name: 'x@file',
        logger: undefined as never,
        service: () => undefined,
        tmpDir: '/tmp',
      });
      assert.ok('error' in built);
      if (typeof c.error === 'string') assert.equal(built.error, c.error);
      else assert.match(built.error, c.error);
    });
  }
});
