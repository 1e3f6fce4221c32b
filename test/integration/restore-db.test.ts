// Reversing the masking inside a restored, and migrated, database (issue 4), against the
// real PostgreSQL 15 of the test run: the tricky schema and the pagila corpus are dumped,
// masked, restored; a "migration" (restore/*-migration.sql) renames, retypes, deletes,
// inserts and edits; then `unmask --sql` through psql, `unmask --db`, and `unmask --by-key`
// on a dump of the migrated database must give exactly what the same migration gives on
// the original database: restored values equal the originals, edited values are kept (and
// reported), deleted rows stay deleted (and reported), new rows are untouched. Without the
// migration, the database afterwards holds exactly the original content, table by table in
// sorted order. Refusals (wrong key, tampered vault, vault of another dump, missing table,
// impossible type change) leave the database unchanged.

import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT_CODES } from '../../src/errors.js';
import { describeRun, repoRoot, runPgcloak, runPgcloakOk } from './cli.js';
import { describeWithCorpus, redumpFile } from './corpus-files.js';
import {
  createDatabase,
  databaseUrl,
  describeWithPg,
  dropDatabase,
  pg,
  pgDump,
  psqlCommand,
  psqlFile,
  queryRows,
  queryValue,
  quoteIdent,
  uniqueDatabaseName,
} from './pg.js';

const here = path.join(repoRoot, 'test', 'integration');
const restoreDir = path.join(here, 'restore');

interface JsonReport {
  mode: string;
  committed: boolean;
  dryRun: boolean;
  tables: {
    table: string;
    source: string;
    status: string;
    vaultRows: number;
    notFound: number | null;
    columns: { column: string; restored: number; unchanged: number; changed: number; skipped: boolean }[];
  }[];
}

const url = databaseUrl;

/** Every ordinary table (leaf partitions included), as SQL names. */
function userTables(db: string): string[] {
  return queryRows(
    db,
    `SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%' ORDER BY 1`,
  ).map(([name]) => name as string);
}

/** table → md5 of its rows as text, sorted (UPDATEs move rows, so physical order means nothing). */
function fingerprints(db: string): Map<string, string> {
  const tables = userTables(db);
  if (tables.length === 0) return new Map();
  const sql = tables
    .map((t) => `SELECT ${quoteLiteral(t)}, (SELECT md5(coalesce(string_agg(r::text, E'\\n' ORDER BY r::text), '')) FROM ${t} AS r)`)
    .join('\nUNION ALL\n');
  return new Map(queryRows(db, sql).map(([t, h]) => [t as string, h as string]));
}

function quoteLiteral(s: string): string {
  return `'${s.replaceAll("'", "''")}'`;
}

function sortedRows(db: string, table: string): string[] {
  return queryRows(db, `SELECT r::text FROM ${table} AS r ORDER BY 1`).map(([r]) => r as string);
}

/** Tables whose content differs between two databases, with the first differing rows. */
function differences(actualDb: string, expectedDb: string, except: readonly string[] = []): string[] {
  const actual = fingerprints(actualDb);
  const expected = fingerprints(expectedDb);
  const out: string[] = [];
  for (const table of new Set([...actual.keys(), ...expected.keys()])) {
    if (except.includes(table) || actual.get(table) === expected.get(table)) continue;
    if (!actual.has(table) || !expected.has(table)) {
      out.push(`${table}: only in ${actual.has(table) ? 'the result' : 'the expected database'}`);
      continue;
    }
    const a = sortedRows(actualDb, table);
    const e = new Set(sortedRows(expectedDb, table));
    const extra = a.filter((r) => !e.has(r)).slice(0, 3);
    const as = new Set(a);
    const missing = [...e].filter((r) => !as.has(r)).slice(0, 3);
    out.push(`${table}: unexpected ${JSON.stringify(extra)}, missing ${JSON.stringify(missing)}`);
  }
  return out;
}

function cloneDatabase(template: string, prefix: string, databases: string[]): string {
  const name = uniqueDatabaseName(prefix);
  databases.push(name);
  psqlCommand('postgres', `CREATE DATABASE ${quoteIdent(name)} TEMPLATE ${quoteIdent(template)}`);
  return name;
}

