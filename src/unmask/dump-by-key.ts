// `pgcloak unmask --by-key`: reversing a dump of the MIGRATED database (not the masked dump
// itself, so not byte-identical to it). Rows are matched by key instead of position, under
// the rules of the database reversal: a value is restored only where the dump still holds
// what masking wrote (compared as values of the column's type, see copy-compare.ts);
// values edited since are kept (or overwritten with --force) and counted; vault rows whose
// key is gone are counted; rows added since pass through untouched. The map renames tables
// and columns; `using:` conversions need a database and are refused here.
//
// Memory: when the COPY block of a table starts, that table's vault rows are loaded into a
// Map keyed by their key fields; it is dropped at the end of the block. So memory grows
// with the masked rows of one table, never with the whole vault or the dump. The vault is
// read in order; a table the dump names earlier than the vault has it makes the vault be
// read again from its start (decryption is cheap; a passphrase is stretched again).

import type { Readable, Writable } from 'node:stream';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { PgcloakError, type SourcePosition } from '../errors.js';
import type { CopyDataMode } from '../dump/sql-scanner.js';
import { rowKernel } from '../engine/kernel-choice.js';
import { StatementRouter, type CopyBlock, type DumpHandler, type RoutedStatement } from '../engine/statement-router.js';
import { insertTarget } from '../dump/insert-target.js';
import { loadSqlParser, type CopyTarget, type SchemaCatalog } from '../schema/catalog.js';
import { qualifiedKey } from '../schema/names.js';
import { valueComparer, type ValueComparer } from './copy-compare.js';
import type { MigrationMap } from './migration-map.js';
import { ChunkWriter, CopyLineBuilder, planWithMap, type RestoreTable } from './restore-plan.js';
import { emptyReport, type RestoreReport, type TableReport } from './restore-report.js';
import { VaultCursor, checkedVaultInfo, tableRows, type VaultSource } from './vault-cursor.js';
import { BYTE } from '../io/byte-codes.js';

const { TAB } = BYTE;

/** One table's vault rows by key: COPY text of key fields, originals, what masking wrote. */
type RowsByKey = Map<string, Buffer[]>;

/** Loads one table's rows at a time, reading the vault forward, and again from the start when asked for an earlier table. */
export class VaultTableLoader {
  private readonly vault: VaultSource;
  private cursor: VaultCursor | undefined;
  /** Index of the table whose rows the cursor is at (or just past), -1 at the start. */
  private at = -1;
  reopened = 0;

  private readonly scattered: ReadonlySet<number>;

  constructor(vault: VaultSource, scattered: ReadonlySet<number>) {
    this.vault = vault;
    this.scattered = scattered;
  }

  load(t: RestoreTable): RowsByKey {
    if (this.cursor === undefined || t.vault.index <= this.at) {
      this.cursor?.close();
      if (this.cursor !== undefined) this.reopened++;
      this.cursor = VaultCursor.open(this.vault);
      this.at = -1;
    }
    const cursor = this.cursor;
    for (;;) {
      const rec = cursor.nextTable();
      if (rec === null) throw new PgcloakError('VAULT_FORMAT', `table ${t.vault.table} is no longer in the vault (was it replaced during the run?)`);
      this.at = rec.decl.index;
      if (rec.decl.index === t.vault.index) break;
    }
    const builder = new CopyLineBuilder(t);
    const nKey = t.keys.length;
    const rows: RowsByKey = new Map();
    for (const row of tableRows(cursor, this.vault, t.vault.index, this.scattered)) {
      const fields = builder.fields(row.fields);
      rows.set(keyString(nKey, (i) => fields[i]!), fields);
    }
    return rows;
  }

  close(): void {
    this.cursor?.close();
  }
}

/** The first n key fields as one string (binary-safe: latin1), joined by TAB, which COPY text never holds raw in a field. */
function keyString(n: number, field: (i: number) => Buffer): string {
  if (n === 1) return field(0).toString('latin1');
  const parts: string[] = [];
  for (let i = 0; i < n; i++) parts.push(field(i).toString('latin1'));
  return parts.join('\t');
}

interface ActiveBlock {
  t: RestoreTable;
  report: TableReport;
  rows: RowsByKey;
  /** Field positions in the dump's COPY rows: key columns, restored columns. */
  keyAt: number[];
  columnAt: number[];
  compare: ValueComparer[];
  fieldCount: number;
}

export class ByKeyUnmasker implements DumpHandler {
  private readonly router = new StatementRouter(this, { lineCounter: rowKernel().lineCounter });
  private readonly out = new ChunkWriter();
  private readonly push: (chunk: Buffer) => void;
  private readonly tables: RestoreTable[];
  readonly report: TableReport[];
  private readonly byTarget = new Map<string, number[]>();
  private readonly seen = new Set<number>();
  private readonly loader: VaultTableLoader;
  private readonly force: boolean;
  private checkedSchema = false;
  private active: ActiveBlock | undefined;
  private readonly starts: number[] = [];
  private readonly ends: number[] = [];
  bytesIn = 0;
  currentTable: string | undefined;

