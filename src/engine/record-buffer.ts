// Vault row records serialized into a growable buffer, for the vault writer to append
// later as they are (rows masked on a worker thread, or on the main thread while earlier
// rows are still out on workers).

import { copyBytes } from '../io/bytes.js';
import { FRAME_RECORDS } from '../vault/format.js';
import { SEAL_HEAD_BYTES, SEAL_TAIL_BYTES } from '../vault/writer.js';
import { inPlaceMemory } from '../io/in-place-memory.js';
import { rowRecordSize, writeRowRecord, type FieldRef } from '../vault/row-record.js';
import { ScratchBuffer, type ByteArea } from '../io/byte-sink.js';
import type { RowRecorder } from './masked-row.js';

export class RecordBuffer implements RowRecorder {
  private readonly records = new ScratchBuffer();
  readonly serialized = this.records;

  get length(): number {
    return this.records.length;
  }

  reset(): void {
    this.records.reset();
  }

  row(tableIndex: number, ordinal: number, fields: ReadonlyArray<FieldRef>): void {
    const r = this.records;
    r.reserve(rowRecordSize(tableIndex, ordinal, fields));
    r.length = writeRowRecord(r.bytes, r.length, tableIndex, ordinal, fields);
  }

  /** A view of the records so far; valid until the next row or reset. */
  view(): Buffer {
    return this.records.view();
  }

  /** The records so far, in a buffer of their own. */
  copy(): Uint8Array {
    return Uint8Array.from(this.records.view());
  }
}

/**
 * A worker's records for one job as a whole vault records frame (byte 0 the frame type,
 * then the records), in memory of its own: not shared, so libsodium can seal it (it
 * mis-reads SharedArrayBuffers), and transferred to the main thread rather than copied,
 * where the vault writer seals it as it is (VaultWriter.appendFrame).
 */
export class FrameRecords implements RowRecorder, ByteArea {
  bytes: Buffer;
  length = 1;

  constructor(size = INITIAL_FRAME_BYTES) {
    this.bytes = frameMemory(new ArrayBuffer(size));
  }

  get serialized(): ByteArea {
    return this;
  }

  reset(): void {
    this.length = 1;
  }

  reserve(n: number): void {
    if (this.length + n <= this.bytes.length) return;
    const bigger = frameMemory(new ArrayBuffer(Math.max(this.bytes.length * 2, this.length + n)));
    this.bytes.copy(bigger, 0, 0, this.length);
    this.bytes = bigger;
  }

  write(src: Uint8Array, start: number, end: number): void {
    this.reserve(end - start);
    copyBytes(src, start, end, this.bytes, this.length);
    this.length += end - start;
  }

  row(tableIndex: number, ordinal: number, fields: ReadonlyArray<FieldRef>): void {
    this.reserve(rowRecordSize(tableIndex, ordinal, fields));
    this.length = writeRowRecord(this.bytes, this.length, tableIndex, ordinal, fields);
  }

  /** Hands over the frame's memory (its length: `length`); the next records go into `next` (memory handed back), or new memory. */
  take(next: ArrayBuffer | undefined): ArrayBuffer {
    const frame = this.bytes.buffer as ArrayBuffer;
    this.bytes = frameMemory(next ?? new ArrayBuffer(this.bytes.length));
    this.length = 1;
    return frame;
  }
}

const INITIAL_FRAME_BYTES = 64 * 1024;
/** The address space a SealableFrame reserves: a records frame's largest (committed only as it grows). */
const SEALABLE_MAX_BYTES = 2 ** 32;

/**
 * The records of a long row (issue 18), in memory of their own laid out for the vault writer
 * to seal where they lie (VaultWriter.appendFrameInPlace): its record holds the row's masked
 * fields whole, as large as the row, so neither a second copy for the frame nor a buffer
 * grown by doubling. The memory grows in place and is freed once sealed (free()), where the
 * engine can (../../io/in-place-memory.ts). Used once.
 */
export class SealableFrame implements RowRecorder, ByteArea {
  /** The frame and the room around it. */
  memory: Buffer;
  /** The frame: byte 0 the frame type, then the records (`length` bytes in all). */
  bytes: Buffer;
  length = 1;
  private growable = inPlaceMemory(SEALABLE_MAX_BYTES);

  constructor(size = INITIAL_FRAME_BYTES) {
    this.memory = this.allocate(SEAL_HEAD_BYTES + size + SEAL_TAIL_BYTES);
    this.bytes = this.memory.subarray(SEAL_HEAD_BYTES, SEAL_HEAD_BYTES + size);
    this.bytes[0] = FRAME_RECORDS;
  }

  /** Its memory goes at once (once sealed: the vault writer has written it). */
  free(): void {
    this.growable?.resize(0);
    this.growable = undefined;
  }

  get serialized(): ByteArea {
    return this;
  }

  reserve(n: number): void {
    if (this.length + n <= this.bytes.length) return;
    // A large reservation (the long field) gets what it asks and some room for the small ones
    // after it; doubling would leave up to a whole field's size unused.
    const size = this.length + n > 2 * this.bytes.length ? this.length + n + INITIAL_FRAME_BYTES : 2 * this.bytes.length;
    const memory = this.allocate(SEAL_HEAD_BYTES + size + SEAL_TAIL_BYTES);
    if (memory.buffer !== this.memory.buffer) this.memory.copy(memory, 0, 0, SEAL_HEAD_BYTES + this.length);
    this.memory = memory;
    this.bytes = memory.subarray(SEAL_HEAD_BYTES, SEAL_HEAD_BYTES + size);
  }

  /** `total` bytes: the growable memory grown (what it held kept), or a new buffer. */
  private allocate(total: number): Buffer {
    const growable = this.growable;
    if (growable && total <= growable.maxByteLength) {
      growable.resize(total);
      return Buffer.from(growable, 0, total);
    }
    this.growable = undefined;
    return Buffer.allocUnsafe(total);
  }

  write(src: Uint8Array, start: number, end: number): void {
    this.reserve(end - start);
    copyBytes(src, start, end, this.bytes, this.length);
    this.length += end - start;
  }

  row(tableIndex: number, ordinal: number, fields: ReadonlyArray<FieldRef>): void {
    this.reserve(rowRecordSize(tableIndex, ordinal, fields));
    this.length = writeRowRecord(this.bytes, this.length, tableIndex, ordinal, fields);
  }
}

function frameMemory(memory: ArrayBuffer): Buffer {
  const bytes = Buffer.from(memory);
  bytes[0] = FRAME_RECORDS;
  return bytes;
}
