// Optimizer statistics in a dump (pg_dump of PostgreSQL 18, see ../dump/stats-statement.ts)
// carry a column's values in clear: its most common values, histogram bounds, most common
// array elements, range bounds. For a masked column those are originals (issue 21, item 4).
//
// Decision: the statement of a masked column keeps the pairs that name the column (version,
// schemaname, relname, attname/attnum, inherited) and the three numbers that carry no value
// (null_frac, which the masked dump shows anyway, avg_width, n_distinct); every other pair is
// dropped, the ones it does not know too. PostgreSQL 18 takes the call with pairs left out
// (each statistic kind is set only when its arguments are given), so the dump still restores,
// and the planner still gets a width and a number of distinct values. The statement as it
// was goes into the vault (a statement record), and unmask gives it back byte for byte after
// checking that it reduces to the statement it replaces. Statistics of every other column are
// not touched.
//
// Which statements are a masked column's: the table's rule (a partition's is its parent's),
// by attname. An index or (materialized) view gets the treatment of the relations it reads:
// when one of them has a masked column (an expression index on lower(email)), or is one the
// dump does not declare, none of its statistics keep values. A relation the dump does not
// declare at all (a --statistics-only dump) is treated the same way when the rules mask
// anything, with a warning. A statistics function this pgcloak does not know (a later
// PostgreSQL's) is refused when it may concern masked data: its arguments cannot be told apart.

import { PgcloakError, type SourcePosition } from '../errors.js';
import type { LiteralOptions } from '../dump/sql-literal.js';
import { isUnreadable, keepPairs, pairValue, parseStatsCall, type StatsCall, type UnreadableStatsCall } from '../dump/stats-statement.js';
import type { SchemaCatalog } from '../schema/catalog.js';
import { qualifiedKey } from '../schema/names.js';
import type { TablePlanner } from './table-plans.js';

/** Statistics functions that carry no value of a column: relation sizes, clearing. */
const VALUE_FREE = new Set(['pg_restore_relation_stats', 'pg_clear_relation_stats', 'pg_clear_attribute_stats']);
const ATTRIBUTE_STATS = 'pg_restore_attribute_stats';
/** The pairs a masked column's statement keeps. */
const KEPT_PAIRS = new Set(['version', 'schemaname', 'relname', 'relation', 'attname', 'attnum', 'inherited', 'null_frac', 'avg_width', 'n_distinct']);

export type StatisticsVerdict =
  | { action: 'pass' }
  /** Written as `reduced`, the original kept in the vault. */
  | { action: 'reduce'; reduced: Buffer }
  | { action: 'refuse'; error: PgcloakError };

const PASS: StatisticsVerdict = { action: 'pass' };

export class StatisticsGuard {
  private readonly planner: TablePlanner;
  private readonly catalog: SchemaCatalog;
  private readonly warn: (message: string) => void;
  private readonly warned = new Set<string>();

  constructor(planner: TablePlanner, catalog: SchemaCatalog, warn: (message: string) => void) {
    this.planner = planner;
    this.catalog = catalog;
    this.warn = warn;
  }

  /** What to do with a statement; undefined when it is not a statistics statement. */
  verdictOf(text: Buffer, at: SourcePosition, options: LiteralOptions, decodeName: (bytes: Buffer) => string): StatisticsVerdict | undefined {
    const call = parseStatsCall(text, options, decodeName);
    return call === undefined ? undefined : this.verdict(text, call, at, options);
  }

  /** What to do with a statistics statement, its call read (parseStatsCall). */
  verdict(text: Buffer, call: StatsCall | UnreadableStatsCall, at: SourcePosition, options: LiteralOptions): StatisticsVerdict {
    if (isUnreadable(call)) {
      if (!this.planner.masksAnything) return PASS;
      return refuse(`the arguments of this pg_catalog.${call.fn}() call are not name/value pairs pgcloak can read, and it may carry values of masked columns`, at);
    }
    if (VALUE_FREE.has(call.fn)) return PASS;
    const relation = this.relationOf(text, call, options);
    if (call.fn !== ATTRIBUTE_STATS) {
      if (!this.planner.masksAnything || (relation !== undefined && !this.mayHoldMaskedValues(relation))) return PASS;
      return refuse(
        `pg_catalog.${call.fn}() is a statistics form this pgcloak does not know, for ${relation ?? 'a relation it cannot name'}, which may hold values of masked columns: dump with --no-statistics`,
        at,
      );
    }
    if (!this.columnStatisticsMasked(text, call, options, relation)) return PASS;
    return { action: 'reduce', reduced: keepPairs(text, call, (p) => KEPT_PAIRS.has(p.name)) };
  }

  /** Whether the values of this pg_restore_attribute_stats statement are a masked column's (or may be). */
  private columnStatisticsMasked(text: Buffer, call: StatsCall, options: LiteralOptions, relation: string | undefined): boolean {
    if (!this.planner.masksAnything) return false;
    if (relation === undefined) return true;
    const masked = this.planner.maskedColumns(relation);
    if (masked !== undefined) {
      const attname = call.pairs.find((p) => p.name === 'attname');
      const column = attname ? pairValue(text, attname, options) : undefined;
      // A table's columns are named; anything else (attnum) cannot be matched to the rule.
      return typeof column !== 'string' || masked.has(column);
    }
    if (this.catalog.tables.has(relation)) return false;
    if (this.catalog.derived.has(relation)) return this.mayHoldMaskedValues(relation);
    if (!this.warned.has(relation)) {
      this.warned.add(relation);
      this.warn(`statistics of ${relation}, which the dump does not declare: their values are left out (they may be a masked column's)`);
    }
    return true;
  }

  /** A table with a masked column, a relation derived from one, or one the dump does not declare. */
  private mayHoldMaskedValues(relation: string, seen: Set<string> = new Set()): boolean {
    if (seen.has(relation)) return false;
    seen.add(relation);
    const masked = this.planner.maskedColumns(relation);
    if (masked !== undefined) return masked.size > 0;
    if (this.catalog.tables.has(relation)) return false;
    const derived = this.catalog.derived.get(relation);
    if (!derived) return true;
    return derived.opaque || derived.sources.some((s) => this.mayHoldMaskedValues(s, seen));
  }

  /** The relation a call names ('schemaname' and 'relname'), as a key. */
  private relationOf(text: Buffer, call: StatsCall, options: LiteralOptions): string | undefined {
    const schema = call.pairs.find((p) => p.name === 'schemaname');
    const name = call.pairs.find((p) => p.name === 'relname');
    if (!schema || !name) return undefined;
    const s = pairValue(text, schema, options);
    const n = pairValue(text, name, options);
    if (typeof s !== 'string' || typeof n !== 'string') return undefined;
    return qualifiedKey({ schema: s, name: n });
  }
}

function refuse(message: string, at: SourcePosition): StatisticsVerdict {
  return { action: 'refuse', error: new PgcloakError('INPUT_FORMAT', message, at) };
}
