// The SQL that puts the originals back into a restored (and perhaps migrated) database,
// in bulk and in one transaction. The same statements serve the script (`unmask --sql`,
// for psql) and the direct apply (`unmask --db`):
//
//   setup     session settings; a check that every table and column the vault (through
//             the map) needs exists; a report table; the target tables locked against writers
//   load      per table: a temporary table typed like the target's own columns
//             (CREATE TEMP TABLE ... AS SELECT ... WITH NO DATA), filled by COPY with the
//             key, each original, and what masking wrote. PostgreSQL reads each text as the
//             column's (new) type, as a restore would: a type change it cannot cast fails here.
//   match     per table: the rows whose key exists, and per column whether the current value
//             is still what masking wrote, already the original, or changed since; counted
//             into the report. The UPDATE is PREPAREd here, so a type mismatch fails before
//             any row is written.
//   check     a vault none of whose rows or values are found is refused (VAULT_MISMATCH)
//   update    per table ONE UPDATE ... FROM the match table, setting every restored column
//   report    the per-table, per-column counts
//
// Values are compared as text after a cast through the column's type (`col::text IS NOT
// DISTINCT FROM w::text`): the same value in the same session prints the same, and it works
// for types without an equality operator (json, point, xml).
// https://www.postgresql.org/docs/current/sql-update.html
// https://www.postgresql.org/docs/current/sql-copy.html

import type { RestoreColumn, RestoreTable } from './restore-plan.js';
import { columnLabel } from './restore-plan.js';

export interface RestoreSqlOptions {
  /** Restore values edited since masking too. */
  force: boolean;
  /** Let the tables' own triggers fire on the restoring UPDATEs (by default they are switched off for them). */
  fireTriggers: boolean;
}

/** Always double-quoted: column names may be reserved words, capitals, anything. */
export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

