// One row of a planned table masked and recorded: the masked bytes to `out`, the key and
// original fields (and the values written for derived columns) to the vault. The same on
// the main thread and on worker threads, so the output cannot depend on the thread count.

import type { SourcePosition } from '../dump/sql-scanner.js';
import type { ByteWriter } from './byte-sink.js';
import type { FieldRef, RowMasker } from './row-masker.js';
import type { TablePlan } from './table-plans.js';

export interface RowRecorder {
  row(tableIndex: number, ordinal: number, fields: ReadonlyArray<FieldRef>): void;
}

/** Positions in plan.masked of the columns whose masked value depends on the row. */
export function derivedColumns(plan: TablePlan): number[] {
  const out: number[] = [];
  plan.masked.forEach((m, j) => {
    if (m.mask.kind !== 'constant') out.push(j);
  });
  return out;
}

/** Reusable field references of one table's vault records. */
export class RecordShape {
  readonly refs: FieldRef[] = [];
  readonly derived: number[];

  constructor(plan: TablePlan) {
    this.derived = derivedColumns(plan);
    const n = plan.keyIndexes.length + plan.masked.length + this.derived.length;
    for (let i = 0; i < n; i++) this.refs.push({ buf: Buffer.alloc(0), start: 0, end: 0 });
  }
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
  if (vault) {
    const plan = rm.plan;
    const refs = shape.refs;
    let r = 0;
    for (const i of plan.keyIndexes) setRef(refs[r++]!, buf, rm.starts[i]!, rm.ends[i]!);
    for (const m of plan.masked) setRef(refs[r++]!, buf, rm.starts[m.index]!, rm.ends[m.index]!);
    for (const j of shape.derived) {
      setRef(refs[r++]!, rm.writtenBuf[j]!, 0, rm.writtenLen[j]!);
    }
    vault.row(plan.index, ordinal, refs);
  }
  return changed;
}

function setRef(ref: FieldRef, buf: Uint8Array, start: number, end: number): void {
  ref.buf = buf;
  ref.start = start;
  ref.end = end;
}

const NL = 0x0a;
const CR = 0x0d;

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
  let changed = 0;
  let pos = start;
  // One position object for the batch: errors copy its fields when they are made.
  const at = { line, offset };
  while (pos < end) {
    let nl = buf.indexOf(NL, pos);
    if (nl === -1 || nl >= end) nl = end;
    const rowEnd = nl > pos && buf[nl - 1] === CR ? nl - 1 : nl;
    at.line = line;
    at.offset = offset + (pos - start);
    rm.splitCopyRow(buf, pos, rowEnd, at);
    if (row(pos, rowEnd, at)) changed++;
    out.write(buf, rowEnd, Math.min(nl + 1, end));
    pos = nl + 1;
    line++;
  }
  return changed;
}

/**
 * Masks a batch of whole COPY text rows (see eachCopyRow), the first being row
 * `ordinal + 1`. Returns how many rows changed.
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
  out: ByteWriter,
  vault: RowRecorder | undefined,
): number {
  return eachCopyRow(rm, buf, start, end, line, offset, out, (rowStart, rowEnd, at) => maskRow(rm, shape, ++ordinal, buf, rowStart, rowEnd, at, out, vault));
}