function lastJson(stderr: string): JsonReport {
  return JSON.parse(stderr.trim().split('\n').pop()!) as JsonReport;
}

function tableReport(report: JsonReport, source: string): JsonReport['tables'][number] {
  const t = report.tables.find((x) => x.source === source);
  if (!t) throw new Error(`no report for ${source}: ${JSON.stringify(report.tables.map((x) => x.source))}`);
  return t;
}

function column(report: JsonReport, source: string, name: string): { restored: number; unchanged: number; changed: number } {
  const c = tableReport(report, source).columns.find((x) => x.column === name);
  if (!c) throw new Error(`no column ${name} in the report for ${source}`);
  return c;
}

/** Everything a suite needs: original, masked and migrated databases to clone, files. */
interface Fixture {
  tmp: string;
  key: string;
  vault: string;
  maskedFile: string;
  originalDb: string;
  /** The masked dump restored. */
  maskedDb: string;
  /** The original database after the migration: what a reversal of the migrated masked one must give. */
  expectedDb: string;
  /** The masked database after the migration. */
  migratedDb: string;
  databases: string[];
  file(name: string): string;
}

function setUp(name: string, dump: string | undefined, loadOriginal: (db: string) => void, rules: string, migration: string): Fixture {
  const tmp = mkdtempSync(path.join(os.tmpdir(), `pgcloak-restore-${name}-`));
  const databases: string[] = [];
  const file = (n: string): string => path.join(tmp, n);
  const fresh = (prefix: string): string => {
    const db = uniqueDatabaseName(prefix);
    databases.push(db);
    createDatabase(db);
    return db;
  };
  const originalDb = fresh(`${name}_orig`);
  loadOriginal(originalDb);
  const dumpFile = dump ?? file('dump.sql');
  if (dump === undefined) pgDump(originalDb, dumpFile);
  const key = file('k');
  const vault = file('v');
  const maskedFile = file('masked.sql');
  runPgcloakOk(['keygen', '--output', key, '--quiet']);
  runPgcloakOk(['mask', '--rules', rules, '--vault', vault, '--key-file', key, '--input', dumpFile, '--output', maskedFile, '--quiet']);
  const maskedDb = fresh(`${name}_masked`);
  psqlFile(maskedDb, maskedFile);
  const expectedDb = cloneDatabase(originalDb, `${name}_expected`, databases);
  psqlFile(expectedDb, migration);
  const migratedDb = cloneDatabase(maskedDb, `${name}_migrated`, databases);
  psqlFile(migratedDb, migration);
  return { tmp, key, vault, maskedFile, originalDb, maskedDb, expectedDb, migratedDb, databases, file };
}

function tearDown(f: Fixture | undefined): void {
  if (!f) return;
  for (const db of f.databases) dropDatabase(db);
  rmSync(f.tmp, { recursive: true, force: true });
}

// ---------------------------------------------------------------------------

