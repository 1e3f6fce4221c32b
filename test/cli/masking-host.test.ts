// Issue 21: public-key mode keeps the masking host out of pseudonym and hash columns too. This
// test plays the host: it has the public key, the rules and the dump, runs `mask --recipient`
// (on two threads), and the dump is then gone. What is left on its disk is the masked output
// and the vault, and no key that computes a pseudonym: neither the public key, nor the rules,
// nor anything in the files the run wrote reproduces the masked values. At home, the secret
// key opens the vault, which holds the key the run made, and unmask gives back every byte.
import { readdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT_CODES } from '../../src/errors.js';
import { strategySubkey } from '../../src/engine/strategy-secret.js';
import { hashText } from '../../src/strategies/hash.js';
import { pseudonymText } from '../../src/strategies/pseudonym.js';
import { readSecretKeyFile } from '../../src/vault/key.js';
import { readVaultInfo } from '../../src/vault/reader.js';
import { sodium } from '../../src/sodium.js';
import { copyRows } from '../strategies/helpers.js';
import { describeRun, runPgcloak, runPgcloakOk } from '../integration/cli.js';

const CUSTOMERS = 6000;
const NAMES = ['Alice Martin', 'Zoë Ünal', 'José Álvarez', "Bob O'Brien", 'Жанна', 'Ève-Marie'];

function customer(i: number): { email: string; name: string; phone: string; grade: string; initial: string; token: string } {
  return {
    email: `user${i}@example${i % 7}.com`,
    name: `${NAMES[i % NAMES.length]} ${i}`,
    phone: `+33 6 ${String((i * 7919) % 100000000).padStart(8, '0')}`,
    grade: String(i % 100).padStart(2, '0'),
    initial: String.fromCharCode(65 + (i % 26)),
    token: `tok-${i}`,
  };
}

function dump(): Buffer {
  const lines = [
    "SET client_encoding = 'UTF8';",
    'SET standard_conforming_strings = on;',
    'CREATE TABLE public.customer (id integer PRIMARY KEY, email character varying(40), name text, phone text, grade character varying(2), initial character(1), token text);',
    'CREATE TABLE public.orders (id integer PRIMARY KEY, customer_email character varying(40), note text);',
    'COPY public.customer (id, email, name, phone, grade, initial, token) FROM stdin;',
  ];
  for (let i = 1; i <= CUSTOMERS; i++) {
    const c = customer(i);
    lines.push([i, c.email, c.name, c.phone, c.grade, c.initial, c.token].join('\t'));
  }
  lines.push('\\.', '', 'COPY public.orders (id, customer_email, note) FROM stdin;');
  for (let j = 1; j <= CUSTOMERS; j++) lines.push([100000 + j, customer(1 + ((j * 37) % CUSTOMERS)).email, `order ${j}`].join('\t'));
  lines.push('\\.', '');
  return Buffer.from(lines.join('\n'));
}

const RULES = `tables:
  customer:
    columns:
      email: pseudonym
      name: pseudonym
      phone: pseudonym
      grade: pseudonym
      initial: pseudonym
      token: {strategy: hash, length: 20}
  orders:
    columns:
      customer_email: pseudonym
`;

let home = '';
let host = '';
const original = dump();
let masked: Buffer;

beforeAll(() => {
  home = mkdtempSync(join(tmpdir(), 'pgcloak-home-'));
  host = mkdtempSync(join(tmpdir(), 'pgcloak-host-'));
  runPgcloakOk(['keygen', '--public', '--output', join(home, 'id'), '-q']);
  // What the host is given: the public key, the rules, the dump.
  writeFileSync(join(host, 'id.pub'), readFileSync(join(home, 'id.pub')));
  writeFileSync(join(host, 'rules.yaml'), RULES);
  writeFileSync(join(host, 'dump.sql'), original);
  const args = ['mask', '--rules', join(host, 'rules.yaml'), '--vault', join(host, 'out.vault'), '--recipient', join(host, 'id.pub')];
  runPgcloakOk([...args, '--input', join(host, 'dump.sql'), '--output', join(host, 'masked.sql'), '--threads', '2', '-q']);
  rmSync(join(host, 'dump.sql'));
  masked = readFileSync(join(host, 'masked.sql'));
});
afterAll(() => {
  rmSync(home, { recursive: true, force: true });
  rmSync(host, { recursive: true, force: true });
});

/** Every 32-byte key the host could make from what it has, and what pgcloak would derive from each. */
function candidateKeys(): Buffer[] {
  const files = readdirSync(host).map((f) => readFileSync(join(host, f)));
  const publicKey = Buffer.from(readFileSync(join(host, 'id.pub'), 'latin1').trim().split(':')[1]!, 'base64');
  const vault = readFileSync(join(host, 'out.vault'));
  const raw: Buffer[] = [publicKey, Buffer.alloc(32), vault.subarray(vault.length - 32), vault.subarray(10, 42), vault.subarray(10 + 80, 10 + 80 + 24 + 8)];
  // Any 32 bytes at any offset of the vault's cleartext header (magic, mode, sealed key, stream header).
  for (let at = 0; at + 32 <= 10 + 80 + 24; at++) raw.push(vault.subarray(at, at + 32));
  for (const bytes of [...files, Buffer.from(RULES)]) {
    const digest = Buffer.alloc(32);
    sodium.crypto_generichash(digest, bytes);
    raw.push(digest);
  }
  return raw.flatMap((k) => [Buffer.from(k), strategySubkey(Buffer.from(k))]);
}

