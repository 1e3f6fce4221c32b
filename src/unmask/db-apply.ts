// `pgcloak unmask --db URL`: the reversal applied directly, with node-postgres and
// pg-copy-streams, in one transaction: the statements of restore-sql.ts, the originals
// streamed into the temporary tables by COPY straight from the vault (never held in
// memory), the report read back. --dry-run does everything, reads the report, and rolls back.
// https://node-postgres.com/ , https://github.com/brianc/node-pg-copy-streams

import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { PgcloakError, type Position } from '../errors.js';
import { databaseError, describeKey, errorText, failingRowOf, isPgError, ownError, raisingFunction, type FailingRow, type PgError } from './db-error.js';
import type { MigrationMap } from './migration-map.js';
import { ChunkWriter, CopyLineBuilder, columnLabel, planWithMap, type RestoreTable } from './restore-plan.js';
import * as sql from './restore-sql.js';
import { emptyReport, type RestoreReport } from './restore-report.js';
import { VaultCursor, checkedVaultInfo, rowsAnywhere, tableRows, vaultChanged, type VaultSource } from './vault-cursor.js';

export type ApplyPhase = 'load' | 'match' | 'update';

export interface ApplyProgress {
  phase: ApplyPhase;
  table: string;
  /** Rows loaded so far, over all tables (load phase). */
  rowsDone: number;
  rowsTotal: number;
  /** Tables done in this phase, of how many. */
  tablesDone: number;
  tablesTotal: number;
}

export interface DbApplyOptions {
  vault: VaultSource;
  map: MigrationMap;
  /** A PostgreSQL connection URI (postgresql://user@host/db?host=/socket/dir). */
  connectionString: string;
  force: boolean;
  /** Let the tables' own triggers fire on the restoring UPDATEs. */
  fireTriggers: boolean;
  dryRun: boolean;
  onWarning?: (message: string) => void;
  onProgress?: (progress: ApplyProgress) => void;
}

/** Where statements run: a node-postgres client, or a test double. */
interface Session {
  query(text: string): Promise<{ rows: Record<string, unknown>[] }>;
}

export async function applyToDatabase(options: DbApplyOptions): Promise<RestoreReport> {
  const info = checkedVaultInfo(options.vault);
  const tables = planWithMap(info, options.map, options.onWarning);
  const encoding = sql.vaultEncoding(info.metadata, info.trailer);
  const client = new pg.Client({ connectionString: options.connectionString });
  try {
    await client.connect();
  } catch (err) {
    // Nothing has been sent yet: the message can only be about the connection, printed as it is.
    throw new PgcloakError('DB_ERROR', `cannot connect to the database: ${err instanceof Error ? err.message : String(err)}`);
  }
  // A connection lost mid-way is reported by the query that needed it.
  client.on('error', () => undefined);
  let open = false;
  try {
    await run(client, 'BEGIN');
    open = true;
    const report = await restore(client, tables, encoding, info.scattered, options);
    await run(client, options.dryRun ? 'ROLLBACK' : 'COMMIT');
    open = false;
    return { ...report, committed: !options.dryRun };
  } finally {
    if (open) await client.query('ROLLBACK').catch(() => undefined);
    await client.end().catch(() => undefined);
  }
}

