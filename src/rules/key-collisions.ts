// Keys the rules break: a rule that writes the same value in every row (a constant
// placeholder, `null`, `constant`, `empty`) into a column of a primary key, unique constraint,
// unique index or exclusion constraint, directly or through a generated column or an index
// expression computed from it, makes a dump that does not restore; so does a masked value
// that a foreign key no longer finds. Decided from what the dump declares (schema/declared-keys.ts)
// and what each strategy's output keeps (StrategyDefinition.distinctness), with row counts:
// no value is looked at. pg_dump writes the keys after the data, so mask decides at the end
// of the run; inspect --rules decides the same before masking.
//
// The rule for a key (a unique one: primary key, unique constraint or index, exclusion):
//   - Each element of the key is, after masking, unchanged, a one-to-one function of some
//     original columns (`value`: of itself; `row`: of the row key, unique per row; `columns`:
//     of the columns a template names), the same in every row (`same`), or NULL.
//   - NULL: a primary key refuses it (`contains null values`). A unique key with NULLs
//     distinct (the default) never finds two such rows equal, so it cannot collide at all;
//     under NULLS NOT DISTINCT a NULL counts as one more repeated value.
//   - The masked key is then a one-to-one function of D, the original columns its non-repeated
//     elements come from. Two rows collide exactly when they agree on D. So it is safe when D
//     holds the row key (`row`), the key's own columns (every element unchanged or masked one
//     to one), or the columns of another declared key that is known unique (the primary key,
//     or a unique key over NOT NULL columns, or NULLS NOT DISTINCT, not partial).
//   - D empty (every element repeated): every row has the same key; a collision as soon as
//     the table has two rows.
//   - Otherwise (a multi-column key whose masked columns all became constant while the rest
//     are unchanged) there is a collision exactly when two rows share D, the rest: none when
//     the rest still tells every row apart, as pagila's rental index (rental_date,
//     inventory_id, customer_id) with rental_date made constant does, since no customer rents
//     one copy twice; one as soon as a tenant has two users in a key (tenant_id, email) with
//     email made constant. The schema cannot settle which, and masking keeps no values to
//     count (its memory stays flat, and pg_dump declares the keys only after the data), so
//     this is not the certain error: it is a warning that names its condition ("rows that
//     share (inventory_id, customer_id)"), and --strict does not refuse it. Unreported when
//     the rest provably differs (above).
//   - A generated column or an index expression over masked columns: repeated when every
//     column it reads is repeated (an immutable expression of constants is a constant);
//     otherwise it is taken to tell rows apart as before (lower() of a pseudonym still does;
//     flagging every expression would be noise).
// A foreign key (MATCH SIMPLE, pg_dump's default): a row with a NULL in it is not checked, so
// `null` on the referencing side never breaks it. Otherwise each referencing column must be
// masked the way its referenced column is: both unchanged, both by one one-to-one function
// (pseudonym or hash in one domain, one length), or both the same constant. A key whose
// referenced key itself collides is reported with that key (the foreign key then fails for
// want of a unique constraint), not again.

import type { SchemaCatalog } from '../schema/catalog.js';
import { elementName, type DeclaredForeignKey, type DeclaredKey, type DeclaredKeys, type KeyElement, type KeyKind } from '../schema/declared-keys.js';
import { parseQualifiedName, quoteIdent } from '../schema/names.js';
import type { Distinctness } from '../strategies/strategy.js';
import type { RuleSet, TableRule } from './rules-file.js';

export interface KeyCollisionInput {
  keys: DeclaredKeys;
  catalog: SchemaCatalog;
  rules: RuleSet;
  /** The rows of a table's own data; undefined when they were not counted (taken as some). */
  rows(table: string): number | undefined;
}

/** A rule that changes a key: the rules-file path of its column, and what it writes. */
export interface KeyCause {
  path: string;
  strategy: string;
  column: string;
  /** "writes 1 in every row", "writes NULL", "writes a pseudonym". */
  writes: string;
}

