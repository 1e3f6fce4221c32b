// COPY BINARY data (the output of `COPY t TO STDOUT (FORMAT binary)`): the header, then
// one tuple per row (int16 field count, then per field an int32 length, -1 for NULL, and
// that many bytes), then the int16 -1 trailer. Tuples are reported with the byte range of
// each field *including* its length prefix, so the masker can swap a field for one of a
// different length and copy everything else.
// https://www.postgresql.org/docs/current/sql-copy.html#SQL-COPY-BINARY-FORMAT

import { PgcloakError, type SourcePosition } from '../errors.js';

/** `PGCOPY\n\377\r\n\0`: the 11 bytes every binary COPY stream starts with. */
export const BINARY_COPY_SIGNATURE: Buffer = Buffer.from([0x50, 0x47, 0x43, 0x4f, 0x50, 0x59, 0x0a, 0xff, 0x0d, 0x0a, 0x00]);
/** The int16 -1 that ends the tuples. */
export const BINARY_COPY_TRAILER: Buffer = Buffer.from([0xff, 0xff]);

const SIGNATURE_LENGTH = 11;
const HEADER_FIXED_LENGTH = SIGNATURE_LENGTH + 4 + 4; // signature, int32 flags, int32 extension length
const FLAG_OIDS = 1 << 16; // bit 16: every tuple carries an OID (WITH OIDS, PostgreSQL 11 and older)
const CRITICAL_FLAGS = 0xfffe0000; // bits 17-31: "a reader should abort if an unexpected bit is set"
const END_OF_TUPLES = -1; // the trailer, where a field count would be
const NULL_LENGTH = -1;

export interface BinaryCopyHandler {
  /** The whole header: signature, flags, extension length and extension. */
  header(buf: Buffer, start: number, end: number): void;
  /**
   * One tuple: `start` at its int16 field count, `end` after its last field. Field i is
   * `[starts[i], ends[i])`, its int32 length prefix included (a NULL field is the 4 bytes
   * ff ff ff ff). `at.line` is the tuple's number (1-based), `at.offset` the stream offset
   * of its first byte. The arrays are reused: valid only during the call.
   */
  row(buf: Buffer, start: number, end: number, starts: readonly number[], ends: readonly number[], at: SourcePosition): void;
  /** The int16 -1 that ends the data. */
  trailer(buf: Buffer, start: number, end: number): void;
}

const HEADER = 0;
const TUPLES = 1;
const DONE = 2;

export class BinaryCopyReader {
  private readonly handler: BinaryCopyHandler;
  private state = HEADER;
  /**
   * Unconsumed input: the start of one unit (header or tuple) that is not complete yet,
   * kept as the chunks it came in and joined once it is, so a tuple arriving in many
   * chunks is copied once. Buffers given to the handler are never written to afterwards.
   */
  private pending: Buffer[] = [];
  private pendingLength = 0;
  /** How many pending bytes the unit needs, as far as its length prefixes are read. */
  private need = 0;
  /** Progress through the pending unit's length prefixes: fields left (-1: count not read), next prefix. */
  private fieldsLeft = -1;
  private cursor = 0;
  /** peekInt's place in the pending chunks: the index of a chunk and its offset. Only moves forward. */
  private walkIndex = 0;
  private walkBase = 0;
  /** Stream offset of the first pending byte. */
  private offset = 0;
  private readonly starts: number[] = [];
  private readonly ends: number[] = [];
  rows = 0;

  constructor(handler: BinaryCopyHandler) {
    this.handler = handler;
  }

  write(chunk: Buffer): void {
    if (chunk.length === 0) return;
    if (this.state === DONE) throw afterTrailer(this.offset);
    let buf = chunk;
    if (this.pendingLength > 0) {
      this.pending.push(chunk);
      this.pendingLength += chunk.length;
      if (this.state === HEADER) this.checkSignaturePrefix();
      if (!this.pendingUnitComplete()) return;
      buf = Buffer.concat(this.pending, this.pendingLength);
    }
    const consumed = this.scan(buf);
    this.offset += consumed;
    this.fieldsLeft = -1;
    this.cursor = 0;
    this.walkIndex = 0;
    this.walkBase = 0;
    if (consumed < buf.length) {
      const rest = buf.subarray(consumed);
      this.pending = [rest];
      this.pendingLength = rest.length;
    } else {
      this.pending = [];
      this.pendingLength = 0;
    }
  }

