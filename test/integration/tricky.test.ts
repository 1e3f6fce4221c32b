// End to end on a schema built to be awkward (tricky/schema.sql): real pg_dump,
// pgcloak mask, restore of the masked dump into PostgreSQL, column-by-column checks
// against the original database, and unmask back to the exact original bytes.

import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { EXIT_CODES } from '../../src/errors.js';
import { spawnSync } from 'node:child_process';
import { describeRun, repoRoot, runPgcloak, runPgcloakOk } from './cli.js';
import { copyBlocks, copyDataLines } from './dump-lines.js';
import {
  NULL_TEXT,
  createDatabase,
  describeWithPg,
  dropDatabase,
  pgBinary,
  pgDump,
  psqlFile,
  queryRows,
  queryValue,
  quoteIdent,
  uniqueDatabaseName,
} from './pg.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const schemaFile = path.join(here, 'tricky', 'schema.sql');
const rulesFile = path.join(here, 'tricky', 'rules.yaml');

// ---------------------------------------------------------------------------
// What every ruled column must hold after masking and restoring.

type Expectation =
  | { kind: 'text' } // exactly 'xxx' || key
  | { kind: 'text-fit'; max: number; padded?: boolean } // fits varchar(max)/char(max), unique per row
  | { kind: 'json' } // same structure, leaves masked
  | { kind: 'array'; element: 'text' | 'integer' } // same dimensions, elements masked
  | { kind: 'uuid' } // a valid uuid, unique per row
  | { kind: 'sql'; predicate: string } // a predicate on the masked value ($ is the column)
  | { kind: 'null' }
  | { kind: 'empty' }
  | { kind: 'constant'; value: string }
  | { kind: 'keep' };

const integerOne: Expectation = { kind: 'sql', predicate: '$ = 1' };
const zero: Expectation = { kind: 'sql', predicate: '$::numeric = 0' };
const noBytes: Expectation = { kind: 'sql', predicate: 'octet_length($) = 0' };
const documentationAddress: Expectation = {
  kind: 'sql',
  predicate: `$::inet <<= ANY (ARRAY['192.0.2.0/24', '198.51.100.0/24', '203.0.113.0/24', '2001:db8::/32']::inet[])`,
};

interface TableSpec {
  /** The table's name as rules.yaml writes it. */
  rule: string;
  /** The table as SQL (a partitioned parent covers its partitions). */
  sql: string;
  /** SQL giving the placeholder key as text; null means the row's position in the dump. */
  key: string | null;
  columns: Record<string, Expectation>;
  /** Columns that must be identical to the original. */
  unruled: string[];
}

