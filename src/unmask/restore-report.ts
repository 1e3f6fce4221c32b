// What a reversal inside a database (or by key in a dump) did, per table and column:
// the summary `unmask --db` and `unmask --by-key` print, and return to library callers.

import type { RestoreStatus, RestoreTable } from './restore-plan.js';
import { columnLabel } from './restore-plan.js';
import { tableNote } from './restore-sql.js';

export interface ColumnReport {
  /** The column in the migrated database, with its old name when renamed. */
  column: string;
  /** Still what masking wrote: the original was put back. */
  restored: number;
  /** Already the original (NULL stays NULL; a second run finds everything here). */
  unchanged: number;
  /** Edited since masking: kept, or overwritten under --force. */
  changed: number;
  /** The map says the column is gone. */
  skipped: boolean;
}

export interface TableReport {
  /** The table in the migrated database, with its old name when renamed. */
  table: string;
  /** The masked dump's name. */
  source: string;
  status: RestoreStatus;
  /** Rows of this table in the vault. */
  vaultRows: number;
  /** Vault rows whose key was not found (deleted since masking); null when not matched at all. */
  notFound: number | null;
  note: string | null;
  columns: ColumnReport[];
}

export interface RestoreReport {
  mode: 'sql' | 'db' | 'dump';
  force: boolean;
  dryRun: boolean;
  /** The database was changed (db mode, not a dry run, and no error). */
  committed: boolean;
  tables: TableReport[];
}

/** An empty report for each table of the plan; matched tables get their counts later. */
export function emptyReport(tables: readonly RestoreTable[]): TableReport[] {
  return tables.map((t) => ({
    table: t.label,
    source: t.vault.table,
    status: t.status,
    vaultRows: t.rows,
    notFound: null,
    note: tableNote(t),
    columns:
      t.status === 'restore'
        ? t.columns.map((c) => ({ column: c.skip ? c.source : columnLabel(c), restored: 0, unchanged: 0, changed: 0, skipped: c.skip }))
        : [],
  }));
}
