// One row of a masked table, whatever the input form: its fields' byte ranges are
// given (COPY: split at TABs; INSERT: the values of one parenthesised row), only the
// fields a rule or the key needs are decoded, and the row is written with the masked
// fields replaced and every other byte as it was.

import { PgcloakError, type SourcePosition } from '../errors.js';
import type { RowContext } from '../strategies/strategy.js';
import { sameBytes, type ByteWriter } from '../io/byte-sink.js';
import type { FieldCodec } from './field-codecs.js';
import type { MaskedField, TablePlan } from './table-plans.js';
import { tabOrEnd, Words } from '../io/word-view.js';
import { isSqlNull } from '../dump/sql-literal.js';
import { BYTE } from '../io/byte-codes.js';

const { TAB, BACKSLASH } = BYTE;

const LOWER_X = 0x78;

/** How replace() writes a masked field: the general way, or from bytes without strings. */
export const GENERAL = 0;
/** A constant in a COPY text or SQL literal column: NULL (`\\N`, `NULL`) stays NULL, anything else becomes the constant. */
export const CONSTANT = 1;
/** `xxx` + the row key in a COPY text or SQL literal column, built from the key field's bytes when they are plain. */
export const KEY_TEXT = 2;
/**
 * Native kernel only (nativeKind): a json column whose strings become `xxx` + the row key
 * (a placeholder), in COPY text or a SQL literal; JavaScript masks it the general way.
 */
export const JSON_KEY_TEXT = 3;
const SQUOTE = 0x27;

export interface FieldRef {
  buf: Uint8Array;
  start: number;
  end: number;
}

export class RowMasker implements RowContext {
  readonly plan: TablePlan;
  /** One codec per column: the same for text forms, one per type for binary COPY. */
  readonly codecs: readonly FieldCodec[];
  readonly starts: Int32Array;
  readonly ends: Int32Array;
  /** Pre-encoded replacements of constant masks, by position in plan.masked. */
  readonly constants: (Buffer | undefined)[];
  /** How each masked column writes NULL, by position in plan.masked. */
  readonly nulls: Buffer[];
  /**
   * The replacement written for the last row, by position in plan.masked:
   * `writtenBuf[j][0..writtenLen[j])`, valid until the next row.
   */
  readonly writtenBuf: Buffer[];
  readonly writtenLen: Int32Array;
  /** Per masked column: where values derived per row are encoded, reused row after row. */
  private readonly scratch: Buffer[];
  private buf: Buffer;
  private ordinal = 0;
  private cachedKey: string | undefined;
  /** Per masked column: GENERAL, CONSTANT or KEY_TEXT. */
  readonly fastKind: Uint8Array;
  /** fastKind, and JSON_KEY_TEXT where the native kernel can do a json column JavaScript does the general way. */
  readonly nativeKind: Uint8Array;
  /** Per masked column of kind KEY_TEXT: its maximum length in characters, or -1. */
  readonly maxLength: Int32Array;
  /** The fields are SQL literals (else COPY text, for the byte paths). */
  readonly literal: boolean;
  /**
   * Where this row's key text is in its field when it is plain (see keyTextInto):
   * keyPlain 1 with keyStart/keyEnd, 0 when it is not, -1 not yet known.
   */
  private keyPlain = -1;
  private keyStart = 0;
  private keyEnd = 0;
  private readonly words = new Words();

