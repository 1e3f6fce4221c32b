// The migration map (`unmask --map FILE`): how tables and columns of the masked dump are
// named, typed or gone in the migrated database. Loaded from YAML, checked, normalised
// once; problems come back as `path: message`, like the rules file.
//
//   tables:
//     res_partner_address:              # the name in the masked dump (as in the rules file)
//       rename: res_partner_contact     # its name in the migrated database
//       columns:
//         street: street1               # old column name: new column name
//         name: {using: "jsonb_build_object('en_US', value)"}   # a conversion, in SQL
//         fax: {skip: true}             # dropped: its originals are not restored (reported)
//     old_table: {skip: true}           # the table is gone

import { PgcloakError } from '../errors.js';
import { parseQualifiedName, qualifiedKey, type QualifiedName } from '../schema/names.js';
import { isRecord, pathPart, readTablesDocument, tableEntries } from '../rules/tables-document.js';

export interface ColumnMapping {
  /** The column's name in the migrated database. */
  target: string;
  /**
   * A SQL expression giving the new value from `value`, the old value as text (the
   * original, and what masking wrote, both go through it). Without it, PostgreSQL reads
   * the old text as the column's new type, as a restore would.
   */
  using: string | undefined;
  /** The column is gone: its originals are not restored. */
  skip: boolean;
  path: string;
}

export interface TableMapping {
  /** The masked dump's name (qualifiedKey). */
  key: string;
  /** The name in the migrated database; the same as the old one when not renamed. */
  target: QualifiedName;
  renamed: boolean;
  skip: boolean;
  columns: ReadonlyMap<string, ColumnMapping>;
  path: string;
}

export interface MigrationMap {
  tables: ReadonlyMap<string, TableMapping>;
}

export const NO_MIGRATION: MigrationMap = { tables: new Map() };

const TABLE_FIELDS = new Set(['rename', 'skip', 'columns']);
const COLUMN_FIELDS = new Set(['rename', 'using', 'skip']);

export function parseMigrationMap(text: string): MigrationMap {
  const { tables: rawTables, problems, fatal } = readTablesDocument(text, 'a mapping of table names (as in the masked dump)');
  if (fatal) throw mapError(problems);

  const tables = new Map<string, TableMapping>();
  const targets = new Map<string, string>();
  for (const { path: tpath, qname, key, raw } of tableEntries(rawTables, problems, 'a mapping with rename, columns or skip')) {
    for (const f of Object.keys(raw)) if (!TABLE_FIELDS.has(f)) problems.push(`${tpath}.${pathPart(f)}: unknown field (expected rename, columns or skip)`);
    const skip = booleanField(raw['skip'], `${tpath}.skip`, problems);
    let target = qname;
    const rename = raw['rename'];
    if (rename !== undefined) {
      // An unqualified new name stays in the old table's schema.
      const parsed = typeof rename === 'string' ? parseQualifiedName(rename, qname.schema) : undefined;
      if (!parsed) problems.push(`${tpath}.rename: expected a table name`);
      else target = parsed;
      if (skip) problems.push(`${tpath}: rename and skip together make no sense`);
    }
    const targetKey = qualifiedKey(target);
    const other = targets.get(targetKey);
    if (other !== undefined && !skip) problems.push(`${tpath}: becomes ${targetKey}, as ${other} does`);
    else if (!skip) targets.set(targetKey, tpath);

    const columns = new Map<string, ColumnMapping>();
    const rawColumns = raw['columns'] ?? {};
    if (!isRecord(rawColumns)) {
      problems.push(`${tpath}.columns: expected a mapping of old column names to new names`);
      continue;
    }
    const columnTargets = new Map<string, string>();
    for (const [column, rawColumn] of Object.entries(rawColumns)) {
      const cpath = `${tpath}.columns.${pathPart(column)}`;
      let mapping: ColumnMapping;
      if (typeof rawColumn === 'string') {
        mapping = { target: rawColumn, using: undefined, skip: false, path: cpath };
      } else if (isRecord(rawColumn)) {
        for (const f of Object.keys(rawColumn)) if (!COLUMN_FIELDS.has(f)) problems.push(`${cpath}.${pathPart(f)}: unknown field (expected rename, using or skip)`);
        const newName = rawColumn['rename'] ?? column;
        if (typeof newName !== 'string' || newName === '') problems.push(`${cpath}.rename: expected a column name`);
        const using = rawColumn['using'];
        if (using !== undefined && (typeof using !== 'string' || !/\bvalue\b/.test(using))) {
          problems.push(`${cpath}.using: expected a SQL expression of \`value\` (the old value as text)`);
        }
        const columnSkip = booleanField(rawColumn['skip'], `${cpath}.skip`, problems);
        mapping = { target: typeof newName === 'string' ? newName : column, using: typeof using === 'string' ? using : undefined, skip: columnSkip, path: cpath };
      } else {
        problems.push(`${cpath}: expected the new column name, or {rename: ..., using: ..., skip: ...}`);
        continue;
      }
      if (!mapping.skip) {
        const clash = columnTargets.get(mapping.target);
        if (clash !== undefined) problems.push(`${cpath}: becomes ${JSON.stringify(mapping.target)}, as ${clash} does`);
        columnTargets.set(mapping.target, cpath);
      }
      columns.set(column, mapping);
    }
    tables.set(key, { key, target, renamed: targetKey !== key, skip, columns, path: tpath });
  }
  if (problems.length > 0) throw mapError(problems);
  return { tables };
}

