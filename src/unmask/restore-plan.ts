// What reversing a vault inside a database needs to know about each table of the vault:
// where it went (migration map), which columns make its key, which masked columns come
// back, and how one vault row becomes one line of COPY text for a temporary table:
// key fields, then the original of each restored column, then what masking wrote there.
// Shared by the SQL script (sql-script.ts), the direct apply (db-apply.ts) and the
// by-key dump reversal (dump-by-key.ts).

import { decodeCsvField } from '../copy/csv-rows.js';
import type { TextEncoding } from '../copy/text-field.js';
import { dumpEncoding, UTF8_ENCODING } from '../dump/encoding.js';
import { PgcloakError } from '../errors.js';
import { decodeCopyField, encodeCopyField } from '../copy/text-field.js';
import { fitPlaceholderText } from '../strategies/text-fit.js';
import { decodeSqlLiteral, type LiteralOptions } from '../dump/sql-literal.js';
import { parseQualifiedName, qualifiedKey, type QualifiedName } from '../schema/names.js';
import type { TableDecl } from '../vault/format.js';
import type { VaultInfo } from '../vault/reader.js';
import { mapTable, unusedMapEntries, type MigrationMap } from './migration-map.js';
import { BYTE } from '../io/byte-codes.js';

const { TAB, NL } = BYTE;

/** A table declaration of the vault, checked (see ../engine/table-declaration.ts). */
export interface VaultTable {
  index: number;
  table: string;
  ruleTable: string | undefined;
  encoding: 'copy-text' | 'sql-literal' | 'copy-csv';
  keyColumns: string[];
  maskedColumns: string[];
  strategies: string[];
  types: string[];
  /** What masking wrote in each masked column when it does not depend on the row; null: NULL or row-derived. */
  maskedConstants: (string | null)[];
  derivedColumns: string[];
  /** Format 2: the xxx<row key> placeholders, made from the key fields rather than kept (empty in format 1). */
  keyTextColumns: string[];
  /** Their maximum lengths in characters (null: none), as keyTextColumns. */
  keyTextMaxLengths: (number | null)[];
}

export function vaultTable(decl: TableDecl): VaultTable {
  const strings = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === 'string');
  const d = decl as Record<string, unknown>;
  const encoding = d['encoding'] ?? 'copy-text';
  if (encoding === 'copy-binary') {
    throw new PgcloakError('VAULT_FORMAT', `${String(d['table'])}: a vault of binary COPY data can only be reversed on that data (pgcloak unmask --input), not inside a database`);
  }
  const ok =
    typeof d['table'] === 'string' &&
    (d['ruleTable'] === undefined || typeof d['ruleTable'] === 'string') &&
    (encoding === 'copy-text' || encoding === 'sql-literal' || encoding === 'copy-csv') &&
    strings(d['keyColumns']) &&
    strings(d['maskedColumns']) &&
    Array.isArray(d['maskedConstants']) &&
    (d['maskedConstants'] as unknown[]).every((x) => x === null || typeof x === 'string') &&
    (d['maskedConstants'] as unknown[]).length === (d['maskedColumns'] as unknown[]).length &&
    strings(d['derivedColumns']) &&
    (d['derivedColumns'] as string[]).every((c) => (d['maskedColumns'] as string[]).includes(c)) &&
    keyTextOk(d);
  if (!ok) {
    throw new PgcloakError('VAULT_FORMAT', `table declaration ${decl.index} of the vault lacks what a reversal inside a database needs (made by an older pgcloak?)`);
  }
  return {
    index: decl.index,
    table: d['table'] as string,
    ruleTable: d['ruleTable'] as string | undefined,
    encoding: encoding as VaultTable['encoding'],
    keyColumns: d['keyColumns'] as string[],
    maskedColumns: d['maskedColumns'] as string[],
    strategies: strings(d['strategies']) ? d['strategies'] : [],
    types: strings(d['types']) ? d['types'] : [],
    maskedConstants: d['maskedConstants'] as (string | null)[],
    derivedColumns: d['derivedColumns'] as string[],
    keyTextColumns: (d['keyTextColumns'] as string[] | undefined) ?? [],
    keyTextMaxLengths: (d['keyTextMaxLengths'] as (number | null)[] | undefined) ?? [],
  };
}

/** keyTextColumns and keyTextMaxLengths: both absent (format 1), or masked columns that are not derivedColumns, each with a length. */
function keyTextOk(d: Record<string, unknown>): boolean {
  const columns = d['keyTextColumns'];
  const lengths = d['keyTextMaxLengths'];
  if (columns === undefined && lengths === undefined) return true;
  return (
    Array.isArray(columns) &&
    Array.isArray(lengths) &&
    columns.length === lengths.length &&
    columns.every((c) => typeof c === 'string' && (d['maskedColumns'] as string[]).includes(c) && !(d['derivedColumns'] as string[]).includes(c)) &&
    lengths.every((n) => n === null || (Number.isSafeInteger(n) && (n as number) > 0))
  );
}