  constructor(plan: TablePlan, codec: FieldCodec | readonly FieldCodec[]) {
    this.plan = plan;
    this.codecs = Array.isArray(codec) ? codec : plan.columnNames.map(() => codec as FieldCodec);
    this.starts = new Int32Array(plan.columnNames.length);
    this.ends = new Int32Array(plan.columnNames.length);
    this.buf = Buffer.alloc(0);
    this.constants = plan.masked.map((m) => (m.mask.kind === 'constant' ? this.codecs[m.index]!.encodeConstant(m.mask.value) : undefined));
    this.nulls = plan.masked.map((m) => this.codecs[m.index]!.encode(null));
    this.writtenBuf = [...this.nulls];
    this.writtenLen = Int32Array.from(this.nulls, (b) => b.length);
    this.scratch = plan.masked.map(() => Buffer.allocUnsafe(64));
    this.fastKind = new Uint8Array(plan.masked.length);
    this.maxLength = new Int32Array(plan.masked.length).fill(-1);
    // The byte paths know COPY text and SQL literals (the rows of INSERT statements).
    const form = (i: number): string => this.codecs[i]!.encoding;
    this.literal = form(0) === 'sql-literal';
    plan.masked.forEach((m, j) => {
      const f = form(m.index);
      if (f !== 'copy-text' && f !== 'sql-literal') return;
      if (m.mask.kind === 'constant') this.fastKind[j] = CONSTANT;
      else if (m.mask.kind === 'row' && m.mask.keyText && plan.keyIndexes.length === 1 && form(plan.keyIndexes[0]!) === f) {
        this.fastKind[j] = KEY_TEXT;
        this.maxLength[j] = m.mask.keyText.maxLength ?? -1;
      }
    });
    this.nativeKind = this.fastKind.slice();
    const keyForm = plan.keyIndexes.length === 1 ? form(plan.keyIndexes[0]!) : undefined;
    plan.masked.forEach((m, j) => {
      const f = form(m.index);
      if (m.mask.kind === 'value' && m.mask.jsonKeyText && (f === 'copy-text' || f === 'sql-literal') && keyForm === f) this.nativeKind[j] = JSON_KEY_TEXT;
    });
  }

  /** COPY text: finds the field boundaries of `buf[start..end)`, exactly one field per column. */
  splitCopyRow(buf: Buffer, start: number, end: number, at: SourcePosition): void {
    if (!this.trySplitCopyRow(buf, start, end)) throw this.fieldCountError(countTabs(buf, start, end) + 1, at);
  }

  /** splitCopyRow, but false instead of an error when the row has too few or too many fields. */
  trySplitCopyRow(buf: Buffer, start: number, end: number): boolean {
    const sv = this.words.of(buf);
    const n = this.starts.length;
    // A long row (a document in a field) is searched natively: the word loop reads about 0.5 GB/s.
    const long = end - start > LONG_ROW_SEARCH_BYTES;
    let p = start;
    for (let i = 0; i < n; i++) {
      const e = long ? tabIndexOrEnd(buf, p, end) : tabOrEnd(buf, sv, p, end);
      if (e === end ? i < n - 1 : i === n - 1) return false;
      this.starts[i] = p;
      this.ends[i] = e;
      p = e + 1;
    }
    return true;
  }

  /** Field ranges found by another reader (INSERT values). */
  setFields(starts: readonly number[], ends: readonly number[], at: SourcePosition): void {
    if (starts.length !== this.starts.length) throw this.fieldCountError(starts.length, at);
    for (let i = 0; i < starts.length; i++) {
      this.starts[i] = starts[i]!;
      this.ends[i] = ends[i]!;
    }
  }

  fieldCountError(got: number, at: SourcePosition): PgcloakError {
    return new PgcloakError('COPY_FIELD_COUNT', `expected ${this.starts.length} fields, got ${got}`, {
      table: this.plan.table,
      line: at.line,
      offset: at.offset,
    });
  }

  /** Prepares `key()` and `field()` for the row whose fields are set, in `buf`. */
  beginRow(buf: Buffer, ordinal: number): void {
    this.buf = buf;
    this.ordinal = ordinal;
    this.cachedKey = undefined;
    this.keyPlain = -1;
  }

  key(): string {
    if (this.cachedKey !== undefined) return this.cachedKey;
    const idx = this.plan.keyIndexes;
    let key: string;
    if (idx.length === 0) key = String(this.ordinal);
    else if (idx.length === 1) key = this.decodeAt(idx[0]!) ?? '';
    else key = idx.map((i) => this.decodeAt(i) ?? '').join('-');
    this.cachedKey = key;
    return key;
  }