function booleanField(value: unknown, path: string, problems: string[]): boolean {
  if (value === undefined) return false;
  if (typeof value !== 'boolean') {
    problems.push(`${path}: expected true or false`);
    return false;
  }
  return value;
}

function mapError(problems: string[]): PgcloakError {
  return new PgcloakError('MAP_INVALID', `the migration map has ${problems.length} problem(s):\n  ${problems.join('\n  ')}`);
}

/** Where one table of the masked dump went. */
export interface MappedTable {
  /** The masked dump's table (qualifiedKey). */
  source: string;
  target: QualifiedName;
  skip: boolean;
  /** The new name of a column of the masked dump, or how it is converted, or that it is gone. */
  column(name: string): ColumnMapping;
}

/**
 * Where a table of the masked dump went. A partition without an entry of its own takes
 * the column mapping (not the rename, nor the skip) of the entry of the table its rule
 * names: partitions share their parent's columns but keep their own names.
 */
export function mapTable(map: MigrationMap, table: string, ruleTable: string | undefined): MappedTable {
  const own = map.tables.get(table);
  const inherited = own ?? (ruleTable !== undefined ? map.tables.get(ruleTable) : undefined);
  const qname = parseQualifiedName(table) ?? { schema: 'public', name: table };
  return {
    source: table,
    target: own?.target ?? qname,
    skip: own?.skip ?? inherited?.skip === true,
    column(name: string): ColumnMapping {
      return inherited?.columns.get(name) ?? { target: name, using: undefined, skip: false, path: '' };
    },
  };
}

/** Map entries that name no table of the vault, and column entries that name no key or masked column. */
export function unusedMapEntries(map: MigrationMap, tables: ReadonlyArray<{ table: string; ruleTable: string | undefined; columns: readonly string[] }>): string[] {
  const out: string[] = [];
  for (const entry of map.tables.values()) {
    const users = tables.filter((t) => t.table === entry.key || t.ruleTable === entry.key);
    if (users.length === 0) {
      out.push(`${entry.path}: no table of that name in the vault`);
      continue;
    }
    for (const [column, mapping] of entry.columns) {
      if (!users.some((t) => t.columns.includes(column))) out.push(`${mapping.path}: neither a key nor a masked column of ${entry.key} in the vault`);
    }
  }
  return out;
}