export interface KeyCollision {
  /** duplicate: rows share the key; null: NULL in a primary key; reference: a foreign key finds no row. */
  kind: 'duplicate' | 'null' | 'reference';
  table: string;
  constraint: string;
  constraintKind: KeyKind | 'foreign key';
  columns: string[];
  causes: KeyCause[];
  /** How the masked key comes to repeat or to miss, in words ("y is generated from x"). */
  how: string[];
  /**
   * Set when it happens only under a condition the dump's schema cannot settle (rows that
   * share the rest of the key; a constant the referenced table may hold): a warning, never
   * the --strict error. Unset: it happens whatever the data.
   */
  condition?: string;
  /** The error PostgreSQL gives when the masked dump is restored. */
  error: string;
  /** The table's rows (with its partitions'), when counted. */
  rows?: number;
  /** A column of the key may be NULL: rows with a NULL in it never collide (NULLS DISTINCT). */
  nullable?: true;
  /** Foreign keys that reference this key: they fail next, for want of it. */
  dependents: { table: string; constraint: string; error: string }[];
}

/**
 * Stands for the row key in the columns a masked key comes from: taken as unique per row, as
 * it is when it is the row's position, its id or its primary key (and as unmask assumes when
 * it matches rows by it).
 */
const ROW = '\0row';

/** What masking makes of one key element. */
type ElementFate =
  | { kind: 'unchanged' }
  /**
   * One to one from the original columns `from` (or ROW): `by` the value alone (a function
   * named `fn`), the row key, the columns a template names, or what is left of the columns
   * an expression reads once some are repeated.
   */
  | { kind: 'distinct'; from: readonly string[]; by: 'value' | 'row' | 'columns' | 'expression'; fn?: string }
  /** Computed from columns masked one to one (a generated column, an expression): taken to differ as before. */
  | { kind: 'recomputed' }
  | { kind: 'same'; value: string | null | undefined; what: string }
  | { kind: 'null' };

interface Fate {
  fate: ElementFate;
  causes: KeyCause[];
  how: string[];
}

const UNCHANGED: Fate = { fate: { kind: 'unchanged' }, causes: [], how: [] };

export function findKeyCollisions(input: KeyCollisionInput): KeyCollision[] {
  return new KeyCheck(input).run();
}

class KeyCheck {
  private readonly input: KeyCollisionInput;
  /** Partitions (and their partitions) of each partitioned table. */
  private readonly descendants = new Map<string, string[]>();

  constructor(input: KeyCollisionInput) {
    this.input = input;
    for (const key of input.catalog.tables.keys()) {
      for (const a of input.catalog.ancestors(key)) this.descendants.set(a, [...(this.descendants.get(a) ?? []), key]);
    }
  }

  run(): KeyCollision[] {
    const found: KeyCollision[] = [];
    const byKey = new Map<DeclaredKey, KeyCollision>();
    for (const key of this.input.keys.keys) {
      const c = this.checkKey(key);
      if (!c) continue;
      found.push(c);
      byKey.set(key, c);
    }
    for (const fk of this.input.keys.foreignKeys) {
      const referenced = this.referencedKey(fk);
      const broken = referenced && byKey.get(referenced);
      if (broken) {
        broken.dependents.push({
          table: fk.table,
          constraint: fk.name,
          error: `there is no unique constraint matching given keys for referenced table "${relname(fk.target)}"`,
        });
        continue;
      }
      const c = this.checkReference(fk);
      if (c) found.push(c);
    }
    return found;
  }

  // ---- unique keys ----------------------------------------------------------