  constructor(tables: RestoreTable[], loader: VaultTableLoader, force: boolean, push: (chunk: Buffer) => void) {
    this.tables = tables;
    this.report = emptyReport(tables);
    this.loader = loader;
    this.force = force;
    this.push = push;
    for (const t of tables) {
      if (t.status === 'skipped') continue;
      const list = this.byTarget.get(t.targetName) ?? [];
      list.push(t.n - 1);
      this.byTarget.set(t.targetName, list);
      const using = t.active.find((c) => c.using !== undefined);
      if (using && t.status === 'restore') {
        throw new PgcloakError('MAP_INVALID', `${t.vault.table}.${using.source}: a using: conversion needs the database (unmask --db or --sql), not a dump`);
      }
    }
  }

  write(chunk: Buffer): void {
    this.bytesIn += chunk.length;
    this.router.write(chunk);
    this.flush(false);
  }

  /** The schema the dump declares. */
  private get catalog(): SchemaCatalog {
    return this.router.catalog;
  }

  end(): void {
    this.router.end();
    const missing = this.tables.filter((t) => t.status !== 'skipped' && !this.seen.has(t.n - 1) && t.status !== 'empty');
    if (missing.length > 0) {
      throw new PgcloakError(
        'TARGET_SCHEMA',
        `the dump has no COPY data for ${missing.map((t) => t.label).join(', ')} (renamed? dropped? INSERT format?): use --map to rename, or skip: true what is gone`,
      );
    }
    this.flush(true);
  }

  private flush(all: boolean): void {
    for (const c of this.out.take(all)) this.push(c);
  }

  text(buf: Buffer, start: number, end: number): void {
    this.out.bytes(buf.subarray(start, end));
  }

  other(s: RoutedStatement): void {
    if (!s.schemaOnly) this.out.bytes(s.text);
  }

  ddl(s: RoutedStatement): void {
    if (!s.schemaOnly) this.out.bytes(s.text);
  }

  statistics(s: RoutedStatement): void {
    if (!s.schemaOnly) this.out.bytes(s.text);
  }

  insert(s: RoutedStatement): undefined {
    const { text, at } = s;
    this.out.bytes(text);
    const target = insertTarget(text.subarray(0, 1024).toString('utf8'), this.catalog.defaultSchema);
    if (target && this.byTarget.has(qualifiedKey(target))) {
      throw new PgcloakError('COPY_UNSUPPORTED', 'INSERT statements hold rows of a table to restore: --by-key reads COPY data only (pg_dump without --inserts)', {
        table: qualifiedKey(target),
        ...at,
      });
    }
    return undefined;
  }

  copyStart(block: CopyBlock): CopyDataMode {
    const at = block.at;
    if (block.statement) this.out.bytes(block.statement.text);
    if (!this.checkedSchema) this.checkSchema(at);
    const indexes = this.byTarget.get(block.target.key);
    if (indexes === undefined) return 'passthrough';
    return this.beginBlock(indexes, block.target, at);
  }

  /** At the first COPY all CREATE TABLEs have been read (pg_dump's order): every target and column must exist. */
  private checkSchema(at: SourcePosition): void {
    this.checkedSchema = true;
    const missing: string[] = [];
    for (const t of this.tables) {
      if (t.status === 'skipped') continue;
      const info = this.catalog.tables.get(t.targetName);
      if (!info) {
        missing.push(`table ${t.label}`);
        continue;
      }
      for (const name of [...t.keys.map((k) => k.target), ...t.active.map((c) => c.target)]) {
        if (!info.columns.some((c) => c.name === name)) missing.push(`column ${t.targetName}.${name}`);
      }
    }
    if (missing.length > 0) {
      throw new PgcloakError('TARGET_SCHEMA', `the dump lacks what the vault restores into (rename with --map, or skip: true what is gone):\n  ${missing.join('\n  ')}`, at);
    }
  }

  private beginBlock(indexes: number[], target: CopyTarget, at: SourcePosition): CopyDataMode {
    // Several vault tables may go into one table only in unusual dumps (--load-via-partition-root);
    // their rows are matched together.
    const restorable = indexes.filter((i) => this.tables[i]!.status === 'restore');
    for (const i of indexes) this.seen.add(i);
    if (restorable.length === 0) return 'passthrough';
    const t = this.tables[restorable[0]!]!;
    if (target.nonDefaultOptions.length > 0) {
      throw new PgcloakError('COPY_UNSUPPORTED', `COPY with options (${target.nonDefaultOptions.join(', ')}) into a table to restore`, { table: target.key, ...at });
    }
    const columns = target.columns ?? this.catalog.tables.get(target.key)?.columns.map((c) => c.name) ?? [];
    const position = (name: string): number => {
      const i = columns.indexOf(name);
      if (i === -1) throw new PgcloakError('TARGET_SCHEMA', `column ${name} is not in the COPY data of ${target.key}`, { table: target.key, ...at });
      return i;
    };
    const rows: RowsByKey = new Map();
    for (const i of restorable) for (const [k, v] of this.loader.load(this.tables[i]!)) rows.set(k, v);
    const tableInfo = this.catalog.tables.get(target.key);
    this.active = {
      t,
      report: this.report[restorable[0]!]!,
      rows,
      keyAt: t.keys.map((k) => position(k.target)),
      columnAt: t.active.map((c) => position(c.target)),
      compare: t.active.map((c) => {
        const info = tableInfo?.columns.find((x) => x.name === c.target);
        return valueComparer(info ? this.catalog.resolveType(info.type) : undefined);
      }),
      fieldCount: columns.length,
    };
    this.currentTable = target.key;
    return 'rows';
  }

