// pseudonym and hash in whole runs: the same original gives the same pseudonym in every
// table and every run with the same key, another key gives others, the masked dump unmasks
// byte for byte, and the key each run needs is there or the run stops before any output.
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { PgcloakError } from '../../src/errors.js';
import { pseudonymText } from '../../src/strategies/pseudonym.js';
import { strategySubkey } from '../../src/mask/strategy-secret.js';
import { readVaultInfo } from '../../src/vault/reader.js';
import type { KeySource } from '../../src/vault/key.js';
import { sodium } from '../../src/vault/sodium.js';
import { SHOP_DUMP, copyRows, makeTempDir, maskWith, removeTempDirs, unmaskWith } from './helpers.js';

afterEach(removeTempDirs);

const RULES = `tables:
  customer:
    columns:
      email: pseudonym
      name: pseudonym
      phone: pseudonym
      ref: {strategy: hash, length: 10}
  orders:
    columns:
      customer_email: pseudonym
      note: pseudonym
`;

function randomKey(): Buffer {
  const key = Buffer.alloc(32);
  sodium.randombytes_buf(key);
  return key;
}

function keySource(key: Buffer): KeySource {
  return { kind: 'key', key };
}

function passphrase(text: string): KeySource {
  return { kind: 'passphrase', passphrase: Buffer.from(text), opslimit: sodium.crypto_pwhash_OPSLIMIT_MIN, memlimit: sodium.crypto_pwhash_MEMLIMIT_MIN };
}

async function expectCode(promise: Promise<unknown>, code: string, message: RegExp): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(PgcloakError);
  expect((error as PgcloakError).code).toBe(code);
  expect((error as PgcloakError).message).toMatch(message);
}

describe('pseudonyms across tables and runs', () => {
  it('give the same pseudonym for the same e-mail in both tables, so the join still matches', async () => {
    const dir = makeTempDir();
    const key = randomKey();
    const { output } = await maskWith(SHOP_DUMP, RULES, `${dir}/v`, keySource(key));
    const customers = copyRows(output, 'public.customer');
    const orders = copyRows(output, 'public.orders');
    const byEmail = new Map(customers.map((r) => [r[1], r[0]]));
    expect(orders.map((o) => byEmail.get(o[1]!))).toEqual(['1', '2', '1', '3']);
    // Every masked value changed, and kept its shape.
    const secret = strategySubkey(key);
    expect(customers[0]).toEqual(['1', pseudonymText('alice@example.com', secret), pseudonymText('Alice Martin', secret), pseudonymText('+33 6 12 34 56 78', secret), '7', customers[0]![5]]);
    expect(customers[0]![1]).toMatch(/^[a-z]{5}@[a-z]{7}\.[a-z]{3}$/);
    expect(customers[0]![5]).toMatch(/^[0-9a-f]{10}$/);
    expect(customers[3]![1]).toBe('\\N');
    expect(orders[2]![2]).toBe(pseudonymText('tab\there', secret).replace('\t', '\\t'));
  });

  it('give the same masked dump in every run with the same key, and another with another key', async () => {
    const dir = makeTempDir();
    const key = randomKey();
    const first = await maskWith(SHOP_DUMP, RULES, `${dir}/a`, keySource(key));
    const second = await maskWith(SHOP_DUMP, RULES, `${dir}/b`, keySource(key));
    const other = await maskWith(SHOP_DUMP, RULES, `${dir}/c`, keySource(randomKey()));
    expect(second.output.equals(first.output)).toBe(true);
    expect(other.output.equals(first.output)).toBe(false);
    const a = copyRows(first.output, 'public.customer');
    const c = copyRows(other.output, 'public.customer');
    for (let i = 0; i < 3; i++) expect(c[i]![1]).not.toBe(a[i]![1]);
  });

  it('unmask back to the original bytes', async () => {
    const dir = makeTempDir();
    const key = randomKey();
    const { output } = await maskWith(SHOP_DUMP, RULES, `${dir}/v`, keySource(key));
    expect((await unmaskWith(output, `${dir}/v`, keySource(key))).equals(SHOP_DUMP)).toBe(true);
  });

  it('round-trip the golden types dump with pseudonyms on its text columns', async () => {
    const dir = makeTempDir();
    const key = randomKey();
    const input = readFileSync('fixtures/golden/types/input.sql');
    const rules = `tables:
  person:
    columns:
      name: pseudonym
      code: pseudonym
      initials: pseudonym
      mail: pseudonym
      nick: {strategy: hash, length: 5}
      tags: pseudonym
      note: {strategy: template, value: "person {key}"}
  '"Sales Dept"."Client List"':
    key: ["ID"]
    columns:
      "E-mail": pseudonym
`;
    const { output } = await maskWith(input, rules, `${dir}/v`, keySource(key));
    const person = copyRows(output, 'public.person');
    const secret = strategySubkey(key);
    expect(person[0]![1]).toBe(pseudonymText('Alice\tTab', secret).replace('\t', '\\t'));
    expect(person[2]![1]).toBe(pseudonymText('Zoë 🎉', secret));
    expect(person[0]![27]).toBe('person 1');
    expect((await unmaskWith(output, `${dir}/v`, keySource(key))).equals(input)).toBe(true);
  });
});

