// Bytes gathered across chunks until they can be handed over whole: a COPY row or a
// statement that a chunk ends inside of. Chunk memory is reused, so what is gathered is
// copied; it is joined once, when it ends (joining it again with every chunk took time in
// the square of its length, issue 18).
//
// A short gathering keeps copies of its pieces and joins them at the end. A long one (a
// document of hundreds of MB in one field) grows one resizable ArrayBuffer in place instead:
// pieces and their join would hold it twice at once, until the garbage collector frees the
// pieces, and touch twice as much new memory (./in-place-memory.ts).

import { giveBack, inPlaceMemory, lendable, type ResizableArrayBuffer } from './in-place-memory.js';

/** Past this many bytes the gathering grows in place. */
const IN_PLACE_BYTES = 16 * 1024 * 1024;
/** The address space one in-place gathering reserves (committed only as it grows). */
const IN_PLACE_MAX_BYTES = 2 ** 31;

export class ByteGather {
  /**
   * What take() gives is given back (giveBack) by a caller that keeps no view of it past that
   * but those lent through lendView: memory gathered in place is then freed at once.
   */
  private readonly givesBack: boolean;
  private pieces: Buffer[] = [];
  private piecesLength = 0;
  /** The in-place gathering, the first `inPlaceLength` bytes (the pieces follow, if it ran out of room). */
  private inPlace: ResizableArrayBuffer | undefined;
  private inPlaceLength = 0;
  /** Whether the in-place room was tried for this gathering (it is not tried again). */
  private triedInPlace = false;

  constructor(options: { givesBack?: boolean } = {}) {
    this.givesBack = options.givesBack ?? false;
  }

  get length(): number {
    return this.inPlaceLength + this.piecesLength;
  }

  /** Gathers a copy of `buf[start..end)`. */
  append(buf: Uint8Array, start: number, end: number): void {
    const n = end - start;
    if (n <= 0) return;
    if (!this.triedInPlace && this.length + n > IN_PLACE_BYTES) {
      this.triedInPlace = true;
      this.inPlace = inPlaceMemory(IN_PLACE_MAX_BYTES);
      if (this.inPlace) {
        const pieces = this.pieces;
        this.pieces = [];
        this.piecesLength = 0;
        for (const p of pieces) this.append(p, 0, p.length);
      }
    }
    const memory = this.inPlace;
    if (memory && this.piecesLength === 0 && this.inPlaceLength + n <= memory.maxByteLength) {
      memory.resize(this.inPlaceLength + n);
      new Uint8Array(memory, this.inPlaceLength, n).set(buf.subarray(start, end));
      this.inPlaceLength += n;
      return;
    }
    this.pieces.push(Buffer.from(buf.subarray(start, end)));
    this.piecesLength += n;
  }

  /**
   * Everything gathered, then `buf[start..end)` if given, as one buffer of its own, valid
   * until given back (see givesBack; else as long as it is held). The gathering starts again empty.
   */
  take(buf?: Uint8Array, start = 0, end = buf?.length ?? 0): Buffer {
    if (buf && this.inPlace && this.piecesLength === 0) {
      this.append(buf, start, end);
      buf = undefined;
    }
    // Memory grown in place is handed over as it is when it holds everything.
    if (this.inPlace && this.givesBack && this.pieces.length === 0 && !(buf && end > start)) lendable(this.inPlace);
    const parts = this.inPlace ? [Buffer.from(this.inPlace, 0, this.inPlaceLength), ...this.pieces] : this.pieces;
    // Whole already when it is one piece of its own; the caller's bytes are always copied.
    const own = parts.length === 1 && !(buf && end > start);
    if (buf && end > start) parts.push(Buffer.from(buf.buffer, buf.byteOffset + start, end - start));
    const whole = own ? parts[0]! : Buffer.concat(parts);
    this.clear();
    return whole;
  }

  /** The caller is done with what take() gave (see givesBack). */
  giveBack(taken: Buffer): void {
    if (this.givesBack) giveBack(taken.buffer);
  }

  /** Drops what was gathered. */
  clear(): void {
    this.pieces = [];
    this.piecesLength = 0;
    this.inPlace = undefined;
    this.inPlaceLength = 0;
    this.triedInPlace = false;
  }
}