  field(column: string): string | null {
    const i = this.plan.columnNames.indexOf(column);
    return i === -1 ? null : this.decodeAt(i);
  }

  private decodeAt(i: number): string | null {
    return this.codecs[i]!.decode(this.buf, this.starts[i]!, this.ends[i]!);
  }

  /** Sets writtenBuf[j]/writtenLen[j] to the encoded replacement for masked field `m` (the `j`-th of plan.masked). */
  replace(m: MaskedField, j: number, at: SourcePosition): void {
    const s = this.starts[m.index]!;
    const e = this.ends[m.index]!;
    const fast = this.fastKind[j]!;
    if (fast !== GENERAL) {
      const buf = this.buf;
      if (this.literal ? isSqlNull(buf, s, e) : e - s === 2 && buf[s] === BACKSLASH && buf[s + 1] === 0x4e) {
        this.written(j, this.nulls[j]!);
        return;
      }
      if (fast === CONSTANT) {
        this.written(j, this.constants[j]!);
        return;
      }
      if (this.keyTextInto(j)) return;
    }
    const codec = this.codecs[m.index]!;
    if (codec.isNull(this.buf, s, e)) {
      this.written(j, this.nulls[j]!);
      return;
    }
    const mask = m.mask;
    try {
      switch (mask.kind) {
        case 'constant':
          this.written(j, this.constants[j]!);
          return;
        case 'row':
          this.encode(j, codec, mask.derive(this));
          return;
        case 'value': {
          const value = mask.derive(codec.decode(this.buf, s, e) ?? '', this);
          if (codec.encodeLike) this.written(j, codec.encodeLike(value, this.buf, s, e));
          else this.encode(j, codec, value);
          return;
        }
      }
    } catch (err) {
      if (err instanceof PgcloakError) {
        throw new PgcloakError(err.code, err.detail, {
          table: this.plan.table,
          column: m.name,
          line: at.line,
          offset: at.offset,
        });
      }
      throw err;
    }
  }

  /**
   * KEY_TEXT: `xxx` + key written as fitPlaceholderText and the codec would, straight from
   * the key field's bytes when its text is plain: printable ASCII other than backslash (and
   * quote) is its own text, COPY text and SQL string body. In COPY text that is the whole
   * field; in SQL literals a number's digits or the body of a quoted string. Returns false
   * to leave it to the general way (other keys, and keys to be cut to fit the column).
   */
  keyTextInto(j: number): boolean {
    if (this.keyPlain === -1) this.findPlainKey();
    if (this.keyPlain === 0) return false;
    const buf = this.buf;
    const ks = this.keyStart;
    const ke = this.keyEnd;
    const keyLength = ke - ks;
    const max = this.maxLength[j]!;
    // A key longer than the column is cut, with a warning: the general way does that.
    if (max >= 0 && keyLength > max) return false;
    const prefix = max < 0 || keyLength + 3 <= max ? 3 : max - keyLength;
    const quotes = this.literal ? 2 : 0;
    let target = this.scratch[j]!;
    if (target.length < prefix + keyLength + quotes) target = this.scratch[j] = Buffer.allocUnsafe(2 * (prefix + keyLength + quotes));
    let n = 0;
    if (quotes) target[n++] = SQUOTE;
    while (n < prefix + quotes / 2) target[n++] = LOWER_X;
    for (let i = ks; i < ke; i++) target[n++] = buf[i]!;
    if (quotes) target[n++] = SQUOTE;
    this.writtenBuf[j] = target;
    this.writtenLen[j] = n;
    return true;
  }