async function restore(client: pg.Client, tables: RestoreTable[], encoding: string, scattered: ReadonlySet<number>, options: DbApplyOptions): Promise<RestoreReport> {
  const sqlOptions = { force: options.force, fireTriggers: options.fireTriggers };
  const matched = tables.filter((t) => t.status === 'restore');
  for (const s of sql.sessionSettings()) await run(client, s);

  const missing = sql.missingQuery(tables);
  if (missing !== undefined) {
    const { rows } = await run(client, missing);
    if (rows.length > 0) {
      throw new PgcloakError('TARGET_SCHEMA', `${sql.MISSING_MESSAGE}:\n  ${rows.map((r) => String(r['what'])).join('\n  ')}`);
    }
  }
  await run(client, sql.createReport());
  const remember = options.fireTriggers ? undefined : sql.rememberTriggers(tables);
  for (const s of [sql.staticReportRows(tables), sql.lockTargets(tables), remember]) if (s !== undefined) await run(client, s);

  const rowsTotal = matched.reduce((n, t) => n + t.rows, 0);
  const progress = (phase: ApplyPhase, table: string, rowsDone: number, tablesDone: number): void =>
    options.onProgress?.({ phase, table, rowsDone, rowsTotal, tablesDone, tablesTotal: matched.length });
  let rowsDone = 0;
  let loaded = 0;

  const cursor = VaultCursor.open(options.vault);
  try {
    for (let rec = cursor.nextTable(); rec !== null; rec = cursor.nextTable()) {
      const t = tables.find((x) => x.vault.index === rec.decl.index);
      if (!t) throw vaultChanged();
      if (t.status !== 'restore') continue;
      await run(client, sql.createTemp(t), t);
      progress('load', t.label, rowsDone, loaded);
      const builder = new CopyLineBuilder(t, encoding);
      let tableRowsDone = 0;
      function* chunks(): Generator<Buffer> {
        const w = new ChunkWriter();
        for (const row of tableRows(cursor, options.vault, t!.vault.index, scattered)) {
          builder.line(row.fields, w);
          rowsDone++;
          tableRowsDone++;
          if (w.hasFullChunk) {
            yield* w.take(false);
            progress('load', t!.label, rowsDone, loaded);
          }
        }
        yield* w.take(true);
        if (tableRowsDone !== t!.rows) throw vaultChanged();
      }
      if (encoding !== 'UTF8') await run(client, sql.setClientEncoding(encoding), t);
      try {
        await pipeline(Readable.from(chunks(), { objectMode: false }), client.query(copyFrom(sql.copyInto(t))));
      } catch (err) {
        throw copyError(err, t, options.vault, encoding);
      }
      if (encoding !== 'UTF8') await run(client, sql.setClientEncoding('UTF8'), t);
      await run(client, sql.analyzeTemp(t), t);
      loaded++;
    }
  } finally {
    cursor.close();
  }

  let done = 0;
  for (const t of matched) {
    progress('match', t.label, rowsDone, done++);
    await runPerRow(client, sql.createMatch(t, sqlOptions), t, sql.failingRowOfMatch(t));
    await run(client, sql.countMatch(t), t);
    await run(client, sql.prepareUpdate(t), t);
  }
  await run(client, sql.mismatchCheck());
  done = 0;
  if (remember !== undefined) await run(client, sql.switchTriggers(false));
  for (const s of sql.preferTidScans(true)) await run(client, s);
  for (const t of matched) {
    progress('update', t.label, rowsDone, done++);
    await runPerRow(client, sql.executeUpdate(t), t, sql.failingRowOfUpdate(t));
  }
  for (const s of sql.preferTidScans(false)) await run(client, s);
  if (remember !== undefined) await run(client, sql.switchTriggers(true));
  await run(client, sql.updatedCheck());
  for (const s of sql.deallocate(tables)) await run(client, s);

  const report = emptyReport(tables);
  const { rows } = await run(client, sql.reportRows());
  for (const r of rows) {
    const n = Number(r['n']);
    const ord = Number(r['ord']);
    const t = tables[n - 1];
    const tr = report[n - 1];
    if (!t || !tr) continue;
    if (r['found'] !== null && r['found'] !== undefined) tr.notFound = t.rows - Number(r['found']);
    if (ord === 0) continue;
    const c = tr.columns[ord - 1];
    if (!c || c.skipped) continue;
    c.restored = Number(r['restored'] ?? 0);
    c.unchanged = Number(r['unchanged'] ?? 0);
    c.changed = Number(r['changed'] ?? 0);
  }
  return { mode: 'db', force: options.force, dryRun: options.dryRun, committed: false, tables: report };
}

async function run(client: Session, text: string, table?: RestoreTable): Promise<{ rows: Record<string, unknown>[] }> {
  try {
    return await client.query(text);
  } catch (err) {
    throw statementError(err, table);
  }
}

const SAVEPOINT = 'pgcloak_step';

/**
 * A statement that works on the rows of table `t` and may fail on one of them: run after a
 * savepoint, so that on a failure the diagnosis (restore-sql.ts failingRowOf*) can run the
 * same work row by row, find the row's key and name it in the error instead of a value.
 */
async function runPerRow(client: Session, text: string, t: RestoreTable, diagnosis: string | undefined): Promise<void> {
  await run(client, `SAVEPOINT ${SAVEPOINT}`);
  try {
    await client.query(text);
  } catch (err) {
    const row = diagnosis !== undefined && isPgError(err) && rowDependent(err) ? await failingRow(client, diagnosis) : undefined;
    throw statementError(err, t, row);
  }
  await run(client, `RELEASE SAVEPOINT ${SAVEPOINT}`);
}

/**
 * Errors that depend on a row's values, and so have a row to name: data exceptions (22),
 * constraint violations (23), and whatever a trigger or function raised. Not a misspelt
 * `using:` (42) or a lost connection, which every row would meet alike.
 */
function rowDependent(err: PgError): boolean {
  if (ownError(err) !== undefined) return false;
  return err.code?.startsWith('22') === true || err.code?.startsWith('23') === true || raisingFunction(err) !== undefined;
}

