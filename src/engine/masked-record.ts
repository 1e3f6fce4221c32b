// What a masked row leaves in the vault: its key fields, its original masked fields, then
// the values masking wrote in the columns whose value depends on the row. One shape per
// table, and one serializer for the general path and the batch kernel alike.

import { copyBytes } from '../io/bytes.js';
import { copyWords, Words } from '../io/word-view.js';
import { RECORD_ROW } from '../vault/format.js';
import { MAX_RECORD_BYTES, recordTooLarge, type FieldRef } from '../vault/row-record.js';
import { varintLength, writeVarint } from '../vault/varint.js';
import type { ByteArea } from '../io/byte-sink.js';
import type { RowMasker } from './row-masker.js';
import type { TablePlan } from './table-plans.js';

/**
 * Positions in plan.masked of the columns whose masked value depends on the row and is kept
 * in its vault record: all but the xxx<row key> placeholders, which readers make from the
 * key fields the record holds (unless plan.keyTextKept).
 */
export function derivedColumns(plan: TablePlan): number[] {
  const out: number[] = [];
  plan.masked.forEach((m, j) => {
    if (m.mask.kind !== 'constant' && (plan.keyTextKept || !isKeyText(m))) out.push(j);
  });
  return out;
}

/** Positions in plan.masked of the xxx<row key> placeholders a vault record leaves out (see derivedColumns). */
export function keyTextColumns(plan: TablePlan): number[] {
  const out: number[] = [];
  if (plan.keyTextKept) return out;
  plan.masked.forEach((m, j) => {
    if (isKeyText(m)) out.push(j);
  });
  return out;
}

function isKeyText(m: TablePlan['masked'][number]): boolean {
  return m.mask.kind === 'row' && m.mask.keyText !== undefined;
}

/** What one table's vault records hold: key fields, original masked fields, derived values. */
export class RecordShape {
  readonly refs: FieldRef[] = [];
  readonly derived: Int32Array;
  /** Field positions of the key columns, then of the masked columns. */
  readonly columns: Int32Array;
  readonly tableIndex: number;
  /** Bytes of a record besides its ordinal and fields: type, table index, field count. */
  readonly fixedBytes: number;

  constructor(plan: TablePlan) {
    this.derived = Int32Array.from(derivedColumns(plan));
    this.columns = Int32Array.from([...plan.keyIndexes, ...plan.masked.map((m) => m.index)]);
    this.tableIndex = plan.index;
    const n = this.columns.length + this.derived.length;
    this.fixedBytes = 1 + varintLength(plan.index) + varintLength(n);
    for (let i = 0; i < n; i++) this.refs.push({ buf: Buffer.alloc(0), start: 0, end: 0 });
  }
}

/** Rows longer than this reserve their record's exact room (its fields may be hundreds of MB). */
const EXACT_ROOM_ROW_BYTES = 64 * 1024;

/** DataViews of the last row buffer and records buffer, for copies by words. */
const rowWords = new Words();
const recordWords = new Words();

/**
 * Appends the vault record of the row `buf[rowStart..rowEnd)` masked last in `rm` to
 * `records`: the bytes writeRowRecord writes for the same fields, in one pass.
 */
export function serializeRecord(records: ByteArea, rm: RowMasker, shape: RecordShape, ordinal: number, buf: Uint8Array, rowStart: number, rowEnd: number): void {
  const columns = shape.columns;
  const derived = shape.derived;
  const starts = rm.starts;
  const ends = rm.ends;
  const writtenLen = rm.writtenLen;
  // Room enough: every field lies in the row (a column both key and masked counts twice),
  // each with a length of at most 3 bytes (a record is under 2 MiB), then the derived values.
  let room = shape.fixedBytes + 8 + 2 * (rowEnd - rowStart) + 3 * (columns.length + derived.length);
  if (rowEnd - rowStart > EXACT_ROOM_ROW_BYTES) {
    // A long row: the fields' own lengths (each with up to 8 bytes of length), not twice the row.
    room = shape.fixedBytes + 8 + 8 * (columns.length + derived.length);
    for (let i = 0; i < columns.length; i++) room += ends[columns[i]!]! - starts[columns[i]!]!;
  }
  for (let i = 0; i < derived.length; i++) room += writtenLen[derived[i]!]!;
  records.reserve(room);
  const out = records.bytes;
  const sv = rowWords.of(buf);
  const rv = recordWords.of(out);
  const first = records.length;
  let pos = first;
  out[pos++] = RECORD_ROW;
  pos = writeVarint(out, pos, shape.tableIndex);
  pos = writeVarint(out, pos, ordinal);
  pos = writeVarint(out, pos, columns.length + derived.length);
  for (let i = 0; i < columns.length; i++) {
    const c = columns[i]!;
    const s = starts[c]!;
    const e = ends[c]!;
    pos = writeVarint(out, pos, e - s);
    copyWords(buf, sv, s, e, out, rv, pos);
    pos += e - s;
  }
  for (let i = 0; i < derived.length; i++) {
    const j = derived[i]!;
    const n = writtenLen[j]!;
    pos = writeVarint(out, pos, n);
    copyBytes(rm.writtenBuf[j]!, 0, n, out, pos);
    pos += n;
  }
  if (pos - first > MAX_RECORD_BYTES) throw recordTooLarge(shape.tableIndex, ordinal, pos - first);
  records.length = pos;
}