export interface RestoreColumn {
  /** Name in the masked dump. */
  source: string;
  /** Name in the migrated database (or dump). */
  target: string;
  /** A conversion from the map, `value` being the old text. */
  using: string | undefined;
  /** The map says the column is gone. */
  skip: boolean;
  /** Position among the vault table's masked columns. */
  j: number;
  /** Position among its row-derived columns, or -1 when masking wrote a constant or xxx<row key> (keyText). */
  derived: number;
  /** Masking wrote xxx<row key>, fitted to this many characters (undefined: no limit); the vault does not keep it. */
  keyText: { maxLength: number | undefined } | undefined;
  /** The constant masking wrote (null: NULL), when derived is -1 and keyText undefined. */
  constant: string | null;
  /** The type in the masked dump, for messages. */
  type: string;
}

/**
 * restore: keyed rows to match; position: no key, rows cannot be matched; skipped: the map
 * says the table (or every masked column of it) is gone; empty: no rows in the vault.
 */
export type RestoreStatus = 'restore' | 'position' | 'skipped' | 'empty';

export interface RestoreTable {
  /** 1-based, in vault order: names the temporary tables. */
  n: number;
  vault: VaultTable;
  rows: number;
  target: QualifiedName;
  /** qualifiedKey of the target: `public.customer`, `"Sales Dept"."Client List"`. */
  targetName: string;
  /** For reports: the target, with the old name when renamed. */
  label: string;
  keys: { source: string; target: string }[];
  /** Every masked column, in vault order (skipped ones included). */
  columns: RestoreColumn[];
  /** The columns that come back. */
  active: RestoreColumn[];
  status: RestoreStatus;
}

export function planRestore(info: Pick<VaultInfo, 'tables' | 'rowCounts'>, map: MigrationMap): RestoreTable[] {
  return info.tables.map((decl, i) => {
    const vault = vaultTable(decl);
    const mapped = mapTable(map, vault.table, vault.ruleTable);
    const targetName = qualifiedKey(mapped.target);
    const keys = vault.keyColumns.map((k) => ({ source: k, target: mapped.column(k).target }));
    const columns = vault.maskedColumns.map((name, j): RestoreColumn => {
      const m = mapped.column(name);
      const derived = vault.derivedColumns.indexOf(name);
      const k = vault.keyTextColumns.indexOf(name);
      const keyText = k === -1 ? undefined : { maxLength: vault.keyTextMaxLengths[k] ?? undefined };
      return {
        source: name,
        target: m.target,
        using: m.using,
        skip: m.skip,
        j,
        derived,
        keyText,
        constant: derived === -1 && !keyText ? (vault.maskedConstants[j] ?? null) : null,
        type: vault.types[j] ?? '?',
      };
    });
    const active = columns.filter((c) => !c.skip);
    const rows = info.rowCounts[vault.index] ?? 0;
    let status: RestoreStatus = 'restore';
    if (mapped.skip || active.length === 0) status = 'skipped';
    else if (rows === 0) status = 'empty';
    else if (keys.length === 0) status = 'position';
    for (const k of keys) {
      if (active.some((c) => c.target === k.target)) {
        throw new PgcloakError('MAP_INVALID', `the map makes the key column ${k.source} of ${vault.table} and a masked column the same column ${JSON.stringify(k.target)}`);
      }
    }
    return {
      n: i + 1,
      vault,
      rows,
      target: mapped.target,
      targetName,
      label: targetName === vault.table ? targetName : `${targetName} (was ${vault.table})`,
      keys,
      columns,
      active,
      status,
    };
  });
}

/** planRestore, with a warning for each map entry that names nothing in the vault (a typo, most likely). */
export function planWithMap(info: Pick<VaultInfo, 'tables' | 'rowCounts'>, map: MigrationMap, warn?: (message: string) => void): RestoreTable[] {
  const tables = planRestore(info, map);
  const named = tables.map((t) => ({ table: t.vault.table, ruleTable: t.vault.ruleTable, columns: [...t.vault.keyColumns, ...t.vault.maskedColumns] }));
  for (const m of unusedMapEntries(map, named)) warn?.(m);
  return tables;
}

/** A column's name for reports: the new one, with the old one when renamed. */
export function columnLabel(c: RestoreColumn): string {
  return c.target === c.source ? c.target : `${c.target} (was ${c.source})`;
}

export function parseTableName(key: string): QualifiedName {
  return parseQualifiedName(key) ?? { schema: 'public', name: key };
}

const COPY_NULL = Buffer.from('\\N');

/**
 * A field as COPY text, whatever form the vault keeps it in. `text` is how the dump's bytes
 * read (UTF-8, or byte for byte for single-byte encodings); the COPY data stays in the
 * dump's encoding. INSERT-format vaults hold SQL literals, written with standard strings on.
 */
function fieldConverter(form: VaultTable['encoding'], text: TextEncoding): (field: Buffer) => Buffer {
  if (form === 'copy-text') return (field) => field;
  if (form === 'copy-csv') return (field) => encodeCopyField(decodeCsvField(field, 0, field.length, 0x22, text), text);
  const literals: LiteralOptions = { standardStrings: true, encoding: text };
  return (field) => encodeCopyField(decodeSqlLiteral(field, 0, field.length, literals), text);
}

