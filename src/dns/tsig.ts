import { createHmac, timingSafeEqual } from 'node:crypto';
import { counts, encodeName, lastRecordOffset, readName, skipName } from './dns-wire.ts';

/**
 * TSIG (RFC 8945): HMAC signatures on DNS messages, used to authenticate RFC 2136 updates.
 * Requests are signed; the server's answer must carry a TSIG that verifies against the request's
 * MAC, or it is rejected: an unsigned "NOERROR" could come from anyone on the path.
 */

const TSIG_TYPE = 250;
const CLASS_ANY = 255;
const FUDGE_SECONDS = 300;

/** Algorithm names (as they appear on the wire) → Node hash names. */
const ALGORITHMS: Readonly<Record<string, string>> = {
  'hmac-md5.sig-alg.reg.int': 'md5',
  'hmac-sha1': 'sha1',
  'hmac-sha224': 'sha224',
  'hmac-sha256': 'sha256',
  'hmac-sha384': 'sha384',
  'hmac-sha512': 'sha512',
};

/** TSIG error codes of RFC 8945 §5.3, by value. */
const TSIG_ERRORS: Readonly<Record<number, string>> = { 16: 'BADSIG', 17: 'BADKEY', 18: 'BADTIME', 22: 'BADTRUNC' };

/** A shared TSIG key. */
export interface TsigKey {
  /** Key name as configured on the server (`berth-key.` or `berth-key`). */
  readonly name: string;
  /** Canonical algorithm name without the trailing dot (`hmac-sha256`). */
  readonly algorithm: string;
  readonly secret: Buffer;
}

/** Accepts `hmac-sha256`, `hmac-sha256.`, `HMAC-SHA256`, and `hmac-md5` for the MD5 name. */
export function tsigAlgorithm(name: string): string | undefined {
  const n = name.trim().toLowerCase().replace(/\.$/, '');
  if (n === 'hmac-md5') return 'hmac-md5.sig-alg.reg.int';
  return n in ALGORITHMS ? n : undefined;
}

/** Names of the supported algorithms, for messages. */
export const TSIG_ALGORITHMS: readonly string[] = [
  'hmac-md5',
  'hmac-sha1',
  'hmac-sha224',
  'hmac-sha256',
  'hmac-sha384',
  'hmac-sha512',
];

function u48(seconds: number): Buffer {
  const b = Buffer.alloc(6);
  b.writeUInt16BE(Math.floor(seconds / 2 ** 32), 0);
  b.writeUInt32BE(seconds % 2 ** 32, 2);
  return b;
}

/** The "TSIG variables" of RFC 8945 §4.3.3 that the MAC covers after the message. */
function variables(key: TsigKey, timeSigned: number, fudge: number, error: number, other: Buffer): Buffer {
  const fixed = Buffer.alloc(6);
  fixed.writeUInt16BE(CLASS_ANY, 0);
  fixed.writeUInt32BE(0, 2);
  const tail = Buffer.alloc(6);
  tail.writeUInt16BE(fudge, 0);
  tail.writeUInt16BE(error, 2);
  tail.writeUInt16BE(other.length, 4);
  return Buffer.concat([encodeName(key.name), fixed, encodeName(key.algorithm), u48(timeSigned), tail, other]);
}

function hmac(key: TsigKey, ...parts: Buffer[]): Buffer {
  const h = createHmac(ALGORITHMS[key.algorithm]!, key.secret);
  for (const p of parts) h.update(p);
  return h.digest();
}

/**
 * Appends a TSIG record to `message` (a complete, unsigned DNS message) and bumps ARCOUNT.
 * Returns the signed message and its MAC (needed to verify the answer).
 */
