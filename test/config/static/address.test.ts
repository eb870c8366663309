import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { formatListenAddress, parseListenAddress } from '../../../src/config/static/address.ts';

describe('parseListenAddress', () => {
  const cases: { desc: string; in: string; want: unknown }[] = [
    { desc: 'port only', in: ':80', want: { host: '', port: 80, protocol: 'tcp' } },
    { desc: 'IPv4 and port', in: '127.0.0.1:8080', want: { host: '127.0.0.1', port: 8080, protocol: 'tcp' } },
    { desc: 'IPv6 any', in: '[::]:443', want: { host: '::', port: 443, protocol: 'tcp' } },
    { desc: 'UDP', in: ':53/udp', want: { host: '', port: 53, protocol: 'udp' } },
    { desc: 'IPv6 UDP', in: '[::1]:53/udp', want: { host: '::1', port: 53, protocol: 'udp' } },
    { desc: 'explicit tcp, upper case', in: ':8443/TCP', want: { host: '', port: 8443, protocol: 'tcp' } },
    { desc: 'host name', in: 'localhost:8080', want: { host: 'localhost', port: 8080, protocol: 'tcp' } },
    { desc: 'port 0', in: '127.0.0.1:0', want: { host: '127.0.0.1', port: 0, protocol: 'tcp' } },
    { desc: 'surrounding spaces', in: ' :80 ', want: { host: '', port: 80, protocol: 'tcp' } },
    {
      desc: 'port too big',
      in: ':65536',
      want: { error: 'invalid address ":65536": port 65536 is out of range (0-65535)' },
    },
    { desc: 'negative port', in: ':-1', want: { error: 'invalid address ":-1": port "-1" is not a number' } },
    { desc: 'empty port', in: '127.0.0.1:', want: { error: 'invalid address "127.0.0.1:": port "" is not a number' } },
    { desc: 'empty', in: '', want: { error: 'invalid address "": missing port (e.g. ":80" or "127.0.0.1:8080")' } },
    { desc: 'unclosed bracket', in: '[::1:443', want: { error: 'invalid address "[::1:443": expected [IPv6]:port' } },
    { desc: 'bracket without port', in: '[::1]', want: { error: 'invalid address "[::1]": expected [IPv6]:port' } },
    {
      desc: 'IPv4 in brackets',
      in: '[127.0.0.1]:80',
      want: { error: 'invalid address "[127.0.0.1]:80": "127.0.0.1" is not an IPv6 address' },
    },
    {
      desc: 'bad host',
      in: 'bad_host!:80',
      want: { error: 'invalid address "bad_host!:80": "bad_host!" is not an IP address or host name' },
    },
    {
      desc: 'bad protocol',
      in: ':80/http',
      want: { error: 'unknown protocol "http" in ":80/http" (use /tcp or /udp)' },
    },
  ];
  for (const c of cases) test(c.desc, () => assert.deepEqual(parseListenAddress(c.in), c.want));
});

describe('formatListenAddress', () => {
  const cases: { desc: string; args: [string, number, ('tcp' | 'udp')?]; want: string }[] = [
    { desc: 'IPv4', args: ['1.2.3.4', 80], want: '1.2.3.4:80' },
    { desc: 'IPv6 gets brackets', args: ['2001:db8::1', 443], want: '[2001:db8::1]:443' },
    { desc: 'UDP suffix', args: ['1.2.3.4', 53, 'udp'], want: '1.2.3.4:53/udp' },
    { desc: 'all interfaces', args: ['', 80], want: ':80' },
  ];
  for (const c of cases) {
    test(c.desc, () => {
      const s = formatListenAddress(...c.args);
      assert.equal(s, c.want);
      const back = parseListenAddress(s);
      assert.ok(!('error' in back));
      assert.deepEqual([back.host, back.port], [c.args[0], c.args[1]]);
    });
  }
});
