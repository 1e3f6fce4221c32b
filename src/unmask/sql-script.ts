// `pgcloak unmask --sql`: the reversal as a SQL script for psql, which applies it to the
// restored (and migrated) database in one transaction:
//   psql -v ON_ERROR_STOP=1 -f restore.sql DBNAME
// The originals are inline, as COPY data of temporary tables; the statements are those of
// restore-sql.ts. The script prints its report (per table and column: in vault, not found,
// restored, already original, changed since masking) as a table at the end.
// psql is told to print errors tersely (no DETAIL, no CONTEXT): those parts quote the failing
// row, a key, the COPY field, all of which can be originals (issue 18). The primary message
// psql still prints as PostgreSQL wrote it; the README says so.

import type { Writable } from 'node:stream';
import { once } from 'node:events';
import { VERSION } from '../version.js';
import type { MigrationMap } from './migration-map.js';
import { ChunkWriter, CopyLineBuilder, planWithMap, type RestoreTable } from './restore-plan.js';
import * as sql from './restore-sql.js';
import { VaultCursor, checkedVaultInfo, tableRows, vaultChanged, type VaultSource } from './vault-cursor.js';
import { emptyReport, type RestoreReport } from './restore-report.js';

export interface SqlScriptOptions {
  vault: VaultSource;
  map: MigrationMap;
  output: Writable;
  force: boolean;
  fireTriggers: boolean;
  /** The script ends with ROLLBACK: it only reports. */
  dryRun: boolean;
  onWarning?: (message: string) => void;
  onProgress?: (rowsDone: number, rowsTotal: number, table: string) => void;
}

export interface SqlScriptResult extends RestoreReport {
  bytesOut: number;
  /** Rows written as COPY data. */
  rows: number;
}