  private checkKey(key: DeclaredKey): KeyCollision | undefined {
    // Keys added to a partitioned table with ONLY hold no rows themselves: its partitions' keys do.
    if (key.only && this.descendants.has(key.table)) return undefined;
    const fates = key.elements.map((e) => this.elementFate(key.table, e));
    if (fates.every((f) => f.causes.length === 0)) return undefined;
    const rows = this.rowsOf(key.table, !key.only);
    const base = {
      table: key.table,
      constraint: key.name,
      constraintKind: key.kind,
      columns: key.elements.map(elementName),
      causes: fates.flatMap((f) => f.causes),
      how: fates.flatMap((f) => f.how),
      ...(rows !== undefined ? { rows } : {}),
      dependents: [],
    };
    const nullAt = fates.findIndex((f) => f.fate.kind === 'null');
    if (nullAt !== -1) {
      if (key.kind === 'primary key') {
        if (rows === 0) return undefined;
        const column = base.columns[nullAt]!;
        const error = key.inCreateTable
          ? `null value in column "${column}" of relation "${relname(key.table)}" violates not-null constraint`
          : `column "${column}" of relation "${relname(key.table)}" contains null values`;
        return { kind: 'null', ...base, error };
      }
      // NULLs distinct (the default): no two rows with a NULL in the key are ever equal.
      if (!key.nullsNotDistinct) return undefined;
    }
    if (rows !== undefined && rows < 2) return undefined;
    const from = new Set<string>();
    for (let i = 0; i < fates.length; i++) {
      const f = fates[i]!.fate;
      if (f.kind === 'unchanged' || f.kind === 'recomputed') from.add(base.columns[i]!);
      else if (f.kind === 'distinct') for (const c of f.from) from.add(c);
    }
    if (from.has(ROW) || this.knownUnique(key, from)) return undefined;
    const error = duplicateError(key);
    const table = this.input.catalog.tables.get(key.table);
    const nullable = key.kind !== 'primary key' && !key.nullsNotDistinct && key.elements.some((e) => !('column' in e) || table?.columns.find((c) => c.name === e.column)?.notNull !== true);
    if (from.size === 0) return { kind: 'duplicate', ...base, ...(nullable ? { nullable: true as const } : {}), error };
    const shared = [...from].map(quoteIdent).join(', ');
    return { kind: 'duplicate', ...base, condition: `rows that share (${shared}) get the same key, and the schema does not say that no two rows do`, error };
  }

  /** Whether rows that differ on the columns `from` are known to differ: the key's own columns, or another key known unique. */
  private knownUnique(key: DeclaredKey, from: ReadonlySet<string>): boolean {
    const covers = (k: DeclaredKey): boolean => k.elements.every((e) => from.has(elementName(e)));
    if (covers(key)) return true;
    const table = this.input.catalog.tables.get(key.table);
    const notNull = (c: string): boolean => table?.columns.find((x) => x.name === c)?.notNull === true;
    return this.input.keys.keysOf(key.table).some(
      (k) =>
        k !== key &&
        k.kind !== 'exclusion constraint' &&
        !k.partial &&
        (k.kind === 'primary key' || k.nullsNotDistinct || k.elements.every((e) => 'column' in e && notNull(e.column))) &&
        covers(k),
    );
  }

  // ---- foreign keys ---------------------------------------------------------

  /** The unique key a foreign key stands on: the referenced columns' primary key or unique key. */
  private referencedKey(fk: DeclaredForeignKey): DeclaredKey | undefined {
    const columns = this.input.keys.referencedColumns(fk);
    const same = (k: DeclaredKey): boolean =>
      k.elements.length === columns.length && k.elements.every((e) => 'column' in e && columns.includes(e.column));
    return this.input.keys.keysOf(fk.target).find((k) => k.kind !== 'exclusion constraint' && !k.partial && same(k));
  }

  private checkReference(fk: DeclaredForeignKey): KeyCollision | undefined {
    const targets = this.input.keys.referencedColumns(fk);
    if (targets.length !== fk.columns.length) return undefined;
    const from = fk.columns.map((c) => this.elementFate(fk.table, { column: c }));
    const to = targets.map((c) => this.elementFate(fk.target, { column: c }));
    if ([...from, ...to].every((f) => f.causes.length === 0)) return undefined;
    // MATCH SIMPLE: a row with a NULL in the foreign key is not checked.
    if (from.some((f) => f.fate.kind === 'null')) return undefined;
    const rows = this.rowsOf(fk.table, true);
    if (rows === 0) return undefined;
    const how: string[] = [];
    let condition: string | undefined;
    for (let i = 0; i < from.length; i++) {
      const r = from[i]!.fate;
      const t = to[i]!.fate;
      const verdict = matches(r, t);
      if (verdict === 'match') continue;
      const column = quoteIdent(fk.columns[i]!);
      const target = `${fk.target}.${quoteIdent(targets[i]!)}`;
      if (verdict === 'unless-present') {
        condition =
          r.kind === 'same' ? `every ${column} becomes ${r.what}, which ${target} may not hold` : `every ${target} becomes ${t.kind === 'same' ? t.what : 'one value'}, which ${column} may not hold`;
      } else {
        how.push(`${column} ${describeFate(r)}, ${target} ${describeFate(t)}`);
      }
    }
    if (how.length === 0 && condition === undefined) return undefined;
    // A certain mismatch beside a conditional one: certain.
    if (how.length > 0) condition = undefined;
    return {
      kind: 'reference',
      table: fk.table,
      constraint: fk.name,
      constraintKind: 'foreign key',
      columns: fk.columns,
      causes: [...from, ...to].flatMap((f) => f.causes),
      how,
      ...(condition !== undefined ? { condition } : {}),
      error: `insert or update on table "${relname(fk.table)}" violates foreign key constraint "${fk.name}"`,
      ...(rows !== undefined ? { rows } : {}),
      dependents: [],
    };
  }

