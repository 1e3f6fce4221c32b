// Batches of COPY text rows masked in JavaScript with as little per-field work as the bytes
// allow: fields found 4 bytes at a time, stretches between masked fields copied by words
// through DataViews, constants and their NULLs written in place, RowMasker.replace for the
// other values (xxx<key> takes a byte path there) and the record serialized from the field
// positions. A row it cannot do the same way as the general path (wrong field count, a
// value too large for the room reserved) goes to the general path (maskRow), which writes
// it or throws the error it always would.
// The bytes must be the general path's: test/mask/row-fast-paths.test.ts compares them.
// This is the JavaScript row kernel's COPY batch (./js-row-kernel.ts); the native one
// (./native-row-kernel.ts) hands it the rows it leaves, and test/mask/native-kernel.test.ts
// compares their bytes.

import type { SourcePosition } from '../errors.js';
import { copyBytes } from '../io/bytes.js';
import { copyWords, Words } from '../io/word-view.js';
import { sameBytes, type ByteArea } from '../io/byte-sink.js';
import { serializeRecord, type RecordShape } from './masked-record.js';
import { CONSTANT, KEY_TEXT, type RowMasker } from './row-masker.js';
import { BYTE } from '../io/byte-codes.js';

const { NL, CR, BACKSLASH } = BYTE;

/** The general path for one row: writes it (line end included) and its record; says whether it changed. */
export type GeneralRow = (rowStart: number, rowEnd: number, lineEnd: number, ordinal: number, at: SourcePosition) => boolean;

const UPPER_N = 0x4e;

/**
 * Each line of whole COPY text rows `buf[start..end)` (each with its line end; the last may
 * lack it), the first at `line`/`offset`: `row` gets the row's bytes `[pos, rowEnd)` (without
 * its line end, a CR before the NL included) and the line's end, and says whether masking
 * changed it. Returns how many rows changed.
 */
export function eachLine(
  buf: Buffer,
  start: number,
  end: number,
  line: number,
  offset: number,
  row: (pos: number, rowEnd: number, lineEnd: number, at: SourcePosition) => boolean,
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
    if (row(pos, rowEnd, nl < end ? nl + 1 : end, at)) changed++;
    pos = nl + 1;
    line++;
  }
  return changed;
}

/** Where the line from `pos` in `buf[..end)` ends: after its NL, or at `end`. */
export function lineEndAt(buf: Buffer, pos: number, end: number): number {
  const nl = buf.indexOf(NL, pos);
  return nl === -1 || nl >= end ? end : nl + 1;
}

/** Per row masker: its batch kernel, or null when its fields are not all COPY text. */
const kernels = new WeakMap<RowMasker, CopyKernel | null>();

export class CopyKernel {
  /** Output room a row needs besides its own bytes and its key-text placeholders. */
  private readonly constantRoom: number;
  private readonly keyTextCount: number;
  private readonly inWords = new Words();
  private readonly outWords = new Words();

  /** The kernel for rm's rows (made once per row masker): COPY text fields only (raw CSV and binary rows never come in batches). */
  static for(rm: RowMasker): CopyKernel | undefined {
    let kernel = kernels.get(rm);
    if (kernel === undefined) kernels.set(rm, (kernel = rm.codecs.every((c) => c.encoding === 'copy-text') ? new CopyKernel(rm) : null));
    return kernel ?? undefined;
  }

  private constructor(readonly rm: RowMasker) {
    const plan = rm.plan;
    this.keyTextCount = rm.fastKind.filter((k) => k === KEY_TEXT).length;
    this.constantRoom = plan.masked.reduce((sum, _m, j) => sum + Math.max(rm.constants[j]?.length ?? 0, 2) + 3, 0);
  }

  /**
   * Masks a batch of whole COPY text rows `buf[start..end)` (each with its line end; the
   * last may lack it), the first being row `ordinal + 1` at `line`/`offset`, into `out`,
   * and their records into `records` (none: no vault). Rows it cannot do go to `general`.
   * Returns how many rows changed.
   */
  maskBatch(
    shape: RecordShape,
    buf: Buffer,
    start: number,
    end: number,
    ordinal: number,
    line: number,
    offset: number,
    out: ByteArea,
    records: ByteArea | undefined,
    general: GeneralRow,
  ): number {
    return eachLine(buf, start, end, line, offset, (pos, rowEnd, lineEnd, at) => {
      const r = this.row(shape, buf, pos, rowEnd, lineEnd, ++ordinal, at, out, records);
      return r >= 0 ? r === 1 : general(pos, rowEnd, lineEnd, ordinal, at);
    });
  }

  /** One row: 1 if masking changed it, 0 if not, -1 (nothing written) for the general path. */
  private row(
    shape: RecordShape,
    buf: Buffer,
    pos: number,
    rowEnd: number,
    lineEnd: number,
    ordinal: number,
    at: SourcePosition,
    out: ByteArea,
    records: ByteArea | undefined,
  ): number {
    const rm = this.rm;
    const sv = this.inWords.of(buf);
    // The fields: exactly one per column, else the general path reports the count.
    if (!rm.trySplitCopyRow(buf, pos, rowEnd)) return -1;
    const starts = rm.starts;
    const ends = rm.ends;
    let p = pos;
    rm.beginRow(buf, ordinal);
    const masked = rm.plan.masked;
    const kind = rm.fastKind;
    out.reserve((lineEnd - pos) * (1 + this.keyTextCount) + this.constantRoom);
    const ob = out.bytes;
    const ov = this.outWords.of(ob);
    let o = out.length;
    let changed = 0;
    for (let j = 0; j < masked.length; j++) {
      const s = starts[masked[j]!.index]!;
      const e = ends[masked[j]!.index]!;
      copyWords(buf, sv, p, s, ob, ov, o);
      o += s - p;
      p = e;
      if (kind[j] === CONSTANT) {
        // NULL stays NULL; anything else becomes the constant.
        const c = e - s === 2 && buf[s] === BACKSLASH && buf[s + 1] === UPPER_N ? rm.nulls[j]! : rm.constants[j]!;
        for (let x = 0; x < c.length; x++) ob[o++] = c[x]!;
        if (changed === 0 && !sameBytes(c, 0, c.length, buf, s, e)) changed = 1;
        continue;
      }
      // NULL, xxx<key> from a plain key's bytes (RowMasker.keyTextInto), or the general way.
      rm.replace(masked[j]!, j, at);
      const w = rm.writtenBuf[j]!;
      const wn = rm.writtenLen[j]!;
      // A value made the general way may be longer than the room reserved (json shapes, a
      // key with characters to escape): room for it and the worst of the rest, else the general path.
      if (o + wn + (lineEnd - pos) * (1 + this.keyTextCount) + this.constantRoom > ob.length) return -1;
      copyBytes(w, 0, wn, ob, o);
      o += wn;
      if (changed === 0 && !sameBytes(w, 0, wn, buf, s, e)) changed = 1;
    }
    copyWords(buf, sv, p, lineEnd, ob, ov, o);
    o += lineEnd - p;
    // The record (a record too large throws the error the general path would).
    if (records) serializeRecord(records, rm, shape, ordinal, buf, pos, rowEnd);
    out.length = o;
    return changed;
  }
}
