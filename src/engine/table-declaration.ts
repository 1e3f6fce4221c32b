// What the vault says about a table: written by mask before the table's rows, compared by
// unmask with what it reads, so that a dump or rules other than the vault's are refused at
// their first table rather than at a row.

import type { FieldEncoding } from './field-codecs.js';
import { derivedColumns, keyTextColumns } from './masked-record.js';
import type { TablePlan } from './table-plans.js';

/** What the vault says about a table: lets unmask check it reads the same plan. */
export function tableDeclaration(plan: TablePlan, encoding: FieldEncoding): Record<string, unknown> & { index: number } {
  const derived = derivedColumns(plan);
  const keyText = keyTextColumns(plan);
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
    // Format 2: the columns whose placeholder is xxx<row key> (fitted to a maximum length in
    // characters, or null), left out of the records: fitPlaceholderText(key, maxLength), with
    // the key the key fields decoded and joined with '-' (a NULL one as ''). Format 1 (unmask
    // of such a vault) declares neither, as it did.
    ...(plan.keyTextKept
      ? {}
      : {
          keyTextColumns: keyText.map((j) => plan.masked[j]!.name),
          keyTextMaxLengths: keyText.map((j) => {
            const m = plan.masked[j]!.mask;
            return (m.kind === 'row' ? m.keyText?.maxLength : undefined) ?? null;
          }),
        }),
  };
}
