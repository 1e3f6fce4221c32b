// Masking a plain dump: every row of a planned table is written with its masked
// fields replaced, and its key and original fields go to the vault, in dump order.

import type { SourcePosition } from '../dump/sql-scanner.js';
import type { RuleSet } from '../rules/rules-file.js';
import { DumpProcessor, type ActiveTable } from './dump-processor.js';
import type { FieldEncoding } from './field-codecs.js';
import type { FieldRef } from './row-masker.js';
import type { TablePlan } from './table-plans.js';

/** Where the originals go: the vault writer, or anything with its shape. */
export interface VaultSink {
  declareTable(decl: Record<string, unknown> & { index: number }): void;
  row(tableIndex: number, ordinal: number, fields: ReadonlyArray<FieldRef>): void;
}

/** What the vault says about a table: lets unmask check it reads the same plan. */
export function tableDeclaration(plan: TablePlan, encoding: FieldEncoding): Record<string, unknown> & { index: number } {
  const derived = derivedColumns(plan);
  return {
    index: plan.index,
    table: plan.table,
    /** How key and original fields are written: COPY text (escaped as in the dump) or SQL literals. */
    encoding,
    ruleTable: plan.ruleTable,
    keyColumns: plan.keyNames,
    maskedColumns: plan.masked.map((m) => m.name),
    strategies: plan.masked.map((m) => m.strategy),
    types: plan.masked.map((m) => m.type.display),
    /**
     * What masking writes in each masked column: the constant (COPY text; null means
     * NULL), or null when it depends on the row, in which case the value written is kept
     * in each row record after the originals (for checking it is still there later).
     * A NULL original always stays NULL.
     */
    maskedConstants: plan.masked.map((m) => (m.mask.kind === 'constant' ? m.mask.value : null)),
    derivedColumns: derived.map((j) => plan.masked[j]!.name),
  };
}

/** Positions in plan.masked of the columns whose masked value depends on the row. */
export function derivedColumns(plan: TablePlan): number[] {
  const out: number[] = [];
  plan.masked.forEach((m, j) => {
    if (m.mask.kind !== 'constant') out.push(j);
  });
  return out;
}

export class DumpMasker extends DumpProcessor {
  private readonly vault: VaultSink | undefined;
  /** Per plan index: reusable field references and the derived columns. */
  private readonly vaultShapes: { refs: FieldRef[]; derived: number[] }[] = [];

  constructor(rules: RuleSet, push: (chunk: Buffer) => void, vault: VaultSink | undefined, onWarning?: (message: string) => void) {
    super(rules, push, onWarning);
    this.vault = vault;
  }

  protected onPlan(plan: TablePlan, encoding: FieldEncoding): void {
    this.vault?.declareTable(tableDeclaration(plan, encoding));
    const derived = derivedColumns(plan);
    const refs: FieldRef[] = [];
    const n = plan.keyIndexes.length + plan.masked.length + derived.length;
    for (let i = 0; i < n; i++) refs.push({ buf: Buffer.alloc(0), start: 0, end: 0 });
    this.vaultShapes[plan.index] = { refs, derived };
  }

  protected maskedRow(t: ActiveTable, buf: Buffer, start: number, end: number, at: SourcePosition): void {
    const rm = t.row;
    const ordinal = ++t.counter.rows;
    rm.beginRow(buf, ordinal);
    if (rm.writeMasked(start, end, this.out, at)) t.stats.changedRows++;
    if (this.vault) {
      const plan = t.plan;
      const { refs, derived } = this.vaultShapes[plan.index]!;
      let r = 0;
      for (const i of plan.keyIndexes) setRef(refs[r++]!, buf, rm.starts[i]!, rm.ends[i]!);
      for (const m of plan.masked) setRef(refs[r++]!, buf, rm.starts[m.index]!, rm.ends[m.index]!);
      for (const j of derived) {
        const w = rm.written[j]!;
        setRef(refs[r++]!, w, 0, w.length);
      }
      this.vault.row(plan.index, ordinal, refs);
    }
  }
}

function setRef(ref: FieldRef, buf: Uint8Array, start: number, end: number): void {
  ref.buf = buf;
  ref.start = start;
  ref.end = end;
}
