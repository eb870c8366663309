import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decodeDynamicConfig } from '../../../src/config/dynamic/decode.ts';

/** Keys from Traefik's vocabulary (in varying case), so generated input reaches deep into the schema. */
const KEYS = [
  'http',
  'tcp',
  'udp',
  'tls',
  'routers',
  'services',
  'middlewares',
  'serversTransports',
  'rule',
  'service',
  'entryPoints',
  'priority',
  'loadBalancer',
  'servers',
  'url',
  'address',
  'weight',
  'weighted',
  'headers',
  'basicAuth',
  'users',
  'certificates',
  'certFile',
  'keyFile',
  'options',
  'stores',
  'minVersion',
  'passthrough',
  'RULE',
  'Service',
  'api',
  'web',
];

const value = fc.letrec((tie) => ({
  node: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.oneof(fc.string(), fc.integer(), fc.double(), fc.boolean(), fc.constant(null)),
    fc.dictionary(fc.constantFrom(...KEYS), tie('node'), { maxKeys: 4 }),
    fc.array(tie('node'), { maxLength: 3 }),
  ),
})).node;

describe('decodeDynamicConfig properties', () => {
  test('never throws, whatever the input', () => {
    fc.assert(
      fc.property(fc.anything(), (raw) => void decodeDynamicConfig(raw, 'p')),
      { numRuns: 500 },
    );
  });

  test('what it keeps decodes again to itself without any error', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.constantFrom(...KEYS), value, { maxKeys: 4 }), (raw) => {
        const first = decodeDynamicConfig(raw, 'p');
        const second = decodeDynamicConfig(first.config, 'p');
        assert.deepEqual(
          second.diagnostics.filter((d) => d.level === 'error'),
          [],
        );
        assert.deepEqual(second.config, first.config);
      }),
      { numRuns: 1000 },
    );
  });
});
