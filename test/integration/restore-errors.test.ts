// `unmask --db` and `--sql` when the database refuses the originals (issue 18, item 9):
// PostgreSQL's errors quote values (a conversion's input, a constraint's failing row, a
// trigger's own message), and no original may ever be printed. Against the real
// PostgreSQL of the test run: a `using:` conversion that fails, a type change COPY cannot
// read, a trigger that raises with NEW values, a check constraint and a unique index that
// the originals break. Each time: the exit code, nothing changed, no original anywhere in
// stdout or stderr, and the error names the table, the column where it is known, and the row
// by its key.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { EXIT_CODES } from '../../src/errors.js';
import { describeRun, runPgcloak, runPgcloakOk, type PgcloakResult } from './cli.js';
import { createDatabase, databaseUrl, describeWithPg, dropDatabase, pg, pgDump, psqlCommand, psqlFile, queryRows, quoteLiteral, uniqueDatabaseName } from './pg.js';

// Every original is unmistakable, so that any piece of it in a message is found.
const PEOPLE = [
  { id: 1, name: 'Quenelda Origenal', email: 'quenelda.origenal@secretmail.example', age: '41', code: 'QO1' },
  { id: 2, name: 'Bartholomew Zyxwv', email: 'bartholomew.zyxwv@secretmail.example', age: 'forty-two-zyxwv', code: 'BZ2' },
  { id: 3, name: 'Ottoline Qwertz', email: 'ottoline.qwertz@secretmail.example', age: '43', code: 'OQ3' },
];
const ORIGINALS = PEOPLE.flatMap((p) => [p.name, p.email, p.age, p.code]);
/** Pieces of the originals that a cut or re-quoted message could still show. */
const FRAGMENTS = ['Quenelda', 'Origenal', 'Bartholomew', 'Zyxwv', 'zyxwv', 'Ottoline', 'Qwertz', 'secretmail', 'forty'];

