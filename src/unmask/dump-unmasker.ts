// Reversing a masked dump, byte for byte: each row of a planned table gets its
// original fields back from the vault. Before a row is written, the candidate
// original is masked again and must give exactly the masked row read, so a dump
// that is not the one the vault was made for is refused at its first differing row.

import { PgcloakError } from '../errors.js';
import type { SourcePosition } from '../dump/sql-scanner.js';
import type { RuleSet } from '../rules/rules-file.js';
import { ScratchBuffer } from '../mask/byte-sink.js';
import { DumpProcessor, type ActiveTable } from '../mask/dump-processor.js';
import { derivedColumns, tableDeclaration } from '../mask/dump-masker.js';
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
  private readonly original = new ScratchBuffer();
  private readonly remasked = new ScratchBuffer();
  /** Per plan index: how many row-derived masked values each vault row carries. */
  private readonly derivedCount: number[] = [];
  private candidateStarts = new Int32Array(0);
  private candidateEnds = new Int32Array(0);

  constructor(rules: RuleSet, push: (chunk: Buffer) => void, vault: VaultSource) {
    super(rules, push);
    this.vault = vault;
  }

  protected onPlan(plan: TablePlan, encoding: FieldEncoding): void {
    this.derivedCount[plan.index] = derivedColumns(plan).length;
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
    const plan = t.plan;
    const rm = t.row;
    const ordinal = ++t.counter.rows;
    const rec = this.vault.next();
    const where = { table: plan.table, line: at.line, offset: at.offset };
    if (!rec || rec.type !== 'row' || rec.tableIndex !== plan.index || rec.ordinal !== ordinal) {
      throw new PgcloakError('VAULT_MISMATCH', `the vault has no original for this row (rows added, removed or reordered since masking?)`, where);
    }
    const nKey = plan.keyIndexes.length;
    if (rec.fields.length !== nKey + plan.masked.length + this.derivedCount[plan.index]!) {
      throw new PgcloakError('VAULT_MISMATCH', 'the vault row does not match the table plan', where);
    }
    for (let k = 0; k < nKey; k++) {
      const i = plan.keyIndexes[k]!;
      const f = rec.fields[k]!;
      if (buf.compare(f, 0, f.length, rm.starts[i]!, rm.ends[i]!) !== 0) {
        throw new PgcloakError('VAULT_MISMATCH', `row key differs from the vault's (rows changed since masking?)`, where);
      }
    }
    // The candidate original: the masked row with the vault's fields put back. Field
    // ranges move by the difference in length of each field put back before them.
    const orig = this.original;
    orig.reset();
    const n = plan.columnNames.length;
    const starts = this.candidateStarts.length >= n ? this.candidateStarts : (this.candidateStarts = new Int32Array(n));
    const ends = this.candidateEnds.length >= n ? this.candidateEnds : (this.candidateEnds = new Int32Array(n));
    let pos = start;
    let shift = -start;
    let j = 0;
    for (let i = 0; i < n; i++) {
      const s = rm.starts[i]!;
      const e = rm.ends[i]!;
      const m = plan.masked[j];
      if (m?.index === i) {
        const f = rec.fields[nKey + j]!;
        orig.write(buf, pos, s);
        orig.write(f, 0, f.length);
        pos = e;
        starts[i] = s + shift;
        shift += f.length - (e - s);
        ends[i] = e + shift;
        j++;
      } else {
        starts[i] = s + shift;
        ends[i] = e + shift;
      }
    }
    orig.write(buf, pos, end);
    const candidate = orig.view();
    // Masking it again must give the row we read.
    rm.starts.set(starts.subarray(0, n));
    rm.ends.set(ends.subarray(0, n));
    rm.beginRow(candidate, ordinal);
    this.remasked.reset();
    if (rm.writeMasked(0, candidate.length, this.remasked, at)) t.stats.changedRows++;
    const again = this.remasked.view();
    if (buf.compare(again, 0, again.length, start, end) !== 0) {
      throw new PgcloakError('VAULT_MISMATCH', 'this row is not what masking wrote (the masked dump was edited, or the vault is for another dump)', where);
    }
    this.out.write(candidate, 0, candidate.length, true);
  }

  /** After the input ends: the vault must hold nothing more. */
  checkVaultExhausted(): void {
    const rec = this.vault.next();
    if (rec !== null) {
      throw new PgcloakError('VAULT_MISMATCH', 'the vault holds more rows than the masked dump (the dump was cut or edited)');
    }
  }
}
