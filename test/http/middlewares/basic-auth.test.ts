import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { basicAuthFactory } from '../../../src/http/middlewares/basic-auth.ts';
import { md5Crypt } from '../../../src/http/middlewares/htpasswd.ts';
import { echoOf, send, silentLogger, startHarness } from './harness.ts';

// Hashes of "secret", made with htpasswd-compatible tools (openssl passwd -apr1, bcrypt cost 4).
const HASHES = {
  bcrypt2y: '$2y$04$Q/CzpBc0BOzcjYmIqRz7oulL2195217tGwqvq1yYQNBxyeGuYTUr6',
  bcrypt2a: '$2a$04$Q/CzpBc0BOzcjYmIqRz7oulL2195217tGwqvq1yYQNBxyeGuYTUr6',
  bcrypt2b: '$2b$04$Q/CzpBc0BOzcjYmIqRz7oulL2195217tGwqvq1yYQNBxyeGuYTUr6',
  apr1: '$apr1$Zx9Kq1Ab$1FLlj4kCD6ChlZEtIzf1Y0',
  md5crypt: md5Crypt('secret', '$1$abcdefgh', '$1$'),
  sha1: '{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ=',
  plain: 'secret',
};

const basic = (user: string, pass: string): string => `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;

describe('basicAuth: hash formats', () => {
  const cases = [
    { desc: 'bcrypt $2y$ accepted', hash: HASHES.bcrypt2y, ok: true },
    { desc: 'bcrypt $2a$ accepted', hash: HASHES.bcrypt2a, ok: true },
    { desc: 'bcrypt $2b$ accepted', hash: HASHES.bcrypt2b, ok: true },
    { desc: 'apr1 accepted', hash: HASHES.apr1, ok: true },
    { desc: 'MD5-crypt $1$ accepted', hash: HASHES.md5crypt, ok: true },
    { desc: '{SHA} accepted', hash: HASHES.sha1, ok: true },
    { desc: 'plain text rejected even with the right password', hash: HASHES.plain, ok: false },
  ];
  for (const c of cases) {
    test(c.desc, async () => {
      const h = await startHarness(basicAuthFactory, { users: [`test:${c.hash}`] });
      try {
        const good = await send(h.port, { headers: { authorization: basic('test', 'secret') } });
        assert.equal(good.status, c.ok ? 200 : 401);
        const bad = await send(h.port, { headers: { authorization: basic('test', 'wrong') } });
        assert.equal(bad.status, 401);
        assert.equal(bad.headers['www-authenticate'], 'Basic realm="traefik"');
      } finally {
        await h.close();
      }
    });
  }
});

describe('basicAuth: behaviour', () => {
  const cases = [
    {
      desc: 'no Authorization header → 401 with challenge',
      options: {},
      auth: undefined,
      status: 401,
      challenge: 'Basic realm="traefik"',
    },
    {
      desc: 'unknown user → 401',
      options: {},
      auth: basic('nobody', 'secret'),
      status: 401,
      challenge: 'Basic realm="traefik"',
    },
    { desc: 'malformed header → 401', options: {}, auth: 'Basic !!!', status: 401, challenge: 'Basic realm="traefik"' },
    {
      desc: 'custom realm',
      options: { realm: 'staff only' },
      auth: undefined,
      status: 401,
      challenge: 'Basic realm="staff only"',
    },
    {
      desc: 'Authorization forwarded by default',
      options: {},
      auth: basic('test', 'secret'),
      status: 200,
      forwardedAuth: true,
    },
    {
      desc: 'removeHeader drops Authorization',
      options: { removeHeader: true },
      auth: basic('test', 'secret'),
      status: 200,
      forwardedAuth: false,
    },
    {
      desc: 'headerField carries the user',
      options: { headerField: 'X-WebAuth-User' },
      auth: basic('test', 'secret'),
      status: 200,
      userHeader: 'test',
    },
    {
      desc: 'scheme name is case-insensitive',
      options: {},
      auth: basic('test', 'secret').replace('Basic', 'bAsIc'),
      status: 200,
    },
  ];
  for (const c of cases) {
    test(c.desc, async () => {
      const h = await startHarness(basicAuthFactory, { users: [`test:${HASHES.apr1}`], ...c.options });
      try {
        const r = await send(h.port, { headers: c.auth ? { authorization: c.auth } : {} });
        assert.equal(r.status, c.status);
        if (c.challenge) {
          assert.equal(r.headers['www-authenticate'], c.challenge);
          assert.equal(r.text, '401 Unauthorized\n');
        }
        if (c.forwardedAuth !== undefined) assert.equal(echoOf(r).headers.authorization !== undefined, c.forwardedAuth);
        if (c.userHeader) assert.equal(echoOf(r).headers['x-webauth-user'], c.userHeader);
      } finally {
        await h.close();
      }
    });
  }

  test('usersFile with comments and blank lines, merged with users', async () => {
    const h0 = await startHarness(basicAuthFactory, { users: [`inline:${HASHES.sha1}`] });
    const file = join(h0.tmpDir, 'htpasswd');
    writeFileSync(file, `# staff\n\nfile:${HASHES.bcrypt2y}\n`);
    const h = await startHarness(basicAuthFactory, { usersFile: file, users: [`inline:${HASHES.sha1}`] });
    try {
      assert.equal((await send(h.port, { headers: { authorization: basic('file', 'secret') } })).status, 200);
      assert.equal((await send(h.port, { headers: { authorization: basic('inline', 'secret') } })).status, 200);
    } finally {
      await h.close();
      await h0.close();
    }
  });

  test('applies to WebSocket upgrade requests (401 on the socket)', async () => {
    const h = await startHarness(basicAuthFactory, { users: [`test:${HASHES.apr1}`] });
    try {
      const r = await send(h.port, { headers: { connection: 'Upgrade', upgrade: 'websocket' } });
      assert.equal(r.status, 401);
    } finally {
      await h.close();
    }
  });

  const invalid = [
    { desc: 'no users', options: {}, error: 'users: at least one user is required (users or usersFile)' },
    {
      desc: 'entry without colon',
      options: { users: ['justaname'] },
      error: 'users: invalid entry "justaname", expected name:hash',
    },
    {
      desc: 'unreadable usersFile',
      options: { usersFile: '/nonexistent/htpasswd' },
      error: 'usersFile: cannot read /nonexistent/htpasswd: ENOENT',
    },
  ];
  for (const c of invalid) {
    test(`invalid: ${c.desc}`, () => {
      const built = basicAuthFactory(c.options, {
        name: 'x@file',
        logger: silentLogger,
        service: () => undefined,
        tmpDir: '/tmp',
      });
      assert.deepEqual(built, { error: c.error });
    });
  }
});