  end(): void {
    if (this.state === DONE) return;
    if (this.state === HEADER) {
      if (this.pendingLength > 0) this.checkSignaturePrefix();
      throw new PgcloakError('COPY_UNTERMINATED', 'binary COPY data ends inside its header', { offset: this.offset + this.pendingLength });
    }
    if (this.pendingLength > 0) {
      throw new PgcloakError(
        'COPY_UNTERMINATED',
        `binary COPY data ends inside tuple ${this.rows + 1} (${this.pendingLength} of at least ${this.need} bytes)`,
        { line: this.rows + 1, offset: this.offset },
      );
    }
    throw new PgcloakError('COPY_UNTERMINATED', 'binary COPY data ends without its trailer (int16 -1)', { offset: this.offset });
  }

  /**
   * Whether the pending bytes hold the whole unit they start with, reading its length
   * prefixes across the pending chunks and remembering how far it got. Malformed lengths
   * count as complete: scan() reports them.
   */
  private pendingUnitComplete(): boolean {
    const have = this.pendingLength;
    if (this.state === HEADER) {
      this.need = HEADER_FIXED_LENGTH;
      if (have < this.need) return false;
      this.need += Math.max(0, this.peekInt(SIGNATURE_LENGTH + 4, 4));
      return have >= this.need;
    }
    if (this.fieldsLeft === -1) {
      this.need = 2;
      if (have < 2) return false;
      const count = this.peekInt(0, 2);
      if (count < 0) return true; // the trailer, or an invalid count
      this.fieldsLeft = count;
      this.cursor = 2;
    }
    while (this.fieldsLeft > 0) {
      this.need = this.cursor + 4;
      if (have < this.need) return false;
      const fieldLength = this.peekInt(this.cursor, 4);
      if (fieldLength < NULL_LENGTH) return true;
      this.cursor += 4 + Math.max(0, fieldLength);
      this.fieldsLeft--;
    }
    this.need = this.cursor;
    return have >= this.need;
  }

  /** The big-endian signed integer of `size` bytes at `at` in the pending chunks (`at` never decreases within a unit). */
  private peekInt(at: number, size: 2 | 4): number {
    let value = 0;
    for (let k = 0; k < size; k++) {
      const p = at + k;
      while (p >= this.walkBase + this.pending[this.walkIndex]!.length) this.walkBase += this.pending[this.walkIndex++]!.length;
      value = value * 256 + this.pending[this.walkIndex]![p - this.walkBase]!;
    }
    return size === 2 ? (value << 16) >> 16 : value | 0;
  }

