import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { redirectRegexFactory, redirectSchemeFactory } from '../../../src/http/middlewares/redirect.ts';
import { send, startHarness } from './harness.ts';

describe('redirectScheme', () => {
  const cases = [
    {
      desc: 'GET temporary → 302',
      options: { scheme: 'https' },
      method: 'GET',
      host: 'a.example',
      path: '/x?q=1',
      status: 302,
      location: 'https://a.example/x?q=1',
    },
    {
      desc: 'POST temporary → 307',
      options: { scheme: 'https' },
      method: 'POST',
      host: 'a.example',
      path: '/x',
      status: 307,
      location: 'https://a.example/x',
    },
    {
      desc: 'GET permanent → 301',
      options: { scheme: 'https', permanent: true },
      method: 'GET',
      host: 'a.example',
      path: '/',
      status: 301,
      location: 'https://a.example/',
    },
    {
      desc: 'PUT permanent → 308',
      options: { scheme: 'https', permanent: 'true' },
      method: 'PUT',
      host: 'a.example',
      path: '/',
      status: 308,
      location: 'https://a.example/',
    },
    {
      desc: 'HEAD permanent → 308 (only GET gets 301)',
      options: { scheme: 'https', permanent: true },
      method: 'HEAD',
      host: 'a.example',
      path: '/',
      status: 308,
      location: 'https://a.example/',
    },
    {
      desc: 'port 443 is not written for https',
      options: { scheme: 'https', port: '443' },
      method: 'GET',
      host: 'a.example:80',
      path: '/',
      status: 302,
      location: 'https://a.example/',
    },
    {
      desc: 'explicit port is written',
      options: { scheme: 'https', port: 8443 },
      method: 'GET',
      host: 'a.example',
      path: '/p',
      status: 302,
      location: 'https://a.example:8443/p',
    },
    {
      desc: 'request port is dropped',
      options: { scheme: 'https' },
      method: 'GET',
      host: 'a.example:8080',
      path: '/',
      status: 302,
      location: 'https://a.example/',
    },
    {
      desc: 'IPv6 host keeps its brackets',
      options: { scheme: 'https' },
      method: 'GET',
      host: '[::1]:8080',
      path: '/',
      status: 302,
      location: 'https://[::1]/',
    },
    {
      desc: 'to http with port 80 not written',
      options: { scheme: 'http', port: '80' },
      method: 'GET',
      host: 'a.example',
      path: '/',
      scheme: 'https',
      status: 302,
      location: 'http://a.example/',
    },
    {
      desc: 'already on the target scheme: passes',
      options: { scheme: 'https' },
      method: 'GET',
      host: 'a.example',
      path: '/',
      scheme: 'https',
      status: 200,
    },
    {
      desc: 'trusted X-Forwarded-Proto https: passes',
      options: { scheme: 'https' },
      method: 'GET',
      host: 'a.example',
      path: '/',
      headers: { 'x-forwarded-proto': 'https' },
      status: 200,
    },
    {
      desc: 'trusted X-Forwarded-Proto wss counts as https',
      options: { scheme: 'https' },
      method: 'GET',
      host: 'a.example',
      path: '/',
      headers: { 'x-forwarded-proto': 'wss' },
      status: 200,
    },
    {
      desc: 'X-Forwarded-Proto http on https: redirects',
      options: { scheme: 'https' },
      method: 'GET',
      host: 'a.example',
      path: '/',
      scheme: 'https',
      headers: { 'x-forwarded-proto': 'http' },
      status: 302,
      location: 'https://a.example/',
    },
  ] as const;
  for (const c of cases) {
    test(c.desc, async () => {
      const h = await startHarness(redirectSchemeFactory, c.options, {
        scheme: 'scheme' in c ? c.scheme : 'http',
        trustedPeer: true,
      });
      try {
        const r = await send(h.port, {
          method: c.method,
          path: c.path,
          headers: { host: c.host, ...('headers' in c ? c.headers : {}) },
        });
        assert.equal(r.status, c.status);
        assert.equal(r.headers.location, 'location' in c ? c.location : undefined);
      } finally {
        await h.close();
      }
    });
  }

  const invalid = [
    { desc: 'scheme missing', options: {}, error: 'scheme: you must provide a target scheme' },
    { desc: 'port not a number', options: { scheme: 'https', port: 'x' }, error: 'port: expected a port number' },
  ];
  for (const c of invalid) {
    test(`invalid: ${c.desc}`, () => {
      const built = redirectSchemeFactory(c.options, {
        name: 'x@file',
        logger: undefined as never,
        service: () => undefined,
        tmpDir: '/tmp',
      });
      assert.deepEqual(built, { error: c.error });
    });
  }
});

describe('redirectRegex', () => {
  const cases = [
    {
      desc: 'captures in the replacement',
      options: { regex: '^http://localhost/(.*)', replacement: 'http://mydomain/${1}' },
      path: '/foo?x=1',
      host: 'localhost',
      status: 302,
      location: 'http://mydomain/foo?x=1',
    },
    {
      desc: '$1 form and permanent GET → 301',
      options: { regex: '^http://([^/]+)/old/(.*)', replacement: 'https://$1/new/$2', permanent: true },
      path: '/old/a',
      host: 'a.example',
      status: 301,
      location: 'https://a.example/new/a',
    },
    {
      desc: 'permanent POST → 308',
      options: { regex: '^http://([^/]+)/old', replacement: 'https://$1/new', permanent: true },
      method: 'POST',
      path: '/old',
      host: 'a.example',
      status: 308,
      location: 'https://a.example/new',
    },
    {
      desc: 'named groups in Go syntax',
      options: { regex: '^http://(?P<h>[^/:]+)(:\\d+)?/(?P<rest>.*)', replacement: 'https://${h}/${rest}' },
      path: '/z',
      host: 'a.example:81',
      status: 302,
      location: 'https://a.example/z',
    },
    {
      desc: 'no match: passes',
      options: { regex: '^https://nomatch/', replacement: 'http://x/' },
      path: '/',
      host: 'a.example',
      status: 200,
    },
    {
      desc: 'same URL after replacement: passes',
      options: { regex: '^(.*)$', replacement: '$1' },
      path: '/',
      host: 'a.example',
      status: 200,
    },
  ] as const;
  for (const c of cases) {
    test(c.desc, async () => {
      const h = await startHarness(redirectRegexFactory, c.options);
      try {
        const r = await send(h.port, {
          method: 'method' in c ? c.method : 'GET',
          path: c.path,
          headers: { host: c.host },
        });
        assert.equal(r.status, c.status);
        assert.equal(r.headers.location, 'location' in c ? c.location : undefined);
      } finally {
        await h.close();
      }
    });
  }

  test('invalid regex is an option error', () => {
    const built = redirectRegexFactory(
      { regex: '(', replacement: 'x' },
      { name: 'x@file', logger: undefined as never, service: () => undefined, tmpDir: '/tmp' },
    );
    assert.ok('error' in built && built.error.startsWith('regex: invalid regular expression'));
  });
});
