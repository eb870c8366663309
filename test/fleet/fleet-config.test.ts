import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { decodeStaticConfig } from '../../src/config/static/decode.ts';
import { redisOptions } from '../../src/fleet/redis-connection.ts';
import { KeyCipher } from '../../src/fleet/key-cipher.ts';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../helpers/temp.ts';

describe('fleet section of berth.yaml', () => {
  const cases = [
    {
      desc: 'a Redis URL, defaults for lease and sync',
      fleet: { redis: 'redis://127.0.0.1:6379/0' },
      want: { redis: 'redis://127.0.0.1:6379/0', leaseDuration: '30s', syncInterval: '30s' },
      errors: [],
    },
    {
      desc: 'Sentinel with a master name',
      fleet: { sentinels: ['127.0.0.1:26379'], masterName: 'berth', node: 'edge-a' },
      want: {
        sentinels: ['127.0.0.1:26379'],
        masterName: 'berth',
        node: 'edge-a',
        leaseDuration: '30s',
        syncInterval: '30s',
      },
      errors: [],
    },
    {
      desc: 'neither redis nor sentinels',
      fleet: { node: 'edge-a' },
      errors: ['fleet: set fleet.redis (or fleet.sentinels with fleet.masterName)'],
    },
    {
      desc: 'sentinels without a master name',
      fleet: { sentinels: ['127.0.0.1:26379'] },
      errors: ['fleet.masterName: required with fleet.sentinels'],
    },
    {
      desc: 'not a redis URL',
      fleet: { redis: 'http://127.0.0.1:6379' },
      errors: [
        'fleet.redis: "http://127.0.0.1:6379" is not a redis:// or rediss:// URL',
        'fleet: set fleet.redis (or fleet.sentinels with fleet.masterName)',
      ],
    },
    {
      desc: 'a relay URL for the names this host holds',
      fleet: { redis: 'redis://127.0.0.1:6379/0', relayUrl: 'http://10.0.0.5:8080' },
      want: {
        redis: 'redis://127.0.0.1:6379/0',
        relayUrl: 'http://10.0.0.5:8080',
        leaseDuration: '30s',
        syncInterval: '30s',
      },
      errors: [],
    },
    {
      desc: 'a relay URL with a path',
      fleet: { redis: 'redis://127.0.0.1:6379/0', relayUrl: 'http://10.0.0.5:8080/x' },
      errors: ['fleet.relayUrl: "http://10.0.0.5:8080/x" is not an http:// or https:// URL without a path'],
    },
    {
      desc: 'a typo is named',
      fleet: { redis: 'redis://x:1', leaseDuraton: '5s' },
      errors: ['fleet.leaseDuraton: unknown key, did you mean "leaseDuration"?'],
    },
  ];
  for (const c of cases) {
    test(c.desc, () => {
      const r = decodeStaticConfig({ fleet: c.fleet }, 'test');
      const errors = r.diagnostics.filter((d) => d.level === 'error').map((d) => `${d.element}: ${d.message}`);
      assert.deepEqual(errors, c.errors);
      if (c.want) assert.deepEqual(r.config?.fleet, c.want);
    });
  }

  test('Redis credentials: URL first, else REDIS_PASSWORD, else REDIS_PASSWORD_FILE', () => {
    const dir = tempDir('berth-fleet-cfg-');
    writeFileSync(join(dir, 'pw'), 'from-file\n');
    const base = { leaseDuration: '30s', syncInterval: '30s' };
    assert.equal(
      redisOptions({ ...base, redis: 'redis://:inurl@127.0.0.1:6379' }, { REDIS_PASSWORD: 'env' }).password,
      undefined,
      'the URL carries it',
    );
    assert.equal(redisOptions({ ...base, redis: 'redis://127.0.0.1:6379' }, { REDIS_PASSWORD: 'env' }).password, 'env');
    assert.equal(
      redisOptions({ ...base, redis: 'redis://127.0.0.1:6379' }, { REDIS_PASSWORD_FILE: join(dir, 'pw') }).password,
      'from-file',
    );
    const s = redisOptions(
      { ...base, sentinels: ['[::1]:26379', '127.0.0.1:26380'], masterName: 'berth' },
      { REDIS_PASSWORD: 'env' },
    );
    assert.deepEqual(s.sentinels, [
      { host: '::1', port: 26379 },
      { host: '127.0.0.1', port: 26380 },
    ]);
    assert.equal(s.name, 'berth');
    assert.equal(s.password, 'env');
    assert.throws(() => redisOptions({ ...base, sentinels: ['nohost'], masterName: 'm' }, {}), /not host:port/);
  });

  test('encryption key file: raw, hex or base64 of 32 bytes; anything else is refused', () => {
    const dir = tempDir('berth-fleet-key-');
    const key = randomBytes(32);
    for (const [name, content] of [
      ['raw', key],
      ['hex', key.toString('hex')],
      ['b64', `${key.toString('base64')}\n`],
    ] as const) {
      writeFileSync(join(dir, name), content);
      const c = KeyCipher.fromFile(join(dir, name));
      const enc = c.encrypt('secret key');
      assert.notEqual(enc, 'secret key');
      assert.equal(KeyCipher.fromFile(join(dir, 'raw')).decrypt(enc), 'secret key');
    }
    writeFileSync(join(dir, 'short'), 'abc');
    assert.throws(() => KeyCipher.fromFile(join(dir, 'short')), /expected a 32-byte key/);
    assert.throws(
      () => new KeyCipher(randomBytes(32)).decrypt(KeyCipher.fromFile(join(dir, 'raw')).encrypt('x')),
      /cannot be decrypted/,
    );
    assert.throws(
      () => new KeyCipher().decrypt(KeyCipher.fromFile(join(dir, 'raw')).encrypt('x')),
      /encryptionKeyFile is not set/,
    );
    assert.equal(
      new KeyCipher().decrypt('plain'),
      'plain',
      'values stored before encryption was switched on still read',
    );
  });
});