  /** Handles what `buf` holds completely; returns how many bytes that took. */
  private scan(buf: Buffer): number {
    const len = buf.length;
    let pos = 0;
    if (this.state === HEADER) {
      if (len < HEADER_FIXED_LENGTH) return this.wait(HEADER_FIXED_LENGTH, buf);
      checkSignature(buf, len, this.offset);
      const flags = buf.readUInt32BE(SIGNATURE_LENGTH);
      if ((flags & FLAG_OIDS) !== 0) {
        throw new PgcloakError('INPUT_FORMAT', 'binary COPY data with OIDs (WITH OIDS, PostgreSQL 11 and older) is not supported', {
          offset: this.offset + SIGNATURE_LENGTH,
        });
      }
      if ((flags & CRITICAL_FLAGS) !== 0) {
        throw new PgcloakError('INPUT_FORMAT', `binary COPY header has unknown critical flags 0x${flags.toString(16)}`, {
          offset: this.offset + SIGNATURE_LENGTH,
        });
      }
      const extension = buf.readInt32BE(SIGNATURE_LENGTH + 4);
      if (extension < 0) {
        throw new PgcloakError('INPUT_FORMAT', `binary COPY header extension length is negative (${extension})`, {
          offset: this.offset + SIGNATURE_LENGTH + 4,
        });
      }
      const headerEnd = HEADER_FIXED_LENGTH + extension;
      if (len < headerEnd) return this.wait(headerEnd, buf);
      this.handler.header(buf, 0, headerEnd);
      this.state = TUPLES;
      pos = headerEnd;
    }
    const starts = this.starts;
    const ends = this.ends;
    while (pos < len) {
      if (len - pos < 2) return this.wait(2, buf, pos);
      const count = buf.readInt16BE(pos);
      if (count === END_OF_TUPLES) {
        this.handler.trailer(buf, pos, pos + 2);
        this.state = DONE;
        this.need = 0;
        if (pos + 2 < len) throw afterTrailer(this.offset + pos + 2);
        return len;
      }
      if (count < 0) {
        throw new PgcloakError('COPY_VALUE', `binary COPY tuple ${this.rows + 1} has a negative field count (${count})`, {
          line: this.rows + 1,
          offset: this.offset + pos,
        });
      }
      starts.length = count;
      ends.length = count;
      let p = pos + 2;
      for (let i = 0; i < count; i++) {
        if (len - p < 4) return this.wait(p + 4 - pos, buf, pos);
        const fieldLength = buf.readInt32BE(p);
        if (fieldLength < NULL_LENGTH) {
          throw new PgcloakError('COPY_VALUE', `binary COPY field ${i + 1} has a negative length (${fieldLength})`, {
            line: this.rows + 1,
            offset: this.offset + p,
          });
        }
        const fieldEnd = p + 4 + (fieldLength === NULL_LENGTH ? 0 : fieldLength);
        if (fieldEnd > len) return this.wait(fieldEnd - pos, buf, pos);
        starts[i] = p;
        ends[i] = fieldEnd;
        p = fieldEnd;
      }
      this.rows++;
      this.handler.row(buf, pos, p, starts, ends, { line: this.rows, offset: this.offset + pos });
      pos = p;
    }
    this.need = 0;
    return pos;
  }

  /** Stops scanning at `from`, the start of a unit that needs `need` bytes so far. */
  private wait(need: number, buf: Buffer, from = 0): number {
    this.need = need;
    if (this.state === HEADER) checkSignature(buf, Math.min(buf.length, SIGNATURE_LENGTH), this.offset);
    return from;
  }

  /** Refuses input that cannot be binary COPY data as soon as its first bytes say so. */
  private checkSignaturePrefix(): void {
    let checked = 0;
    for (const piece of this.pending) {
      const n = Math.min(piece.length, SIGNATURE_LENGTH - checked);
      for (let i = 0; i < n; i++) {
        if (piece[i] !== BINARY_COPY_SIGNATURE[checked + i]) throw badSignature(this.offset + checked + i);
      }
      checked += n;
      if (checked === SIGNATURE_LENGTH) return;
    }
  }
}

function checkSignature(buf: Buffer, upTo: number, offset: number): void {
  const n = Math.min(upTo, SIGNATURE_LENGTH);
  for (let i = 0; i < n; i++) {
    if (buf[i] !== BINARY_COPY_SIGNATURE[i]) throw badSignature(offset + i);
  }
}

function badSignature(offset: number): PgcloakError {
  return new PgcloakError('INPUT_FORMAT', 'not binary COPY data: it must start with the signature PGCOPY\\n\\377\\r\\n\\0', { offset });
}

function afterTrailer(offset: number): PgcloakError {
  return new PgcloakError('COPY_VALUE', 'data after the binary COPY trailer', { offset });
}

/** A header with no flags and no extension, as PostgreSQL writes it. */
export function binaryCopyHeader(): Buffer {
  const header = Buffer.alloc(HEADER_FIXED_LENGTH);
  BINARY_COPY_SIGNATURE.copy(header, 0);
  return header;
}

/** One tuple from its fields, each already length-prefixed (as binaryFieldCodec encodes them). */
export function binaryTuple(fields: readonly Buffer[]): Buffer {
  const count = Buffer.alloc(2);
  count.writeInt16BE(fields.length);
  return Buffer.concat([count, ...fields]);
}
