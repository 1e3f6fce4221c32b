// Reversing a masked dump, byte for byte: each row of a planned table gets its
// original fields back from the vault. Before a row is written, the candidate
// original is masked again and must give exactly the masked row read, so a dump
// that is not the one the vault was made for is refused at its first differing row.

import { PgcloakError } from '../errors.js';
import type { SourcePosition } from '../dump/sql-scanner.js';
import type { RuleSet } from '../rules/rules-file.js';
import type { Push } from '../mask/byte-sink.js';
import { RecordFields, RowRestorer } from './row-restorer.js';
import { DumpProcessor, type ActiveTable } from '../mask/dump-processor.js';
import { tableDeclaration } from '../mask/dump-masker.js';
import type { TablePlan } from '../mask/table-plans.js';
import type { FieldEncoding } from '../mask/field-codecs.js';

export type VaultRecord =
  | { type: 'table'; decl: Record<string, unknown> & { index: number } }
  | { type: 'row'; tableIndex: number; ordinal: number; fields: Buffer[] };

/** Where the originals come from: the vault reader, or anything with its shape. */
export interface VaultSource {
  next(): VaultRecord | null;
}

export class DumpUnmasker extends DumpProcessor {
  private readonly vault: VaultSource;
  /** Per plan index. */
  private readonly restorers: RowRestorer[] = [];
  private readonly record = new RecordFields();

  constructor(rules: RuleSet, push: Push, vault: VaultSource) {
    super(rules, push);
    this.vault = vault;
  }

  protected onPlan(plan: TablePlan, encoding: FieldEncoding): void {
    const rec = this.vault.next();
    const expected = tableDeclaration(plan, encoding);
    if (!rec || rec.type !== 'table' || JSON.stringify(rec.decl) !== JSON.stringify(expected)) {
      throw new PgcloakError('VAULT_MISMATCH', `the vault does not hold this table's originals next: it was made for another dump or other rules`, {
        table: plan.table,
        ...this.position,
      });
    }
  }

  protected maskedRow(t: ActiveTable, buf: Buffer, start: number, end: number, at: SourcePosition): void {
    const ordinal = ++t.counter.rows;
    const rec = this.vault.next();
    let fields: RecordFields | undefined;
    if (rec?.type === 'row') {
      fields = this.record;
      fields.tableIndex = rec.tableIndex;
      fields.ordinal = rec.ordinal;
      fields.count = rec.fields.length;
      rec.fields.forEach((f, k) => fields!.set(k, f, 0, f.length));
    }
    if (this.restorer(t).restore(buf, start, end, ordinal, fields, at, this.out)) t.stats.changedRows++;
  }

  private restorer(t: ActiveTable): RowRestorer {
    let r = this.restorers[t.plan.index];
    if (r?.rm !== t.row) r = this.restorers[t.plan.index] = new RowRestorer(t.row);
    return r;
  }

  /** After the input ends: the vault must hold nothing more. */
  checkVaultExhausted(): void {
    const rec = this.vault.next();
    if (rec !== null) {
      throw new PgcloakError('VAULT_MISMATCH', 'the vault holds more rows than the masked dump (the dump was cut or edited)');
    }
  }
}