describe('the pseudonym key', () => {
  it('is required with a passphrase vault, and then the same whatever the vault', async () => {
    const dir = makeTempDir();
    await expectCode(maskWith(SHOP_DUMP, RULES, `${dir}/p0`, passphrase('pw')), 'KEY_MISSING', /tables\.customer\.columns\.email: .*a passphrase gives no key that stays the same.*--pseudonym-key/);
    const pseudonymKey = randomKey();
    const one = await maskWith(SHOP_DUMP, RULES, `${dir}/p1`, passphrase('pw'), pseudonymKey);
    const two = await maskWith(SHOP_DUMP, RULES, `${dir}/p2`, keySource(randomKey()), pseudonymKey);
    expect(two.output.equals(one.output)).toBe(true);
    expect((await unmaskWith(one.output, `${dir}/p1`, passphrase('pw'), pseudonymKey)).equals(SHOP_DUMP)).toBe(true);
  });

  it('is recorded in the vault as a fingerprint, so unmask names a missing or wrong one', async () => {
    const dir = makeTempDir();
    const vaultKey = randomKey();
    const pseudonymKey = randomKey();
    const { output } = await maskWith(SHOP_DUMP, RULES, `${dir}/v`, keySource(vaultKey), pseudonymKey);
    const recorded = readVaultInfo(`${dir}/v`, keySource(vaultKey)).metadata['strategySecret'] as { from: string; id: string };
    expect(recorded.from).toBe('pseudonym-key');
    expect(recorded.id).toMatch(/^[0-9a-f]{32}$/);
    expect(JSON.stringify(recorded)).not.toContain(pseudonymKey.toString('hex').slice(0, 16));
    await expectCode(unmaskWith(output, `${dir}/v`, keySource(vaultKey)), 'KEY_MISSING', /masked with --pseudonym-key: give the same file to unmask/);
    await expectCode(unmaskWith(output, `${dir}/v`, keySource(vaultKey), randomKey()), 'VAULT_WRONG_KEY', /not the one this vault was masked with/);
    expect((await unmaskWith(output, `${dir}/v`, keySource(vaultKey), pseudonymKey)).equals(SHOP_DUMP)).toBe(true);
  });

  it('is not needed, nor recorded, when no rule is keyed', async () => {
    const dir = makeTempDir();
    const key = passphrase('pw');
    const { output } = await maskWith(SHOP_DUMP, 'tables:\n  customer:\n    columns:\n      email: placeholder\n', `${dir}/v`, key);
    expect(readVaultInfo(`${dir}/v`, key).metadata['strategySecret']).toBeUndefined();
    expect((await unmaskWith(output, `${dir}/v`, key)).equals(SHOP_DUMP)).toBe(true);
  });
});
