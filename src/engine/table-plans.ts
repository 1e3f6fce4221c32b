// Rules meet the dump's schema. As each CREATE TABLE streams by, the rules naming that
// table are checked against its columns (unknown column: warning; impossible strategy:
// error, before any of its data). At each COPY, the plan says which fields of a row
// to mask, how, and which fields make the row key. A rule on a partitioned table
// applies to every partition, whatever schema the partition lives in.

import { PgcloakError, type SourcePosition } from '../errors.js';
import type { CopyTarget, SchemaCatalog, TableInfo } from '../schema/catalog.js';
import type { ResolvedType } from '../schema/types.js';
import type { RuleSet, TableRule } from '../rules/rules-file.js';
import { prepareMask, type ActiveMask, type MaskSpec } from './mask-spec.js';

export type { ActiveMask } from './mask-spec.js';

export interface PreparedColumn {
  name: string;
  strategy: string;
  type: ResolvedType;
  mask: ActiveMask;
  /** How the mask was made: a worker thread makes the same one from it. */
  spec: MaskSpec;
}

export interface MaskedField extends PreparedColumn {
  /** Position of the field in the COPY row. */
  index: number;
}

export interface TablePlan {
  /** Numbers the tables in the vault, in dump order. */
  index: number;
  /** The COPY's table (a partition, for partitioned rules). */
  table: string;
  /** The table the rule names. */
  ruleTable: string;
  columnNames: readonly string[];
  /** Field positions of the key columns; empty: rows are keyed by position. */
  keyIndexes: readonly number[];
  keyNames: readonly string[];
  /** Sorted by field position. */
  masked: readonly MaskedField[];
  /**
   * The vault keeps the xxx<row key> placeholders among a row's derived values (format 1,
   * when unmasking such a vault); otherwise readers make them from the key (keyTextColumns).
   */
  keyTextKept: boolean;
}

interface PreparedRule {
  rule: TableRule;
  columns: Map<string, PreparedColumn>;
}

/** What every plan of a run is made with. */
export interface PlannerOptions {
  /** The key of keyed strategies (pseudonym, hash), if the run has one. */
  secret?: Buffer | undefined;
  /** The pseudonym algorithm to mask with: the vault's when unmasking (undefined: the current one). */
  pseudonymVersion?: number | undefined;
  /** TablePlan.keyTextKept of every plan: the vault's records keep the xxx<key> values (format 1). */
  keyTextKept?: boolean | undefined;
}

export class TablePlanner {
  private readonly rules: RuleSet;
  private readonly catalog: SchemaCatalog;
  private readonly warn: (message: string) => void;
  private readonly prepared = new Map<string, PreparedRule>();
  private readonly missingColumns = new Map<string, string>();
  private readonly positionKeyWarned = new Set<string>();
  readonly plans: TablePlan[] = [];
  private readonly secret: Buffer | undefined;
  private readonly pseudonymVersion: number | undefined;
  private readonly keyTextKept: boolean;

  constructor(rules: RuleSet, catalog: SchemaCatalog, warn: (message: string) => void, options: PlannerOptions = {}) {
    this.rules = rules;
    this.catalog = catalog;
    this.warn = warn;
    this.secret = options.secret;
    this.pseudonymVersion = options.pseudonymVersion;
    this.keyTextKept = options.keyTextKept ?? false;
  }

  /** A CREATE TABLE was read: check the rule that names it, if any. */
  onTable(table: TableInfo): void {
    const rule = this.rules.tables.get(table.key);
    if (!rule) return;
    const columns = new Map<string, PreparedColumn>();
    const columnNames = table.columns.map((c) => c.name);
    const masked = [...rule.columns.values()].filter((c) => c.strategy.name !== 'keep').map((c) => c.column);
    for (const [name, colRule] of rule.columns) {
      const info = table.columns.find((c) => c.name === name);
      if (!info) {
        this.noSuchColumn(colRule.path);
        continue;
      }
      const type = this.catalog.resolveType(info.type);
      const spec: MaskSpec = {
        strategy: colRule.strategy.name,
        params: colRule.params,
        column: { table: table.key, column: name, type, notNull: info.notNull, path: colRule.path, columns: columnNames, masked, pseudonymVersion: this.pseudonymVersion },
      };
      const mask = prepareMask(spec, this.warn, this.secret);
      if (mask) columns.set(name, { name, strategy: colRule.strategy.name, type, mask, spec });
    }
    for (const k of rule.keyColumns ?? []) {
      if (!table.columns.some((c) => c.name === k)) {
        throw new PgcloakError('RULES_SCHEMA', `${rule.path}.key: no column ${JSON.stringify(k)} in the dump's ${table.key}`, {
          table: table.key,
          line: table.at.line,
        });
      }
    }
    this.prepared.set(table.key, { rule, columns });
  }

  /** The rule that names this table itself, if any. */
  ruleFor(key: string): TableRule | undefined {
    return this.rules.tables.get(key);
  }

