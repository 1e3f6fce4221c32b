// Output batching. Rewritten rows arrive as many small pieces; pushing each one
// downstream would cost more than the masking. Small pieces are copied into a
// 64 KiB block; large untouched stretches go out as they are, without a copy.

import { copyBytes } from './bytes.js';
import { lendView } from './in-place-memory.js';

const BLOCK = 64 * 1024;
const DIRECT = 16 * 1024;

/** `a[as..ae)` equals `b[bs..be)`: a loop for short ranges (no native call), compare() beyond. */
export function sameBytes(a: Uint8Array, as: number, ae: number, b: Buffer, bs: number, be: number): boolean {
  const n = ae - as;
  if (n !== be - bs) return false;
  if (n > 32) return b.compare(a, as, ae, bs, be) === 0;
  for (let i = 0; i < n; i++) if (a[as + i] !== b[bs + i]) return false;
  return true;
}

export interface ByteWriter {
  /** `transient`: `src` is a scratch buffer that will be overwritten (a writer that keeps views must copy). */
  write(src: Uint8Array, start: number, end: number, transient?: boolean): void;
}

/**
 * A writer that can also be written in place: after reserve(n), `bytes[length..length + n)`
 * may be filled and `length` advanced over what was written.
 */
export interface ByteArea extends ByteWriter {
  readonly bytes: Buffer;
  length: number;
  reserve(n: number): void;
}

/**
 * Receives output. `release`, when given, says the chunk's memory is recycled once
 * released (after it is written); a chunk without it is valid only until the input chunk
 * being processed is written out, so whoever holds it longer copies it.
 */
export type Push = (chunk: Buffer, release?: () => void) => void;

/** Written blocks come back for reuse, up to this many. */
const SPARE_BLOCKS = 32;

export class ByteSink implements ByteArea {
  private block: Buffer = Buffer.allocUnsafe(BLOCK);
  /** Bytes of the block in use. */
  length = 0;
  private readonly push: Push;
  private readonly spare: Buffer[] = [];

  constructor(push: Push) {
    this.push = push;
  }

  /**
   * `transient`: `src` will be overwritten after this call (a scratch buffer), so even
   * a large piece must be copied rather than handed downstream as a view.
   */
  write(src: Uint8Array, start: number, end: number, transient = false): void {
    const n = end - start;
    if (n <= 0) return;
    if (n >= DIRECT) {
      this.flush();
      const view = Buffer.from(src.buffer, src.byteOffset + start, n);
      if (transient) this.push(Buffer.from(view));
      else this.push(view, lendView(src.buffer));
      return;
    }
    if (this.length + n > BLOCK) this.flush();
    copyBytes(src, start, end, this.block, this.length);
    this.length += n;
  }

  /** The block being filled: see ByteArea. */
  get bytes(): Buffer {
    return this.block;
  }

  /** Room for `n` more bytes in the block, pushing out what it holds if need be. */
  reserve(n: number): void {
    if (this.length + n <= this.block.length) return;
    this.flush();
    // A block grown for one large row is not kept for reuse (see flush).
    if (n > this.block.length) this.block = Buffer.allocUnsafe(n);
  }

  flush(): void {
    const used = this.length;
    if (used === 0) return;
    const block = this.block;
    // The pushed block belongs downstream until it is released.
    this.block = this.spare.pop() ?? Buffer.allocUnsafe(BLOCK);
    this.length = 0;
    this.push(block.subarray(0, used), () => {
      if (this.spare.length < SPARE_BLOCKS && block.length === BLOCK) this.spare.push(block);
    });
  }
}

/** A reusable growable buffer, for building one row at a time. */
export class ScratchBuffer implements ByteArea {
  private buf = Buffer.allocUnsafe(4096);
  length = 0;

  reset(): void {
    this.length = 0;
  }

  write(src: Uint8Array, start: number, end: number): void {
    const n = end - start;
    if (n <= 0) return;
    this.reserve(n);
    copyBytes(src, start, end, this.buf, this.length);
    this.length += n;
  }

  /** Makes room for `n` more bytes after `length` (in `bytes`, which may be a new buffer). */
  reserve(n: number): void {
    if (this.length + n <= this.buf.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.length + n));
    this.buf.copy(bigger, 0, 0, this.length);
    this.buf = bigger;
  }

  /** The buffer holding the contents, `[0..length)`: valid until the next write or reset (no view allocated). */
  get bytes(): Buffer {
    return this.buf;
  }

  /** A view of the contents; valid until the next write or reset. */
  view(): Buffer {
    return this.buf.subarray(0, this.length);
  }
}