/** Longest a diagnosis may take; it only adds the key to an error, which comes all the same. */
const DIAGNOSIS_TIMEOUT = '120s';

async function failingRow(client: Session, diagnosis: string): Promise<FailingRow | undefined> {
  try {
    await client.query(`ROLLBACK TO SAVEPOINT ${SAVEPOINT}`);
    await client.query(`SET LOCAL statement_timeout = '${DIAGNOSIS_TIMEOUT}'`);
    await client.query(diagnosis);
  } catch (err) {
    return failingRowOf(err);
  }
  return undefined;
}

function statementError(err: unknown, table: RestoreTable | undefined, row?: FailingRow): PgcloakError {
  if (err instanceof PgcloakError) return err;
  if (!isPgError(err)) return new PgcloakError('DB_ERROR', errorText(err), table ? { table: table.label } : {});
  const own = ownError(err);
  if (own) return own;
  if (!table) return databaseError('DB_ERROR', '', err, {});
  const position: Position = { table: table.label };
  const column = row?.column === undefined ? undefined : table.active[row.column - 1];
  if (column) position.column = column.target;
  else if (err.column !== undefined) position.column = err.column;
  const at = row ? ` at the row with ${describeKey(table.keys.map((k) => k.target), row.key)}` : '';
  if (column?.using !== undefined) {
    const value = row?.which === 'written' ? 'what masking wrote in' : 'the original of';
    return databaseError('TARGET_SCHEMA', `the map's using: fails on ${value} ${columnLabel(column)}${at}: `, err, position);
  }
  // 22: data exception (a value does not convert); 42804 datatype mismatch, 42883 no such
  // function or operator, 42703 no such column: the new schema does not take the originals.
  if (err.code?.startsWith('22') || err.code === '42804' || err.code === '42883' || err.code === '42703') {
    return databaseError('TARGET_SCHEMA', `the originals do not fit the migrated table${at}: `, err, position);
  }
  return databaseError('DB_ERROR', row ? `restoring the row with ${describeKey(table.keys.map((k) => k.target), row.key)} fails: ` : '', err, position);
}

/**
 * A COPY into the temporary table failed: name the column whose type does not take the
 * originals, and the row by its key (CONTEXT says `COPY pgcloak_N, line L, column C: "…"`;
 * line L is the L-th row of the table in the vault, read again to find its key).
 */
function copyError(err: unknown, t: RestoreTable, vault: VaultSource, encoding: string): PgcloakError {
  if (err instanceof PgcloakError) return err;
  if (!isPgError(err)) return new PgcloakError('DB_ERROR', errorText(err), { table: t.label });
  const m = /^COPY pgcloak_\d+, line (\d+)(?:, column (.*?)(?:: "|$))?/s.exec(err.where ?? '');
  const columnName = m?.[2];
  const line = m?.[1] === undefined ? undefined : Number(m[1]);
  const cols = sql.tempColumns(t);
  const a = columnName === undefined ? -1 : Math.max(cols.originals.indexOf(columnName), cols.written.indexOf(columnName));
  const key = columnName === undefined ? -1 : cols.keys.indexOf(columnName);
  if (err.code?.startsWith('22') || err.code?.startsWith('23')) {
    const rowKey = line === undefined ? undefined : keyOfRow(t, vault, encoding, line);
    const at = rowKey ? `, first at the row with ${describeKey(t.keys.map((k) => k.target), rowKey)}` : '';
    if (a !== -1) {
      const c = t.active[a]!;
      const value = cols.written.includes(columnName!) ? 'what masking wrote in' : 'the values of';
      return databaseError(
        'TARGET_SCHEMA',
        `${value} ${c.source} (${c.type} in the masked dump) cannot be read as the type ${t.targetName}.${c.target} has now${at}: `,
        err,
        { table: t.label, column: c.target },
        'map it with using: or skip: true',
      );
    }
    if (key !== -1) {
      return databaseError('TARGET_SCHEMA', `the key values cannot be read as the type of ${t.targetName}.${cols.keys[key]} now${at}: `, err, {
        table: t.label,
        column: cols.keys[key]!,
      });
    }
  }
  return statementError(err, t);
}

/** The key of the `line`-th row (1-based) of table t in the vault; undefined if it cannot be read again. */
function keyOfRow(t: RestoreTable, vault: VaultSource, encoding: string, line: number): (string | null)[] | undefined {
  if (!Number.isSafeInteger(line) || line < 1 || line > t.rows) return undefined;
  const builder = new CopyLineBuilder(t, encoding);
  let n = 0;
  try {
    for (const row of rowsAnywhere(vault, t.vault.index)) if (++n === line) return builder.keyValues(row.fields);
  } catch {
    // The vault was read and checked once already; the error to report is the database's.
  }
  return undefined;
}
