// One row of a planned table masked and recorded: the masked bytes to `out`, the key and
// original fields (and the values written for derived columns) to the vault. The same on
// the main thread and on worker threads, so the output cannot depend on the thread count.

import type { SourcePosition } from '../dump/sql-scanner.js';
import { copyBytes } from '../io/bytes.js';
import { RECORD_ROW } from '../vault/format.js';
import { MAX_RECORD_BYTES, recordTooLarge } from '../vault/row-record.js';
import { varintLength, writeVarint } from '../vault/varint.js';
import type { ByteArea, ByteWriter, ScratchBuffer } from './byte-sink.js';
import { CopyKernel, eachLine } from './copy-kernel.js';
import type { FieldRef, RowMasker } from './row-masker.js';
import type { TablePlan } from './table-plans.js';

export interface RowRecorder {
  row(tableIndex: number, ordinal: number, fields: ReadonlyArray<FieldRef>): void;
  /** Where records can be serialized directly (a RecordBuffer's): saves a FieldRef per field. */
  readonly serialized?: ScratchBuffer;
}

/** Positions in plan.masked of the columns whose masked value depends on the row. */
export function derivedColumns(plan: TablePlan): number[] {
  const out: number[] = [];
  plan.masked.forEach((m, j) => {
    if (m.mask.kind !== 'constant') out.push(j);
  });
  return out;
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

/**
 * Appends the vault record of the row `buf[rowStart..rowEnd)` masked last in `rm` to
 * `records`: the bytes writeRowRecord writes for the same fields, in one pass.
 */
export function serializeRecord(records: ScratchBuffer, rm: RowMasker, shape: RecordShape, ordinal: number, buf: Uint8Array, rowStart: number, rowEnd: number): void {
  const columns = shape.columns;
  const derived = shape.derived;
  const starts = rm.starts;
  const ends = rm.ends;
  const writtenLen = rm.writtenLen;
  // Room enough: every field lies in the row (a column both key and masked counts twice),
  // each with a length of at most 3 bytes (a record is under 2 MiB), then the derived values.
  let room = shape.fixedBytes + 8 + 2 * (rowEnd - rowStart) + 3 * (columns.length + derived.length);
  for (let i = 0; i < derived.length; i++) room += writtenLen[derived[i]!]!;
  records.reserve(room);
  const out = records.bytes;
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
    pos = e - s < 0x80 ? ((out[pos] = e - s), pos + 1) : writeVarint(out, pos, e - s);
    copyBytes(buf, s, e, out, pos);
    pos += e - s;
  }
  for (let i = 0; i < derived.length; i++) {
    const j = derived[i]!;
    const n = writtenLen[j]!;
    pos = n < 0x80 ? ((out[pos] = n), pos + 1) : writeVarint(out, pos, n);
    copyBytes(rm.writtenBuf[j]!, 0, n, out, pos);
    pos += n;
  }
  if (pos - first > MAX_RECORD_BYTES) throw recordTooLarge(shape.tableIndex, ordinal, pos - first);
  records.length = pos;
}

/**
 * Masks the row `buf[start..end)` whose fields are set in `rm` (without its line end),
 * writes it to `out` and its record to `vault`. Returns whether any field changed.
 */
export function maskRow(
  rm: RowMasker,
  shape: RecordShape,
  ordinal: number,
  buf: Buffer,
  start: number,
  end: number,
  at: SourcePosition,
  out: ByteWriter,
  vault: RowRecorder | undefined,
): boolean {
  rm.beginRow(buf, ordinal);
  const changed = rm.writeMasked(start, end, out, at);
  if (vault?.serialized) {
    serializeRecord(vault.serialized, rm, shape, ordinal, buf, start, end);
  } else if (vault) {
    const plan = rm.plan;
    const refs = shape.refs;
    let r = 0;
    for (const i of plan.keyIndexes) setRef(refs[r++]!, buf, rm.starts[i]!, rm.ends[i]!);
    for (const m of plan.masked) setRef(refs[r++]!, buf, rm.starts[m.index]!, rm.ends[m.index]!);
    for (const j of shape.derived) setRef(refs[r++]!, rm.writtenBuf[j]!, 0, rm.writtenLen[j]!);
    vault.row(plan.index, ordinal, refs);
  }
  return changed;
}

function setRef(ref: FieldRef, buf: Uint8Array, start: number, end: number): void {
  ref.buf = buf;
  ref.start = start;
  ref.end = end;
}

/**
 * Each row of a batch of whole COPY text rows `buf[start..end)` (each with its line end;
 * the last may lack it), the first at `line`/`offset` of the input: its fields are split
 * into `rm`, `row` writes it (and says whether masking changed it), and its line end
 * follows. Returns how many rows changed.
 */
export function eachCopyRow(
  rm: RowMasker,
  buf: Buffer,
  start: number,
  end: number,
  line: number,
  offset: number,
  out: ByteWriter,
  row: (rowStart: number, rowEnd: number, at: SourcePosition) => boolean,
): number {
  return eachLine(buf, start, end, line, offset, (pos, rowEnd, lineEnd, at) => {
    rm.splitCopyRow(buf, pos, rowEnd, at);
    const changed = row(pos, rowEnd, at);
    out.write(buf, rowEnd, lineEnd);
    return changed;
  });
}

/** Per row masker: its batch kernel, or null when its fields are not COPY text. */
const kernels = new WeakMap<RowMasker, CopyKernel | null>();

/**
 * Masks a batch of whole COPY text rows (see eachCopyRow), the first being row
 * `ordinal + 1`: with the batch kernel (./copy-kernel.ts) when the recorder takes
 * serialized records (or there is none), else row by row. Returns how many rows changed.
 */
export function maskBatch(
  rm: RowMasker,
  shape: RecordShape,
  buf: Buffer,
  start: number,
  end: number,
  ordinal: number,
  line: number,
  offset: number,
  out: ByteArea,
  vault: RowRecorder | undefined,
): number {
  let kernel = kernels.get(rm);
  if (kernel === undefined) kernels.set(rm, (kernel = CopyKernel.for(rm) ?? null));
  // The kernel serializes records itself: a recorder that takes only row() gets the general path.
  if (kernel && (vault === undefined || vault.serialized)) {
    return kernel.maskBatch(shape, buf, start, end, ordinal, line, offset, out, vault?.serialized, (rowStart, rowEnd, lineEnd, n, at) => {
      rm.splitCopyRow(buf, rowStart, rowEnd, at);
      const changed = maskRow(rm, shape, n, buf, rowStart, rowEnd, at, out, vault);
      out.write(buf, rowEnd, lineEnd);
      return changed;
    });
  }
  return eachCopyRow(rm, buf, start, end, line, offset, out, (rowStart, rowEnd, at) => maskRow(rm, shape, ++ordinal, buf, rowStart, rowEnd, at, out, vault));
}