describe('the masking host, after mask --recipient with pseudonym and hash columns', () => {
  it('keeps nothing but the masked output and the vault (and what it was given)', () => {
    expect(readdirSync(host).sort()).toEqual(['id.pub', 'masked.sql', 'out.vault', 'rules.yaml']);
    const text = masked.toString('utf8');
    for (const i of [1, 2, 3, 500, CUSTOMERS]) {
      const c = customer(i);
      for (const v of [c.email, c.name, c.phone, c.token]) expect(text).not.toContain(v);
    }
  });

  it('cannot open its vault, or unmask, with what it has', () => {
    const vault = join(host, 'out.vault');
    for (const args of [
      ['unmask', '--vault', vault, '--recipient', join(host, 'id.pub'), '--input', join(host, 'masked.sql')],
      ['vault', 'info', '--vault', vault, '--recipient', join(host, 'id.pub')],
      ['scan', '--vault', vault, '--recipient', join(host, 'id.pub'), join(host, 'masked.sql')],
    ]) {
      const r = runPgcloak(args);
      expect(r.status, describeRun(args, r)).toBe(EXIT_CODES.VAULT_WRONG_KEY);
      expect(r.stdout.length).toBe(0);
    }
  });

  it('holds no key that computes the masked pseudonyms or hashes: none derived from the public key, the rules or the files', () => {
    const rows = copyRows(masked, 'public.customer');
    expect(rows).toHaveLength(CUSTOMERS);
    const samples = [1, 2, 3, 10, 77, 1000].map((i) => ({ c: customer(i), row: rows[i - 1]! }));
    let tried = 0;
    for (const key of candidateKeys()) {
      tried++;
      for (const { c, row } of samples) {
        expect(pseudonymText(c.email, key)).not.toBe(row[1]);
        expect(pseudonymText(c.name, key)).not.toBe(row[2]);
        expect(hashText(c.token, key, 20)).not.toBe(row[6]);
      }
      // Two-digit values: one key in 100 maps a given one right by chance, not all six.
      expect(samples.every(({ c, row }) => pseudonymText(c.grade, key) === row[4])).toBe(false);
    }
    expect(tried).toBeGreaterThan(100);
  });

  it('at home: the vault holds the key the run made, found nowhere on the host, and it computes every masked value', () => {
    const identity = { kind: 'identity' as const, secretKey: readSecretKeyFile(join(home, 'id')) };
    const recorded = readVaultInfo(join(host, 'out.vault'), identity).metadata['strategySecret'] as Record<string, unknown>;
    expect(recorded).toMatchObject({ from: 'run', pseudonymVersion: 2 });
    const key = Buffer.from(String(recorded['key']), 'base64');
    expect(key).toHaveLength(32);
    for (const f of readdirSync(host)) {
      const bytes = readFileSync(join(host, f));
      for (const form of [key, Buffer.from(key.toString('base64')), Buffer.from(key.toString('hex'))]) expect(bytes.includes(form), f).toBe(false);
    }
    expect(candidateKeys().some((k) => k.equals(key))).toBe(false);
    const customers = copyRows(masked, 'public.customer');
    const orders = copyRows(masked, 'public.orders');
    const byEmail = new Map(customers.map((r) => [r[1], Number(r[0])]));
    for (const i of [1, 2, 3, 10, 77, 1000, 4321, CUSTOMERS]) {
      const c = customer(i);
      const row = customers[i - 1]!;
      expect(row.slice(1)).toEqual([
        pseudonymText(c.email, key),
        pseudonymText(c.name, key),
        pseudonymText(c.phone, key),
        pseudonymText(c.grade, key),
        pseudonymText(c.initial, key),
        hashText(c.token, key, 20),
      ]);
    }
    // Masked on two threads, with one key: every order still finds its customer by pseudonym.
    for (const [j, o] of orders.entries()) expect(byEmail.get(o[1]!), `order ${j + 1}`).toBe(1 + (((j + 1) * 37) % CUSTOMERS));
  });

  it('at home: unmask --identity gives back the dump byte for byte, on one thread and on two', () => {
    for (const threads of ['1', '2']) {
      const back = runPgcloakOk(['unmask', '--vault', join(host, 'out.vault'), '--identity', join(home, 'id'), '--input', join(host, 'masked.sql'), '--threads', threads, '-q']);
      expect(back.stdout.equals(original), `--threads ${threads}`).toBe(true);
    }
  });

  it('at home: vault info shows where the key came from, never the key', () => {
    const text = runPgcloakOk(['vault', 'info', '--vault', join(host, 'out.vault'), '--identity', join(home, 'id')]).stdout.toString();
    const json = runPgcloakOk(['vault', 'info', '--vault', join(host, 'out.vault'), '--identity', join(home, 'id'), '--json', '--rules']).stdout.toString();
    const identity = { kind: 'identity' as const, secretKey: readSecretKeyFile(join(home, 'id')) };
    const key = String((readVaultInfo(join(host, 'out.vault'), identity).metadata['strategySecret'] as Record<string, unknown>)['key']);
    expect(text).toMatch(/strategySecret \{"from":"run","id":"[0-9a-f]{32}","pseudonymVersion":2\}/);
    expect(text).not.toContain(key);
    expect(json).not.toContain(key);
    expect(JSON.parse(json).metadata.strategySecret).toEqual({ from: 'run', id: expect.stringMatching(/^[0-9a-f]{32}$/), pseudonymVersion: 2 });
  });
});
