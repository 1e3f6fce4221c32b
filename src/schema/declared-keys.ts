// The keys a dump declares, with the names PostgreSQL reports them by: primary keys, unique
// constraints, unique indexes and exclusion constraints (whose rows must differ), foreign keys
// (whose values must match), and the stored generated columns a key may be computed from.
// pg_dump writes the keys after the data (its post-data section: ALTER TABLE ... ADD
// CONSTRAINT, CREATE UNIQUE INDEX); a hand-written script may put them in its CREATE TABLE.
// Read with PostgreSQL's own parser (libpg-query); a statement it rejects is left unknown
// (SchemaCatalog reports the ones that matter).
// https://www.postgresql.org/docs/current/ddl-constraints.html
// https://www.postgresql.org/docs/current/ddl-generated-columns.html

import { parseSync } from 'libpg-query';
import type { ColumnDef, Constraint, IndexElem, Node, RangeVar } from 'libpg-query';
import { walkNodes } from './catalog.js';
import { qualifiedKey } from './names.js';

export type KeyKind = 'primary key' | 'unique constraint' | 'unique index' | 'exclusion constraint';

/** One element of a key: a column, or an expression (`lower(email)`) with the columns it reads. */
export type KeyElement = { column: string } | { expression: string; reads: string[] };

export interface DeclaredKey {
  kind: KeyKind;
  /** The constraint's or index's name: as written, or as PostgreSQL names an unnamed one (`t_pkey`, `t_a_key`). */
  name: string;
  table: string;
  elements: KeyElement[];
  /** UNIQUE NULLS NOT DISTINCT (PostgreSQL 15): NULLs count as equal. */
  nullsNotDistinct: boolean;
  /** A unique index with a WHERE clause: only the rows it selects must differ. */
  partial: boolean;
  /**
   * Written before the table's data can come (in its CREATE TABLE): a restore then fails on
   * the rows (`duplicate key value violates ...`), not when the key is added after them.
   */
  inCreateTable: boolean;
  /**
   * Declared with ONLY on a table whose partitions hold the rows (pg_dump's `ALTER TABLE ONLY
   * parent`, `CREATE INDEX ... ON ONLY parent`): the partitions' own keys are checked instead.
   */
  only: boolean;
}

export interface DeclaredForeignKey {
  name: string;
  table: string;
  columns: string[];
  target: string;
  /** Empty: the target's primary key (REFERENCES t without a column list). */
  targetColumns: string[];
}

// Statements that may declare a key or a generated column; everything else is not parsed.
const MAYBE_KEYS =
  /^\s*(?:ALTER\s+TABLE\b[\s\S]*\b(?:PRIMARY|FOREIGN|UNIQUE|REFERENCES|EXCLUDE|GENERATED)\b|CREATE\s+UNIQUE\s+INDEX\b|CREATE\s+(?:(?:GLOBAL\s+|LOCAL\s+)?(?:TEMP|TEMPORARY)\s+|UNLOGGED\s+)?TABLE\b[\s\S]*\b(?:PRIMARY|UNIQUE|REFERENCES|EXCLUDE|GENERATED)\b)/i;

/** PostgreSQL's limit on identifiers (NAMEDATALEN - 1 bytes): longer default names are cut. */
const MAX_IDENTIFIER_BYTES = 63;

export class DeclaredKeys {
  readonly keys: DeclaredKey[] = [];
  /** The same by table: a schema of thousands of tables is looked up per key and per foreign key. */
  private readonly byTable = new Map<string, DeclaredKey[]>();
  readonly foreignKeys: DeclaredForeignKey[] = [];
  /** Per table: its generated columns and the columns their expressions read. */
  readonly generated = new Map<string, Map<string, string[]>>();

