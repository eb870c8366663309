import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { BerthError, ErrorCodes, errorMessage } from '../lib/errors.ts';

const PREFIX = 'berth-aes256gcm:';

/**
 * Encrypts private keys before they go to Redis (`fleet.encryptionKeyFile`): AES-256-GCM with a
 * random IV per value, so Redis (its dumps, its replicas, its operators) never holds a usable
 * key. Values without the prefix are read as plain text, so encryption can be switched on later.
 */
export class KeyCipher {
  private readonly key: Buffer | undefined;

  constructor(key?: Buffer) {
    this.key = key;
  }

  /** Reads a 32-byte key: raw bytes, 64 hex characters or base64 of 32 bytes. */
  static fromFile(path: string): KeyCipher {
    let raw: Buffer;
    try {
      raw = readFileSync(path);
    } catch (err) {
      throw new BerthError(
        ErrorCodes.CONFIG_INVALID,
        `fleet.encryptionKeyFile: cannot read ${path}: ${errorMessage(err)}`,
        { cause: err },
      );
    }
    const text = raw.toString('utf8').trim();
    const key =
      raw.length === 32 ? raw : /^[0-9a-f]{64}$/i.test(text) ? Buffer.from(text, 'hex') : Buffer.from(text, 'base64');
    if (key.length !== 32)
      throw new BerthError(
        ErrorCodes.CONFIG_INVALID,
        `fleet.encryptionKeyFile ${path}: expected a 32-byte key (raw, 64 hex characters or base64), got ${key.length} bytes`,
      );
    return new KeyCipher(key);
  }

  encrypt(plain: string): string {
    if (!this.key) return plain;
    const iv = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', this.key, iv);
    const body = Buffer.concat([c.update(plain, 'utf8'), c.final()]);
    return `${PREFIX}${Buffer.concat([iv, c.getAuthTag(), body]).toString('base64')}`;
  }

  decrypt(value: string): string {
    if (!value.startsWith(PREFIX)) return value;
    if (!this.key)
      throw new BerthError(
        ErrorCodes.STORAGE,
        'a private key in Redis is encrypted, but fleet.encryptionKeyFile is not set',
      );
    const buf = Buffer.from(value.slice(PREFIX.length), 'base64');
    try {
      const d = createDecipheriv('aes-256-gcm', this.key, buf.subarray(0, 12));
      d.setAuthTag(buf.subarray(12, 28));
      return Buffer.concat([d.update(buf.subarray(28)), d.final()]).toString('utf8');
    } catch (err) {
      throw new BerthError(
        ErrorCodes.STORAGE,
        'a private key in Redis cannot be decrypted with fleet.encryptionKeyFile (another key?)',
        { cause: err },
      );
    }
  }
}
