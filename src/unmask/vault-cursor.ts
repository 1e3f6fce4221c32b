// Reading a vault twice: a first pass checks the whole vault (key, authentication, FINAL
// frame) and learns its tables, rows per table and layout before anything is written or any
// database touched; the second pass hands out the rows, table by table. Decrypting twice
// costs little next to the database work (libsodium streams at ~1 GB/s); a passphrase is
// stretched once per pass.
//
// A table's rows normally follow its declaration in one run (a COPY block; pg_dump's INSERTs).
// A hand-written script may interleave INSERTs of several tables: such "scattered" tables
// are read in a pass of their own (rowsAnywhere), so no row is ever held in memory for later.

import { PgcloakError } from '../errors.js';
import type { TableDecl } from '../vault/format.js';
import type { KeySource } from '../vault/key.js';
import { VaultReader, type VaultInfo, type VaultRecord } from '../vault/reader.js';

export interface VaultSource {
  path: string;
  keySource: KeySource;
  /** The Ed25519 public key that must have signed the vault (`--verify`), checked on every pass. */
  verify?: Buffer | undefined;
}

export interface CheckedVault extends VaultInfo {
  /** Indexes of tables whose rows do not all directly follow their declaration. */
  scattered: ReadonlySet<number>;
}

/** The first pass: the whole vault read and checked. */
export function checkedVaultInfo(vault: VaultSource): CheckedVault {
  const reader = VaultReader.open(vault.path, vault.keySource, { verify: vault.verify });
  try {
    const tables: TableDecl[] = [];
    const rowCounts: Record<number, number> = {};
    const scattered = new Set<number>();
    // The table whose run of rows is going on: its declaration, then only its rows.
    let run = -1;
    for (let r = reader.next(); r !== null; r = reader.next()) {
      // Statements (statistics of masked columns) go back into a dump, never into a database.
      if (r.type === 'statement') continue;
      if (r.type === 'table') {
        tables.push(r.decl);
        rowCounts[r.decl.index] = 0;
        run = r.decl.index;
      } else {
        rowCounts[r.tableIndex] = (rowCounts[r.tableIndex] ?? 0) + 1;
        if (r.tableIndex !== run) {
          scattered.add(r.tableIndex);
          if (run !== -1) scattered.add(run);
          run = -2; // no run after an interruption
        }
      }
    }
    if (reader.trailer === undefined) throw new Error('vault reader ended without a trailer');
    return { metadata: reader.metadata, trailer: reader.trailer, tables, rowCounts, scattered };
  } finally {
    reader.close();
  }
}

type RowRecord = Extract<VaultRecord, { type: 'row' }>;

/** A vault read record by record, with one record of look-ahead. */
export class VaultCursor {
  private readonly reader: VaultReader;
  private ahead: VaultRecord | null | undefined = undefined;

  private constructor(reader: VaultReader) {
    this.reader = reader;
  }

  static open(vault: VaultSource): VaultCursor {
    return new VaultCursor(VaultReader.open(vault.path, vault.keySource, { verify: vault.verify }));
  }

  /** The next table or row record (statements are skipped: see checkedVaultInfo). */
  private peek(): VaultRecord | null {
    while (this.ahead === undefined) {
      const r = this.reader.next();
      if (r === null || r.type !== 'statement') this.ahead = r;
    }
    return this.ahead;
  }

  private take(): VaultRecord | null {
    const r = this.peek();
    this.ahead = undefined;
    return r;
  }

  /** The next table declaration, skipping any rows before it; null at the end. */
  nextTable(): Extract<VaultRecord, { type: 'table' }> | null {
    for (let r = this.take(); r !== null; r = this.take()) if (r.type === 'table') return r;
    return null;
  }

  /** The next record if it is a row of table `index`; null when its run of rows ends. */
  nextRow(index: number): RowRecord | null {
    const r = this.peek();
    if (r === null || r.type !== 'row' || r.tableIndex !== index) return null;
    this.ahead = undefined;
    return r;
  }

  close(): void {
    this.reader.close();
  }
}

/** Every row of one table, wherever it is in the vault: a pass of its own. */
export function* rowsAnywhere(vault: VaultSource, index: number): Generator<RowRecord> {
  const reader = VaultReader.open(vault.path, vault.keySource, { verify: vault.verify });
  try {
    for (let r = reader.next(); r !== null; r = reader.next()) if (r.type === 'row' && r.tableIndex === index) yield r;
  } finally {
    reader.close();
  }
}

/** The rows of table `index` in the run after its declaration (the cursor just read it), or from a pass of their own. */
export function* tableRows(cursor: VaultCursor, vault: VaultSource, index: number, scattered: ReadonlySet<number>): Generator<RowRecord> {
  if (scattered.has(index)) {
    yield* rowsAnywhere(vault, index);
    return;
  }
  for (let r = cursor.nextRow(index); r !== null; r = cursor.nextRow(index)) yield r;
}

export function vaultChanged(): PgcloakError {
  return new PgcloakError('VAULT_FORMAT', 'the vault changed between its two readings');
}
