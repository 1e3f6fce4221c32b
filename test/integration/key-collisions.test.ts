// Keys the rules break, against the real thing (issue 20, item 5): each masked dump is restored
// into the test cluster with psql, and the errors PostgreSQL gives are the ones mask's warning
// named beforehand, no more and no fewer; a dump it does not warn of restores. The regression
// database's gtest23p (fixtures/regress-gtest23, checked against pg_dump here), primary keys
// under strategies that keep rows apart and under constants, a foreign key, and a
// multi-column key whose warning is conditional, in a case where the condition holds and one
// where it does not.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { EXIT_CODES } from '../../src/errors.js';
import { repoRoot, runPgcloak } from './cli.js';
import { createDatabase, describeWithPg, dropDatabase, pg, pgBinary, pgDump, psqlCommand, psqlFile, uniqueDatabaseName } from './pg.js';

const FIXTURE = path.join(repoRoot, 'fixtures', 'regress-gtest23');

describeWithPg('keys the rules break, restored into PostgreSQL', () => {
  const databases: string[] = [];
  let tmp = '';
  let keyFile = '';

  const database = (prefix: string): string => {
    const name = uniqueDatabaseName(prefix);
    databases.push(name);
    createDatabase(name);
    return name;
  };

  beforeAll(() => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'pgcloak-keys-it-'));
    keyFile = path.join(tmp, 'k');
    expect(runPgcloak(['keygen', '--output', keyFile, '--quiet']).status).toBe(0);
  });

  afterAll(() => {
    for (const db of databases) dropDatabase(db);
    if (tmp !== '') rmSync(tmp, { recursive: true, force: true });
  });

  /** Masks `dump` under `rules`; the masked file and the key warnings (those that name a key `once masked`). */
  const mask = (name: string, dump: string, rules: string, extra: string[] = []): { masked: string; warnings: string[]; status: number | null; stderr: string } => {
    const rulesFile = path.join(tmp, `${name}.yaml`);
    writeFileSync(rulesFile, rules);
    const masked = path.join(tmp, `${name}.masked.sql`);
    const args = ['mask', '--rules', rulesFile, '--vault', path.join(tmp, `${name}.vault`), '--key-file', keyFile, '--input', dump, '--output', masked, '--json', ...extra];
    const r = runPgcloak(args);
    if (r.status !== 0) return { masked, warnings: [], status: r.status, stderr: r.stderr };
    const summary = JSON.parse(r.stderr.trim().split('\n').pop()!) as { warnings: string[] };
    return { masked, warnings: summary.warnings.filter((w) => w.includes(' once masked')), status: r.status, stderr: r.stderr };
  };

  /** The ERROR lines psql prints restoring `file` into a new database, going on past each. */
  const restoreErrors = (file: string): string[] => {
    const db = database('keys_restore');
    const { host, port, user } = pg!;
    const env: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('PG')) env[k] = v;
    const r = spawnSync(pgBinary('psql'), ['-X', '-q', '-v', 'ON_ERROR_STOP=0', '-h', host, '-p', String(port), '-U', user, '-d', db, '-f', file], { encoding: 'utf8', env });
    expect(r.status).toBe(0);
    return [...r.stderr.matchAll(/ERROR: {2}(.*)$/gm)].map((m) => m[1]!);
  };

  /** The restore errors a warning predicts: the quoted messages after "fails with" and "with". */
  const predicted = (warnings: string[]): string[] => warnings.flatMap((w) => [...w.matchAll(/ with '([^']+)'/g)].map((m) => m[1]!));

  it('fixtures/regress-gtest23/dump.sql is what pg_dump writes for the regression suite\'s statements', () => {
    const db = database('gtest23_src');
    psqlFile(db, path.join(FIXTURE, 'schema-and-data.sql'));
    const fresh = path.join(tmp, 'gtest23.sql');
    pgDump(db, fresh, ['--restrict-key=pgcloakGtest23Dump']);
    const comparable = (file: string): string => readFileSync(file, 'utf8').replace(/^-- Dumped (from database|by pg_dump) version .*$/gm, '');
    expect(comparable(fresh)).toBe(comparable(path.join(FIXTURE, 'dump.sql')));
  });

  it('gtest23p: the masked dump fails to restore with exactly the errors the warning named; unmasked, it restores', () => {
    const dump = path.join(FIXTURE, 'dump.sql');
    expect(restoreErrors(dump)).toEqual([]);
    const { masked, warnings } = mask('gtest23', dump, 'tables:\n  gtest23p:\n    columns:\n      x: placeholder\n');
    expect(warnings).toHaveLength(1);
    expect(predicted(warnings)).toEqual(['could not create unique index "gtest23p_pkey"', 'there is no unique constraint matching given keys for referenced table "gtest23p"']);
    expect(restoreErrors(masked)).toEqual(predicted(warnings));
    // As the user restores it: stopped at the first, the one named first.
    expect(() => psqlFile(database('gtest23_stop'), masked)).toThrow(/ERROR: {2}could not create unique index "gtest23p_pkey"\nDETAIL: {2}Key \(y\)=\(2\) is duplicated\./);
    expect(mask('gtest23_strict', dump, 'tables:\n  gtest23p:\n    columns:\n      x: placeholder\n', ['--strict']).status).toBe(EXIT_CODES.RULES_KEY_COLLISION);
  });

  /** A database with a primary key of each kind pgcloak masks, dumped by pg_dump. */
  const keysDump = (): string => {
    const db = database('keys_src');
    psqlCommand(
      db,
      `CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
       CREATE TABLE by_text (code text PRIMARY KEY, n integer NOT NULL);
       CREATE TABLE by_varchar (email varchar(40) PRIMARY KEY, n integer NOT NULL);
       CREATE TABLE by_uuid (token uuid PRIMARY KEY, n integer NOT NULL);
       CREATE TABLE by_login (login text PRIMARY KEY, n integer NOT NULL);
       CREATE TABLE by_int (k integer PRIMARY KEY, n integer NOT NULL);
       CREATE TABLE by_date (d date, n integer NOT NULL, UNIQUE (d));
       CREATE TABLE by_mood (m mood PRIMARY KEY, n integer NOT NULL);
       INSERT INTO by_text VALUES ('alpha', 1), ('beta', 2), ('gamma', 3);
       INSERT INTO by_varchar VALUES ('alice@example.com', 1), ('bob@example.org', 2);
       INSERT INTO by_uuid VALUES ('a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', 1), ('b0eebc99-9c0b-4ef8-bb6d-6bb9bd380a12', 2);
       INSERT INTO by_login VALUES ('alice', 1), ('bob', 2);
       INSERT INTO by_int VALUES (10, 1), (20, 2);
       INSERT INTO by_date VALUES ('2020-01-01', 1), ('2020-01-02', 2), (NULL, 3);
       INSERT INTO by_mood VALUES ('sad', 1), ('happy', 2);`,
    );
    const file = path.join(tmp, 'keys.sql');
    pgDump(db, file);
    return file;
  };

  it('xxx<key>, uuid, pseudonym and hash on primary keys: no warning, and the dump restores; placeholders that repeat: each predicted error, and only those', () => {
    const dump = keysDump();
    const apart = mask(
      'apart',
      dump,
      `tables:
  by_text: {key: n, columns: {code: placeholder}}
  by_varchar: {key: n, columns: {email: pseudonym}}
  by_uuid: {key: n, columns: {token: placeholder}}
  by_login: {key: n, columns: {login: hash}}
`,
      ['--strict'],
    );
    expect(apart.status, apart.stderr).toBe(0);
    expect(apart.warnings).toEqual([]);
    expect(restoreErrors(apart.masked)).toEqual([]);

    const repeated = mask(
      'repeated',
      dump,
      `tables:
  by_int: {key: n, columns: {k: placeholder}}
  by_date: {key: n, columns: {d: placeholder}}
  by_mood: {key: n, columns: {m: placeholder}}
  by_text: {key: n, columns: {code: empty}}
`,
    );
    expect(repeated.warnings.map((w) => /^\S+: \w+ \w+ (\S+)/.exec(w)?.[1])).toEqual(['by_date_d_key', 'by_int_pkey', 'by_mood_pkey', 'by_text_pkey']);
    expect(repeated.warnings[0]).toContain('by_date_d_key (d) gets the same value in every row that has one (of 3) once masked');
    expect(restoreErrors(repeated.masked).sort()).toEqual(predicted(repeated.warnings).sort());
  });

  it('a foreign key whose referenced side alone is masked: the error predicted; both sides under one pseudonym: it restores', () => {
    const db = database('fk_src');
    psqlCommand(
      db,
      `CREATE TABLE customer (id integer PRIMARY KEY, email text NOT NULL UNIQUE);
       CREATE TABLE orders (id integer PRIMARY KEY, email text REFERENCES customer (email));
       INSERT INTO customer VALUES (1, 'alice@example.com'), (2, 'bob@example.org');
       INSERT INTO orders VALUES (10, 'alice@example.com'), (11, 'bob@example.org'), (12, NULL);`,
    );
    const dump = path.join(tmp, 'fk.sql');
    pgDump(db, dump);
    const one = mask('fk-one', dump, 'tables:\n  customer:\n    columns:\n      email: pseudonym\n');
    expect(predicted(one.warnings)).toEqual(['insert or update on table "orders" violates foreign key constraint "orders_email_fkey"']);
    expect(restoreErrors(one.masked)).toEqual(predicted(one.warnings));
    const both = mask('fk-both', dump, 'tables:\n  customer:\n    columns:\n      email: pseudonym\n  orders:\n    columns:\n      email: pseudonym\n', ['--strict']);
    expect(both.status, both.stderr).toBe(0);
    expect(both.warnings).toEqual([]);
    expect(restoreErrors(both.masked)).toEqual([]);
  });

  it('a multi-column key whose masked column becomes constant: a conditional warning, --strict does not refuse it, and the restore shows the condition decides', () => {
    // pagila's rental index (rental_date, inventory_id, customer_id), rental_date under placeholder.
    const dumpOf = (rows: string): string => {
      const db = database('rental_src');
      psqlCommand(
        db,
        `CREATE TABLE rental (rental_id integer PRIMARY KEY, rental_date timestamptz NOT NULL, inventory_id integer NOT NULL, customer_id integer NOT NULL);
         CREATE UNIQUE INDEX idx_unq_rental ON rental (rental_date, inventory_id, customer_id);
         INSERT INTO rental VALUES ${rows};`,
      );
      const file = path.join(tmp, `${db}.sql`);
      pgDump(db, file);
      return file;
    };
    const rules = 'tables:\n  rental:\n    key: rental_id\n    columns:\n      rental_date: placeholder\n';
    const condition = 'rows that share (inventory_id, customer_id) get the same key, and the schema does not say that no two rows do';
    // No customer rents one copy twice: the rest of the key tells every row apart.
    const apart = mask('rental-apart', dumpOf(`(1, '2020-01-01', 7, 1), (2, '2020-01-02', 8, 1), (3, '2020-01-03', 7, 2)`), rules, ['--strict']);
    expect(apart.status, apart.stderr).toBe(0);
    expect(apart.warnings).toHaveLength(1);
    expect(apart.warnings[0]).toContain(`idx_unq_rental (rental_date, inventory_id, customer_id) may repeat once masked: ${condition}`);
    expect(restoreErrors(apart.masked)).toEqual([]);
    // Customer 1 rents copy 7 twice: those two rows collide, as the warning said they would.
    const again = mask('rental-again', dumpOf(`(1, '2020-01-01', 7, 1), (2, '2020-01-05', 7, 1)`), rules, ['--strict']);
    expect(again.status, again.stderr).toBe(0);
    expect(again.warnings).toEqual(apart.warnings);
    expect(restoreErrors(again.masked)).toEqual(predicted(again.warnings));
  });
});
