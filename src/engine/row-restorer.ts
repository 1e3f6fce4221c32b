// One masked row given back its originals, checked: the row's key must be the vault
// record's, and masking the candidate original again must give exactly the masked row
// read. The same on the main thread (DumpUnmasker) and on worker threads (batches). This is
// the JavaScript way; the native row kernel (./native-row-kernel.ts) restores the rows it
// can itself and hands the others here (restoreNext), reading the records at the cursor.

import { PgcloakError, type SourcePosition } from '../errors.js';
import { sameBytes, type ByteArea } from '../io/byte-sink.js';
import { copyBytes } from '../io/bytes.js';
import { copyWords, Words } from '../io/word-view.js';
import { derivedColumns } from './masked-record.js';
import { eachCopyRow, eachInsertRow } from './masked-row.js';
import type { RowMasker } from './row-masker.js';
import { RECORD_ROW } from '../vault/format.js';
import { readVarint } from '../vault/varint.js';

/** A vault row record's fields as ranges: field k is `bufs[k][starts[k]..ends[k])`. */
export class RecordFields {
  tableIndex = -1;
  ordinal = -1;
  count = 0;
  bufs: Uint8Array[] = [];
  starts = new Int32Array(16);
  ends = new Int32Array(16);

  set(k: number, buf: Uint8Array, start: number, end: number): void {
    if (k >= this.starts.length) {
      const starts = new Int32Array(this.starts.length * 2);
      const ends = new Int32Array(this.ends.length * 2);
      starts.set(this.starts);
      ends.set(this.ends);
      this.starts = starts;
      this.ends = ends;
    }
    this.bufs[k] = buf;
    this.starts[k] = start;
    this.ends[k] = end;
  }
}

const NOT_THIS_DUMP = 'the input is not the masked dump this vault was made for';

function where(table: string, at: SourcePosition): { table: string; line: number; offset: number } {
  return { table, line: at.line, offset: at.offset };
}

export class RowRestorer {
  readonly rm: RowMasker;
  private readonly nDerived: number;
  private readonly inWords = new Words();
  private readonly outWords = new Words();
  /** Where the masked fields are in the row read, by position in plan.masked. */
  private readonly maskedStarts: Int32Array;
  private readonly maskedEnds: Int32Array;
  private candidateStarts = new Int32Array(0);
  private candidateEnds = new Int32Array(0);
  private readonly record = new RecordFields();
  /** Where the next record of the batch being restored starts. */
  readonly cursor = { pos: 0 };

  constructor(rm: RowMasker) {
    this.rm = rm;
    this.nDerived = derivedColumns(rm.plan).length;
    this.maskedStarts = new Int32Array(rm.plan.masked.length);
    this.maskedEnds = new Int32Array(rm.plan.masked.length);
  }

  /**
   * Writes the original of the masked row `buf[start..end)` (fields set in rm) to `out`,
   * from the vault record `rec` (undefined: the vault had none). Returns whether masking changed it.
   */
  restore(buf: Buffer, start: number, end: number, ordinal: number, rec: RecordFields | undefined, at: SourcePosition, out: ByteArea): boolean {
    const rm = this.rm;
    const plan = rm.plan;
    if (!rec || rec.tableIndex !== plan.index || rec.ordinal !== ordinal) {
      const why = !rec || rec.tableIndex !== plan.index ? `the vault holds ${ordinal - 1} row(s) of this table, the masked dump more` : 'the vault\'s rows are out of order';
      throw new PgcloakError('VAULT_MISMATCH', `the vault has no original for row ${ordinal}: ${why}; rows were added since masking, or ${NOT_THIS_DUMP}`, where(plan.table, at));
    }
    const nKey = plan.keyIndexes.length;
    if (rec.count !== nKey + plan.masked.length + this.nDerived) {
      throw new PgcloakError('VAULT_MISMATCH', 'the vault row does not match the table plan', where(plan.table, at));
    }
    for (let k = 0; k < nKey; k++) {
      const i = plan.keyIndexes[k]!;
      if (!sameBytes(rec.bufs[k]!, rec.starts[k]!, rec.ends[k]!, buf, rm.starts[i]!, rm.ends[i]!)) {
        const which = ordinal === 1 ? 'the first row\'s key differs' : `row ${ordinal}'s key differs`;
        throw new PgcloakError('VAULT_MISMATCH', `${which} from the vault's: rows were added, removed or changed since masking, or ${NOT_THIS_DUMP}`, where(plan.table, at));
      }
    }
    // The candidate original, written straight into the output (committed only once it
    // checks): the masked row with the vault's fields put back. Field ranges move by the
    // difference in length of each field put back before them.
    const masked = plan.masked;
    let size = end - start;
    for (let j = 0; j < masked.length; j++) {
      const m = masked[j]!;
      size += rec.ends[nKey + j]! - rec.starts[nKey + j]! - (rm.ends[m.index]! - rm.starts[m.index]!);
    }
    out.reserve(size);
    const ob = out.bytes;
    const ov = this.outWords.of(ob);
    const sv = this.inWords.of(buf);
    const o0 = out.length;
    let o = o0;
    const n = plan.columnNames.length;
    const starts = this.candidateStarts.length >= n ? this.candidateStarts : (this.candidateStarts = new Int32Array(n));
    const ends = this.candidateEnds.length >= n ? this.candidateEnds : (this.candidateEnds = new Int32Array(n));
    const maskedStarts = this.maskedStarts;
    const maskedEnds = this.maskedEnds;
    let pos = start;
    let shift = o0 - start;
    let j = 0;
    for (let i = 0; i < n; i++) {
      const s = rm.starts[i]!;
      const e = rm.ends[i]!;
      if (masked[j]?.index === i) {
        const k = nKey + j;
        const fs = rec.starts[k]!;
        const fe = rec.ends[k]!;
        copyWords(buf, sv, pos, s, ob, ov, o);
        o += s - pos;
        copyBytes(rec.bufs[k]!, fs, fe, ob, o);
        o += fe - fs;
        pos = e;
        maskedStarts[j] = s;
        maskedEnds[j] = e;
        starts[i] = s + shift;
        shift += fe - fs - (e - s);
        ends[i] = e + shift;
        j++;
      } else {
        starts[i] = s + shift;
        ends[i] = e + shift;
      }
    }
    copyWords(buf, sv, pos, end, ob, ov, o);
    // Masking it again must give the row we read: its masked fields, since the rest is the row's own.
    for (let i = 0; i < n; i++) {
      rm.starts[i] = starts[i]!;
      rm.ends[i] = ends[i]!;
    }
    rm.beginRow(ob, ordinal);
    const changed = rm.matchesMasked(buf, maskedStarts, maskedEnds, at);
    if (changed < 0) {
      throw new PgcloakError('VAULT_MISMATCH', `row ${ordinal} is not what masking wrote: the masked dump was edited, or ${NOT_THIS_DUMP}`, where(plan.table, at));
    }
    out.length = o0 + size;
    return changed === 1;
  }

