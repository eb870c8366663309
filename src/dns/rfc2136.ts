import { readFileSync } from 'node:fs';
import * as packet from 'dns-packet';
import { errorMessage } from '../lib/errors.ts';
import type { Dns01Challenge, Dns01Provider, Dns01Timing } from './dns01-provider.ts';
import { exchange, findZone, formatServer, newId, parseServer, trimDot, type DnsServer } from './dns-client.ts';
import { lastRecordOffset, skipName } from './dns-wire.ts';
import { ProviderEnv } from './env.ts';
import { signMessage, TSIG_ALGORITHMS, tsigAlgorithm, verifyResponse, type TsigKey } from './tsig.ts';

const OPCODE_UPDATE = 5 << 11;
const CLASS_NONE = 254;

/** Settings of {@link Rfc2136Provider}, read from lego's `RFC2136_*` variables. */
export interface Rfc2136Options {
  readonly nameserver: DnsServer;
  readonly tsig?: TsigKey;
  readonly ttl: number;
  readonly timeoutMs: number;
  readonly timing: Dns01Timing;
}

/**
 * Reads lego's variables: `RFC2136_NAMESERVER` (required, `host[:port]`), `RFC2136_TSIG_KEY`,
 * `RFC2136_TSIG_SECRET`, `RFC2136_TSIG_ALGORITHM` (default hmac-sha1, as lego),
 * `RFC2136_TSIG_FILE` (a BIND `key "name" { algorithm …; secret "…"; };` file),
 * `RFC2136_TTL` (120), `RFC2136_DNS_TIMEOUT` (10 s), `RFC2136_PROPAGATION_TIMEOUT`,
 * `RFC2136_POLLING_INTERVAL`; each also as `*_FILE`.
 */
export function rfc2136Options(env: ProviderEnv): Rfc2136Options {
  const nameserver = parseServer(
    env.require('RFC2136_NAMESERVER', 'the authoritative server that accepts updates, host[:port]'),
  );
  let keyName = env.get('RFC2136_TSIG_KEY');
  let secret = env.get('RFC2136_TSIG_SECRET');
  let algorithm = env.get('RFC2136_TSIG_ALGORITHM') ?? 'hmac-sha1.';
  const file = env.get('RFC2136_TSIG_FILE');
  if (file !== undefined) {
    const parsed = parseBindKeyFile(file, env);
    keyName = parsed.name;
    secret = parsed.secret;
    algorithm = parsed.algorithm;
  }
  let tsig: TsigKey | undefined;
  if (keyName !== undefined || secret !== undefined) {
    if (keyName === undefined || secret === undefined)
      throw env.error(
        'RFC2136_TSIG_KEY and RFC2136_TSIG_SECRET go together: set both (or RFC2136_TSIG_FILE), or neither for unsigned updates',
      );
    const alg = tsigAlgorithm(algorithm);
    if (alg === undefined)
      throw env.error(`RFC2136_TSIG_ALGORITHM "${algorithm}" is not supported (one of ${TSIG_ALGORITHMS.join(', ')})`);
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(secret)) throw env.error('RFC2136_TSIG_SECRET is not valid base64');
    tsig = { name: keyName, algorithm: alg, secret: Buffer.from(secret, 'base64') };
  }
  return {
    nameserver,
    ...(tsig ? { tsig } : {}),
    ttl: env.integer('RFC2136_TTL', 120),
    timeoutMs: env.seconds('RFC2136_DNS_TIMEOUT', 10_000),
    timing: env.timing('RFC2136'),
  };
}

/** `key "name" { algorithm hmac-sha256; secret "…"; };` as BIND's tsig-keygen / Knot's keymgr write it. */
function parseBindKeyFile(path: string, env: ProviderEnv): { name: string; algorithm: string; secret: string } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw env.error(`cannot read RFC2136_TSIG_FILE ${path}: ${errorMessage(err)}`, err);
  }
  const m = /key\s+"?([^"\s{]+)"?\s*\{([^}]*)\}/i.exec(text);
  const alg = m ? /algorithm\s+"?([\w.-]+)"?\s*;/i.exec(m[2]!) : null;
  const secret = m ? /secret\s+"([^"]+)"\s*;/i.exec(m[2]!) : null;
  if (!m || !alg || !secret)
    throw env.error(`RFC2136_TSIG_FILE ${path} is not a key file (key "name" { algorithm …; secret "…"; };)`);
  return { name: m[1]!, algorithm: alg[1]!, secret: secret[1]! };
}