  private findPlainKey(): void {
    const buf = this.buf;
    const k = this.plan.keyIndexes[0]!;
    let ks = this.starts[k]!;
    let ke = this.ends[k]!;
    let plain: boolean;
    if (!this.literal) {
      plain = isPlainAscii(buf, ks, ke);
    } else if (ke - ks >= 2 && buf[ks] === SQUOTE && buf[ke - 1] === SQUOTE) {
      ks++;
      ke--;
      // No quote inside: the first one from ks is the closing one, at ke.
      plain = isPlainAscii(buf, ks, ke) && buf.indexOf(SQUOTE, ks) === ke;
    } else {
      plain = ke > ks;
      for (let i = ks; i < ke && plain; i++) plain = buf[i]! >= 0x30 && buf[i]! <= 0x39;
    }
    this.keyPlain = plain ? 1 : 0;
    this.keyStart = ks;
    this.keyEnd = ke;
  }

  private written(j: number, b: Buffer): void {
    this.writtenBuf[j] = b;
    this.writtenLen[j] = b.length;
  }

  /** Encodes into the column's scratch buffer when the codec can (no allocation per value). */
  private encode(j: number, codec: FieldCodec, value: string): void {
    if (codec.encodeInto) {
      let n = codec.encodeInto(value, this.scratch[j]!);
      if (n < 0) {
        this.scratch[j] = Buffer.allocUnsafe(Math.max(-n, this.scratch[j]!.length * 2));
        n = codec.encodeInto(value, this.scratch[j]!);
      }
      this.writtenBuf[j] = this.scratch[j]!;
      this.writtenLen[j] = n;
      return;
    }
    this.written(j, codec.encode(value));
  }

  /**
   * Unmask's check: masking the begun row (a candidate original) must give, field by
   * masked field, exactly `masked[maskedStarts[j]..maskedEnds[j])`; its other fields are the
   * masked row's by construction. Returns -1 when a field differs, else 1 when masking
   * changes the row and 0 when it does not.
   */
  matchesMasked(masked: Buffer, maskedStarts: Int32Array, maskedEnds: Int32Array, at: SourcePosition): number {
    const list = this.plan.masked;
    let changed = 0;
    for (let j = 0; j < list.length; j++) {
      const m = list[j]!;
      this.replace(m, j, at);
      const rep = this.writtenBuf[j]!;
      const n = this.writtenLen[j]!;
      if (!sameBytes(rep, 0, n, masked, maskedStarts[j]!, maskedEnds[j]!)) return -1;
      if (changed === 0 && !sameBytes(rep, 0, n, this.buf, this.starts[m.index]!, this.ends[m.index]!)) changed = 1;
    }
    return changed;
  }

  /**
   * Writes the masked row `buf[start..end)` to `out`, for the row whose fields are set
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
      this.replace(m, j, at);
      const rep = this.writtenBuf[j]!;
      const n = this.writtenLen[j]!;
      out.write(buf, pos, s);
      out.write(rep, 0, n);
      pos = e;
      if (!changed && !sameBytes(rep, 0, n, buf, s, e)) changed = true;
    }
    out.write(buf, pos, end);
    return changed;
  }
}

/** Printable ASCII other than backslash: bytes that are their own text, and their own COPY text. */
export function isPlainAscii(buf: Uint8Array, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    const c = buf[i]!;
    if (c < 0x20 || c > 0x7e || c === BACKSLASH) return false;
  }
  return true;
}

/** Rows longer than this find their TABs with indexOf. */
const LONG_ROW_SEARCH_BYTES = 64 * 1024;

/** The first TAB in `buf[p..end)`, or `end`. */
function tabIndexOrEnd(buf: Buffer, p: number, end: number): number {
  const t = buf.indexOf(TAB, p);
  return t === -1 || t > end ? end : t;
}

function countTabs(buf: Buffer, start: number, end: number): number {
  let n = 0;
  for (let p = buf.indexOf(TAB, start); p !== -1 && p < end; p = buf.indexOf(TAB, p + 1)) n++;
  return n;
}