const TABLES: TableSpec[] = [
  {
    rule: 'customer',
    sql: 'public.customer',
    key: 'id::text',
    columns: {
      name: { kind: 'text' },
      nick: { kind: 'text-fit', max: 5 },
      code: { kind: 'text-fit', max: 6, padded: true },
      email: { kind: 'text' },
      login: { kind: 'text' },
      prénom: { kind: 'text' },
      user: { kind: 'text' },
      order: integerOne,
      mood: { kind: 'sql', predicate: '$ = enum_first($)' },
    },
    unruled: ['notes'],
  },
  {
    rule: '"Sales Dept".customer',
    sql: '"Sales Dept".customer',
    key: 'id::text',
    columns: {
      name: { kind: 'constant', value: 'ACME' },
      since: { kind: 'sql', predicate: `$ = DATE '2011-11-11'` },
    },
    unruled: ['region'],
  },
  {
    rule: '"Sales Dept"."Client List"',
    sql: '"Sales Dept"."Client List"',
    key: '"ID"::text',
    columns: {
      'E-mail': { kind: 'text' },
      'Full Name': { kind: 'text' },
      photo: { kind: 'empty' },
      note: { kind: 'null' },
      code: { kind: 'constant', value: 'ABC' },
      other: { kind: 'keep' },
    },
    unruled: ['Phone Number'],
  },
  {
    rule: '"Sales Dept"."odd.name"',
    sql: '"Sales Dept"."odd.name"',
    key: 'id::text',
    columns: { 'say "hi"': { kind: 'text' } },
    unruled: ['v'],
  },
  {
    rule: 'public.measurement',
    sql: 'public.measurement',
    key: 'id::text',
    columns: {
      small: integerOne,
      int: integerOne,
      big: integerOne,
      price: zero,
      ratio: zero,
      precise: zero,
      cash: zero,
      flag: { kind: 'sql', predicate: '$ = false' },
    },
    unruled: ['plain_num'],
  },
  {
    rule: 'moment',
    sql: 'public.moment',
    key: 'id::text',
    columns: {
      d: { kind: 'sql', predicate: `$ = DATE '2011-11-11'` },
      ts: { kind: 'sql', predicate: `$ = TIMESTAMP '2011-11-11 11:11:11'` },
      tstz: { kind: 'sql', predicate: `$ = TIMESTAMPTZ '2011-11-11 11:11:11+00'` },
      t: { kind: 'sql', predicate: `$ = TIME '11:11:11'` },
      // The time zone of a timetz placeholder is the masker's choice.
      ttz: { kind: 'sql', predicate: `$::time = TIME '11:11:11'` },
      iv: { kind: 'sql', predicate: `$ = INTERVAL '0'` },
    },
    unruled: ['d_raw', 'tstz_raw'],
  },
  {
    rule: 'document',
    sql: 'public.document',
    key: 'id::text',
    columns: {
      payload: { kind: 'json' },
      translations: { kind: 'json' },
      tags: { kind: 'array', element: 'text' },
      scores: { kind: 'array', element: 'integer' },
      grid: { kind: 'array', element: 'integer' },
      names: { kind: 'array', element: 'text' },
      blob: noBytes,
      search: { kind: 'null' },
      uid: { kind: 'uuid' },
      ip: documentationAddress,
      net: documentationAddress,
      mac: { kind: 'keep' },
    },
    unruled: ['ip_raw'],
  },
  {
    rule: 'tricky_text',
    sql: 'public.tricky_text',
    key: 'id::text',
    columns: {
      val: { kind: 'text' },
      tiny: { kind: 'text-fit', max: 5 },
    },
    unruled: ['label', 'kept'],
  },
  {
    rule: 'event_log',
    sql: 'public.event_log',
    key: null,
    columns: {
      actor: { kind: 'text' },
      message: { kind: 'text' },
      search: { kind: 'keep' },
    },
    unruled: ['happened_at'],
  },
  {
    rule: 'order_line',
    sql: 'public.order_line',
    key: `order_id::text || '-' || line_no::text`,
    columns: {
      customer_ref: { kind: 'text' },
      qty: integerOne,
    },
    unruled: ['product'],
  },
  {
    rule: 'legacy',
    sql: 'public.legacy',
    key: 'id::text',
    columns: { a: { kind: 'text' }, c: { kind: 'text' } },
    unruled: ['b'],
  },
  {
    rule: 'empty_table',
    sql: 'public.empty_table',
    key: 'id::text',
    columns: { secret: { kind: 'text' } },
    unruled: [],
  },
  {
    rule: 'invoice',
    sql: 'public.invoice',
    key: 'id::text',
    columns: { customer_name: { kind: 'text' }, amount: zero },
    unruled: ['issued', 'memo'],
  },
];

/** Tables nothing rules: every row must come back identical. */
const UNRULED_TABLES = ['archive.customer', 'public.country'];

/** Strings that appear only in masked columns: none may survive into the masked dump or the vault. */
const SECRETS = ['client1@example.com', 'Chaise de bureau', 'Ninety Nine', 'Südwest Beispiel', 'REF-NEG'];

function strategyOf(expectation: Expectation): string {
  switch (expectation.kind) {
    case 'null':
    case 'empty':
    case 'constant':
    case 'keep':
      return expectation.kind;
    default:
      return 'placeholder';
  }
}

// ---------------------------------------------------------------------------
// Expected masked values, computed from the original values.

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

function placeholderText(key: string): string {
  return `xxx${key}`;
}

function maskJson(value: Json, key: string): Json {
  if (value === null) return null;
  if (typeof value === 'string') return placeholderText(key);
  if (typeof value === 'number') return 0;
  if (typeof value === 'boolean') return false;
  if (Array.isArray(value)) return value.map((item) => maskJson(item, key));
  return Object.fromEntries(Object.entries(value).map(([name, item]) => [name, maskJson(item, key)]));
}

