// `mask --require-coverage`: every column that looks personal by its name or type (the
// DDL-time flags of pii-names.ts, the ones `inspect --suggest` makes without data) must be
// masked or explicitly `keep` in the rules. Content-based flags cannot be known before the
// data they come from, so they are not part of the guard.
//
// The guard listens to the masker's statement router (../engine/statement-router.ts),
// which tells it of each statement before the masker handles it: it notes each CREATE
// TABLE, and when the first data of the dump begins (a COPY, an INSERT) it checks every
// table declared so far, through the rule that applies to it (its own, or a partition
// ancestor's: pg_dump attaches partitions after their CREATE TABLE). A failure is raised
// before that COPY or INSERT statement is handled, let alone a row of it masked. pg_dump
// writes every CREATE TABLE before any data, so nothing but DDL has been read by then, and
// with --output nothing is left behind; a table declared after data began is checked at
// the next data, or at the end of the input.

import { PgcloakError } from '../errors.js';
import type { RuleSet, TableRule } from '../rules/rules-file.js';
import { quoteIdent } from '../schema/names.js';
import { flagColumnsByName, type PiiFlag } from './pii-names.js';
import type { DumpListener } from '../engine/statement-router.js';
import type { LearntStatement, SchemaCatalog } from '../schema/catalog.js';

export interface UncoveredColumn {
  table: string;
  column: string;
  flags: PiiFlag[];
}

export class CoverageGuard implements DumpListener {
  private readonly catalog: SchemaCatalog;
  private readonly rules: RuleSet;
  /** Tables declared and not yet checked, with their flagged columns. */
  private pending = new Map<string, Map<string, PiiFlag[]>>();

  /** `catalog`: the schema the listened dump declares (the router's). */
  constructor(catalog: SchemaCatalog, rules: RuleSet) {
    this.catalog = catalog;
    this.rules = rules;
  }

  ddl(_s: unknown, learnt: LearntStatement): void {
    if (learnt.kind !== 'table') return;
    const flags = flagColumnsByName(learnt.table, this.catalog);
    if (flags.size > 0) this.pending.set(learnt.table.key, flags);
  }

  /** Data begins: a COPY, an INSERT. */
  copyStart(): void {
    this.check();
  }

  insert(): void {
    this.check();
  }

  end(): void {
    this.check();
  }

  private ruleFor(table: string): TableRule | undefined {
    const catalog = this.catalog;
    return this.rules.tables.get(table) ?? catalog.ancestors(table).map((a) => this.rules.tables.get(a)).find((r) => r !== undefined);
  }

  /** The flagged columns of the tables not checked yet that no rule masks or keeps. */
  uncovered(): UncoveredColumn[] {
    const out: UncoveredColumn[] = [];
    for (const [table, flagged] of this.pending) {
      const rule = this.ruleFor(table);
      for (const [column, flags] of flagged) if (!rule?.columns.has(column)) out.push({ table, column, flags });
    }
    return out;
  }

  private check(): void {
    const uncovered = this.uncovered();
    this.pending = new Map();
    if (uncovered.length === 0) return;
    const lines = uncovered.map((u) => `${u.table}.${quoteIdent(u.column)}: ${u.flags.map((f) => f.why).join('; ')}`);
    throw new PgcloakError(
      'RULES_COVERAGE',
      `${uncovered.length} column(s) look personal but the rules neither mask nor keep them:\n  ${lines.join('\n  ')}\n` +
        'give each a strategy, or `keep` to record the decision (`pgcloak inspect --suggest FILE` drafts them)',
    );
  }
}
