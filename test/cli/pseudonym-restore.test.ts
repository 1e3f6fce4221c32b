// pseudonym, hash and template end to end in a real PostgreSQL 15: pg_dump, pgcloak mask, the
// masked dump restored with ON_ERROR_STOP (unique constraints and a foreign key on the
// pseudonymised e-mail column must still hold), joins across tables still matching, shapes and
// lengths kept, and unmask back to the original dump's bytes.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runPgcloakOk } from '../integration/cli.js';
import { createDatabase, describeWithPg, dropDatabase, pgDump, psqlCommand, psqlFile, queryRows, queryValue, uniqueDatabaseName } from '../integration/pg.js';

const CUSTOMERS = 300;

const SCHEMA = `
CREATE TABLE customer (
  id integer PRIMARY KEY,
  email varchar(40) UNIQUE,
  name text NOT NULL,
  phone varchar(20) UNIQUE,
  ref varchar(12),
  token varchar(12)
);
CREATE TABLE orders (
  id integer PRIMARY KEY,
  customer_email varchar(40) REFERENCES customer (email),
  note text
);
INSERT INTO customer
SELECT i,
       CASE WHEN i % 50 = 0 THEN NULL ELSE 'user' || i || '@example' || (i % 3) || '.com' END,
       (ARRAY['Alice Martin', 'Zoë Ünal', 'José Álvarez', 'Bob O''Brien', 'Жанна', 'Ève-Marie'])[1 + i % 6] || ' ' || i,
       '+33 6 ' || lpad((i * 7919 % 100000000)::text, 8, '0'),
       'C-' || i,
       left(md5(i::text), 12)
FROM generate_series(1, ${CUSTOMERS}) AS i;
INSERT INTO orders
SELECT 1000 + j, c.email, 'order ' || j || ' for ' || coalesce(c.email, 'nobody')
FROM generate_series(1, 900) AS j JOIN customer c ON c.id = 1 + (j * 37) % ${CUSTOMERS};
`;

const RULES = `tables:
  customer:
    columns:
      email: pseudonym
      name: pseudonym
      phone: pseudonym
      ref: {strategy: template, value: "client-{key}"}
      token: hash
  orders:
    columns:
      customer_email: pseudonym
      note: pseudonym
`;

/** Each character's class: the shape pseudonyms keep. */
function shape(s: string): string {
  return Array.from(s)
    .map((c) => (/[a-z]/.test(c) ? 'a' : /[A-Z]/.test(c) ? 'A' : /[0-9]/.test(c) ? '0' : /[\p{Lu}]/u.test(c) ? 'L' : /\p{L}/u.test(c) ? 'l' : c))
    .join('');
}

describeWithPg('pseudonyms restored into PostgreSQL', () => {
  const sourceDb = uniqueDatabaseName('pseudo_src');
  const maskedDb = uniqueDatabaseName('pseudo_masked');
  let tmp = '';
  const file = (name: string): string => path.join(tmp, name);

  beforeAll(() => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'pgcloak-pseudo-'));
    createDatabase(sourceDb);
    psqlCommand(sourceDb, SCHEMA);
    pgDump(sourceDb, file('dump.sql'));
    writeFileSync(file('rules.yaml'), RULES);
    runPgcloakOk(['keygen', '--output', file('k'), '-q']);
    runPgcloakOk(['mask', '--rules', file('rules.yaml'), '--vault', file('v'), '--key-file', file('k'), '--input', file('dump.sql'), '--output', file('masked.sql'), '-q']);
    createDatabase(maskedDb);
    psqlFile(maskedDb, file('masked.sql'));
  });

  afterAll(() => {
    dropDatabase(sourceDb);
    dropDatabase(maskedDb);
    if (tmp !== '') rmSync(tmp, { recursive: true, force: true });
  });

  it('restores with its unique constraints and the foreign key on the pseudonymised e-mail', () => {
    const constraints = queryRows(maskedDb, "SELECT conname FROM pg_constraint WHERE conrelid IN ('customer'::regclass, 'orders'::regclass) ORDER BY 1").map((r) => r[0]);
    expect(constraints).toEqual(['customer_email_key', 'customer_phone_key', 'customer_pkey', 'orders_customer_email_fkey', 'orders_pkey']);
  });

  it('joins orders to customers on the pseudonymised e-mail exactly as before', () => {
    const join = 'SELECT o.id, c.id FROM orders o JOIN customer c ON c.email = o.customer_email ORDER BY o.id';
    const before = queryRows(sourceDb, join);
    expect(before.length).toBeGreaterThan(800);
    expect(queryRows(maskedDb, join)).toEqual(before);
  });

  it('replaces every value, keeping shapes and lengths', () => {
    const query = 'SELECT id, email, name, phone, ref, token FROM customer ORDER BY id';
    const before = queryRows(sourceDb, query);
    const after = queryRows(maskedDb, query);
    expect(after).toHaveLength(CUSTOMERS);
    after.forEach((row, i) => {
      const orig = before[i]!;
      expect(row[0]).toBe(orig[0]);
      for (const c of [1, 2, 3]) {
        if (orig[c] === '\u2400') {
          expect(row[c]).toBe('\u2400');
          continue;
        }
        expect(row[c]).not.toBe(orig[c]);
        expect(shape(row[c]!)).toBe(shape(orig[c]!));
      }
      expect(row[4]).toBe(`client-${row[0]}`.slice(0, 12));
      expect(row[5]).toMatch(/^[0-9a-f]{12}$/);
      expect(row[5]).not.toBe(orig[5]);
    });
    expect(queryValue(maskedDb, "SELECT count(*) FROM customer WHERE email !~ '^user[0-9]+@example[0-9]\\.com$' AND email ~ '^[a-z]+[0-9]+@[a-z]+[0-9]\\.[a-z]{3}$'")).toBe(
      queryValue(sourceDb, 'SELECT count(email) FROM customer'),
    );
  });

  it('gives the same masked dump in a second run, and unmasks to the original bytes', () => {
    runPgcloakOk(['mask', '--rules', file('rules.yaml'), '--vault', file('v2'), '--key-file', file('k'), '--input', file('dump.sql'), '--output', file('masked2.sql'), '-q']);
    expect(readFileSync(file('masked2.sql')).equals(readFileSync(file('masked.sql')))).toBe(true);
    runPgcloakOk(['unmask', '--vault', file('v'), '--key-file', file('k'), '--input', file('masked.sql'), '--output', file('back.sql'), '-q']);
    expect(readFileSync(file('back.sql')).equals(readFileSync(file('dump.sql')))).toBe(true);
  });
});
