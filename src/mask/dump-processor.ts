// What masking and unmasking a plain dump have in common: the scanner, the schema
// learnt from DDL, the table plans, per-table counts, and the output batching.
// Subclasses decide what happens to each row of a planned table.

import { PgcloakError } from '../errors.js';
import { SqlScanner, type CopyDataMode, type ScannerHandler, type SourcePosition } from '../dump/sql-scanner.js';
import { insertTarget } from '../dump/insert-target.js';
import { CATALOG_KEYWORDS, SchemaCatalog } from '../schema/catalog.js';
import { qualifiedKey } from '../schema/names.js';
import type { RuleSet } from '../rules/rules-file.js';
import { ByteSink } from './byte-sink.js';
import { CopyRowMasker } from './copy-row.js';
import { TablePlanner, type TablePlan } from './table-plans.js';

export interface TableStats {
  table: string;
  /** The table whose rule applies (differs for partitions). */
  ruleTable: string | undefined;
  rows: number;
  /** Rows where at least one field changed. */
  changedRows: number;
  maskedColumns: string[];
  keyedByPosition: boolean;
}

export interface RunSummary {
  format: string;
  tables: TableStats[];
  warnings: string[];
  notExisting: string[];
  bytesIn: number;
  bytesOut: number;
}

const DUMP_HEADER = Buffer.from('--\n-- PostgreSQL database dump\n');
const DUMP_TRAILER = Buffer.from('-- PostgreSQL database dump complete');
const TAIL_BYTES = 128;

export interface ActiveTable {
  plan: TablePlan;
  row: CopyRowMasker;
  stats: TableStats;
  ordinal: number;
}

export abstract class DumpProcessor implements ScannerHandler {
  protected readonly scanner: SqlScanner;
  protected readonly catalog = new SchemaCatalog();
  protected readonly planner: TablePlanner;
  protected readonly out: ByteSink;
  protected active: ActiveTable | undefined;
  private copyStats: TableStats | undefined;
  readonly tables: TableStats[] = [];
  readonly warnings: string[] = [];
  bytesIn = 0;
  bytesOut = 0;
  private head: Buffer = Buffer.alloc(0);
  private tail: Buffer = Buffer.alloc(0);

  constructor(rules: RuleSet, push: (chunk: Buffer) => void, onWarning?: (message: string) => void) {
    this.scanner = new SqlScanner(this, { keepKeywords: CATALOG_KEYWORDS });
    const warn = (m: string): void => {
      this.warnings.push(m);
      onWarning?.(m);
    };
    this.planner = new TablePlanner(rules, this.catalog, warn);
    this.out = new ByteSink((chunk) => {
      this.bytesOut += chunk.length;
      push(chunk);
    });
  }

  /** The position of the next byte to be read, for progress displays. */
  get position(): SourcePosition {
    return this.scanner.position;
  }

  /** The table whose data is being read, if any. */
  get currentTable(): string | undefined {
    return this.copyStats?.table;
  }

  write(chunk: Buffer): void {
    if (this.head.length < DUMP_HEADER.length) this.head = Buffer.concat([this.head, chunk.subarray(0, DUMP_HEADER.length)]);
    this.tail = chunk.length >= TAIL_BYTES ? chunk.subarray(chunk.length - TAIL_BYTES) : Buffer.concat([this.tail, chunk]).subarray(-TAIL_BYTES);
    this.bytesIn += chunk.length;
    this.scanner.write(chunk);
  }

  end(): void {
    try {
      this.scanner.end();
    } catch (err) {
      if (err instanceof PgcloakError && err.code === 'COPY_UNTERMINATED' && this.copyStats) {
        throw new PgcloakError(err.code, 'input ends inside COPY data: no `\\.` line (truncated dump?)', {
          ...err.position,
          table: this.copyStats.table,
        });
      }
      throw err;
    }
    this.out.flush();
    if (this.head.subarray(0, DUMP_HEADER.length).equals(DUMP_HEADER) && !this.tail.includes(DUMP_TRAILER)) {
      this.warnings.push("the input starts like a pg_dump dump but lacks its 'dump complete' line: it may be truncated");
    }
  }

  emit(buf: Buffer, start: number, end: number): void {
    this.out.write(buf, start, end);
  }

  statement(text: Buffer, at: SourcePosition): CopyDataMode | undefined {
    if ((text[0] === 0x49 || text[0] === 0x69) && this.refuseInsert(text, at)) return undefined; // I/i: INSERT
    const learnt = this.catalog.learn(text.toString('utf8'), at);
    switch (learnt.kind) {
      case 'table':
        this.planner.onTable(learnt.table);
        return undefined;
      case 'standard_conforming_strings':
        this.scanner.setStandardConformingStrings(learnt.on);
        return undefined;
      case 'copy': {
        const plan = this.planner.planFor(learnt.target, at);
        const stats: TableStats = {
          table: learnt.target.key,
          ruleTable: plan?.ruleTable,
          rows: 0,
          changedRows: 0,
          maskedColumns: plan ? plan.masked.map((m) => m.name) : [],
          keyedByPosition: plan !== undefined && plan.keyIndexes.length === 0,
        };
        this.tables.push(stats);
        this.copyStats = stats;
        if (!plan) return 'passthrough';
        this.active = { plan, row: new CopyRowMasker(plan), stats, ordinal: 0 };
        this.onPlan(plan);
        return 'rows';
      }
      default:
        return undefined;
    }
  }

  /**
   * Row data in INSERT statements is not masked yet: for a ruled table that would be a
   * silent leak, so it is an error. Returns true when the statement was an INSERT.
   */
  private refuseInsert(text: Buffer, at: SourcePosition): boolean {
    const target = insertTarget(text.subarray(0, 1024).toString('utf8'), this.catalog.defaultSchema);
    if (!target) return false;
    const key = qualifiedKey(target);
    if (this.planner.ruleTableFor(key) !== undefined || this.planner.isRuled(key)) {
      throw new PgcloakError('COPY_UNSUPPORTED', 'INSERT statements hold rows of a masked table: INSERT-format dumps are not supported yet, dump with COPY (pg_dump without --inserts)', {
        table: key,
        ...at,
      });
    }
    return true;
  }

  copyEnd(rows: number): void {
    if (this.copyStats) this.copyStats.rows = rows;
    this.copyStats = undefined;
    this.active = undefined;
  }

  abstract row(buf: Buffer, start: number, end: number, eolEnd: number, at: SourcePosition): void;

  /** A COPY block of a planned table begins. */
  protected abstract onPlan(plan: TablePlan): void;

  summary(format: string): RunSummary {
    return {
      format,
      tables: this.tables,
      warnings: this.warnings,
      notExisting: this.planner.notExisting(),
      bytesIn: this.bytesIn,
      bytesOut: this.bytesOut,
    };
  }
}