describeWithPg('unmask into a database: the tricky schema', () => {
  let f: Fixture;
  const trickyMap = path.join(restoreDir, 'tricky-map.yaml');
  // Keyed by position: cannot be matched in a database, so it stays masked and is reported.
  const positionKeyed = 'public.event_log';

  beforeAll(() => {
    f = setUp(
      'tricky',
      undefined,
      (db) => psqlFile(db, path.join(here, 'tricky', 'schema.sql')),
      path.join(here, 'tricky', 'rules.yaml'),
      path.join(restoreDir, 'tricky-migration.sql'),
    );
  });
  afterAll(() => tearDown(f));

  const clone = (template: string, prefix: string): string => cloneDatabase(template, prefix, f.databases);
  const unmask = (...args: string[]): string[] => ['unmask', '--vault', f.vault, '--key-file', f.key, ...args];

  it('--sql through psql, without migration: every table holds the original content again', () => {
    const db = clone(f.maskedDb, 'tricky_sql');
    const script = f.file('plain.sql');
    runPgcloakOk(unmask('--sql', '--output', script, '--quiet'));
    const report = psqlFile(db, script);
    expect(differences(db, f.originalDb, [positionKeyed])).toEqual([]);
    expect(sortedRows(db, positionKeyed)).toEqual(sortedRows(f.maskedDb, positionKeyed));
    expect(report).toMatch(/public\.event_log\s*\|[^\n]*\|\s*6 \|[^\n]*no key \(rows keyed by position\): cannot be matched in a database/);
    expect(report).toMatch(/public\.customer\s*\|\s*name\s*\|\s*14 \|\s*0 \|\s*14 \|\s*0 \|\s*0 \|/);
  });

  it('--db without migration: the original content; a second run finds everything already original', () => {
    const db = clone(f.maskedDb, 'tricky_db');
    const first = lastJson(runPgcloakOk(unmask('--db', url(db), '--json')).stderr);
    expect(first).toMatchObject({ mode: 'db', committed: true, dryRun: false });
    expect(differences(db, f.originalDb, [positionKeyed])).toEqual([]);
    expect(tableReport(first, 'public.event_log')).toMatchObject({ status: 'position', vaultRows: 6, notFound: null });
    expect(column(first, 'public.customer', 'name')).toEqual({ column: 'name', restored: 14, unchanged: 0, changed: 0, skipped: false });
    const second = lastJson(runPgcloakOk(unmask('--db', url(db), '--json')).stderr);
    for (const t of second.tables) for (const c of t.columns) expect(c.restored, `${t.table}.${c.column}`).toBe(0);
    expect(column(second, 'public.customer', 'name').unchanged).toBe(14);
    expect(differences(db, f.originalDb, [positionKeyed])).toEqual([]);
  });

  it('--db --dry-run reports what it would restore and changes nothing', () => {
    const db = clone(f.maskedDb, 'tricky_dry');
    const before = fingerprints(db);
    const report = lastJson(runPgcloakOk(unmask('--db', url(db), '--dry-run', '--json')).stderr);
    expect(report).toMatchObject({ committed: false, dryRun: true });
    expect(column(report, 'public.customer', 'name').restored).toBe(14);
    expect(fingerprints(db)).toEqual(before);
  });

  it('--sql --map through psql, after the migration: restored, edits kept, deletions and new rows as the vendor left them', () => {
    const db = clone(f.migratedDb, 'tricky_msql');
    const script = f.file('migrated.sql');
    runPgcloakOk(unmask('--sql', '--map', trickyMap, '--output', script, '--quiet'));
    const report = psqlFile(db, script);
    expect(differences(db, f.expectedDb, [positionKeyed])).toEqual([]);
    expect(report).toMatch(/public\.customer\s*\|\s*name\s*\|\s*14 \|\s*2 \|\s*11 \|\s*0 \|\s*1 \|/);
    expect(report).toMatch(/public\.odd_text \(was public\.tricky_text\)\s*\|\s*value_text \(was val\)\s*\|\s*21 \|\s*1 \|\s*18 \|\s*1 \|\s*1 \|/);
  });

  it('--db --map after the migration: the same, and the counts per table and column', () => {
    const db = clone(f.migratedDb, 'tricky_mdb');
    const report = lastJson(runPgcloakOk(unmask('--db', url(db), '--map', trickyMap, '--json')).stderr);
    expect(differences(db, f.expectedDb, [positionKeyed])).toEqual([]);
    // Two customers deleted, one name edited by hand (kept), the rest restored.
    expect(tableReport(report, 'public.customer')).toMatchObject({ table: 'public.customer', vaultRows: 14, notFound: 2 });
    expect(column(report, 'public.customer', 'name')).toMatchObject({ restored: 11, unchanged: 0, changed: 1 });
    expect(tableReport(report, 'public.tricky_text')).toMatchObject({ table: 'public.odd_text (was public.tricky_text)', notFound: 1 });
    expect(column(report, 'public.tricky_text', 'value_text (was val)')).toMatchObject({ changed: 1 });
    expect(column(report, '"Sales Dept"."Client List"', 'email_address (was E-mail)')).toMatchObject({ restored: 3, unchanged: 1 });
    // A constant placeholder edited by hand.
    expect(column(report, 'public.measurement', 'price').changed).toBe(1);
    // Invoices with id % 7 = 0 were deleted, across the partitions.
    const invoices = report.tables.filter((t) => /invoice/i.test(t.source));
    expect(invoices.reduce((n, t) => n + (t.notFound ?? 0), 0)).toBe(8);
    // The text column the vendor turned into jsonb came back through the map's using:.
    expect(queryValue(db, `SELECT "say ""hi"""::text FROM "Sales Dept"."odd.name" WHERE id = 1`)).toBe('{"en_US": "hello"}');
    // The vendor's rows are untouched.
    expect(queryValue(db, `SELECT name || '/' || loyalty FROM public.customer WHERE id = 500`)).toBe('New Customer/3');
  });

  it('--db --force overwrites the values edited since masking', () => {
    const db = clone(f.migratedDb, 'tricky_force');
    const report = lastJson(runPgcloakOk(unmask('--db', url(db), '--map', trickyMap, '--force', '--json')).stderr);
    expect(column(report, 'public.customer', 'name').changed).toBe(1);
    expect(queryValue(db, 'SELECT name FROM public.customer WHERE id = 3')).toBe('Chloé Exämple');
    expect(queryValue(db, 'SELECT price::text FROM public.measurement WHERE id = 1')).toBe('1234567890.12');
    expect(queryValue(db, 'SELECT value_text FROM public.odd_text WHERE id = 5')).toBe('a\\b\\\\c');
  });

  it('--by-key on a dump of the migrated database: the same values, by key', () => {
    const migratedDump = f.file('migrated-dump.sql');
    pgDump(f.migratedDb, migratedDump);
    const out = f.file('by-key.sql');
    const result = runPgcloakOk(unmask('--by-key', '--map', path.join(restoreDir, 'tricky-map-by-key.yaml'), '--input', migratedDump, '--output', out, '--json'));
    const report = lastJson(result.stderr);
    expect(column(report, 'public.customer', 'name')).toMatchObject({ restored: 11, changed: 1 });
    expect(tableReport(report, 'public.customer').notFound).toBe(2);
    const db = uniqueDatabaseName('tricky_bykey');
    f.databases.push(db);
    createDatabase(db);
    psqlFile(db, out);
    // The jsonb column needs a using: conversion, which needs a database: skipped, still masked.
    const oddName = '"Sales Dept"."odd.name"';
    expect(differences(db, f.expectedDb, [positionKeyed, oddName])).toEqual([]);
    expect(sortedRows(db, oddName)).toEqual(sortedRows(f.migratedDb, oddName));
    expect(tableReport(report, oddName)).toMatchObject({ status: 'skipped' });
  });

  describe('refusals leave the database unchanged', () => {
    function refused(args: string[], db: string, code: keyof typeof EXIT_CODES, pattern: RegExp): void {
      const before = fingerprints(db);
      const result = runPgcloak(args);
      expect(result.status, describeRun(args, result)).toBe(EXIT_CODES[code]);
      expect(result.stderr).toContain(`${code}: `);
      expect(result.stderr).toMatch(pattern);
      expect(fingerprints(db)).toEqual(before);
    }

    it('a wrong key: nothing touched, no script written', () => {
      const db = clone(f.maskedDb, 'tricky_wrongkey');
      const other = f.file('other-key');
      runPgcloakOk(['keygen', '--output', other, '--quiet']);
      refused(['unmask', '--vault', f.vault, '--key-file', other, '--db', url(db)], db, 'VAULT_WRONG_KEY', /wrong key/);
      const script = f.file('wrong-key.sql');
      const result = runPgcloak(['unmask', '--vault', f.vault, '--key-file', other, '--sql', '--output', script]);
      expect(result.status).toBe(EXIT_CODES.VAULT_WRONG_KEY);
      expect(existsSync(script)).toBe(false);
    });

    it('a tampered vault: refused before the database is touched', () => {
      const db = clone(f.maskedDb, 'tricky_tampered');
      const bytes = readFileSync(f.vault);
      const tampered = f.file('tampered.vault');
      bytes[Math.floor(bytes.length * 0.6)]! ^= 0x20;
      writeFileSync(tampered, bytes);
      refused(['unmask', '--vault', tampered, '--key-file', f.key, '--db', url(db)], db, 'VAULT_TAMPERED', /damaged/);
    });

    it('a vault of another dump of the same schema, whose keys are not in this database', () => {
      const otherDb = clone(f.originalDb, 'tricky_otherkeys');
      psqlCommand(
        otherDb,
        `UPDATE public.customer SET id = -id; UPDATE "Sales Dept".customer SET id = -id; UPDATE "Sales Dept"."Client List" SET "ID" = -"ID";
         UPDATE "Sales Dept"."odd.name" SET id = -id; UPDATE public.measurement SET id = -id; UPDATE public.moment SET id = -id;
         UPDATE public.document SET id = -id; UPDATE public.tricky_text SET id = -id; UPDATE public.order_line SET order_id = -order_id;
         UPDATE public.legacy SET id = -id; UPDATE public.invoice SET id = -id;`,
      );
      const otherDump = f.file('other.sql');
      pgDump(otherDb, otherDump);
      const otherVault = f.file('other.vault');
      runPgcloakOk(['mask', '--rules', path.join(here, 'tricky', 'rules.yaml'), '--vault', otherVault, '--key-file', f.key, '--input', otherDump, '--output', f.file('other-masked.sql'), '--quiet']);
      const db = clone(f.maskedDb, 'tricky_othervault');
      refused(['unmask', '--vault', otherVault, '--key-file', f.key, '--db', url(db)], db, 'VAULT_MISMATCH', /none of the rows of the vault has its key in this database/);
      // Through psql: the script stops with the same message, and its transaction is rolled back.
      const script = f.file('other-vault.sql');
      runPgcloakOk(['unmask', '--vault', otherVault, '--key-file', f.key, '--sql', '--output', script, '--quiet']);
      const before = fingerprints(db);
      expect(() => psqlFile(db, script)).toThrow(/VAULT_MISMATCH: none of the rows of the vault/);
      expect(fingerprints(db)).toEqual(before);
    });

    it('a vault of another schema: the tables it names are missing', () => {
      const golden = path.join(repoRoot, 'fixtures', 'golden', 'types');
      const goldenVault = f.file('golden.vault');
      runPgcloakOk(['mask', '--rules', path.join(golden, 'rules.yaml'), '--vault', goldenVault, '--key-file', f.key, '--input', path.join(golden, 'input.sql'), '--output', f.file('golden-masked.sql'), '--quiet']);
      const db = clone(f.maskedDb, 'tricky_golden');
      refused(['unmask', '--vault', goldenVault, '--key-file', f.key, '--db', url(db)], db, 'TARGET_SCHEMA', /table public\.person/);
    });

    it('the migrated database without the map: the renamed table and column are named, nothing is written', () => {
      const db = clone(f.migratedDb, 'tricky_nomap');
      refused(unmask('--db', url(db)), db, 'TARGET_SCHEMA', /the database lacks what the vault restores into/);
      const result = runPgcloak(unmask('--db', url(db)));
      expect(result.stderr).toContain('table public.tricky_text');
      expect(result.stderr).toContain('column "Sales Dept"."Client List".E-mail');
    });

    it('a type change PostgreSQL cannot cast: an error naming the column, before anything is written', () => {
      const db = clone(f.maskedDb, 'tricky_badtype');
      psqlCommand(db, 'ALTER TABLE public.legacy ALTER COLUMN a TYPE integer USING length(a)');
      refused(unmask('--db', url(db)), db, 'TARGET_SCHEMA', /public\.legacy, column a\)/);
      const result = runPgcloak(unmask('--db', url(db)));
      expect(result.stderr).toMatch(
        /(the values of|what masking wrote in) a \(text in the masked dump\) cannot be read as the type public\.legacy\.a has now, first at the row with key \(id\)=\(\d+\): invalid input syntax for type integer/,
      );
      // No original value in the message.
      expect(result.stderr).not.toMatch(/a1|a2|a4/);
      const script = f.file('bad-type.sql');
      runPgcloakOk(unmask('--sql', '--output', script, '--quiet'));
      const before = fingerprints(db);
      expect(() => psqlFile(db, script)).toThrow(/invalid input syntax for type integer/);
      expect(fingerprints(db)).toEqual(before);
    });
  });
});