  /** Learns the keys a statement declares, if any. `defaultSchema` qualifies bare names. */
  learn(text: string, defaultSchema: string): void {
    if (!MAYBE_KEYS.test(text)) return;
    let stmts: Node[];
    try {
      stmts = (parseSync(text).stmts ?? []).map((s) => s.stmt).filter((s): s is Node => s !== undefined);
    } catch {
      return;
    }
    const key = (rel: RangeVar): string => qualifiedKey({ schema: rel.schemaname ?? defaultSchema, name: rel.relname ?? '' });
    for (const stmt of stmts) {
      if ('AlterTableStmt' in stmt && stmt.AlterTableStmt.relation) {
        const rel = stmt.AlterTableStmt.relation;
        const table = key(rel);
        for (const cmd of stmt.AlterTableStmt.cmds ?? []) {
          if (!('AlterTableCmd' in cmd) || !cmd.AlterTableCmd.def) continue;
          const def = cmd.AlterTableCmd.def;
          if ('Constraint' in def) this.constraint(table, rel, def.Constraint, undefined, false, key);
          else if ('ColumnDef' in def) this.column(table, rel, def.ColumnDef, false, key);
        }
      } else if ('IndexStmt' in stmt && stmt.IndexStmt.unique && stmt.IndexStmt.relation) {
        const i = stmt.IndexStmt;
        const rel = i.relation!;
        const elements = indexElements(i.indexParams);
        this.add({
          kind: 'unique index',
          // PostgreSQL's default: table_columns_idx (ChooseIndexName).
          name: i.idxname ?? defaultName(rel.relname ?? '', elements.map(elementName), 'idx'),
          table: key(rel),
          elements,
          nullsNotDistinct: i.nulls_not_distinct === true,
          partial: i.whereClause !== undefined,
          inCreateTable: false,
          only: rel.inh !== true, // the parser leaves inh out for ONLY
        });
      } else if ('CreateStmt' in stmt && stmt.CreateStmt.relation) {
        const rel = stmt.CreateStmt.relation;
        const table = key(rel);
        for (const elt of stmt.CreateStmt.tableElts ?? []) {
          if ('Constraint' in elt) this.constraint(table, rel, elt.Constraint, undefined, true, key);
          else if ('ColumnDef' in elt) this.column(table, rel, elt.ColumnDef, true, key);
        }
      }
    }
  }

  /** A column definition: its generated expression and its column constraints. */
  private column(table: string, rel: RangeVar, def: ColumnDef, inCreateTable: boolean, key: (rel: RangeVar) => string): void {
    const name = def.colname;
    if (!name) return;
    for (const c of def.constraints ?? []) {
      if (!('Constraint' in c)) continue;
      if (c.Constraint.contype === 'CONSTR_GENERATED') {
        let columns = this.generated.get(table);
        if (!columns) {
          columns = new Map();
          this.generated.set(table, columns);
        }
        columns.set(name, columnsRead(c.Constraint.raw_expr));
      } else {
        this.constraint(table, rel, c.Constraint, name, inCreateTable, key);
      }
    }
  }

  private constraint(table: string, rel: RangeVar, c: Constraint, column: string | undefined, inCreateTable: boolean, key: (rel: RangeVar) => string): void {
    const relname = rel.relname ?? '';
    const only = rel.inh !== true; // the parser leaves inh out for ONLY
    const columns = column !== undefined ? [column] : names(c.keys);
    const common = { table, nullsNotDistinct: c.nulls_not_distinct === true, partial: false, inCreateTable, only };
    switch (c.contype) {
      case 'CONSTR_PRIMARY':
        // PostgreSQL's defaults (ChooseConstraintName): t_pkey, t_a_b_key, t_a_fkey.
        this.add({ kind: 'primary key', name: c.conname ?? defaultName(relname, [], 'pkey'), elements: columns.map((k) => ({ column: k })), ...common });
        break;
      case 'CONSTR_UNIQUE':
        if (c.indexname !== undefined) break; // UNIQUE USING INDEX: the index's own columns, declared before
        this.add({ kind: 'unique constraint', name: c.conname ?? defaultName(relname, columns, 'key'), elements: columns.map((k) => ({ column: k })), ...common });
        break;
      case 'CONSTR_EXCLUSION': {
        const elements = indexElements((c.exclusions ?? []).map((e) => ('List' in e ? e.List.items?.[0] : undefined)).filter((n): n is Node => n !== undefined));
        this.add({ kind: 'exclusion constraint', name: c.conname ?? defaultName(relname, elements.map(elementName), 'excl'), elements, ...common, partial: c.where_clause !== undefined });
        break;
      }
      case 'CONSTR_FOREIGN': {
        if (!c.pktable) break;
        const from = column !== undefined ? [column] : names(c.fk_attrs);
        this.foreignKeys.push({ name: c.conname ?? defaultName(relname, from, 'fkey'), table, columns: from, target: key(c.pktable), targetColumns: names(c.pk_attrs) });
        break;
      }
      default:
        break;
    }
  }