export async function writeRestoreScript(options: SqlScriptOptions): Promise<SqlScriptResult> {
  const info = checkedVaultInfo(options.vault);
  const tables = planWithMap(info, options.map, options.onWarning);
  const out = new ScriptWriter(options.output);
  const sqlOptions = { force: options.force, fireTriggers: options.fireTriggers };
  const encoding = sql.vaultEncoding(info.metadata, info.trailer);
  const total = tables.filter((t) => t.status === 'restore').reduce((n, t) => n + t.rows, 0);

  const made = [
    `made ${String(info.metadata['createdAt'] ?? '?')} by ${String(info.metadata['tool'] ?? 'pgcloak')} ${String(info.metadata['version'] ?? '?')}`,
    `masked output ${String(info.metadata['outputDigest'] ?? 'blake2b512')} ${String(info.trailer['maskedDigest'] ?? '?')}`,
  ];
  out.text(`-- Reverses pgcloak masking inside a database restored from the masked dump (and maybe migrated).
-- Written by pgcloak ${VERSION} from a vault ${made.join(', ')}.
-- Apply with: psql -v ON_ERROR_STOP=1 -f THIS_FILE DBNAME
-- One transaction: on any error nothing is changed. A value is restored only where the database
-- still holds what masking wrote${options.force ? ' (--force: values edited since masking are overwritten too)' : '; values edited since masking are kept and counted'}.
-- It holds the original values: keep it as safe as the vault, and delete it once applied.
${options.dryRun ? '-- --dry-run: it reports what it would change, then rolls back.\n' : ''}
\\set ON_ERROR_STOP on
\\set QUIET on
\\set VERBOSITY terse
\\set SHOW_CONTEXT never
SET client_encoding = 'UTF8';
BEGIN;
`);
  for (const s of sql.sessionSettings()) out.statement(s);
  out.statement(sql.missingCheck(tables));
  out.statement(sql.createReport());
  out.statement(sql.staticReportRows(tables));
  out.statement(sql.lockTargets(tables));
  if (!options.fireTriggers) out.statement(sql.rememberTriggers(tables));

  let rows = 0;
  const cursor = VaultCursor.open(options.vault);
  try {
    for (let rec = cursor.nextTable(); rec !== null; rec = cursor.nextTable()) {
      const t = tables.find((x) => x.vault.index === rec.decl.index);
      if (!t) throw vaultChanged();
      if (t.status !== 'restore') continue;
      out.text(`\n\\echo pgcloak: loading ${t.rows} original row(s) of ${t.label}\n`);
      out.statement(sql.createTemp(t));
      if (encoding !== 'UTF8') out.statement(sql.setClientEncoding(encoding));
      out.statement(sql.copyInto(t));
      const builder = new CopyLineBuilder(t, encoding);
      let tableRowsDone = 0;
      for (const row of tableRows(cursor, options.vault, t.vault.index, info.scattered)) {
        builder.line(row.fields, out.chunks);
        rows++;
        tableRowsDone++;
        if (out.chunks.hasFullChunk) {
          await out.flush(false);
          options.onProgress?.(rows, total, t.label);
        }
      }
      if (tableRowsDone !== t.rows) throw vaultChanged();
      out.text('\\.\n');
      if (encoding !== 'UTF8') out.statement(sql.setClientEncoding('UTF8'));
      out.statement(sql.analyzeTemp(t));
    }
  } finally {
    cursor.close();
  }

  out.text('\n\\echo pgcloak: matching rows by key\n');
  for (const t of matched(tables)) {
    out.statement(sql.createMatch(t, sqlOptions));
    out.statement(sql.countMatch(t));
    out.statement(sql.prepareUpdate(t));
  }
  out.statement(sql.mismatchCheck());
  out.text('\n\\echo pgcloak: restoring\n');
  const switchTriggers = !options.fireTriggers && matched(tables).length > 0;
  if (switchTriggers) out.statement(sql.switchTriggers(false));
  for (const s of sql.preferTidScans(true)) out.statement(s);
  for (const t of matched(tables)) out.statement(sql.executeUpdate(t));
  for (const s of sql.preferTidScans(false)) out.statement(s);
  if (switchTriggers) out.statement(sql.switchTriggers(true));
  out.statement(sql.updatedCheck());
  for (const s of sql.deallocate(tables)) out.statement(s);
  out.text(`\n\\echo pgcloak: report${options.dryRun ? ' (dry run: nothing is changed)' : ''}\n\\set QUIET off\n`);
  out.statement(sql.reportSelect(sqlOptions));
  out.text('\\set QUIET on\n');
  out.statement(options.dryRun ? 'ROLLBACK' : 'COMMIT');
  await out.flush(true);
  return { mode: 'sql', force: options.force, dryRun: options.dryRun, committed: false, tables: emptyReport(tables), bytesOut: out.bytes, rows };
}

function matched(tables: readonly RestoreTable[]): RestoreTable[] {
  return tables.filter((t) => t.status === 'restore');
}

/** Text and COPY data into the output stream, in chunks, waiting when the stream is full. */
class ScriptWriter {
  readonly chunks = new ChunkWriter();
  bytes = 0;
  private readonly output: Writable;

  constructor(output: Writable) {
    this.output = output;
  }

  text(s: string): void {
    this.chunks.bytes(Buffer.from(s, 'utf8'));
  }

  statement(s: string | undefined): void {
    if (s !== undefined) this.text(`${s};\n`);
  }

  async flush(all: boolean): Promise<void> {
    for (const chunk of this.chunks.take(all)) {
      this.bytes += chunk.length;
      if (!this.output.write(chunk)) await drained(this.output);
    }
  }
}

async function drained(stream: Writable): Promise<void> {
  const ac = new AbortController();
  try {
    await Promise.race([
      once(stream, 'drain', { signal: ac.signal }),
      once(stream, 'error', { signal: ac.signal }).then(([err]) => {
        throw err;
      }),
      once(stream, 'close', { signal: ac.signal }),
    ]);
  } finally {
    ac.abort();
  }
}