  copyRow(buf: Buffer, start: number, end: number, eolEnd: number, at: SourcePosition): void {
    const b = this.active!;
    const starts = this.starts;
    const ends = this.ends;
    let p = start;
    for (let i = 0; i < b.fieldCount; i++) {
      const tab = i < b.fieldCount - 1 ? buf.indexOf(TAB, p) : -1;
      const fieldEnd = tab === -1 || tab >= end ? end : tab;
      if (i < b.fieldCount - 1 && fieldEnd === end) {
        throw new PgcloakError('COPY_FIELD_COUNT', `expected ${b.fieldCount} fields`, { table: b.t.targetName, ...at });
      }
      starts[i] = p;
      ends[i] = fieldEnd;
      p = fieldEnd + 1;
    }
    const key = keyString(b.keyAt.length, (i) => buf.subarray(starts[b.keyAt[i]!]!, ends[b.keyAt[i]!]!));
    const vaultRow = b.rows.get(key);
    if (vaultRow === undefined) {
      // Added since masking (or its key changed): not ours to touch.
      this.out.bytes(buf.subarray(start, eolEnd));
      return;
    }
    b.rows.delete(key);
    const nKey = b.keyAt.length;
    const nActive = b.columnAt.length;
    // Restored fields, in field order, so the row is written in one sweep.
    const replace: { at: number; bytes: Buffer }[] = [];
    for (let a = 0; a < nActive; a++) {
      const fi = b.columnAt[a]!;
      const current = buf.subarray(starts[fi]!, ends[fi]!);
      const original = vaultRow[nKey + a]!;
      const written = vaultRow[nKey + nActive + a]!;
      const counts = b.report.columns[b.t.active[a]!.j]!;
      if (b.compare[a]!(current, original)) {
        counts.unchanged++;
        // The same value printed otherwise ('false' for 'f'): the original's own text.
        if (!current.equals(original)) replace.push({ at: fi, bytes: original });
      } else if (b.compare[a]!(current, written)) {
        counts.restored++;
        replace.push({ at: fi, bytes: original });
      } else {
        counts.changed++;
        if (this.force) replace.push({ at: fi, bytes: original });
      }
    }
    if (replace.length === 0) {
      this.out.bytes(buf.subarray(start, eolEnd));
      return;
    }
    replace.sort((x, y) => x.at - y.at);
    let pos = start;
    for (const r of replace) {
      this.out.bytes(buf.subarray(pos, starts[r.at]!));
      this.out.bytes(r.bytes);
      pos = ends[r.at]!;
    }
    this.out.bytes(buf.subarray(pos, eolEnd));
  }

  copyEnd(): void {
    const b = this.active;
    if (b) {
      b.report.notFound = (b.report.notFound ?? 0) + b.rows.size;
      b.rows.clear();
    }
    this.active = undefined;
    this.currentTable = undefined;
    this.flush(false);
  }
}

export interface ByKeyOptions {
  input: Readable;
  output: Writable;
  vault: VaultSource;
  map: MigrationMap;
  force: boolean;
  onWarning?: (message: string) => void;
  onStart?: (unmasker: ByKeyUnmasker) => void;
}

export interface ByKeyResult extends RestoreReport {
  bytesIn: number;
  bytesOut: number;
  /** How many times the vault was read again from its start (tables in another order). */
  vaultRereads: number;
}

export async function unmaskDumpByKey(options: ByKeyOptions): Promise<ByKeyResult> {
  await loadSqlParser();
  const info = checkedVaultInfo(options.vault);
  const tables = planWithMap(info, options.map, options.onWarning);
  const loader = new VaultTableLoader(options.vault, info.scattered);
  let bytesOut = 0;
  let core: ByKeyUnmasker | undefined;
  const transform = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      try {
        core!.write(chunk);
        callback();
      } catch (err) {
        callback(err as Error);
      }
    },
    flush(callback) {
      try {
        core!.end();
        callback();
      } catch (err) {
        callback(err as Error);
      }
    },
  });
  core = new ByKeyUnmasker(tables, loader, options.force, (chunk) => {
    bytesOut += chunk.length;
    transform.push(chunk);
  });
  options.onStart?.(core);
  try {
    await pipeline(options.input, transform, options.output);
  } finally {
    loader.close();
  }
  for (const r of core.report) if (r.status === 'restore' && r.notFound === null) r.notFound = 0;
  return {
    mode: 'dump',
    force: options.force,
    dryRun: false,
    committed: false,
    tables: core.report,
    bytesIn: core.bytesIn,
    bytesOut,
    vaultRereads: loader.reopened,
  };
}
