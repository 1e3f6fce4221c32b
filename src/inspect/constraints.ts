// The keys a dump declares, per table, for drafting rules that restore: primary keys (a rule's
// row key), foreign keys (a masked value there would break the reference) and unique
// constraints and indexes (a constant placeholder there would break them). A view of what
// schema/declared-keys.ts learns from the DDL, which mask's key check reads too.
// https://www.postgresql.org/docs/current/ddl-constraints.html

import { DeclaredKeys } from '../schema/declared-keys.js';

export interface TableKeys {
  primaryKey?: string[];
  /** Columns that reference another table, or that another table references. */
  foreign: Set<string>;
  /** Columns in some unique constraint or unique index (primary key included). */
  unique: Set<string>;
}

export class KeyCatalog {
  readonly declared = new DeclaredKeys();

  /** Learns the keys a statement declares, if any. `defaultSchema` qualifies bare names. */
  learn(text: string, defaultSchema: string): void {
    this.declared.learn(text, defaultSchema);
  }

  /** Keys of a table once the whole dump has been read. */
  get(table: string): TableKeys {
    const keys: TableKeys = { foreign: new Set(), unique: new Set() };
    for (const k of this.declared.keysOf(table)) {
      if (k.kind === 'exclusion constraint') continue;
      const columns = k.elements.flatMap((e) => ('column' in e ? [e.column] : []));
      if (k.kind === 'primary key') keys.primaryKey = columns;
      for (const c of columns) keys.unique.add(c);
    }
    for (const fk of this.declared.foreignKeys) {
      if (fk.table === table) for (const c of fk.columns) keys.foreign.add(c);
      if (fk.target === table) for (const c of this.declared.referencedColumns(fk)) keys.foreign.add(c);
    }
    return keys;
  }
}
