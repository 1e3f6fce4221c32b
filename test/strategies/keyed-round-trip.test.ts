// pseudonym and hash in whole runs: the same original gives the same pseudonym in every
// table and every run with the same key, another key gives others, the masked dump unmasks
// byte for byte, and the key each run needs is there or the run stops before any output.
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { PgcloakError } from '../../src/errors.js';
import { pseudonymText } from '../../src/strategies/pseudonym.js';
import { secretForUnmask, secretId, strategySubkey } from '../../src/engine/strategy-secret.js';
import { readVaultInfo } from '../../src/vault/reader.js';
import type { KeySource } from '../../src/vault/key.js';
import { sodium } from '../../src/sodium.js';
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

describe('domains', () => {
  const rules = (customer: string, orders: string): string =>
    `tables:\n  customer:\n    columns:\n      email: ${customer}\n      ref: hash\n  orders:\n    columns:\n      customer_email: ${orders}\n`;

  it('keep pseudonyms apart between columns in different domains, and together in one', async () => {
    const dir = makeTempDir();
    const key = keySource(randomKey());
    const emails = async (name: string, text: string): Promise<{ customers: string[]; orders: string[]; output: Buffer }> => {
      const { output } = await maskWith(SHOP_DUMP, text, `${dir}/${name}`, key);
      expect((await unmaskWith(output, `${dir}/${name}`, key)).equals(SHOP_DUMP), name).toBe(true);
      return { customers: copyRows(output, 'public.customer').map((r) => r[1]!), orders: copyRows(output, 'public.orders').map((r) => r[1]!), output };
    };
    const plain = await emails('plain', rules('pseudonym', 'pseudonym'));
    const apart = await emails('apart', rules('{strategy: pseudonym, domain: customers}', '{strategy: pseudonym, domain: orders}'));
    const together = await emails('together', rules('{strategy: pseudonym, domain: shop}', '{strategy: pseudonym, domain: shop}'));
    // alice, bob, alice, zoe: the join by e-mail.
    const joined = (r: { customers: string[]; orders: string[] }): (number | undefined)[] => r.orders.map((o) => (r.customers.indexOf(o) === -1 ? undefined : r.customers.indexOf(o)));
    expect(joined(plain)).toEqual([0, 1, 0, 2]);
    expect(joined(together)).toEqual([0, 1, 0, 2]);
    expect(joined(apart)).toEqual([undefined, undefined, undefined, undefined]);
    expect(together.customers[0]).not.toBe(plain.customers[0]);
    expect(apart.customers[0]).not.toBe(plain.customers[0]);
  });
});

describe('the pseudonym key', () => {
  it('is made for the run with a passphrase vault: kept in the vault, the same across its tables, not across runs', async () => {
    const dir = makeTempDir();
    const one = await maskWith(SHOP_DUMP, RULES, `${dir}/p0`, passphrase('pw'));
    const two = await maskWith(SHOP_DUMP, RULES, `${dir}/p1`, passphrase('pw'));
    expect(two.output.equals(one.output)).toBe(false);
    const customers = copyRows(one.output, 'public.customer');
    const orders = copyRows(one.output, 'public.orders');
    expect(orders[0]![1]).toBe(customers[0]![1]);
    const recorded = readVaultInfo(`${dir}/p0`, passphrase('pw')).metadata['strategySecret'] as Record<string, unknown>;
    expect(recorded).toMatchObject({ from: 'run', pseudonymVersion: 2 });
    const key = Buffer.from(recorded['key'] as string, 'base64');
    expect(key).toHaveLength(32);
    expect(customers[0]![1]).toBe(pseudonymText('alice@example.com', key));
    expect((await unmaskWith(one.output, `${dir}/p0`, passphrase('pw'))).equals(SHOP_DUMP)).toBe(true);
  });

  it('from --pseudonym-key is the same whatever the vault', async () => {
    const dir = makeTempDir();
    const pseudonymKey = randomKey();
    const one = await maskWith(SHOP_DUMP, RULES, `${dir}/p1`, passphrase('pw'), pseudonymKey);
    const two = await maskWith(SHOP_DUMP, RULES, `${dir}/p2`, keySource(randomKey()), pseudonymKey);
    expect(two.output.equals(one.output)).toBe(true);
    expect(readVaultInfo(`${dir}/p1`, passphrase('pw')).metadata['strategySecret']).not.toHaveProperty('key');
    expect((await unmaskWith(one.output, `${dir}/p1`, passphrase('pw'), pseudonymKey)).equals(SHOP_DUMP)).toBe(true);
  });

  it('of a vault whose record was altered or comes from a newer pgcloak is refused', () => {
    const key = randomKey();
    const record = { from: 'run', id: secretId(key), pseudonymVersion: 2, key: key.toString('base64') };
    expect(secretForUnmask({ strategySecret: record }, undefined, passphrase('pw'))?.key.equals(key)).toBe(true);
    const refused = (strategySecret: unknown): unknown => {
      try {
        secretForUnmask({ strategySecret }, undefined, passphrase('pw'));
        return undefined;
      } catch (e) {
        return e instanceof PgcloakError ? `${e.code}: ${e.message}` : e;
      }
    };
    expect(refused({ ...record, id: secretId(randomKey()) })).toMatch(/^VAULT_FORMAT: .*does not match its fingerprint/);
    expect(refused({ ...record, key: 'AAAA' })).toMatch(/^VAULT_FORMAT: .*in a form this pgcloak does not know/);
    expect(refused({ ...record, pseudonymVersion: 3 })).toMatch(/^VAULT_FORMAT: .*algorithm 3, which this pgcloak does not know/);
    expect(refused({ from: 'key-file', id: record.id })).toMatch(/^VAULT_FORMAT: .*cannot derive/);
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