function isCopyNull(b: Buffer): boolean {
  return b.length === 2 && b[0] === 0x5c && b[1] === 0x4e;
}

/**
 * Turns vault rows of one table into COPY text lines for its temporary table:
 * key fields, the original of each active column, what masking wrote in each.
 */
export class CopyLineBuilder {
  private readonly nKey: number;
  private readonly nMasked: number;
  private readonly active: RestoreColumn[];
  private readonly constants: Buffer[];
  private readonly convert: (field: Buffer) => Buffer;
  private readonly table: RestoreTable;
  private readonly text: TextEncoding;

  /** `clientEncoding`: the dump's, as the vault's trailer records it (constants from the rules are converted into it). */
  constructor(table: RestoreTable, clientEncoding = 'UTF8') {
    this.table = table;
    this.nKey = table.vault.keyColumns.length;
    this.nMasked = table.vault.maskedColumns.length;
    this.active = table.active;
    const encoding = dumpEncoding(clientEncoding) ?? UTF8_ENCODING;
    this.constants = table.active.map((c) =>
      c.derived === -1 && !c.keyText ? encodeCopyField(c.constant === null ? null : encoding.fromUnicode(c.constant), encoding.fields) : COPY_NULL,
    );
    this.text = encoding.fields;
    this.convert = fieldConverter(table.vault.encoding, encoding.fields);
  }

  /** Fields of one vault row, in the order above. */
  fields(row: readonly Buffer[]): Buffer[] {
    if (row.length !== this.nKey + this.nMasked + this.table.vault.derivedColumns.length) {
      throw new PgcloakError('VAULT_FORMAT', `a vault row of ${this.table.vault.table} does not match its table declaration`);
    }
    const out: Buffer[] = [];
    for (let k = 0; k < this.nKey; k++) out.push(this.convert(row[k]!));
    const originals = this.active.map((c) => this.convert(row[this.nKey + c.j]!));
    out.push(...originals);
    let key: string | undefined;
    this.active.forEach((c, a) => {
      if (isCopyNull(originals[a]!)) out.push(COPY_NULL); // NULL stays NULL under every strategy
      else if (c.derived !== -1) out.push(this.convert(row[this.nKey + this.nMasked + c.derived]!));
      else if (c.keyText) out.push(encodeCopyField(fitPlaceholderText((key ??= this.key(out)), c.keyText.maxLength), this.text));
      else out.push(this.constants[a]!);
    });
    return out;
  }

  /**
   * The row key as masking read it (RowMasker.key): the key fields (COPY text, the first of
   * `fields`) decoded, joined with '-', a NULL one as ''. In the dump's encoding, byte for
   * byte where it has one byte a character, as masking's strings are.
   */
  private key(fields: readonly Buffer[]): string {
    if (this.nKey === 0) {
      throw new PgcloakError('VAULT_FORMAT', `${this.table.vault.table} is keyed by position: its placeholders cannot be matched by key`);
    }
    const parts: string[] = [];
    for (let k = 0; k < this.nKey; k++) parts.push(decodeCopyField(fields[k]!, 0, fields[k]!.length, this.text) ?? '');
    return parts.join('-');
  }

  /** The row's key values as text (null: NULL), for messages: the key is in the masked dump in clear. */
  keyValues(row: readonly Buffer[]): (string | null)[] {
    const fields = this.fields(row);
    const values: (string | null)[] = [];
    for (let k = 0; k < this.nKey; k++) values.push(decodeCopyField(fields[k]!, 0, fields[k]!.length, this.text));
    return values;
  }

  /** Appends one line (fields joined by TAB, then a newline) to `out`. */
  line(row: readonly Buffer[], out: ChunkWriter): void {
    const fields = this.fields(row);
    for (let i = 0; i < fields.length; i++) {
      if (i > 0) out.byte(TAB);
      out.bytes(fields[i]!);
    }
    out.byte(NL);
  }
}

/** Collects small pieces into chunks of about CHUNK bytes. */
export class ChunkWriter {
  static readonly CHUNK = 64 * 1024;
  private buf = Buffer.allocUnsafe(ChunkWriter.CHUNK);
  private used = 0;
  private readonly done: Buffer[] = [];

  byte(b: number): void {
    if (this.used === this.buf.length) this.rotate(1);
    this.buf[this.used++] = b;
  }

  bytes(src: Buffer): void {
    if (this.used + src.length > this.buf.length) this.rotate(src.length);
    src.copy(this.buf, this.used);
    this.used += src.length;
  }

  private rotate(need: number): void {
    if (this.used > 0) this.done.push(this.buf.subarray(0, this.used));
    this.buf = Buffer.allocUnsafe(Math.max(ChunkWriter.CHUNK, need));
    this.used = 0;
  }

  /** Takes the full chunks (and, with all, the partial one). */
  take(all: boolean): Buffer[] {
    if (all && this.used > 0) this.rotate(0);
    return this.done.splice(0, this.done.length);
  }

  get hasFullChunk(): boolean {
    return this.done.length > 0;
  }
}