export function signMessage(
  message: Buffer,
  key: TsigKey,
  nowSeconds = Math.floor(Date.now() / 1000),
): { signed: Buffer; mac: Buffer } {
  const mac = hmac(key, message, variables(key, nowSeconds, FUDGE_SECONDS, 0, Buffer.alloc(0)));
  const alg = encodeName(key.algorithm);
  const rdata = Buffer.alloc(alg.length + 6 + 2 + 2 + mac.length + 2 + 2 + 2);
  let o = alg.copy(rdata, 0);
  o += u48(nowSeconds).copy(rdata, o);
  rdata.writeUInt16BE(FUDGE_SECONDS, o);
  o += 2;
  rdata.writeUInt16BE(mac.length, o);
  o += 2;
  o += mac.copy(rdata, o);
  rdata.writeUInt16BE(message.readUInt16BE(0), o);
  o += 2; // original ID
  rdata.writeUInt16BE(0, o);
  o += 2; // error
  rdata.writeUInt16BE(0, o); // other length
  const head = Buffer.alloc(10);
  head.writeUInt16BE(TSIG_TYPE, 0);
  head.writeUInt16BE(CLASS_ANY, 2);
  head.writeUInt32BE(0, 4);
  head.writeUInt16BE(rdata.length, 8);
  const signed = Buffer.concat([message, encodeName(key.name), head, rdata]);
  signed.writeUInt16BE(message.readUInt16BE(10) + 1, 10);
  return { signed, mac };
}

/**
 * Verifies the TSIG on an answer to a request signed with `requestMac`. Throws with a message
 * that says what is wrong (missing signature, BADKEY/BADSIG/BADTIME from the server, a MAC that
 * does not verify, a clock too far off).
 */
export function verifyResponse(
  response: Buffer,
  key: TsigKey,
  requestMac: Buffer,
  nowSeconds = Math.floor(Date.now() / 1000),
): void {
  const c = counts(response);
  const at = c.ar > 0 ? lastRecordOffset(response) : undefined;
  if (at === undefined) throw new Error("the server's answer is not signed (no TSIG record)");
  const afterName = skipName(response, at);
  if (response.readUInt16BE(afterName) !== TSIG_TYPE)
    throw new Error("the server's answer is not signed (no TSIG record)");
  const keyName = readName(response, at);
  let o = afterName + 10;
  const algorithm = readName(response, o);
  o = skipName(response, o);
  const timeSigned = response.readUInt16BE(o) * 2 ** 32 + response.readUInt32BE(o + 2);
  o += 6;
  const fudge = response.readUInt16BE(o);
  o += 2;
  const macLen = response.readUInt16BE(o);
  o += 2;
  const mac = response.subarray(o, o + macLen);
  o += macLen;
  const originalId = response.readUInt16BE(o);
  o += 2;
  const error = response.readUInt16BE(o);
  o += 2;
  const otherLen = response.readUInt16BE(o);
  o += 2;
  const other = response.subarray(o, o + otherLen);
  if (error !== 0) {
    const name = TSIG_ERRORS[error] ?? `error ${error}`;
    const hint =
      error === 17
        ? ' (the server does not know this key name/algorithm)'
        : error === 16
          ? ' (wrong secret)'
          : error === 18
            ? ' (clocks differ by more than the fudge)'
            : '';
    throw new Error(`the server rejected the TSIG signature: ${name}${hint}`);
  }
  if (keyName !== key.name.replace(/\.$/, '').toLowerCase() || algorithm !== key.algorithm) {
    throw new Error(`the answer is signed with another key (${keyName}, ${algorithm})`);
  }
  // The MAC covers the answer as it was before the TSIG was added: without the record, ARCOUNT
  // one less, and the original ID.
  const unsigned = Buffer.from(response.subarray(0, at));
  unsigned.writeUInt16BE(c.ar - 1, 10);
  unsigned.writeUInt16BE(originalId, 0);
  const prior = Buffer.alloc(2);
  prior.writeUInt16BE(requestMac.length);
  const fresh = { ...key, name: keyName };
  const expected = hmac(fresh, prior, requestMac, unsigned, variables(fresh, timeSigned, fudge, error, other));
  if (mac.length !== expected.length || !timingSafeEqual(mac, expected))
    throw new Error("the TSIG signature of the server's answer does not verify");
  if (Math.abs(nowSeconds - timeSigned) > fudge)
    throw new Error(
      `the server's answer was signed ${nowSeconds - timeSigned} s off this host's clock (fudge ${fudge} s)`,
    );
}