  // ---- what masking makes of a column ----------------------------------------

  private elementFate(table: string, element: KeyElement): Fate {
    if ('column' in element) return this.columnFate(table, element.column, true);
    return this.computedFate(table, element.reads, `${element.expression} reads`);
  }

  /**
   * A generated column or an index expression, from the columns it reads: the same in every
   * row when they all are (an immutable expression of constants); taken to differ as before
   * when none is repeated; else a function of those left.
   */
  private computedFate(table: string, reads: readonly string[], what: string): Fate {
    const inputs = reads.map((c) => this.columnFate(table, c, false));
    const causes = inputs.flatMap((f) => f.causes);
    if (causes.length === 0) return UNCHANGED;
    const how = [`${what} ${reads.map(quoteIdent).join(', ')}`, ...inputs.flatMap((f) => f.how)];
    const repeated = (f: Fate): boolean => f.fate.kind === 'same' || f.fate.kind === 'null';
    if (inputs.every(repeated)) return { fate: { kind: 'same', value: undefined, what: 'one value' }, causes, how };
    if (!inputs.some(repeated)) return { fate: { kind: 'recomputed' }, causes, how };
    const from = new Set<string>();
    inputs.forEach((f, i) => {
      if (f.fate.kind === 'unchanged') from.add(reads[i]!);
      else if (f.fate.kind === 'distinct') for (const c of f.fate.from) from.add(c);
    });
    return { fate: { kind: 'distinct', from: [...from], by: 'expression' }, causes, how };
  }

  private columnFate(table: string, column: string, followGenerated: boolean): Fate {
    const reads = followGenerated ? this.generatedFrom(table, column) : undefined;
    if (reads !== undefined) return this.computedFate(table, reads, `${quoteIdent(column)} is generated from`);
    const rule = this.ruleFor(table);
    const colRule = rule?.columns.get(column);
    if (!colRule || colRule.strategy.name === 'keep') return UNCHANGED;
    const info = this.input.catalog.tables.get(table)?.columns.find((c) => c.name === column);
    if (!info) return UNCHANGED;
    const d = colRule.strategy.distinctness(this.input.catalog.resolveType(info.type), colRule.params);
    // A strategy that cannot take the type: masking refuses the rule before any data.
    if (d === undefined || d.kind === 'kept') return UNCHANGED;
    const cause = (writes: string): KeyCause[] => [{ path: colRule.path, strategy: colRule.strategy.name, column, writes }];
    return { fate: fateOf(d, column), causes: cause(writesOf(d)), how: [] };
  }

  /** The columns a generated column is computed from (declared on it or on a partition ancestor). */
  private generatedFrom(table: string, column: string): string[] | undefined {
    for (const t of [table, ...this.input.catalog.ancestors(table)]) {
      const reads = this.input.keys.generatedFrom(t, column);
      if (reads !== undefined) return reads;
    }
    return undefined;
  }

  private ruleFor(table: string): TableRule | undefined {
    const rules = this.input.rules.tables;
    return rules.get(table) ?? this.input.catalog.ancestors(table).map((a) => rules.get(a)).find((r) => r !== undefined);
  }

  /** Rows of a table, and of its partitions when `withPartitions`; undefined when some were not counted. */
  private rowsOf(table: string, withPartitions: boolean): number | undefined {
    const partitions = withPartitions ? (this.descendants.get(table) ?? []) : [];
    let total = 0;
    for (const t of [table, ...partitions]) {
      const n = this.input.rows(t);
      // A partitioned table has no rows of its own: its partitions hold them.
      if (n === undefined && this.descendants.has(t)) continue;
      if (n === undefined) return undefined;
      total += n;
    }
    return total;
  }
}

