// The keys a dump declares, for drafting rules that restore: primary keys (a rule's row
// key), foreign keys (a masked value there would break the reference) and unique
// constraints and indexes (a constant placeholder there would break them). pg_dump writes
// them after the data, as ALTER TABLE ... ADD CONSTRAINT and CREATE UNIQUE INDEX; a
// hand-written script may put them in its CREATE TABLE.
// https://www.postgresql.org/docs/current/ddl-constraints.html

import { parseSync } from 'libpg-query';
import type { Constraint, Node, RangeVar } from 'libpg-query';
import { qualifiedKey } from '../schema/names.js';

export interface TableKeys {
  primaryKey?: string[];
  /** Columns that reference another table, or that another table references. */
  foreign: Set<string>;
  /** Columns in some unique constraint or unique index (primary key included). */
  unique: Set<string>;
}

const MAYBE_KEYS = /^\s*(?:ALTER\s+TABLE\b[\s\S]*\b(?:PRIMARY|FOREIGN|UNIQUE|REFERENCES)\b|CREATE\s+UNIQUE\s+INDEX\b|CREATE\s+(?:UNLOGGED\s+)?TABLE\b[\s\S]*\b(?:PRIMARY|UNIQUE|REFERENCES)\b)/i;

export class KeyCatalog {
  readonly tables = new Map<string, TableKeys>();
  /** Foreign keys naming the referenced table's primary key implicitly: resolved at the end. */
  private readonly implicitTargets: string[] = [];

  /** Learns the keys a statement declares, if any. `defaultSchema` qualifies bare names. */
  learn(text: string, defaultSchema: string): void {
    if (!MAYBE_KEYS.test(text)) return;
    let stmts: Node[];
    try {
      stmts = (parseSync(text).stmts ?? []).map((s) => s.stmt).filter((s): s is Node => s !== undefined);
    } catch {
      return; // the catalog reports statements PostgreSQL rejects
    }
    const key = (rel: RangeVar): string => qualifiedKey({ schema: rel.schemaname ?? defaultSchema, name: rel.relname ?? '' });
    for (const stmt of stmts) {
      if ('AlterTableStmt' in stmt && stmt.AlterTableStmt.relation) {
        const table = key(stmt.AlterTableStmt.relation);
        for (const cmd of stmt.AlterTableStmt.cmds ?? []) {
          if ('AlterTableCmd' in cmd && cmd.AlterTableCmd.def && 'Constraint' in cmd.AlterTableCmd.def) {
            this.constraint(table, cmd.AlterTableCmd.def.Constraint, undefined, key);
          }
        }
      } else if ('IndexStmt' in stmt && stmt.IndexStmt.unique && stmt.IndexStmt.relation) {
        const t = this.keys(key(stmt.IndexStmt.relation));
        for (const p of stmt.IndexStmt.indexParams ?? []) if ('IndexElem' in p && p.IndexElem.name) t.unique.add(p.IndexElem.name);
      } else if ('CreateStmt' in stmt && stmt.CreateStmt.relation) {
        const table = key(stmt.CreateStmt.relation);
        for (const elt of stmt.CreateStmt.tableElts ?? []) {
          if ('Constraint' in elt) this.constraint(table, elt.Constraint, undefined, key);
          else if ('ColumnDef' in elt && elt.ColumnDef.colname) {
            for (const c of elt.ColumnDef.constraints ?? []) if ('Constraint' in c) this.constraint(table, c.Constraint, elt.ColumnDef.colname, key);
          }
        }
      }
    }
  }

  private keys(table: string): TableKeys {
    let t = this.tables.get(table);
    if (!t) {
      t = { foreign: new Set(), unique: new Set() };
      this.tables.set(table, t);
    }
    return t;
  }

  private constraint(table: string, c: Constraint, column: string | undefined, key: (rel: RangeVar) => string): void {
    const t = this.keys(table);
    const columns = column !== undefined ? [column] : names(c.keys);
    switch (c.contype) {
      case 'CONSTR_PRIMARY':
        t.primaryKey = columns;
        for (const k of columns) t.unique.add(k);
        break;
      case 'CONSTR_UNIQUE':
        for (const k of columns) t.unique.add(k);
        break;
      case 'CONSTR_FOREIGN': {
        for (const k of column !== undefined ? [column] : names(c.fk_attrs)) t.foreign.add(k);
        if (!c.pktable) break;
        const target = key(c.pktable);
        const referenced = names(c.pk_attrs);
        if (referenced.length === 0) this.implicitTargets.push(target);
        for (const k of referenced) this.keys(target).foreign.add(k);
        break;
      }
      default:
        break;
    }
  }

  /** Keys of a table once the whole dump has been read. */
  get(table: string): TableKeys {
    for (const target of this.implicitTargets.splice(0)) {
      const t = this.keys(target);
      for (const k of t.primaryKey ?? []) t.foreign.add(k);
    }
    return this.tables.get(table) ?? { foreign: new Set(), unique: new Set() };
  }
}

function names(nodes: Node[] | undefined): string[] {
  return (nodes ?? []).map((n) => ('String' in n ? (n.String.sval ?? '') : '')).filter((s) => s !== '');
}
