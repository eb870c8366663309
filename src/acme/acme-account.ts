import * as acme from 'acme-client';
import type { CertResolverConfig } from '../config/static/types.ts';
import { sleep } from '../dns/propagation.ts';
import { BerthError, ErrorCodes, errorMessage } from '../lib/errors.ts';
import type { Logger } from '../lib/logger.ts';
import { accountKeyPem, newAccountKey, storedKeyType } from './account.ts';
import type { StorageKeeper } from './storage-keeper.ts';
import type { AcmeStorage } from './storage.ts';

/** What opening a resolver's ACME account needs. */
export interface AccountContext {
  readonly resolver: string;
  readonly config: CertResolverConfig['acme'];
  readonly directoryUrl: string;
  readonly storage: AcmeStorage;
  readonly keeper: StorageKeeper;
  readonly log: Logger;
  readonly signal: AbortSignal;
  /** Merges what the storage holds now into memory (another fleet host may have registered). */
  refresh(): Promise<void>;
}

/**
 * An ACME client on the resolver's account: the stored one when it belongs to this CA, else a new
 * registration (with External Account Binding when `eab` is set, as ZeroSSL and Google Trust
 * Services require). In a fleet the registration is done once, by whichever host gets the lease;
 * the others wait for the account it stores.
 */
export async function openAccount(ctx: AccountContext): Promise<acme.Client> {
  for (let waited = 0; ; waited++) {
    const existing = await stored(ctx);
    if (existing) return existing;
    if (!ctx.storage.lock) return register(ctx);
    const r = await ctx.storage.lock(`account|${ctx.resolver}`);
    if ('lease' in r) {
      try {
        await ctx.refresh();
        return (await stored(ctx)) ?? (await register(ctx));
      } finally {
        await r.lease.release();
      }
    }
    // Registration elsewhere, or no shared storage: a new account of our own would split the fleet.
    if ('unavailable' in r)
      throw new BerthError(
        ErrorCodes.STORAGE,
        `no ACME account yet and the fleet storage is unreachable: ${r.unavailable}`,
      );
    if (waited > 120)
      throw new BerthError(ErrorCodes.ACME_ORDER, `the account is still being registered by ${r.heldBy}`);
    await sleep(Math.min(Math.max(r.retryInMs, 50), 500), ctx.signal);
    await ctx.refresh();
  }
}

async function stored(ctx: AccountContext): Promise<acme.Client | undefined> {
  const account = (await ctx.keeper.section(ctx.storage, ctx.resolver)).Account;
  if (
    !account?.PrivateKey ||
    !account.Registration?.uri ||
    !sameOrigin(account.Registration.uri, new URL(ctx.directoryUrl).origin)
  )
    return undefined;
  return new acme.Client({
    directoryUrl: ctx.directoryUrl,
    accountKey: accountKeyPem(account),
    accountUrl: account.Registration.uri,
  });
}

async function register(ctx: AccountContext): Promise<acme.Client> {
  const { config } = ctx;
  const key = await newAccountKey();
  const eab = config.eab;
  const client = new acme.Client({
    directoryUrl: ctx.directoryUrl,
    accountKey: key.pem,
    ...(eab ? { externalAccountBinding: { kid: eab.kid, hmacKey: eab.hmacEncoded } } : {}),
  });
  let body: unknown;
  try {
    body = await client.createAccount({
      termsOfServiceAgreed: true,
      ...(config.email ? { contact: [`mailto:${config.email}`] } : {}),
    });
  } catch (err) {
    if (err instanceof BerthError) throw err;
    const hint =
      /externalAccount|external account/i.test(errorMessage(err)) && !eab
        ? ' (this CA requires External Account Binding: set acme.eab.kid and acme.eab.hmacEncoded)'
        : '';
    throw new BerthError(
      ErrorCodes.ACME_ORDER,
      `account registration at ${ctx.directoryUrl} failed: ${errorMessage(err)}${hint}`,
      { cause: err },
    );
  }
  ctx.log.info(
    { resolver: ctx.resolver, eab: eab !== undefined, account: client.getAccountUrl() },
    'ACME account registered',
  );
  // The account works whether or not it could be stored: registering another one on every
  // retry would be worse than keeping this one in memory until the write succeeds.
  await ctx.keeper.putAccount(ctx.storage, ctx.resolver, {
    Email: config.email ?? '',
    Registration: { body, uri: client.getAccountUrl() },
    PrivateKey: key.stored,
    KeyType: storedKeyType(config.keyType),
  });
  return client;
}

function sameOrigin(url: string, origin: string): boolean {
  try {
    return new URL(url).origin === origin;
  } catch {
    return false;
  }
}