function fateOf(d: Exclude<Distinctness, { kind: 'kept' }>, column: string): ElementFate {
  switch (d.kind) {
    case 'value':
      return { kind: 'distinct', from: [column], by: 'value', fn: d.fn };
    case 'row':
      return { kind: 'distinct', from: [ROW], by: 'row' };
    case 'columns':
      return { kind: 'distinct', from: d.columns, by: 'columns' };
    case 'same':
      return d.value === null ? { kind: 'null' } : { kind: 'same', value: d.value, what: d.what };
  }
}

function writesOf(d: Exclude<Distinctness, { kind: 'kept' }>): string {
  switch (d.kind) {
    case 'value':
      return 'writes a value made from the original alone';
    case 'row':
      return 'writes a value made from the row key';
    case 'columns':
      return `writes a value made from ${d.columns.map(quoteIdent).join(', ')}`;
    case 'same':
      return d.value === null ? 'writes NULL in every row' : `writes ${d.what} in every row`;
  }
}

function describeFate(f: ElementFate): string {
  switch (f.kind) {
    case 'unchanged':
      return 'keeps its values';
    case 'distinct':
      return f.by === 'value' ? `becomes a ${f.fn?.split(' ')[0] ?? 'masked value'}` : f.by === 'row' ? 'becomes a value made from its row key' : 'becomes a value made from other columns';
    case 'recomputed':
      return 'is computed from masked columns';
    case 'same':
      return `becomes ${f.what}`;
    case 'null':
      return 'becomes NULL';
  }
}

/** Whether a referencing value masked as `r` still finds its referenced value masked as `t`. */
function matches(r: ElementFate, t: ElementFate): 'match' | 'unless-present' | 'mismatch' {
  if (r.kind === 'unchanged' && t.kind === 'unchanged') return 'match';
  // Computed from masked columns, or made from other columns: how their values line up is not judged.
  const unjudged = (f: ElementFate): boolean => f.kind === 'recomputed' || (f.kind === 'distinct' && (f.by === 'columns' || f.by === 'expression'));
  if (unjudged(r) || unjudged(t)) return 'match';
  if (r.kind === 'distinct' && t.kind === 'distinct' && r.by === 'value' && r.fn === t.fn) return 'match';
  if (r.kind === 'same' && t.kind === 'same' && r.value !== undefined && r.value === t.value) return 'match';
  // One constant against values kept: it finds its row if those happen to hold it.
  if (r.kind === 'same' && r.value !== undefined && t.kind === 'unchanged') return 'unless-present';
  if (r.kind === 'unchanged' && t.kind === 'same') return 'unless-present';
  return 'mismatch';
}

/** The error a restore gives when rows share a key. */
function duplicateError(key: DeclaredKey): string {
  if (key.kind === 'exclusion constraint') {
    return key.inCreateTable ? `conflicting key value violates exclusion constraint "${key.name}"` : `could not create exclusion constraint "${key.name}"`;
  }
  return key.inCreateTable ? `duplicate key value violates unique constraint "${key.name}"` : `could not create unique index "${key.name}"`;
}

/** A table's own name, as PostgreSQL's messages give it. */
function relname(table: string): string {
  return parseQualifiedName(table)?.name ?? table;
}

/** One line for the summary: where, what breaks, why, and the error a restore will give. */
export function formatKeyCollision(c: KeyCollision): string {
  const key = `${c.table}: ${c.constraintKind} ${c.constraint} (${c.columns.map(quoteIdent).join(', ')})`;
  const why = [...c.how, ...c.causes.map((x) => `${x.path}: ${x.strategy} ${x.writes}`)].join('; ');
  const then = c.dependents.map((d) => `, then ${d.table} foreign key ${d.constraint} with '${d.error}'`).join('');
  if (c.condition !== undefined) {
    const what = c.kind === 'reference' ? 'may no longer find the rows it references' : 'may repeat';
    return `${key} ${what} once masked: ${c.condition} (${why}); if so, restoring the masked dump fails with '${c.error}'${then}`;
  }
  const rows = c.nullable ? `every row that has one${c.rows !== undefined ? ` (of ${c.rows})` : ''}` : c.rows !== undefined ? `all ${c.rows} rows` : 'every row';
  const what = c.kind === 'null' ? 'gets NULL' : c.kind === 'reference' ? 'no longer finds the rows it references' : `gets the same value in ${rows}`;
  return `${key} ${what} once masked (${why}): restoring the masked dump fails with '${c.error}'${then}`;
}
