// One COPY text row of a masked table: split into fields at TABs (a TAB inside a
// value is always escaped as \t), decode only the fields a rule or the key needs,
// and write the row with the masked fields replaced.
// https://www.postgresql.org/docs/current/sql-copy.html#id-1.9.3.55.9.2

import { PgcloakError } from '../errors.js';
import type { SourcePosition } from '../dump/sql-scanner.js';
import { decodeCopyField, encodeCopyField, isCopyNull } from '../copy/text-field.js';
import type { RowContext } from '../strategies/strategy.js';
import type { ByteWriter } from './byte-sink.js';
import type { MaskedField, TablePlan } from './table-plans.js';

const TAB = 0x09;
const COPY_NULL = Buffer.from('\\N');

export interface FieldRef {
  buf: Uint8Array;
  start: number;
  end: number;
}

export class CopyRowMasker implements RowContext {
  readonly plan: TablePlan;
  readonly starts: Int32Array;
  readonly ends: Int32Array;
  /** Pre-encoded replacements of constant masks, by position in plan.masked. */
  private readonly constants: (Buffer | undefined)[];
  private buf: Buffer = COPY_NULL;
  /** The replacements written for the last row, by position in plan.masked. */
  readonly written: Buffer[];
  private ordinal = 0;
  private cachedKey: string | undefined;

  constructor(plan: TablePlan) {
    this.plan = plan;
    this.starts = new Int32Array(plan.columnNames.length);
    this.ends = new Int32Array(plan.columnNames.length);
    this.constants = plan.masked.map((m) => (m.mask.kind === 'constant' ? encodeCopyField(m.mask.value) : undefined));
    this.written = plan.masked.map(() => COPY_NULL);
  }

  /** Finds the field boundaries of `buf[start..end)`; the row must have exactly one field per column. */
  split(buf: Buffer, start: number, end: number, at: SourcePosition): void {
    const n = this.starts.length;
    let p = start;
    for (let i = 0; i < n - 1; i++) {
      const t = buf.indexOf(TAB, p);
      if (t === -1 || t >= end) throw this.fieldCountError(buf, start, end, at);
      this.starts[i] = p;
      this.ends[i] = t;
      p = t + 1;
    }
    const extra = buf.indexOf(TAB, p);
    if (extra !== -1 && extra < end) throw this.fieldCountError(buf, start, end, at);
    this.starts[n - 1] = p;
    this.ends[n - 1] = end;
  }

  private fieldCountError(buf: Buffer, start: number, end: number, at: SourcePosition): PgcloakError {
    let got = 1;
    for (let p = buf.indexOf(TAB, start); p !== -1 && p < end; p = buf.indexOf(TAB, p + 1)) got++;
    return new PgcloakError('COPY_FIELD_COUNT', `expected ${this.starts.length} fields, got ${got}`, {
      table: this.plan.table,
      line: at.line,
      offset: at.offset,
    });
  }

  /** Prepares `key()` for the row last split in `buf`. */
  beginRow(buf: Buffer, ordinal: number): void {
    this.buf = buf;
    this.ordinal = ordinal;
    this.cachedKey = undefined;
  }

  key(): string {
    if (this.cachedKey !== undefined) return this.cachedKey;
    const idx = this.plan.keyIndexes;
    let key: string;
    if (idx.length === 0) key = String(this.ordinal);
    else if (idx.length === 1) key = this.keyPart(idx[0]!);
    else key = idx.map((i) => this.keyPart(i)).join('-');
    this.cachedKey = key;
    return key;
  }

  field(column: string): string | null {
    const i = this.plan.columnNames.indexOf(column);
    if (i === -1) return null;
    return decodeCopyField(this.buf, this.starts[i]!, this.ends[i]!);
  }

  private keyPart(i: number): string {
    return decodeCopyField(this.buf, this.starts[i]!, this.ends[i]!) ?? '';
  }

  /** The COPY-encoded replacement for masked field `m` (the `j`-th of plan.masked). */
  replacement(m: MaskedField, j: number, at: SourcePosition): Buffer {
    const s = this.starts[m.index]!;
    const e = this.ends[m.index]!;
    if (isCopyNull(this.buf, s, e)) return COPY_NULL;
    const mask = m.mask;
    switch (mask.kind) {
      case 'constant':
        return this.constants[j]!;
      case 'row':
        return encodeCopyField(mask.derive(this));
      case 'value': {
        const value = decodeCopyField(this.buf, s, e) ?? '';
        try {
          return encodeCopyField(mask.derive(value, this));
        } catch (err) {
          if (err instanceof PgcloakError) {
            throw new PgcloakError(err.code, err.message.replace(/^[A-Z_]+: /, ''), {
              table: this.plan.table,
              column: m.name,
              line: at.line,
              offset: at.offset,
            });
          }
          throw err;
        }
      }
    }
  }

  /**
   * Writes the masked row (without its line end) to `out`, for the row last split
   * and begun. Returns whether any field changed.
   */
  writeMasked(start: number, end: number, out: ByteWriter, at: SourcePosition): boolean {
    const buf = this.buf;
    let pos = start;
    let changed = false;
    const masked = this.plan.masked;
    for (let j = 0; j < masked.length; j++) {
      const m = masked[j]!;
      const s = this.starts[m.index]!;
      const e = this.ends[m.index]!;
      const rep = this.replacement(m, j, at);
      this.written[j] = rep;
      out.write(buf, pos, s);
      out.write(rep, 0, rep.length);
      pos = e;
      if (!changed && (rep.length !== e - s || buf.compare(rep, 0, rep.length, s, e) !== 0)) changed = true;
    }
    out.write(buf, pos, end);
    return changed;
  }
}
