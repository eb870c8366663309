import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * Password checks for htpasswd entries, the formats Traefik's basicAuth accepts: bcrypt (`$2a$`,
 * `$2b$`, `$2y$`), Apache MD5 (`$apr1$`), MD5-crypt (`$1$`) and `{SHA}`. Plain-text entries never
 * match. bcrypt comes from `bcryptjs` (pure JS, async so the event loop keeps running), loaded on
 * first use.
 */
export type HashKind = 'bcrypt' | 'apr1' | 'md5crypt' | 'sha1' | 'unsupported';

/** Recognises the hash format of an htpasswd entry. */
export function hashKind(hash: string): HashKind {
  if (/^\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}$/.test(hash)) return 'bcrypt';
  if (hash.startsWith('$apr1$')) return 'apr1';
  if (hash.startsWith('$1$')) return 'md5crypt';
  if (hash.startsWith('{SHA}')) return 'sha1';
  return 'unsupported';
}

/** Whether `password` matches the htpasswd `hash`. Never throws; unknown formats are a mismatch. */
export async function verifyPassword(password: string, hash: string): Promise<boolean> {
  switch (hashKind(hash)) {
    case 'bcrypt': {
      const bcrypt = await loadBcrypt();
      if (!bcrypt) return false;
      try {
        return await bcrypt.compare(password, hash);
      } catch {
        return false;
      }
    }
    case 'apr1':
      return safeEqual(md5Crypt(password, hash, '$apr1$'), hash);
    case 'md5crypt':
      return safeEqual(md5Crypt(password, hash, '$1$'), hash);
    case 'sha1':
      return safeEqual(`{SHA}${createHash('sha1').update(password, 'utf8').digest('base64')}`, hash);
    default:
      return false;
  }
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

interface Bcrypt {
  compare(password: string, hash: string): Promise<boolean>;
}
let bcryptModule: Promise<Bcrypt | undefined> | undefined;

/** Loads bcryptjs once; undefined (and every bcrypt check fails closed) if it is not installed. */
export function loadBcrypt(): Promise<Bcrypt | undefined> {
  bcryptModule ??= import('bcryptjs' as string).then(
    (m: { default?: Bcrypt } & Partial<Bcrypt>) => m.default ?? (m as Bcrypt),
    () => undefined,
  );
  return bcryptModule;
}

const ITOA64 = './0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/**
 * MD5-crypt (FreeBSD `$1$`, Apache `$apr1$`: the same algorithm with another magic string).
 * `setting` is the stored hash (or just `magic + salt`); returns the full hash to compare.
 */
export function md5Crypt(password: string, setting: string, magic: '$apr1$' | '$1$'): string {
  const pw = Buffer.from(password, 'utf8');
  const rest = setting.startsWith(magic) ? setting.slice(magic.length) : setting;
  const salt = Buffer.from(rest.split('$')[0]!.slice(0, 8), 'utf8');
  const md5 = (...parts: Buffer[]): Buffer => {
    const h = createHash('md5');
    for (const p of parts) h.update(p);
    return h.digest();
  };
  const alt = md5(pw, salt, pw);
  const ctx = createHash('md5');
  ctx.update(pw);
  ctx.update(magic);
  ctx.update(salt);
  for (let left = pw.length; left > 0; left -= 16) ctx.update(alt.subarray(0, Math.min(left, 16)));
  for (let i = pw.length; i > 0; i >>= 1) ctx.update((i & 1) !== 0 ? Buffer.from([0]) : pw.subarray(0, 1));
  let final: Buffer = ctx.digest();
  for (let i = 0; i < 1000; i++) {
    const parts: Buffer[] = [];
    parts.push((i & 1) !== 0 ? pw : final);
    if (i % 3 !== 0) parts.push(salt);
    if (i % 7 !== 0) parts.push(pw);
    parts.push((i & 1) !== 0 ? final : pw);
    final = md5(...parts);
  }
  let out = '';
  const to64 = (value: number, n: number): void => {
    for (let i = 0; i < n; i++) {
      out += ITOA64[value & 0x3f];
      value >>= 6;
    }
  };
  const b = (i: number): number => final[i]!;
  to64((b(0) << 16) | (b(6) << 8) | b(12), 4);
  to64((b(1) << 16) | (b(7) << 8) | b(13), 4);
  to64((b(2) << 16) | (b(8) << 8) | b(14), 4);
  to64((b(3) << 16) | (b(9) << 8) | b(15), 4);
  to64((b(4) << 16) | (b(10) << 8) | b(5), 4);
  to64(b(11), 2);
  return `${magic}${salt.toString('utf8')}$${out}`;
}