  /** A rule names this table (whether or not the dump declared it). */
  isRuled(key: string): boolean {
    return this.rules.tables.has(key);
  }

  /** The table whose prepared rule applies to `key` (itself or a partition ancestor). */
  ruleTableFor(key: string): string | undefined {
    if (this.prepared.has(key)) return key;
    return this.catalog.ancestors(key).find((a) => this.prepared.has(a));
  }

  /**
   * The columns a rule masks (any strategy but keep) in this table, through the rule that
   * applies to it (its own, or a partitioned ancestor's); undefined when no rule applies.
   * Also for a table the dump does not declare, by the rule that names it.
   */
  maskedColumns(key: string): ReadonlySet<string> | undefined {
    const ruleTable = this.ruleTableFor(key);
    const rule = ruleTable === undefined ? this.rules.tables.get(key) : this.prepared.get(ruleTable)?.rule;
    if (!rule) return undefined;
    return new Set([...rule.columns.values()].filter((c) => c.strategy.name !== 'keep').map((c) => c.column));
  }

  /** Whether any rule masks any column. */
  get masksAnything(): boolean {
    for (const rule of this.rules.tables.values()) for (const c of rule.columns.values()) if (c.strategy.name !== 'keep') return true;
    return false;
  }

  /** The plan for a COPY block, or undefined when no rule applies to its table. */
  planFor(target: CopyTarget, at: SourcePosition, source: 'COPY' | 'INSERT' = 'COPY'): TablePlan | undefined {
    if (!this.prepared.has(target.key) && this.rules.tables.has(target.key)) {
      throw new PgcloakError('TABLE_UNKNOWN', `${source} into ${target.key}, which a rule names, but the dump has no CREATE TABLE for it`, {
        table: target.key,
        ...at,
      });
    }
    const ruleTable = this.ruleTableFor(target.key);
    const prepared = ruleTable === undefined ? undefined : this.prepared.get(ruleTable);
    if (ruleTable === undefined || !prepared) return undefined;
    if (target.nonDefaultOptions.length > 0) {
      throw new PgcloakError('COPY_UNSUPPORTED', `COPY with options (${target.nonDefaultOptions.join(', ')}) into a masked table`, {
        table: target.key,
        ...at,
      });
    }
    const columnNames = target.columns ?? this.catalog.tables.get(target.key)?.columns.map((c) => c.name) ?? [];
    const rule = prepared.rule;
    const masked: MaskedField[] = [];
    for (const [name, col] of prepared.columns) {
      const index = columnNames.indexOf(name);
      if (index === -1) {
        // An INSERT that lists its columns may leave some out: they get their defaults, nothing to mask.
        if (source === 'INSERT' && target.columns !== undefined) continue;
        this.noSuchColumn(rule.columns.get(name)?.path ?? `${rule.path}.columns.${name}`, 'not in its COPY data (generated?)');
        continue;
      }
      masked.push({ ...col, index });
    }
    masked.sort((a, b) => a.index - b.index);
    const keyNames = rule.keyColumns ?? (columnNames.includes('id') ? ['id'] : []);
    const keyIndexes = keyNames.map((k) => {
      const i = columnNames.indexOf(k);
      if (i === -1) {
        throw new PgcloakError('RULES_SCHEMA', `${rule.path}.key: column ${JSON.stringify(k)} is not in the COPY data of ${target.key}`, {
          table: target.key,
          ...at,
        });
      }
      return i;
    });
    const maskedKey = masked.find((m) => keyIndexes.includes(m.index));
    if (maskedKey) {
      throw new PgcloakError('RULES_SCHEMA', `${rule.columns.get(maskedKey.name)?.path ?? rule.path}: ${JSON.stringify(maskedKey.name)} is the row key and cannot be masked (give another key:)`, {
        table: target.key,
        column: maskedKey.name,
        ...at,
      });
    }
    if (keyIndexes.length === 0 && !this.positionKeyWarned.has(ruleTable)) {
      this.positionKeyWarned.add(ruleTable);
      this.warn(`${rule.path}: no key and no id column: rows are keyed by their position, which cannot be matched inside a database`);
    }
    const plan: TablePlan = {
      index: this.plans.length,
      table: target.key,
      ruleTable,
      columnNames,
      keyIndexes,
      keyNames,
      masked,
      keyTextKept: this.keyTextKept,
    };
    this.plans.push(plan);
    return plan;
  }

  private noSuchColumn(path: string, why = 'no such column in the dump'): void {
    if (this.missingColumns.has(path)) return;
    this.missingColumns.set(path, why);
    this.warn(`${path}: ${why}`);
  }

  /** Rules that matched nothing (OpenERP's "Not Existing"): paths of tables and columns. */
  notExisting(): string[] {
    const out: string[] = [];
    for (const rule of this.rules.tables.values()) {
      if (!this.prepared.has(rule.key)) out.push(`${rule.path}: no such table in the dump`);
    }
    for (const [p, why] of this.missingColumns) out.push(`${p}: ${why}`);
    return out;
  }
}