  private add(key: DeclaredKey): void {
    this.keys.push(key);
    const list = this.byTable.get(key.table);
    if (list) list.push(key);
    else this.byTable.set(key.table, [key]);
  }

  /** The keys declared on a table. */
  keysOf(table: string): readonly DeclaredKey[] {
    return this.byTable.get(table) ?? [];
  }

  /** The columns a generated column of `table` is computed from, if it is one. */
  generatedFrom(table: string, column: string): string[] | undefined {
    return this.generated.get(table)?.get(column);
  }

  /** The columns a foreign key references: its own list, or the target's primary key. */
  referencedColumns(fk: DeclaredForeignKey): string[] {
    if (fk.targetColumns.length > 0) return fk.targetColumns;
    const pk = this.keysOf(fk.target).find((k) => k.kind === 'primary key');
    return pk ? pk.elements.map(elementName) : [];
  }
}

/** The column a key element is, or the text of its expression. */
export function elementName(e: KeyElement): string {
  return 'column' in e ? e.column : e.expression;
}

function indexElements(params: Node[] | undefined): KeyElement[] {
  const out: KeyElement[] = [];
  for (const p of params ?? []) {
    if (!('IndexElem' in p)) continue;
    const e: IndexElem = p.IndexElem;
    if (e.name !== undefined) out.push({ column: e.name });
    else if (e.expr !== undefined) {
      const reads = columnsRead(e.expr);
      out.push({ expression: `(${e.indexcolname ?? expressionLabel(e.expr, reads)})`, reads });
    }
  }
  return out;
}

/** A short label for an index expression in messages: its function and the columns it reads. */
function expressionLabel(expr: Node, reads: string[]): string {
  const call = 'FuncCall' in expr ? names(expr.FuncCall.funcname).pop() : undefined;
  return call !== undefined ? `${call}(${reads.join(', ')})` : `expression of ${reads.join(', ') || 'no column'}`;
}

/** The columns an expression reads (its column references, by their last name part). */
function columnsRead(expr: Node | undefined): string[] {
  const out = new Set<string>();
  walkNodes(expr, (key, value) => {
    if (key !== 'ColumnRef') return;
    const last = names((value as { fields?: Node[] }).fields).pop();
    if (last !== undefined) out.add(last);
  });
  return [...out];
}

/**
 * The name PostgreSQL gives an unnamed key (ChooseConstraintName, ChooseIndexName):
 * `table_col1_col2_suffix`, the table and column parts shortened in turn, the longer first,
 * until it fits in 63 bytes (makeObjectName). A name already taken would get a number added,
 * which this does not know.
 */
function defaultName(table: string, columns: string[], suffix: string): string {
  const part1 = Buffer.from(table);
  const part2 = columns.length > 0 ? Buffer.from(columns.join('_')).subarray(0, MAX_IDENTIFIER_BYTES) : undefined;
  const available = MAX_IDENTIFIER_BYTES - suffix.length - 1 - (part2 ? 1 : 0);
  let n1 = part1.length;
  let n2 = part2?.length ?? 0;
  while (n1 + n2 > available) {
    if (n1 > n2) n1--;
    else n2--;
  }
  const parts = [clip(part1, n1), ...(part2 ? [clip(part2, n2)] : []), suffix];
  return parts.join('_');
}

/** The first `n` bytes of UTF-8 text, less any character they would cut (pg_mbcliplen). */
function clip(text: Buffer, n: number): string {
  let end = n;
  // A continuation byte (10xxxxxx) at the cut: back to the start of its character.
  if (end < text.length) while (end > 0 && (text[end]! & 0xc0) === 0x80) end--;
  return text.subarray(0, end).toString('utf8');
}

function names(nodes: Node[] | undefined): string[] {
  return (nodes ?? []).map((n) => ('String' in n ? (n.String.sval ?? '') : '')).filter((s) => s !== '');
}