/**
 * RFC 2136 dynamic updates, optionally signed with TSIG: BIND, Knot, PowerDNS, NSD behind an
 * updater, Windows DNS. The zone is found by asking the configured server for SOA records, the
 * TXT record is added with class IN and removed with class NONE (only that value: a wildcard and
 * its base name share one `_acme-challenge` name with two values).
 */
export class Rfc2136Provider implements Dns01Provider {
  readonly name = 'rfc2136';
  readonly timing: Dns01Timing;
  private readonly opts: Rfc2136Options;

  constructor(opts: Rfc2136Options) {
    this.opts = opts;
    this.timing = opts.timing;
  }

  present(c: Dns01Challenge): Promise<void> {
    return this.update(c, 'add');
  }

  cleanup(c: Dns01Challenge): Promise<void> {
    return this.update(c, 'delete');
  }

  private async update(c: Dns01Challenge, action: 'add' | 'delete'): Promise<void> {
    const server = this.opts.nameserver;
    const where = formatServer(server);
    const zone = await findZone(c.effectiveFqdn, [server], { timeoutMs: this.opts.timeoutMs });
    if (zone === undefined)
      throw new Error(`rfc2136: ${where} is not authoritative for any zone above ${c.effectiveFqdn} (no SOA found)`);
    let msg = packet.encode({
      type: 'query',
      id: newId(),
      flags: OPCODE_UPDATE,
      questions: [{ name: trimDot(zone), type: 'SOA', class: 'IN' }],
      authorities: [{ name: trimDot(c.effectiveFqdn), type: 'TXT', class: 'IN', ttl: this.opts.ttl, data: c.value }],
    });
    if (action === 'delete') {
      // RFC 2136 §2.5.4: class NONE, TTL 0 deletes exactly this RR. dns-packet has no NONE class.
      const at = skipName(msg, lastRecordOffset(msg)!);
      msg.writeUInt16BE(CLASS_NONE, at + 2);
      msg.writeUInt32BE(0, at + 4);
    }
    let mac: Buffer | undefined;
    if (this.opts.tsig) ({ signed: msg, mac } = signMessage(msg, this.opts.tsig));
    const raw = await exchange(server, msg, { timeoutMs: this.opts.timeoutMs });
    const rcode = raw.readUInt16BE(2) & 0xf;
    if (this.opts.tsig && mac) {
      try {
        verifyResponse(raw, this.opts.tsig, mac);
      } catch (err) {
        // A refusal is often unsigned (the server does not know the key): report the refusal.
        if (rcode === 0)
          throw new Error(`rfc2136: ${action} of TXT ${c.effectiveFqdn} at ${where}: ${errorMessage(err)}`, {
            cause: err,
          });
        if (!/not signed/.test(errorMessage(err)))
          throw new Error(`rfc2136: ${action} of TXT ${c.effectiveFqdn} at ${where} refused: ${errorMessage(err)}`, {
            cause: err,
          });
      }
    }
    if (rcode !== 0)
      throw new Error(
        `rfc2136: ${action} of TXT ${c.effectiveFqdn} in zone ${zone} at ${where} failed: ${RCODES[rcode] ?? `rcode ${rcode}`}`,
      );
  }
}

const RCODES: Readonly<Record<number, string>> = {
  1: 'FORMERR',
  2: 'SERVFAIL',
  3: 'NXDOMAIN',
  4: 'NOTIMP (the server does not accept dynamic updates)',
  5: 'REFUSED (updates from this address or key are not allowed for the zone)',
  6: 'YXDOMAIN',
  7: 'YXRRSET',
  8: 'NXRRSET',
  9: 'NOTAUTH (the server is not authoritative for the zone, or the TSIG key is not accepted)',
  10: 'NOTZONE',
};

/** Builds the provider from the environment (credentials as lego reads them). */
export function createRfc2136Provider(env: NodeJS.ProcessEnv): Rfc2136Provider {
  return new Rfc2136Provider(rfc2136Options(new ProviderEnv('rfc2136', env)));
}