export function quoteLiteral(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

export function targetSql(t: RestoreTable): string {
  return `${quoteIdent(t.target.schema)}.${quoteIdent(t.target.name)}`;
}

export const REPORT_TABLE = 'pg_temp.pgcloak_report';

export function tempTable(t: RestoreTable): string {
  return `pg_temp.pgcloak_${t.n}`;
}

function matchTable(t: RestoreTable): string {
  return `pg_temp.pgcloak_${t.n}_match`;
}

function preparedName(t: RestoreTable): string {
  return `pgcloak_restore_${t.n}`;
}

/** A dollar-quote tag that the body does not contain. */
function dollarQuote(body: string): string {
  let tag = '$pgcloak$';
  for (let i = 1; body.includes(tag); i++) tag = `$pgcloak${i}$`;
  return `${tag}${body}${tag}`;
}

/** Column names of the temporary table: key columns, originals (named as the target columns), and what masking wrote. */
export function tempColumns(t: RestoreTable): { keys: string[]; originals: string[]; written: string[] } {
  const used = new Set<string>();
  const unique = (name: string): string => {
    let n = name;
    for (let i = 2; used.has(n); i++) n = `${name} ${i}`;
    used.add(n);
    return n;
  };
  const keys = t.keys.map((k) => unique(k.target));
  const originals = t.active.map((c) => unique(c.target));
  const written = t.active.map((c) => unique(`${c.target} (masked)`));
  return { keys, originals, written };
}

/** Before anything else: session settings that read the dump's texts as pg_dump wrote them. */
export function sessionSettings(): string[] {
  return [
    // pg_dump writes dates in ISO, intervals in postgres style, strings with standard escapes.
    'SET LOCAL datestyle = ISO',
    'SET LOCAL intervalstyle = postgres',
    'SET LOCAL standard_conforming_strings = on',
    // Only takes effect before the session's first temporary table; the originals live there.
    "SET LOCAL temp_buffers = '128MB'",
    "SET LOCAL work_mem = '64MB'",
  ];
}

/** Tables that are matched in the database (the others are only reported). */
function matched(tables: readonly RestoreTable[]): RestoreTable[] {
  return tables.filter((t) => t.status === 'restore');
}

/**
 * A query listing what the database lacks: every table the vault (through the map) restores
 * into, its key columns and restored columns. One row per missing thing, in words.
 */
export function missingQuery(tables: readonly RestoreTable[]): string | undefined {
  const needs: string[] = [];
  for (const t of tables) {
    if (t.status === 'skipped') continue;
    const rel = quoteLiteral(targetSql(t));
    const via = t.targetName === t.vault.table ? '' : ` (${t.vault.table} in the masked dump)`;
    needs.push(`(${rel}, NULL, ${quoteLiteral(`table ${t.targetName}${via}`)})`);
    for (const k of t.keys) needs.push(`(${rel}, ${quoteLiteral(k.target)}, ${quoteLiteral(`key column ${t.targetName}.${k.target}`)})`);
    for (const c of t.active) needs.push(`(${rel}, ${quoteLiteral(c.target)}, ${quoteLiteral(`column ${t.targetName}.${columnLabel(c)}`)})`);
  }
  if (needs.length === 0) return undefined;
  return `SELECT need.what FROM (VALUES\n  ${needs.join(',\n  ')}\n) AS need(rel, col, what)
WHERE CASE WHEN to_regclass(need.rel) IS NULL THEN need.col IS NULL
           ELSE need.col IS NOT NULL AND NOT EXISTS (
             SELECT 1 FROM pg_catalog.pg_attribute AS a
             WHERE a.attrelid = to_regclass(need.rel) AND a.attname = need.col AND a.attnum > 0 AND NOT a.attisdropped)
      END`;
}

export const MISSING_MESSAGE = 'the database lacks what the vault restores into (rename with --map, or skip: true what is gone)';

/** The check above as a statement that fails, for the script. */
export function missingCheck(tables: readonly RestoreTable[]): string | undefined {
  const query = missingQuery(tables);
  if (query === undefined) return undefined;
  return `DO ${dollarQuote(`
DECLARE v_missing text;
BEGIN
  SELECT string_agg(q.what, E'\\n  ') INTO v_missing FROM (${query}) AS q;
  IF v_missing IS NOT NULL THEN
    RAISE EXCEPTION 'TARGET_SCHEMA: ${MISSING_MESSAGE}:%', E'\\n  ' || v_missing;
  END IF;
END
`)}`;
}

export function createReport(): string {
  return `CREATE TEMP TABLE pgcloak_report (
  n integer, ord integer, "table" text, "column" text,
  vault_rows bigint, found bigint, to_update bigint, updated bigint,
  restored bigint, unchanged bigint, changed bigint, originals bigint, recognized bigint,
  note text
) ON COMMIT DROP`;
}

/** Report rows for what is not matched: position-keyed, skipped and empty tables, skipped columns. */
export function staticReportRows(tables: readonly RestoreTable[]): string | undefined {
  const rows: string[] = [];
  const row = (t: RestoreTable, ord: number, column: string | null, note: string | null): string =>
    `(${t.n}, ${ord}, ${quoteLiteral(t.label)}, ${column === null ? 'NULL' : quoteLiteral(column)}, ${t.rows}, ${note === null ? 'NULL' : quoteLiteral(note)})`;
  for (const t of tables) {
    if (t.status === 'position') rows.push(row(t, 0, null, tableNote(t)));
    else if (t.status === 'skipped') rows.push(row(t, 0, null, tableNote(t)));
    else if (t.status === 'empty') rows.push(row(t, 0, null, tableNote(t)));
    else {
      t.columns.forEach((c, i) => {
        if (c.skip) rows.push(row(t, i + 1, c.source, 'skipped by the map: not restored'));
      });
    }
  }
  if (rows.length === 0) return undefined;
  return `INSERT INTO ${REPORT_TABLE} (n, ord, "table", "column", vault_rows, note) VALUES\n  ${rows.join(',\n  ')}`;
}

export function tableNote(t: RestoreTable): string | null {
  switch (t.status) {
    case 'position':
      return 'no key (rows keyed by position): cannot be matched in a database, not restored';
    case 'skipped':
      return 'skipped by the map: not restored';
    case 'empty':
      return 'no rows';
    default:
      return null;
  }
}

/** Locks the tables written to against concurrent writers (reads go on). */
export function lockTargets(tables: readonly RestoreTable[]): string | undefined {
  const names = [...new Set(matched(tables).map(targetSql))];
  if (names.length === 0) return undefined;
  return `LOCK TABLE ${names.join(', ')} IN EXCLUSIVE MODE`;
}

/**
 * The user triggers enabled on the tables written to (pg_dump restores data without firing
 * them; putting originals back is not an edit either: an `updated_at` trigger would stamp
 * every restored row). Remembered with their mode, switched off around the UPDATEs, and
 * switched back on exactly as they were before COMMIT. Needs the tables' owner.
 */
export function rememberTriggers(tables: readonly RestoreTable[]): string | undefined {
  const names = [...new Set(matched(tables).map((t) => `to_regclass(${quoteLiteral(targetSql(t))})`))];
  if (names.length === 0) return undefined;
  return `CREATE TEMP TABLE pgcloak_triggers ON COMMIT DROP AS
  SELECT tg.tgrelid::regclass::text AS rel, tg.tgname::text AS name, tg.tgenabled::text AS mode
  FROM pg_catalog.pg_trigger AS tg
  WHERE tg.tgrelid = ANY (ARRAY[${names.join(', ')}]) AND NOT tg.tgisinternal AND tg.tgenabled <> 'D'`;
}

export function switchTriggers(on: boolean): string {
  const action = on
    ? `'ENABLE ' || CASE r.mode WHEN 'A' THEN 'ALWAYS ' WHEN 'R' THEN 'REPLICA ' ELSE '' END`
    : `'DISABLE '`;
  return `DO ${dollarQuote(`
DECLARE r record;
BEGIN
  FOR r IN SELECT * FROM pg_temp.pgcloak_triggers LOOP
    EXECUTE 'ALTER TABLE ' || r.rel || ' ' || ${action} || 'TRIGGER ' || quote_ident(r.name);
  END LOOP;
END
`)}`;
}

export function createTemp(t: RestoreTable): string {
  const cols = tempColumns(t);
  const select: string[] = [];
  t.keys.forEach((k, i) => select.push(`t.${quoteIdent(k.target)} AS ${quoteIdent(cols.keys[i]!)}`));
  const typed = (c: RestoreColumn, name: string): string =>
    c.using === undefined ? `t.${quoteIdent(c.target)} AS ${quoteIdent(name)}` : `NULL::text AS ${quoteIdent(name)}`;
  t.active.forEach((c, i) => select.push(typed(c, cols.originals[i]!)));
  t.active.forEach((c, i) => select.push(typed(c, cols.written[i]!)));
  return `CREATE TEMP TABLE pgcloak_${t.n} ON COMMIT DROP AS\n  SELECT ${select.join(',\n         ')}\n  FROM ${targetSql(t)} AS t\n  WITH NO DATA`;
}

export function copyInto(t: RestoreTable): string {
  return `COPY ${tempTable(t)} FROM STDIN`;
}

/**
 * The encoding the vault's field bytes are in: the masked dump's client_encoding, when the
 * vault records it (the trailer's `clientEncoding`, written by mask), else UTF-8. Statements are always sent in
 * UTF-8; only COPY data is switched to the dump's encoding, which the server converts.
 */
export function vaultEncoding(metadata: Record<string, unknown>, trailer?: Record<string, unknown>): string {
  const e = trailer?.['clientEncoding'] ?? metadata['clientEncoding'] ?? metadata['encoding'];
  return typeof e === 'string' && /^[A-Za-z0-9_-]+$/.test(e) ? e.toUpperCase().replace(/[-_]/g, '') : 'UTF8';
}

export function setClientEncoding(name: string): string {
  return `SET client_encoding = ${quoteLiteral(name)}`;
}

export function analyzeTemp(t: RestoreTable): string {
  return `ANALYZE ${tempTable(t)}`;
}

/** The value a column of the temporary table (as `alias`) stands for in the target column. */
function converted(c: RestoreColumn, column: string, alias = 's'): string {
  const ref = `${alias}.${quoteIdent(column)}`;
  if (c.using === undefined) return ref;
  return `(SELECT (${c.using}) FROM (SELECT ${ref} AS value) AS v)`;
}

/**
 * The match table: one row per row of the target whose key is in the vault, with per
 * column i: same_i (already the original), masked_i (still what masking wrote), nn_i (the
 * original is not NULL), restore_i, and o_i (the original, when it is restored).
 */
export function createMatch(t: RestoreTable, options: RestoreSqlOptions): string {
  const cols = tempColumns(t);
  const join = t.keys.map((k, i) => `t.${quoteIdent(k.target)} = s.${quoteIdent(cols.keys[i]!)}`).join(' AND ');
  const inner: string[] = ['t.tableoid AS toid', 't.ctid AS tid'];
  const outer: string[] = ['toid', 'tid'];
  t.active.forEach((c, a) => {
    const i = a + 1;
    const current = `t.${quoteIdent(c.target)}`;
    const original = converted(c, cols.originals[a]!);
    const written = converted(c, cols.written[a]!);
    inner.push(
      `${original} AS o${i}`,
      `${current}::text IS NOT DISTINCT FROM (${original})::text AS same${i}`,
      `${current}::text IS NOT DISTINCT FROM (${written})::text AS masked${i}`,
      `s.${quoteIdent(cols.originals[a]!)} IS NOT NULL AS nn${i}`,
    );
    const restore = options.force ? `NOT same${i}` : `(NOT same${i} AND masked${i})`;
    outer.push(`same${i}`, `masked${i}`, `nn${i}`, `${restore} AS restore${i}`, `CASE WHEN ${restore} THEN o${i} END AS o${i}`);
  });
  return `CREATE TEMP TABLE pgcloak_${t.n}_match ON COMMIT DROP AS
  SELECT ${outer.join(',\n         ')}
  FROM (
    SELECT ${inner.join(',\n           ')}
    FROM ${tempTable(t)} AS s
    JOIN ${targetSql(t)} AS t ON ${join}
  ) AS j`;
}

/** Counts of the match table, one report row per restored column. */
export function countMatch(t: RestoreTable): string {
  const counts: string[] = ['count(*) AS found'];
  counts.push(`count(*) FILTER (WHERE ${t.active.map((_, a) => `restore${a + 1}`).join(' OR ')}) AS to_update`);
  const values: string[] = [];
  t.active.forEach((c, a) => {
    const i = a + 1;
    counts.push(
      `count(*) FILTER (WHERE NOT same${i} AND masked${i}) AS restored${i}`,
      `count(*) FILTER (WHERE same${i}) AS unchanged${i}`,
      `count(*) FILTER (WHERE NOT same${i} AND NOT masked${i}) AS changed${i}`,
      `count(*) FILTER (WHERE nn${i}) AS originals${i}`,
      `count(*) FILTER (WHERE nn${i} AND (same${i} OR masked${i})) AS recognized${i}`,
    );
    values.push(`(${c.j + 1}, ${quoteLiteral(columnLabel(c))}, f.restored${i}, f.unchanged${i}, f.changed${i}, f.originals${i}, f.recognized${i})`);
  });
  return `INSERT INTO ${REPORT_TABLE} (n, ord, "table", "column", vault_rows, found, to_update, restored, unchanged, changed, originals, recognized)
  SELECT ${t.n}, c.ord, ${quoteLiteral(t.label)}, c.name, ${t.rows}, f.found, f.to_update, c.restored, c.unchanged, c.changed, c.originals, c.recognized
  FROM (SELECT ${counts.join(',\n               ')}
        FROM ${matchTable(t)}) AS f
  CROSS JOIN LATERAL (VALUES ${values.join(',\n      ')}) AS c(ord, name, restored, unchanged, changed, originals, recognized)`;
}

/** ONE UPDATE for the table, prepared now (type errors surface before anything is written). */
export function prepareUpdate(t: RestoreTable): string {
  const sets = t.active.map((c, a) => `${quoteIdent(c.target)} = CASE WHEN m.restore${a + 1} THEN m.o${a + 1} ELSE t.${quoteIdent(c.target)} END`);
  const any = t.active.map((_, a) => `m.restore${a + 1}`).join(' OR ');
  return `PREPARE ${preparedName(t)} AS
  WITH updated AS (
    UPDATE ${targetSql(t)} AS t
    SET ${sets.join(',\n        ')}
    FROM ${matchTable(t)} AS m
    WHERE t.tableoid = m.toid AND t.ctid = m.tid AND (${any})
    RETURNING 1
  )
  UPDATE ${REPORT_TABLE} SET updated = (SELECT count(*) FROM updated) WHERE n = ${t.n}`;
}

export const NO_KEY_FOUND = 'none of the rows of the vault has its key in this database: the vault is for another database, or the keys changed';
export const NOTHING_RECOGNISED =
  'the rows of the vault found in this database hold neither what masking wrote nor the originals: the vault is for another database';

/** Refuses a vault that matches nothing in the database. */
export function mismatchCheck(): string {
  return `DO ${dollarQuote(`
DECLARE v_rows bigint; v_found bigint; v_originals bigint; v_recognized bigint;
BEGIN
  SELECT coalesce(sum(r.vault_rows), 0), coalesce(sum(r.found), 0) INTO v_rows, v_found
    FROM (SELECT DISTINCT rep.n, rep.vault_rows, rep.found FROM ${REPORT_TABLE} AS rep WHERE rep.found IS NOT NULL) AS r;
  SELECT coalesce(sum(rep.originals), 0), coalesce(sum(rep.recognized), 0) INTO v_originals, v_recognized FROM ${REPORT_TABLE} AS rep;
  IF v_rows > 0 AND v_found = 0 THEN
    RAISE EXCEPTION 'VAULT_MISMATCH: ${NO_KEY_FOUND}';
  END IF;
  IF v_originals > 0 AND v_recognized = 0 THEN
    RAISE EXCEPTION 'VAULT_MISMATCH: ${NOTHING_RECOGNISED}';
  END IF;
END
`)}`;
}

/**
 * Around the UPDATEs: each match row names its target row by ctid, which a TID scan fetches
 * directly. Left alone, the planner hashes the whole target on ctid instead, which spills to
 * disk for large tables (10 M rows: 104 s against 45 s). Discouraged, not forbidden: a plan
 * without a TID scan would still be chosen if it were the only one.
 */
export function preferTidScans(on: boolean): string[] {
  return on ? ['SET LOCAL enable_hashjoin = off', 'SET LOCAL enable_mergejoin = off'] : ['SET LOCAL enable_hashjoin = on', 'SET LOCAL enable_mergejoin = on'];
}

export function executeUpdate(t: RestoreTable): string {
  return `EXECUTE ${preparedName(t)}`;
}

// When a statement of the match or update step fails on some row, PostgreSQL's error says
// how but, without the values it may quote (db-error.ts), not which row. After a rollback to
// the savepoint before it, these blocks do the same work one row at a time and raise
// FAILING_ROW_TAG with the key of the row it fails at (and, for conversions, the column):
// a PL/pgSQL block's variables keep their values into its EXCEPTION clause. Only run after
// an error, so their row-at-a-time cost is never paid by a run that succeeds.
// https://www.postgresql.org/docs/current/plpgsql-control-structures.html#PLPGSQL-ERROR-TRAPPING

/** Keeps pace with FAILING_ROW_TAG in db-error.ts. */
const FAILING_ROW = 'PGCLOAK_FAILING_ROW ';

/** The key of a row as a jsonb array of texts, from the columns of `alias` named `names`. */
function keyArray(alias: string, names: readonly string[]): string {
  return `to_jsonb(ARRAY[${names.map((n) => `${alias}.${quoteIdent(n)}::text`).join(', ')}]::text[])`;
}

function failingRowBlock(declare: string, body: string, report: string): string {
  return `DO ${dollarQuote(`
DECLARE ${declare}
BEGIN
${body}
EXCEPTION WHEN OTHERS THEN
  RAISE EXCEPTION USING MESSAGE = ${quoteLiteral(FAILING_ROW)} || ${report}::text;
END
`)}`;
}

/**
 * createMatch's `using:` conversions, row by row over the same join: the first row and
 * column (and whether the original or what masking wrote) whose conversion fails.
 * Undefined when the table has no `using:`, the only per-row work that can fail there.
 */
export function failingRowOfMatch(t: RestoreTable): string | undefined {
  const cols = tempColumns(t);
  const checks: string[] = [];
  t.active.forEach((c, a) => {
    if (c.using === undefined) return;
    checks.push(
      `    pgcloak_column := ${a + 1}; pgcloak_which := 'original';`,
      `    PERFORM ${converted(c, cols.originals[a]!, 'pgcloak_r')};`,
      `    pgcloak_which := 'written';`,
      `    PERFORM ${converted(c, cols.written[a]!, 'pgcloak_r')};`,
    );
  });
  if (checks.length === 0) return undefined;
  const join = t.keys.map((k, i) => `t.${quoteIdent(k.target)} = s.${quoteIdent(cols.keys[i]!)}`).join(' AND ');
  return failingRowBlock(
    'pgcloak_r record; pgcloak_key jsonb; pgcloak_column integer; pgcloak_which text;',
    `  FOR pgcloak_r IN SELECT s.* FROM ${tempTable(t)} AS s JOIN ${targetSql(t)} AS t ON ${join} LOOP
    pgcloak_key := ${keyArray('pgcloak_r', cols.keys)};
${checks.join('\n')}
  END LOOP;`,
    `json_build_object('key', pgcloak_key, 'column', pgcloak_column, 'which', pgcloak_which)`,
  );
}

/** The prepared UPDATE, one row at a time: the key of the first row whose update fails (a constraint, a trigger, a cast). */
export function failingRowOfUpdate(t: RestoreTable): string {
  const sets = t.active.map((c, a) => `${quoteIdent(c.target)} = CASE WHEN pgcloak_m.restore${a + 1} THEN pgcloak_m.o${a + 1} ELSE t.${quoteIdent(c.target)} END`);
  const any = t.active.map((_, a) => `m.restore${a + 1}`).join(' OR ');
  return failingRowBlock(
    'pgcloak_m record; pgcloak_key jsonb;',
    `  FOR pgcloak_m IN SELECT m.*, ${keyArray('t', t.keys.map((k) => k.target))} AS pgcloak_key
                   FROM ${matchTable(t)} AS m JOIN ${targetSql(t)} AS t ON t.tableoid = m.toid AND t.ctid = m.tid
                   WHERE ${any} LOOP
    pgcloak_key := pgcloak_m.pgcloak_key;
    UPDATE ${targetSql(t)} AS t
    SET ${sets.join(',\n        ')}
    WHERE t.tableoid = pgcloak_m.toid AND t.ctid = pgcloak_m.tid;
  END LOOP;`,
    `json_build_object('key', pgcloak_key)`,
  );
}

export const UPDATE_COUNT_MESSAGE = 'fewer rows were updated than matched: a row of the database was matched by more than one row of the vault (is the key unique?)';

/** After the updates: each table updated exactly the rows it planned to. */
export function updatedCheck(): string {
  return `DO ${dollarQuote(`
DECLARE v_bad text;
BEGIN
  SELECT string_agg(DISTINCT rep."table", ', ') INTO v_bad FROM ${REPORT_TABLE} AS rep
    WHERE rep.to_update IS NOT NULL AND rep.updated IS DISTINCT FROM rep.to_update;
  IF v_bad IS NOT NULL THEN
    RAISE EXCEPTION 'VAULT_MISMATCH: ${UPDATE_COUNT_MESSAGE}: %', v_bad;
  END IF;
END
`)}`;
}

export function deallocate(tables: readonly RestoreTable[]): string[] {
  return matched(tables).map((t) => `DEALLOCATE ${preparedName(t)}`);
}

/** The report as psql prints it. */
export function reportSelect(options: RestoreSqlOptions): string {
  const changed = options.force ? 'changed since masking (overwritten)' : 'changed since masking (kept)';
  return `SELECT "table", coalesce("column", '') AS "column", vault_rows AS "in vault",
       vault_rows - found AS "not found", restored, unchanged AS "already original",
       changed AS ${quoteIdent(changed)}, coalesce(note, '') AS note
  FROM ${REPORT_TABLE} ORDER BY n, ord`;
}

/** The report as rows, for the direct apply. */
export function reportRows(): string {
  return `SELECT n, ord, "table", "column", vault_rows, found, to_update, updated, restored, unchanged, changed, note FROM ${REPORT_TABLE} ORDER BY n, ord`;
}