// ---------------------------------------------------------------------------

const corpusDump = redumpFile('pagila', 'plain');

describeWithCorpus('unmask into a database: pagila', () => {
  let f: Fixture;
  const pagilaMap = path.join(restoreDir, 'pagila-map.yaml');

  beforeAll(() => {
    f = setUp(
      'pagila',
      corpusDump,
      (db) => psqlFile(db, corpusDump),
      path.join(repoRoot, 'fixtures', 'corpus-rules', 'pagila.yaml'),
      path.join(restoreDir, 'pagila-migration.sql'),
    );
  });
  afterAll(() => tearDown(f));

  const clone = (template: string, prefix: string): string => cloneDatabase(template, prefix, f.databases);
  const unmask = (...args: string[]): string[] => ['unmask', '--vault', f.vault, '--key-file', f.key, ...args];

  it('the masked database differs from the original (the premise)', () => {
    expect(differences(f.maskedDb, f.originalDb).length).toBeGreaterThan(3);
  });

  it('--db without migration: exactly the original content', () => {
    const db = clone(f.maskedDb, 'pagila_db');
    const report = lastJson(runPgcloakOk(unmask('--db', url(db), '--json')).stderr);
    expect(differences(db, f.originalDb)).toEqual([]);
    expect(column(report, 'public.customer', 'email').restored).toBeGreaterThan(500);
  });

  it('--sql through psql without migration: exactly the original content', () => {
    const db = clone(f.maskedDb, 'pagila_sql');
    const script = f.file('plain.sql');
    runPgcloakOk(unmask('--sql', '--output', script, '--quiet'));
    psqlFile(db, script);
    expect(differences(db, f.originalDb)).toEqual([]);
  });

  it('--db --map after the migration: what the migration gives on the original', () => {
    const db = clone(f.migratedDb, 'pagila_mdb');
    const report = lastJson(runPgcloakOk(unmask('--db', url(db), '--map', pagilaMap, '--json')).stderr);
    expect(differences(db, f.expectedDb)).toEqual([]);
    expect(tableReport(report, 'public.customer')).toMatchObject({ table: 'public.client (was public.customer)', notFound: 0 });
    expect(column(report, 'public.customer', 'last_name').changed).toBe(2);
    expect(column(report, 'public.customer', 'email_address (was email)').changed).toBe(0);
    expect(column(report, 'public.address', 'phone').changed).toBe(1);
    const deleted = Number(queryValue(f.originalDb, 'SELECT count(*) FROM public.payment WHERE payment_id % 97 = 0'));
    expect(deleted).toBeGreaterThan(100);
    const payments = report.tables.filter((t) => t.source.startsWith('public.payment_'));
    expect(payments.reduce((n, t) => n + (t.notFound ?? 0), 0)).toBe(deleted);
  });

  it('--sql --map through psql after the migration: the same', () => {
    const db = clone(f.migratedDb, 'pagila_msql');
    const script = f.file('migrated.sql');
    runPgcloakOk(unmask('--sql', '--map', pagilaMap, '--output', script, '--quiet'));
    psqlFile(db, script);
    expect(differences(db, f.expectedDb)).toEqual([]);
  });

  it('--by-key --map on a dump of the migrated database: the same', () => {
    const migratedDump = f.file('migrated-dump.sql');
    pgDump(f.migratedDb, migratedDump);
    const out = f.file('by-key.sql');
    runPgcloakOk(unmask('--by-key', '--map', pagilaMap, '--input', migratedDump, '--output', out, '--quiet'));
    const db = uniqueDatabaseName('pagila_bykey');
    f.databases.push(db);
    createDatabase(db);
    psqlFile(db, out);
    expect(differences(db, f.expectedDb)).toEqual([]);
  });
});
