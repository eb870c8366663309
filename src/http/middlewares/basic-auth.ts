import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Handler } from '../handler.ts';
import type { BuiltMiddleware, MiddlewareFactory } from './types.ts';
import { hashKind, loadBcrypt, verifyPassword } from './htpasswd.ts';
import { checkKeys, guard, optBool, optString, optStringList, OptionError } from './options.ts';
import { reply } from './respond.ts';

/** Successful checks remembered per middleware instance, so bcrypt does not run on every request. */
const CACHE_LIMIT = 1024;

/**
 * Traefik's `basicAuth`: `users` (`name:hash`) and/or `usersFile` (one entry a line, `#` comments),
 * `realm` (default `traefik`), `headerField` (forwards the user name in that header),
 * `removeHeader` (drops `Authorization` before forwarding). Hashes: bcrypt, apr1, MD5-crypt, SHA1;
 * plain-text passwords never match. Failure: 401 with `WWW-Authenticate: Basic realm="…"`.
 */
export const basicAuthFactory: MiddlewareFactory = (options, env) =>
  guard(() => {
    checkKeys(options, ['users', 'usersFile', 'realm', 'headerField', 'removeHeader']);
    const entries = [...readUsersFile(optString(options, 'usersFile')), ...(optStringList(options, 'users') ?? [])];
    const users = new Map<string, string>();
    for (const entry of entries) {
      const i = entry.indexOf(':');
      if (i <= 0)
        throw new OptionError(`users: invalid entry ${JSON.stringify(entry.slice(0, 40))}, expected name:hash`);
      const name = entry.slice(0, i);
      const hash = entry.slice(i + 1).trim();
      if (hashKind(hash) === 'unsupported') {
        env.logger.warn(
          { middleware: env.name, user: name },
          'basicAuth: unsupported or plain-text password hash, this user can never log in',
        );
      }
      if (hashKind(hash) === 'bcrypt') void loadBcrypt();
      users.set(name, hash);
    }
    if (users.size === 0) throw new OptionError('users: at least one user is required (users or usersFile)');
    const realm = optString(options, 'realm') || 'traefik';
    const headerField = optString(options, 'headerField')?.toLowerCase();
    const removeHeader = optBool(options, 'removeHeader') ?? false;
    const challenge = `Basic realm="${realm.replace(/["\\]/g, '\\$&')}"`;
    const verified = new Set<string>();

    const check = async (name: string, password: string): Promise<boolean> => {
      const hash = users.get(name);
      if (hash === undefined) return false;
      const key = createHash('sha256').update(`${name}\u0000${password}\u0000${hash}`).digest('base64');
      if (verified.has(key)) return true;
      const ok = await verifyPassword(password, hash);
      if (ok) {
        if (verified.size >= CACHE_LIMIT) verified.clear();
        verified.add(key);
      }
      return ok;
    };

    const wrap =
      (next: Handler): Handler =>
      (req, res, ctx) => {
        const creds = parseBasic(req.headers.get('authorization'));
        const deny = (): void => reply(res, 401, '401 Unauthorized\n', { 'www-authenticate': challenge });
        if (!creds) {
          deny();
          return;
        }
        check(creds.name, creds.password).then(
          (ok) => {
            if (res.destroyed) return;
            if (!ok) {
              deny();
              return;
            }
            if (headerField) req.headers.set(headerField, creds.name);
            if (removeHeader) req.headers.delete('authorization');
            ctx.extra = { ...ctx.extra, clientUsername: creds.name };
            next(req, res, ctx);
          },
          () => deny(),
        );
      };
    return { wrap } satisfies BuiltMiddleware;
  });

function readUsersFile(path: string | undefined): string[] {
  if (!path) return [];
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new OptionError(
      `usersFile: cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    );
  }
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
}

/** Decodes `Authorization: Basic base64(name:password)`; undefined when absent or malformed. */
export function parseBasic(header: string | undefined): { name: string; password: string } | undefined {
  if (!header) return undefined;
  const m = /^\s*basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  if (!m) return undefined;
  const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
  const i = decoded.indexOf(':');
  if (i < 0) return undefined;
  return { name: decoded.slice(0, i), password: decoded.slice(i + 1) };
}