  /**
   * A batch of whole COPY text rows `buf[start..end)` and their vault records (`records`,
   * as the vault holds them, fewer when the vault had no more row records): their
   * originals to `out`. Returns how many rows masking had changed.
   */
  restoreBatch(buf: Buffer, start: number, end: number, records: Uint8Array, ordinal: number, line: number, offset: number, out: ByteArea): number {
    this.cursor.pos = 0;
    return this.restoreRows(buf, start, end, records, ordinal, line, offset, out);
  }

  /** restoreBatch's rows from the record at the cursor on. */
  restoreRows(buf: Buffer, start: number, end: number, records: Uint8Array, ordinal: number, line: number, offset: number, out: ByteArea): number {
    return eachCopyRow(this.rm, buf, start, end, line, offset, out, (rowStart, rowEnd, at) => this.restoreNext(buf, rowStart, rowEnd, ++ordinal, records, at, out));
  }

  /** The row `buf[start..end)` (fields set in rm) restored from the record at the cursor (none left: undefined); see restore(). */
  restoreNext(buf: Buffer, start: number, end: number, ordinal: number, records: Uint8Array, at: SourcePosition, out: ByteArea): boolean {
    const rec = this.cursor.pos < records.length ? this.nextRecord(records) : undefined;
    return this.restore(buf, start, end, ordinal, rec, at, out);
  }

  /**
   * The rows of INSERT statements `buf[start..end)` (`rows`: per row its start, end, line and
   * offset less `offsetBase`, then its fields' starts and ends, as the INSERT walk gives them)
   * and their vault records (as restoreBatch takes them): the statements to `out` with the
   * rows' originals put back, the first row being row `ordinal + 1`. Returns how many rows
   * masking had changed.
   */
  restoreInsertRows(buf: Buffer, start: number, end: number, rows: Int32Array, ordinal: number, offsetBase: number, records: Uint8Array, out: ByteArea): number {
    this.cursor.pos = 0;
    return eachInsertRow(this.rm, buf, start, end, rows, offsetBase, out, (rowStart, rowEnd, at) => this.restoreNext(buf, rowStart, rowEnd, ++ordinal, records, at, out));
  }

  /**
   * The next row record of `records` (the vault reader gives whole ones; a record cut short
   * all the same matches no row: its count is -1, and restore() refuses it).
   */
  private nextRecord(records: Uint8Array): RecordFields {
    const c = this.cursor;
    const end = records.length;
    const rec = this.record;
    if (readVarint(records, c, end) !== RECORD_ROW) throw new Error('not a row record');
    rec.tableIndex = readVarint(records, c, end);
    rec.ordinal = readVarint(records, c, end);
    rec.count = readVarint(records, c, end);
    for (let k = 0; k < rec.count; k++) {
      const length = readVarint(records, c, end);
      if (length < 0 || length > end - c.pos) {
        rec.count = -1;
        c.pos = end;
        break;
      }
      rec.set(k, records, c.pos, c.pos + length);
      c.pos += length;
    }
    return rec;
  }
}
