import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import type { Dns01Challenge, Dns01Provider } from '../../src/dns/dns01-provider.ts';

/** What a provider's contract run needs: the provider and a way to read what its backend holds. */
export interface ContractSubject {
  readonly provider: Dns01Provider;
  /** TXT values the backend serves for `fqdn` (trailing dot). */
  values(fqdn: string): Promise<string[]>;
  /** The provider with wrong credentials (omitted where the backend has none). */
  readonly badCredentials?: () => Dns01Provider;
  /** Whether cleanup removes the value (acme-dns keeps the latest two itself). */
  readonly removes?: boolean;
  /** The name to use (a zone the backend serves), e.g. `example.com`. */
  readonly zone: string;
}

/** A challenge for `domain` with a fresh, valid-looking value. */
export function challenge(domain: string): Dns01Challenge {
  const token = randomBytes(16).toString('base64url');
  const keyAuthorization = `${token}.${randomBytes(32).toString('base64url')}`;
  const fqdn = `_acme-challenge.${domain}.`;
  return {
    domain,
    fqdn,
    effectiveFqdn: fqdn,
    value: createHash('sha256').update(keyAuthorization).digest('base64url'),
    token,
    keyAuthorization,
  };
}

/**
 * The DNS-01 provider contract, run by every provider's tests against its real backend: present
 * makes the value served; two values on one name (a wildcard and its base) coexist; cleanup
 * removes exactly its own value; wrong credentials fail with an error that says so.
 */
export function dns01Contract(name: string, setup: () => Promise<ContractSubject>): void {
  let s: ContractSubject;
  const subject = async () => (s ??= await setup());

  test(`${name}: present publishes the TXT value`, async () => {
    const { provider, values, zone } = await subject();
    const c = challenge(`a.${zone}`);
    await provider.present(c);
    assert.ok((await values(c.effectiveFqdn)).includes(c.value));
    await provider.cleanup(c);
  });

  test(`${name}: two values on one name coexist and cleanup removes exactly its own`, async () => {
    const { provider, values, zone, removes } = await subject();
    const base = challenge(`b.${zone}`);
    const wildcard = { ...challenge(`b.${zone}`), fqdn: base.fqdn, effectiveFqdn: base.effectiveFqdn };
    await provider.present(base);
    await provider.present(wildcard);
    const both = await values(base.effectiveFqdn);
    assert.ok(both.includes(base.value) && both.includes(wildcard.value), JSON.stringify(both));
    await provider.cleanup(base);
    const after = await values(base.effectiveFqdn);
    assert.ok(after.includes(wildcard.value), 'the other value stays');
    if (removes !== false) assert.ok(!after.includes(base.value), 'its own value is gone');
    await provider.cleanup(wildcard);
    if (removes !== false) assert.deepEqual(await values(base.effectiveFqdn), []);
  });

  test(`${name}: cleanup of a value never presented does not throw`, async () => {
    const { provider, zone } = await subject();
    await provider.cleanup(challenge(`never.${zone}`));
  });

  test(`${name}: wrong credentials fail with an error that says what was refused`, async (t) => {
    const { badCredentials, zone, values } = await subject();
    if (!badCredentials) return t.skip('no credentials');
    const c = challenge(`c.${zone}`);
    await assert.rejects(badCredentials().present(c), (err: Error) =>
      /401|403|BADSIG|BADKEY|credentials|token|NOTAUTH|rejected/i.test(err.message),
    );
    assert.ok(!(await values(c.effectiveFqdn)).includes(c.value));
  });
}
