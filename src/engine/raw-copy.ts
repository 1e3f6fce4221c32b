// Raw COPY data given instead of a dump (the output of `COPY t TO STDOUT`: text, CSV or
// binary, one table): the options that say what it is, as a caller gives them and as the
// vault records them (RawCopyInput), and checked once into what the processor reads it with
// (RawCopyConfig). https://www.postgresql.org/docs/current/sql-copy.html

import type { Problem } from '../errors.js';
import { parseQualifiedName, qualifiedKey, type QualifiedName } from '../schema/names.js';

/** Raw COPY data of one table, as given (and recorded in the vault's metadata). */
export interface RawCopyInput {
  format: 'copy-text' | 'copy-csv' | 'copy-binary';
  /** The table, as rules name tables: `t`, `s.t`, `"S"."T"`. */
  table: string;
  /** Column names in data order; else the CSV header or the schema's CREATE TABLE order. */
  columns: string[] | undefined;
  /** CSV: the first row names the columns. */
  header: boolean;
  delimiter: string;
  quote: string;
  /** A schema-only dump (pg_dump --schema-only), for column types. */
  schemaText: string | undefined;
}

/** RawCopyInput checked: the table's name read, CSV's delimiter and quote as bytes. */
export interface RawCopyConfig {
  /** As given (the vault records it so). */
  readonly input: Readonly<RawCopyInput>;
  readonly format: RawCopyInput['format'];
  readonly table: QualifiedName;
  readonly key: string;
  readonly columns: readonly string[] | undefined;
  /** CSV data: its delimiter and quote bytes, and whether a header row names the columns. */
  readonly csv: { readonly delimiter: number; readonly quote: number; readonly header: boolean } | undefined;
  readonly schemaText: string | undefined;
}

/** `raw` checked, its problems added to `problems` under `path` (undefined when there are any). */
export function normalizeRawCopy(raw: RawCopyInput, path: string, problems: Problem[]): RawCopyConfig | undefined {
  const before = problems.length;
  const table = parseQualifiedName(raw.table);
  if (!table) problems.push({ path: `${path}.table`, message: `${JSON.stringify(raw.table)} is not a table name` });
  if (raw.format === 'copy-binary' && raw.schemaText === undefined) {
    problems.push({ path: `${path}.format`, message: `copy-binary needs \`${path}.schemaText\`: binary values can only be read with every column's type` });
  }
  let csv: RawCopyConfig['csv'];
  if (raw.format === 'copy-csv') {
    const delimiter = asciiByte(raw.delimiter, `${path}.delimiter`, problems);
    const quote = asciiByte(raw.quote, `${path}.quote`, problems);
    csv = { delimiter, quote, header: raw.header };
  }
  if (problems.length > before) return undefined;
  return Object.freeze({ input: Object.freeze({ ...raw }), format: raw.format, table: table!, key: qualifiedKey(table!), columns: raw.columns && Object.freeze([...raw.columns]), csv, schemaText: raw.schemaText });
}

/** The byte of a one-character ASCII option. */
function asciiByte(text: string, path: string, problems: Problem[]): number {
  if (text.length !== 1 || text.charCodeAt(0) > 0x7f) problems.push({ path, message: 'must be one ASCII character' });
  return text.charCodeAt(0);
}