function maskArray(value: Json, element: 'text' | 'integer', key: string): Json {
  if (value === null) return null;
  if (Array.isArray(value)) return value.map((item) => maskArray(item, element, key));
  return element === 'text' ? placeholderText(key) : 1;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

interface ColumnValues {
  /** to_json(column)::text, or null for SQL NULL. */
  json: string | null;
  /** The expectation's predicate on this value: 'true', 'false' or null. */
  predicate: string | null;
  /** array_dims for arrays, so custom lower bounds are compared too. */
  shape: string | null;
}

interface TableRow {
  key: string;
  columns: Map<string, ColumnValues>;
  unruled: string;
}

function fromPsql(value: string | undefined): string | null {
  return value === undefined || value === NULL_TEXT ? null : value;
}

function readTable(db: string, spec: TableSpec): Map<string, TableRow> {
  const names = Object.keys(spec.columns);
  const select: string[] = [spec.key ?? 'row_number() OVER (ORDER BY ctid)'];
  for (const name of names) {
    const column = quoteIdent(name);
    const expectation = spec.columns[name] as Expectation;
    const predicate = expectation.kind === 'sql' ? expectation.predicate.replaceAll('$', column) : 'NULL';
    const shape = expectation.kind === 'array' ? `array_dims(${column})` : 'NULL';
    select.push(`to_json(${column})::text`, `(${predicate})::text`, shape);
  }
  select.push(spec.unruled.length > 0 ? `ROW(${spec.unruled.map(quoteIdent).join(', ')})::text` : `''`);
  const rows = new Map<string, TableRow>();
  for (const fields of queryRows(db, `SELECT ${select.join(', ')} FROM ${spec.sql}`)) {
    const key = fields[0] as string;
    const columns = new Map<string, ColumnValues>();
    names.forEach((name, i) => {
      columns.set(name, {
        json: fromPsql(fields[1 + i * 3]),
        predicate: fromPsql(fields[2 + i * 3]),
        shape: fromPsql(fields[3 + i * 3]),
      });
    });
    if (rows.has(key)) throw new Error(`${spec.sql}: key ${key} is not unique`);
    rows.set(key, { key, columns, unruled: fields[fields.length - 1] as string });
  }
  return rows;
}

/** Everything wrong with one table of the restored masked database, as readable lines. */
function tableProblems(spec: TableSpec, originalDb: string, maskedDb: string): string[] {
  const original = readTable(originalDb, spec);
  const masked = readTable(maskedDb, spec);
  const problems: string[] = [];
  const where = (key: string, column?: string): string =>
    `${spec.sql} key ${key}${column !== undefined ? ` column ${column}` : ''}`;

  for (const key of original.keys()) if (!masked.has(key)) problems.push(`${where(key)}: row missing after masking`);
  for (const key of masked.keys()) if (!original.has(key)) problems.push(`${where(key)}: unexpected row`);

  const seen = new Map<string, Map<string, string>>(); // column → value → key, for uniqueness
  for (const [key, before] of original) {
    const after = masked.get(key);
    if (after === undefined) continue;
    if (after.unruled !== before.unruled) {
      problems.push(`${where(key)}: unruled columns changed from ${before.unruled} to ${after.unruled}`);
    }
    for (const [column, expectation] of Object.entries(spec.columns)) {
      const was = before.columns.get(column) as ColumnValues;
      const now = after.columns.get(column) as ColumnValues;
      const problem = valueProblem(expectation, was, now, key);
      if (problem !== null) problems.push(`${where(key, column)}: ${problem} (was ${was.json}, now ${now.json})`);
      if ((expectation.kind === 'text-fit' || expectation.kind === 'uuid') && now.json !== null) {
        const values = seen.get(column) ?? new Map<string, string>();
        seen.set(column, values);
        const other = values.get(now.json);
        if (other !== undefined) problems.push(`${where(key, column)}: same value ${now.json} as key ${other}`);
        values.set(now.json, key);
      }
    }
  }
  return problems;
}

function valueProblem(expectation: Expectation, was: ColumnValues, now: ColumnValues, key: string): string | null {
  switch (expectation.kind) {
    case 'null':
      return now.json === null ? null : 'expected NULL';
    case 'keep':
      return now.json === was.json ? null : 'expected the original value';
    case 'empty':
      if (was.json === null && now.json === null) return null;
      return now.json === '""' || now.json === '"\\\\x"' ? null : 'expected an empty value';
    case 'constant':
      if (was.json === null && now.json === null) return null;
      return now.json === JSON.stringify(expectation.value) ? null : `expected ${expectation.value}`;
    default:
      break;
  }
  // Placeholders: NULL stays NULL, anything else becomes the placeholder.
  if (was.json === null) return now.json === null ? null : 'NULL should stay NULL';
  if (now.json === null) return 'a value became NULL';
  const value = JSON.parse(now.json) as Json;
  switch (expectation.kind) {
    case 'text':
      return value === placeholderText(key) ? null : `expected ${placeholderText(key)}`;
    case 'text-fit': {
      if (typeof value !== 'string') return 'expected a string';
      const text = expectation.padded === true ? value.trimEnd() : value;
      const length = [...text].length;
      return length > 0 && length <= expectation.max ? null : `expected 1 to ${expectation.max} characters`;
    }
    case 'json': {
      const expected = maskJson(JSON.parse(was.json) as Json, key);
      return isDeepStrictEqual(value, expected) ? null : `expected ${JSON.stringify(expected)}`;
    }
    case 'array': {
      const expected = maskArray(JSON.parse(was.json) as Json, expectation.element, key);
      if (!isDeepStrictEqual(value, expected)) return `expected ${JSON.stringify(expected)}`;
      return now.shape === was.shape ? null : `array dimensions changed from ${was.shape} to ${now.shape}`;
    }
    case 'uuid':
      return typeof value === 'string' && UUID.test(value) ? null : 'expected a uuid';
    case 'sql':
      return now.predicate === 'true' ? null : `expected ${expectation.predicate}`;
  }
}

function isDeepStrictEqual(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b) && sameShape(a, b);
}

