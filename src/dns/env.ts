import { readFileSync } from 'node:fs';
import { BerthError, ErrorCodes, errorMessage } from '../lib/errors.ts';

/**
 * Provider settings the way lego reads them, so a Traefik deployment's environment works
 * unchanged: `NAME` or, for secrets kept in files (Docker/systemd credentials), `NAME_FILE`
 * whose trimmed content is the value. A value set both ways uses `NAME`, as lego does.
 */
export class ProviderEnv {
  private readonly env: NodeJS.ProcessEnv;
  private readonly provider: string;

  constructor(provider: string, env: NodeJS.ProcessEnv) {
    this.provider = provider;
    this.env = env;
  }

  /** The value of `name` (or of the file named by `name_FILE`), undefined when neither is set. */
  get(name: string): string | undefined {
    const direct = this.env[name];
    if (direct !== undefined && direct.trim() !== '') return direct.trim();
    const file = this.env[`${name}_FILE`];
    if (file === undefined || file.trim() === '') return undefined;
    let text: string;
    try {
      text = readFileSync(file.trim(), 'utf8').trim();
    } catch (err) {
      throw this.error(`cannot read ${name}_FILE ${file}: ${errorMessage(err)}`, err);
    }
    if (text === '') throw this.error(`${name}_FILE ${file} is empty`);
    return text;
  }

  /** Like {@link get}, but a missing value is an error naming both ways to set it. */
  require(name: string, what: string): string {
    const v = this.get(name);
    if (v === undefined) throw this.error(`${name} is not set (${what}); set ${name} or ${name}_FILE`);
    return v;
  }

  /** A number of seconds (lego's `*_TIMEOUT`, `*_TTL`, `*_POLLING_INTERVAL`) as milliseconds, or `fallbackMs`. */
  seconds(name: string, fallbackMs: number): number {
    const v = this.get(name);
    if (v === undefined) return fallbackMs;
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0) throw this.error(`${name} must be a number of seconds, got "${v}"`);
    return n * 1000;
  }

  /** `<PREFIX>_PROPAGATION_TIMEOUT` and `<PREFIX>_POLLING_INTERVAL`, each only when set. */
  timing(prefix: string): { timeoutMs?: number; intervalMs?: number } {
    const t = `${prefix}_PROPAGATION_TIMEOUT`;
    const i = `${prefix}_POLLING_INTERVAL`;
    return {
      ...(this.get(t) !== undefined ? { timeoutMs: this.seconds(t, 0) } : {}),
      ...(this.get(i) !== undefined ? { intervalMs: this.seconds(i, 0) } : {}),
    };
  }

  /** A positive integer (a TTL), or `fallback`. */
  integer(name: string, fallback: number): number {
    const v = this.get(name);
    if (v === undefined) return fallback;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) throw this.error(`${name} must be a whole number, got "${v}"`);
    return n;
  }

  /** A typed configuration error that names the provider. */
  error(message: string, cause?: unknown): BerthError {
    return new BerthError(
      ErrorCodes.DNS_PROVIDER,
      `${this.provider}: ${message}`,
      cause === undefined ? undefined : { cause },
    );
  }
}
