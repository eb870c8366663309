import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { findMiddlewareFactory, middlewareFactories } from '../../../src/http/middlewares/registry.ts';
import { silentLogger } from './harness.ts';

const env = { name: 'x@file', logger: silentLogger, service: () => undefined, tmpDir: '/tmp' };

describe('middleware registry', () => {
  const types = [
    'addPrefix',
    'basicAuth',
    'buffering',
    'compress',
    'contentType',
    'errors',
    'forwardAuth',
    'headers',
    'inFlightReq',
    'ipAllowList',
    'ipWhiteList',
    'rateLimit',
    'redirectRegex',
    'redirectScheme',
    'replacePath',
    'replacePathRegex',
    'retry',
    'stripPrefix',
    'stripPrefixRegex',
  ];
  for (const type of types) {
    test(`${type} is registered under Traefik's name`, () =>
      assert.equal(typeof middlewareFactories[type], 'function'));
  }
  const cases = [
    { desc: 'label-style lower case finds the type', type: 'stripprefix', want: 'stripPrefix' },
    { desc: 'unknown type', type: 'teleport', want: undefined },
    { desc: 'chain is left to the compiler', type: 'chain', want: undefined },
  ];
  for (const c of cases) test(c.desc, () => assert.equal(findMiddlewareFactory(c.type)?.type, c.want));

  const unsupported = ['grpcWeb', 'digestAuth', 'passTLSClientCert', 'plugin'];
  for (const type of unsupported) {
    test(`${type} is reported as unsupported`, () => {
      const built = middlewareFactories[type]!({}, env);
      assert.ok('error' in built && built.error.startsWith(`${type}: not supported by berth`));
    });
  }

  test('every factory turns garbage options into an error value, never a throw', () => {
    const garbage: Record<string, unknown>[] = [
      { x: 1 },
      { prefixes: 42 },
      { users: {} },
      { average: [] },
      { regex: null, path: {} },
    ];
    for (const [type, factory] of Object.entries(middlewareFactories)) {
      for (const opts of garbage) {
        const built = factory(opts, env);
        if (!('error' in built)) built.close?.();
        assert.ok('error' in built || typeof built.wrap === 'function', type);
      }
    }
  });
});