function sameShape(a: unknown, b: unknown): boolean {
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((item, i) => sameShape(item, b[i]));
  }
  if (a !== null && b !== null && typeof a === 'object' && typeof b === 'object') {
    const keysA = Object.keys(a).sort();
    const keysB = Object.keys(b).sort();
    return (
      JSON.stringify(keysA) === JSON.stringify(keysB) &&
      keysA.every((k) => sameShape((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]))
    );
  }
  return Object.is(a, b);
}

/** The rules file reduced to table → column → strategy name. */
function rulesStrategies(file: string): Record<string, Record<string, string>> {
  const rules = parseYaml(readFileSync(file, 'utf8')) as {
    tables: Record<string, { columns: Record<string, unknown> }>;
  };
  const result: Record<string, Record<string, string>> = {};
  for (const [table, rule] of Object.entries(rules.tables)) {
    result[table] = Object.fromEntries(
      Object.entries(rule.columns).map(([column, strategy]) => {
        if (strategy === null) return [column, 'null'];
        if (typeof strategy === 'string') return [column, strategy];
        return [column, (strategy as { strategy: string }).strategy];
      }),
    );
  }
  return result;
}

// ---------------------------------------------------------------------------

describeWithPg('tricky schema end to end', () => {
  const originalDb = uniqueDatabaseName('tricky_orig');
  const databases = [originalDb];
  let tmp = '';
  let dumpFile = '';
  let keyFile = '';

  const file = (name: string): string => path.join(tmp, name);
  const freshDatabase = (prefix: string): string => {
    const name = uniqueDatabaseName(prefix);
    databases.push(name);
    createDatabase(name);
    return name;
  };

  beforeAll(() => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'pgcloak-tricky-'));
    createDatabase(originalDb);
    psqlFile(originalDb, schemaFile);
    dumpFile = file('dump.sql');
    pgDump(originalDb, dumpFile);
    keyFile = file('k');
    runPgcloakOk(['keygen', '--output', keyFile]);
  });

  afterAll(() => {
    for (const db of databases) dropDatabase(db);
    if (tmp !== '') rmSync(tmp, { recursive: true, force: true });
  });

  it('expects exactly what rules.yaml asks for', () => {
    const fromSpec = Object.fromEntries(
      TABLES.map((spec) => [
        spec.rule,
        Object.fromEntries(Object.entries(spec.columns).map(([column, e]) => [column, strategyOf(e)])),
      ]),
    );
    expect(rulesStrategies(rulesFile)).toEqual(fromSpec);
  });

  it('checks every table of the schema', () => {
    const tables = queryRows(
      originalDb,
      `SELECT format('%I.%I', n.nspname, c.relname)
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
          AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'
        ORDER BY 1`,
    ).map(([name]) => name);
    expect(tables).toEqual([...TABLES.map((spec) => spec.sql), ...UNRULED_TABLES].sort());
  });

  // pg_dump's plain output in each of its data forms: COPY blocks and INSERT statements.
  const DUMP_FORMS = [
    { form: 'copy', pgDumpArgs: [] as string[] },
    { form: 'inserts', pgDumpArgs: ['--inserts'] },
    { form: 'column-inserts', pgDumpArgs: ['--column-inserts'] },
    { form: 'rows-per-insert', pgDumpArgs: ['--rows-per-insert=7'] },
  ];

  describe.each(DUMP_FORMS)('masked and restored ($form)', ({ form, pgDumpArgs }) => {
    let maskedDb = '';
    let maskedFile = '';
    let vaultFile = '';
    let dumpFile = '';

    beforeAll(() => {
      dumpFile = file(`dump-${form}.sql`);
      pgDump(originalDb, dumpFile, pgDumpArgs);
      maskedFile = file(`masked-${form}.sql`);
      vaultFile = file(`v-${form}`);
      const args = ['mask', '--rules', rulesFile, '--vault', vaultFile, '--key-file', keyFile, '--input', dumpFile, '--output', maskedFile];
      const result = runPgcloakOk(args);
      expect(result.stdout.length, 'stdout is for data; with --output it stays empty').toBe(0);
      maskedDb = freshDatabase('tricky_masked');
      psqlFile(maskedDb, maskedFile);
    });

    it.each(TABLES.map((spec) => [spec.sql, spec] as const))('%s holds the expected values', (_name, spec) => {
      expect(tableProblems(spec, originalDb, maskedDb)).toEqual([]);
    });

    it.each(UNRULED_TABLES)('%s is unchanged', (table) => {
      const sql = `SELECT t::text FROM ${table} t ORDER BY 1`;
      expect(queryRows(maskedDb, sql)).toEqual(queryRows(originalDb, sql));
    });

    it('applies the partitioned parent rule to every partition, at every level', () => {
      const leaves = queryRows(
        originalDb,
        `SELECT relid::regclass::text FROM pg_partition_tree('public.invoice') WHERE isleaf ORDER BY 1`,
      ).map(([name]) => name as string);
      expect(leaves.length).toBe(5);
      for (const leaf of leaves) {
        const counts = `SELECT count(*), count(*) FILTER (WHERE customer_name = 'xxx' || id AND amount = 0) FROM ${leaf}`;
        const [total, masked] = queryRows(maskedDb, counts)[0] as string[];
        expect(Number(total), leaf).toBeGreaterThan(0);
        expect(total, leaf).toBe(queryValue(originalDb, `SELECT count(*) FROM ${leaf}`));
        expect(masked, `${leaf}: masked rows`).toBe(total);
      }
    });

    it('lets generated columns follow the masked values', () => {
      expect(queryValue(maskedDb, 'SELECT count(*) FROM public.customer WHERE name_upper IS DISTINCT FROM upper(name)')).toBe('0');
    });

    it('keeps the secrets out of the masked dump and the vault', () => {
      const masked = readFileSync(maskedFile);
      const vault = readFileSync(vaultFile);
      expect(vault.length).toBeGreaterThan(0);
      for (const secret of SECRETS) {
        expect(readFileSync(dumpFile).includes(secret), `${secret} is in the original dump`).toBe(true);
        expect(masked.includes(secret), `${secret} in the masked dump`).toBe(false);
        expect(vault.includes(secret), `${secret} in the vault, unencrypted`).toBe(false);
      }
    });

    it.skipIf(form !== 'copy')('changes nothing outside COPY data', () => {
      const original = readFileSync(dumpFile, 'utf8').split('\n');
      const masked = readFileSync(maskedFile, 'utf8').split('\n');
      // COPY text format escapes newlines, so masking never adds or removes lines.
      expect(masked.length).toBe(original.length);
      const data = copyDataLines(original);
      const changedOutsideData = original.flatMap((line, i) =>
        masked[i] !== line && !data.has(i) ? [`line ${i + 1}: ${JSON.stringify(line)} became ${JSON.stringify(masked[i])}`] : [],
      );
      expect(changedOutsideData).toEqual([]);
    });

    it('unmasks to the original dump, byte for byte, through files', () => {
      const back = file(`back-${form}.sql`);
      runPgcloakOk(['unmask', '--vault', vaultFile, '--key-file', keyFile, '--input', maskedFile, '--output', back]);
      expect(readFileSync(back).equals(readFileSync(dumpFile))).toBe(true);
    });

    it('unmasks to the original dump, byte for byte, through stdin and stdout', () => {
      const result = runPgcloakOk(['unmask', '--vault', vaultFile, '--key-file', keyFile], { input: maskedFile });
      expect(result.stdout.equals(readFileSync(dumpFile))).toBe(true);
    });

    it('restores the unmasked dump into a database equal to the original', () => {
      const back = file(`back-for-restore-${form}.sql`);
      runPgcloakOk(['unmask', '--vault', vaultFile, '--key-file', keyFile, '--input', maskedFile, '--output', back]);
      const restored = freshDatabase('tricky_back');
      psqlFile(restored, back);
      for (const table of [...TABLES.map((spec) => spec.sql), ...UNRULED_TABLES]) {
        const sql = `SELECT t::text FROM ${table} t ORDER BY 1`;
        expect(queryRows(restored, sql), table).toEqual(queryRows(originalDb, sql));
      }
    });

    it('refuses the wrong key at unmask and writes nothing', () => {
      const otherKey = file(`k-other-${form}`);
      runPgcloakOk(['keygen', '--output', otherKey]);
      const out = file(`back-wrong-key-${form}.sql`);
      const args = ['unmask', '--vault', vaultFile, '--key-file', otherKey, '--input', maskedFile, '--output', out];
      const result = runPgcloak(args);
      expect(result.status, describeRun(args, result)).toBe(EXIT_CODES.VAULT_WRONG_KEY);
      expect(result.stderr).toMatch(/VAULT_WRONG_KEY/);
      expect(existsSync(out)).toBe(false);
    });
  });

  it('with rules that mask nothing, outputs the input unchanged', () => {
    const rules = file('nothing.yaml');
    writeFileSync(rules, 'tables: {}\n');
    const out = file('unchanged.sql');
    runPgcloakOk(['mask', '--rules', rules, '--vault', file('nothing.vault'), '--key-file', keyFile, '--input', dumpFile, '--output', out]);
    expect(readFileSync(out).equals(readFileSync(dumpFile))).toBe(true);
  });

  it('masks from stdin to stdout as it does between files', () => {
    const vault = file('stdin.vault');
    const result = runPgcloakOk(['mask', '--rules', rulesFile, '--vault', vault, '--key-file', keyFile], { input: dumpFile });
    const back = runPgcloakOk(['unmask', '--vault', vault, '--key-file', keyFile], { input: result.stdout });
    expect(back.stdout.equals(readFileSync(dumpFile))).toBe(true);
  });

  it('masks a directory-format archive through pg_restore, and restores it', () => {
    const dir = file('dump-dir');
    pgDump(originalDb, dir, ['-Fd']);
    const masked = file('masked-from-dir.sql');
    const vault = file('dir.vault');
    const pipe = `"${pgBinary('pg_restore')}" --restrict-key=pgcloakDirTest -f - "${dir}" | "${process.execPath}" bin/pgcloak.js mask --rules "${rulesFile}" --vault "${vault}" --key-file "${keyFile}" --quiet > "${masked}"`;
    const r = spawnSync('bash', ['-o', 'pipefail', '-c', pipe], { cwd: repoRoot, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const restored = freshDatabase('tricky_from_dir');
    psqlFile(restored, masked);
    expect(queryValue(restored, "SELECT count(*) FROM public.customer WHERE name <> 'xxx' || id")).toBe('0');
    expect(queryValue(restored, 'SELECT count(*) FROM public.customer')).toBe(queryValue(originalDb, 'SELECT count(*) FROM public.customer'));
  });

  describe('bad input', () => {
    const maskArgs = (input: string, output: string, rules = rulesFile): string[] => [
      'mask', '--rules', rules, '--vault', `${output}.vault`, '--key-file', keyFile, '--input', input, '--output', output,
    ];

    /** Lines of the dump, and the index of the first data line of a table's COPY block. */
    function copyBlock(table: string): { lines: string[]; first: number } {
      const lines = readFileSync(dumpFile, 'utf8').split('\n');
      const block = copyBlocks(lines).find((b) => b.table === table);
      if (block === undefined) throw new Error(`no COPY block for ${table} in the dump`);
      return { lines, first: block.first };
    }

    it.each([
      ['public.customer', 'in the middle of a row', 3],
      ['public.tricky_text', 'in the middle of the 300 KB value', 8],
    ] as const)('a COPY block of %s cut off %s fails, naming the table and a line', (table, _where, row) => {
      const { lines, first } = copyBlock(table);
      const cutLine = lines[first + row] as string;
      const truncated = [...lines.slice(0, first + row), cutLine.slice(0, Math.floor(cutLine.length / 2))].join('\n');
      const input = file(`truncated-${table}.sql`);
      writeFileSync(input, truncated);
      const out = file(`truncated-${table}.out.sql`);
      const args = maskArgs(input, out);
      const result = runPgcloak(args);
      expect(result.status, describeRun(args, result)).toBe(EXIT_CODES.COPY_UNTERMINATED);
      expect(result.stderr).toMatch(/COPY_UNTERMINATED/);
      expect(result.stderr).toContain(table);
      expect(result.stderr).toMatch(/line \d+/);
      expect(existsSync(out), 'no partial output file').toBe(false);
    });

    it('a row with a missing field fails with COPY_FIELD_COUNT and its line number', () => {
      const { lines, first } = copyBlock('public.customer');
      const row = first + 2;
      const line = lines[row] as string;
      const edited = [...lines];
      edited[row] = line.slice(0, line.lastIndexOf('\t'));
      const input = file('missing-field.sql');
      writeFileSync(input, edited.join('\n'));
      const out = file('missing-field.out.sql');
      const args = maskArgs(input, out);
      const result = runPgcloak(args);
      expect(result.status, describeRun(args, result)).toBe(EXIT_CODES.COPY_FIELD_COUNT);
      expect(result.stderr).toMatch(/COPY_FIELD_COUNT/);
      expect(result.stderr).toContain('public.customer');
      expect(result.stderr).toContain(`line ${row + 1}`);
      expect(existsSync(out), 'no partial output file').toBe(false);
    });

    it.each([
      ['placeholder on a tsvector', 'document', 'search', 'placeholder'],
      ['null on a NOT NULL column', 'customer', 'name', 'null'],
      ['null on a NOT NULL domain', 'customer', 'login', 'null'],
    ] as const)('refuses %s before writing anything', (_what, table, column, strategy) => {
      const rules = parseYaml(readFileSync(rulesFile, 'utf8')) as { tables: Record<string, { columns: Record<string, unknown> }> };
      (rules.tables[table] as { columns: Record<string, unknown> }).columns[column] = strategy;
      const rulesPath = file(`refused-${table}-${column}.yaml`);
      writeFileSync(rulesPath, stringifyYaml(rules));
      const out = file(`refused-${table}-${column}.out.sql`);
      const args = maskArgs(dumpFile, out, rulesPath);
      const result = runPgcloak(args);
      expect(result.status, describeRun(args, result)).not.toBe(0);
      expect(result.status, describeRun(args, result)).not.toBe(EXIT_CODES.INTERNAL);
      expect(result.stderr).toContain(column);
      expect(existsSync(out), 'no partial output file').toBe(false);
    });
  });
});