describeWithPg('unmask --db/--sql: no original in any database error', () => {
  let tmp: string;
  let key: string;
  let vault: string;
  let masked: string;
  const databases: string[] = [];
  const file = (n: string): string => path.join(tmp, n);

  beforeAll(() => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'pgcloak-restore-errors-'));
    const original = uniqueDatabaseName('errors_orig');
    databases.push(original);
    createDatabase(original);
    const values = PEOPLE.map((p) => `(${p.id}, '${p.name}', '${p.email}', '${p.age}', '${p.code}')`).join(', ');
    psqlCommand(original, `CREATE TABLE person (id integer PRIMARY KEY, name text, email text, age text, code varchar(10)); INSERT INTO person VALUES ${values};`);
    const dump = file('dump.sql');
    pgDump(original, dump);
    const rules = file('rules.yaml');
    writeFileSync(rules, 'tables:\n  person:\n    columns:\n      name: placeholder\n      email: placeholder\n      age: placeholder\n      code: placeholder\n');
    key = file('k');
    vault = file('v');
    masked = file('masked.sql');
    runPgcloakOk(['keygen', '--output', key, '--quiet']);
    runPgcloakOk(['mask', '--rules', rules, '--vault', vault, '--key-file', key, '--input', dump, '--output', masked, '--quiet']);
  });

  afterAll(() => {
    for (const db of databases) dropDatabase(db);
    rmSync(tmp, { recursive: true, force: true });
  });

  /** The masked dump restored, then changed by `sql` (the vendor's migration). */
  function maskedDb(prefix: string, sql: string): string {
    const db = uniqueDatabaseName(prefix);
    databases.push(db);
    createDatabase(db);
    psqlFile(db, masked);
    psqlCommand(db, sql);
    return db;
  }

  function rows(db: string): string[] {
    return queryRows(db, 'SELECT p::text FROM person AS p ORDER BY id').map(([r]) => r!);
  }

  function noOriginal(output: string): void {
    for (const v of [...ORIGINALS, ...FRAGMENTS]) expect(output, `"${v}" printed`).not.toContain(v);
  }

  /** Runs unmask --db, which must fail with `code`, print no original, change nothing. */
  function refused(db: string, extra: string[], code: keyof typeof EXIT_CODES): PgcloakResult {
    const before = rows(db);
    const args = ['unmask', '--vault', vault, '--key-file', key, '--db', databaseUrl(db), ...extra];
    const result = runPgcloak(args);
    expect(result.status, describeRun(args, result)).toBe(EXIT_CODES[code]);
    expect(result.stderr).toContain(`${code}: `);
    noOriginal(result.stderr);
    noOriginal(result.stdout.toString('utf8'));
    expect(rows(db)).toEqual(before);
    return result;
  }

  function map(name: string, yaml: string): string {
    const f = file(name);
    writeFileSync(f, yaml);
    return f;
  }

  it('a using: conversion that fails on an original: names the column and the row by key', () => {
    const db = maskedDb('errors_using', 'ALTER TABLE person ALTER COLUMN age TYPE integer USING 1');
    const m = map('using.yaml', `tables:\n  person:\n    columns:\n      age: {using: "CASE WHEN value LIKE 'xxx%' THEN 0 ELSE value::integer END"}\n`);
    const { stderr } = refused(db, ['--map', m], 'TARGET_SCHEMA');
    expect(stderr).toMatch(/the map's using: fails on the original of age at the row with key \(id\)=\(2\): invalid input syntax for type integer: "…"/);
    expect(stderr).toMatch(/\(public\.person, column age\)/);
  });

  it('a using: whose message quotes the value in its middle (to_date): cut there too', () => {
    const db = maskedDb('errors_todate', 'ALTER TABLE person ALTER COLUMN name TYPE date USING NULL');
    const m = map('todate.yaml', `tables:\n  person:\n    columns:\n      name: {using: "CASE WHEN value LIKE 'xxx%' THEN NULL ELSE to_date(value, 'YYYY') END"}\n`);
    const { stderr } = refused(db, ['--map', m], 'TARGET_SCHEMA');
    expect(stderr).toMatch(/at the row with key \(id\)=\(1\): invalid value "…" \(SQLSTATE 22007\)/);
    expect(stderr).toContain('column name)');
  });

  it('a type change COPY cannot read: names the column and the first row it fails at', () => {
    const db = maskedDb('errors_copy', "ALTER TABLE person ALTER COLUMN age TYPE integer USING 1");
    const { stderr } = refused(db, [], 'TARGET_SCHEMA');
    expect(stderr).toMatch(/age \(text in the masked dump\) cannot be read as the type public\.person\.age has now, first at the row with key \(id\)=\(1\): invalid input syntax for type integer: "…"/);
    expect(stderr).toContain('(public.person, column age)');
  });

  it('a trigger that raises with the NEW values (--fire-triggers): its message is not shown, the row is named', () => {
    const db = maskedDb(
      'errors_trigger',
      `CREATE FUNCTION refuse_names() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         IF NEW.name NOT LIKE 'xxx%' THEN RAISE EXCEPTION 'name % (%) refused', NEW.name, NEW.email USING DETAIL = 'age ' || NEW.age; END IF;
         RETURN NEW;
       END $$;
       CREATE TRIGGER refuse BEFORE UPDATE ON person FOR EACH ROW EXECUTE FUNCTION refuse_names();`,
    );
    const { stderr } = refused(db, ['--fire-triggers'], 'DB_ERROR');
    expect(stderr).toMatch(/restoring the row with key \(id\)=\(1\) fails: function refuse_names\(\) raised an error \(its message is not shown: it may hold a value\) \(SQLSTATE P0001\)/);
    expect(stderr).toContain('(public.person)');
  });

  it('a trigger that raises with a constraint-like SQLSTATE is still user text: not shown', () => {
    const db = maskedDb(
      'errors_trigger_state',
      `CREATE FUNCTION refuse_emails() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         IF NEW.email LIKE '%secretmail%' THEN RAISE EXCEPTION USING ERRCODE = 'check_violation', MESSAGE = 'bad "' || NEW.email || '" ' || NEW.name; END IF;
         RETURN NEW;
       END $$;
       CREATE TRIGGER refuse BEFORE UPDATE ON person FOR EACH ROW EXECUTE FUNCTION refuse_emails();`,
    );
    const { stderr } = refused(db, ['--fire-triggers'], 'DB_ERROR');
    expect(stderr).toMatch(/function refuse_emails\(\) raised an error .*SQLSTATE 23514/);
  });

  it('a check constraint the originals break (its DETAIL holds the whole row): names the constraint and the row', () => {
    const db = maskedDb('errors_check', "ALTER TABLE person ADD CONSTRAINT no_private_domain CHECK (email NOT LIKE '%secretmail%') NOT VALID");
    const { stderr } = refused(db, [], 'DB_ERROR');
    expect(stderr).toMatch(/restoring the row with key \(id\)=\(1\) fails: new row for relation "person" violates check constraint "no_private_domain" \(SQLSTATE 23514\)/);
  });

  it('a unique index the originals break (its DETAIL holds the key): the second row of the pair is named', () => {
    // The vendor set row 3's e-mail to row 1's original: restoring row 1 collides with it.
    const db = maskedDb('errors_unique', `CREATE UNIQUE INDEX person_email ON person (email); UPDATE person SET email = ${quoteLiteral(PEOPLE[0]!.email)} WHERE id = 3`);
    const before = rows(db);
    const args = ['unmask', '--vault', vault, '--key-file', key, '--db', databaseUrl(db), '--force'];
    const result = runPgcloak(args);
    expect(result.status, describeRun(args, result)).toBe(EXIT_CODES.DB_ERROR);
    expect(result.stderr).toMatch(/restoring the row with key \(id\)=\(\d\) fails: duplicate key value violates unique constraint "person_email" \(SQLSTATE 23505\)/);
    noOriginal(result.stderr);
    expect(rows(db)).toEqual(before);
  });

  it('--sql through psql: no DETAIL or CONTEXT (the failing row, the COPY field) is printed', () => {
    const check = maskedDb('errors_sql_check', "ALTER TABLE person ADD CONSTRAINT no_private_domain CHECK (email NOT LIKE '%secretmail%') NOT VALID");
    const script = file('check.sql');
    runPgcloakOk(['unmask', '--vault', vault, '--key-file', key, '--sql', '--output', script, '--quiet']);
    const psql = (db: string): { status: number | null; out: string } => {
      const { host, port, user } = pg!;
      const r = spawnSync(path.join(pg!.bin, 'psql'), ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-h', host, '-p', String(port), '-U', user, '-d', db, '-f', script], { encoding: 'utf8' });
      return { status: r.status, out: `${r.stdout}${r.stderr}` };
    };
    const checked = psql(check);
    expect(checked.status).toBe(3);
    expect(checked.out).toContain('violates check constraint "no_private_domain"');
    expect(checked.out).not.toContain('Failing row');
    noOriginal(checked.out);
    // A conversion: psql prints PostgreSQL's primary message, which quotes the text (documented); the CONTEXT line, never.
    const converted = maskedDb('errors_sql_copy', 'ALTER TABLE person ALTER COLUMN age TYPE integer USING 1');
    const failed = psql(converted);
    expect(failed.status).toBe(3);
    expect(failed.out).toContain('invalid input syntax for type integer');
    expect(failed.out).not.toContain('CONTEXT');
  });
});
