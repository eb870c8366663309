import { test } from 'node:test';
import assert from 'node:assert/strict';
import { normalizeHost } from '../../src/rules/host.ts';

const cases = [
  { desc: 'plain host unchanged', raw: 'example.com', want: 'example.com' },
  { desc: 'lower-cased', raw: 'Example.COM', want: 'example.com' },
  { desc: 'port stripped', raw: 'example.com:8080', want: 'example.com' },
  { desc: 'port stripped and lower-cased', raw: 'WWW.Example.com:443', want: 'www.example.com' },
  { desc: 'trailing dot stripped', raw: 'example.com.', want: 'example.com' },
  { desc: 'trailing dot before the port stripped', raw: 'example.com.:80', want: 'example.com' },
  { desc: 'only one trailing dot stripped', raw: 'example.com..', want: 'example.com.' },
  { desc: 'IPv6 with port loses brackets and port', raw: '[::1]:443', want: '::1' },
  { desc: 'IPv6 without port loses brackets', raw: '[::1]', want: '::1' },
  { desc: 'IPv6 upper-case hex lower-cased', raw: '[2001:DB8::1]:8443', want: '2001:db8::1' },
  { desc: 'bare IPv6 kept whole', raw: '2001:db8::1', want: '2001:db8::1' },
  { desc: 'IPv4 with port', raw: '127.0.0.1:8080', want: '127.0.0.1' },
  { desc: 'empty stays empty', raw: '', want: '' },
  { desc: 'empty port', raw: 'example.com:', want: 'example.com' },
  { desc: 'unclosed bracket kept (lower-cased)', raw: '[::1', want: '[::1' },
  { desc: 'single dot becomes empty', raw: '.', want: '' },
];

for (const c of cases) {
  test(`normalizeHost: ${c.desc}`, () => {
    assert.equal(normalizeHost(c.raw), c.want);
  });
}
