// Writes a vault (format in ./format.ts) while a dump is being masked. Synchronous on purpose:
// the masker calls row() from its synchronous hot path, once per masked row of dumps of
// hundreds of GB. Records are packed into one reusable buffer that is encrypted and written
// each time it passes FRAME_TARGET_BYTES, so memory stays flat. The file is built beside its
// final path and renamed into place by finish(), so a vault path never holds half a vault;
// or, given a staging path, built there and left for the caller to rename (the CLI commits
// the vault and the output together: src/cli/run-files.ts). A signed vault's bytes are hashed
// as they are written, and finish() appends the signature (./signature.ts).

import { closeSync, fdatasync, fsyncSync, openSync, renameSync } from 'node:fs';
import { syncDirectory } from '../io/sync-directory.js';
import { dirname } from 'node:path';
import { PgcloakError } from '../errors.js';
import {
  ABYTES,
  FRAME_LENGTH_BYTES,
  FRAME_METADATA,
  FRAME_RECORDS,
  FRAME_TARGET_BYTES,
  FRAME_TRAILER,
  MAX_FRAME_PLAINTEXT_BYTES,
  RECORD_STATEMENT,
  RECORD_TABLE,
  STREAM_HEADER_BYTES,
  STREAM_STATE_BYTES,
  TAG_FINAL,
  TAG_MESSAGE,
  encodeHeader,
  type TableDecl,
} from './format.js';
import { closeQuietly, ioError, unlinkQuietly, writeFully } from './io.js';
import { newVaultKey, type KeySource } from './key.js';
import { SignedBytes, signatureBlock, type SigningKey } from './signature.js';
import { sodium } from '../sodium.js';
import { varintLength, writeVarint } from './varint.js';
import { MAX_RECORD_BYTES, rowRecordSize, writeRowRecord, type FieldRef } from './row-record.js';

export type { FieldRef } from './row-record.js';

/** Where a masking run's originals go: the vault writer, or anything with its shape (an in-memory vault, mask --leak-check's collector). */
export interface VaultSink {
  declareTable(decl: Record<string, unknown> & { index: number }): void;
  row(tableIndex: number, ordinal: number, fields: ReadonlyArray<FieldRef>): void;
  /** Records serialized by writeRowRecord (rows masked on worker threads). */
  appendRecords?(bytes: Uint8Array): void;
  /** The same as a whole records frame (byte 0 the frame type), to be sealed as it is: saves a copy. */
  appendFrame?(frame: Uint8Array): void;
  /** A statement masking replaced (the statistics of a masked column), as it was. */
  statement(text: Uint8Array): void;
  /** The same laid out to be sealed where it lies (SealableFrame): saves a buffer the size of a long row's record. */
  appendFrameInPlace?(memory: Uint8Array, length: number): void;
}

// Room to finish the record that crosses the flush threshold without a reallocation.
const RECORDS_CAPACITY = 2 * FRAME_TARGET_BYTES;
// A buffer grown for one huge record goes back to normal size after its frame is written.
const SHRINK_ABOVE = 8 * RECORDS_CAPACITY;
// Written bytes flushed to disk in the background (fdatasync on libuv's pool) every this
// many, so that finish()'s fsync has little left to wait for: a vault of 300 MB otherwise
// waited about half a second there, with every other thread idle.
const SYNC_EVERY_BYTES = 32 * 1024 * 1024;

/**
 * Room a records frame sealed where it lies (VaultWriter.appendFrameInPlace) needs around its
 * plaintext: before it the frame's length and the stream's tag byte, after it the MAC.
 */
export const SEAL_HEAD_BYTES = FRAME_LENGTH_BYTES + 1;
export const SEAL_TAIL_BYTES = ABYTES - 1;

type WriterState = 'open' | 'finished' | 'aborted';

export interface VaultWriterOptions {
  /**
   * Build the vault here (created exclusively, mode 0600) and leave it there, complete and
   * synced, when finish() succeeds: the caller renames it into place. Default: a temporary
   * file beside the vault's path, renamed by finish().
   */
  stagingPath?: string | undefined;
  /** Sign the vault (format.ts, signature block) with this Ed25519 key. */
  signKey?: SigningKey | undefined;
}

export class VaultWriter {
  private readonly path: string;
  private readonly tmpPath: string;
  /** finish() renames tmpPath to path (else the caller does). */
  private readonly renames: boolean;
  private fd: number | null;
  private state: WriterState = 'open';
  private readonly stream = Buffer.alloc(STREAM_STATE_BYTES);
  /** Plaintext of the records frame being filled: FRAME_RECORDS, then records up to `pos`. */
  private records = newRecordsBuffer(RECORDS_CAPACITY);
  private pos = 1;
  /** Length prefix and ciphertext of the frame being written. */
  private frame = Buffer.allocUnsafe(FRAME_LENGTH_BYTES + RECORDS_CAPACITY + ABYTES);
  private readonly declared = new Set<number>();
  private written = 0;
  private unsynced = 0;
  /** A background fdatasync in flight (see SYNC_EVERY_BYTES). */
  private syncing: Promise<void> | undefined;
  /** How many background syncs were started. */
  backgroundSyncs = 0;
  /** Signed vaults: the key, and the hash of every byte written so far. */
  private readonly signKey: SigningKey | undefined;
  private readonly signed: SignedBytes | undefined;

  private constructor(path: string, tmpPath: string, fd: number, renames: boolean, signKey: SigningKey | undefined) {
    this.path = path;
    this.tmpPath = tmpPath;
    this.fd = fd;
    this.renames = renames;
    this.signKey = signKey;
    this.signed = signKey ? new SignedBytes() : undefined;
  }

  static create(path: string, keySource: KeySource, metadata: Record<string, unknown>, options: VaultWriterOptions = {}): VaultWriter {
    const signKey = options.signKey;
    const streamHeader = Buffer.alloc(STREAM_HEADER_BYTES);
    const metadataFrame = jsonFrame(FRAME_METADATA, metadata);
    const tmpPath = options.stagingPath ?? `${path}.tmp-${process.pid}`;
    const { header, key } = newVaultKey(keySource, streamHeader);
    if (signKey) header.signed = true;
    let writer: VaultWriter | undefined;
    try {
      let fd: number;
      try {
        fd = openSync(tmpPath, 'wx', 0o600);
      } catch (cause) {
        throw ioError('create vault', tmpPath, cause);
      }
      writer = new VaultWriter(path, tmpPath, fd, options.stagingPath === undefined, signKey);
      // Fills in streamHeader, which is part of the header written next.
      sodium.crypto_secretstream_xchacha20poly1305_init_push(writer.stream, streamHeader, key);
      const headerBytes = encodeHeader(header);
      writer.writeOut(headerBytes, headerBytes.length);
      writer.writeFrame(metadataFrame, TAG_MESSAGE, headerBytes);
      return writer;
    } catch (error) {
      writer?.abort();
      throw error;
    } finally {
      sodium.sodium_memzero(key);
      // The metadata may hold a key made for the run (mask/strategy-secret.ts).
      sodium.sodium_memzero(metadataFrame);
    }
  }

  get bytesWritten(): number {
    return this.written;
  }

  declareTable(decl: TableDecl): void {
    this.assertOpen();
    const index = decl.index;
    if (!Number.isSafeInteger(index) || index < 0) {
      throw new RangeError(`table index must be a non-negative safe integer, got ${index}`);
    }
    if (this.declared.has(index)) throw new Error(`table index ${index} declared twice`);
    const json = Buffer.from(JSON.stringify(decl), 'utf8');
    const size = 1 + varintLength(json.length) + json.length;
    if (size > MAX_RECORD_BYTES) {
      throw new PgcloakError('VAULT_FORMAT', `table declaration ${index} is too large for a vault record`);
    }
    if (this.pos + size > this.records.length) this.makeRoom(size);
    let pos = this.pos;
    this.records[pos++] = RECORD_TABLE;
    pos = writeVarint(this.records, pos, json.length);
    pos += json.copy(this.records, pos);
    this.pos = pos;
    this.declared.add(index);
    if (pos >= FRAME_TARGET_BYTES) this.flushRecords();
  }

  /** A statement of the dump that masking replaced, kept as it was (RECORD_STATEMENT). */
  statement(text: Uint8Array): void {
    this.assertOpen();
    const size = 1 + varintLength(text.length) + text.length;
    if (size > MAX_RECORD_BYTES) throw new PgcloakError('VAULT_FORMAT', 'a statement is too large for a vault record');
    if (this.pos + size > this.records.length) this.makeRoom(size);
    let pos = this.pos;
    this.records[pos++] = RECORD_STATEMENT;
    pos = writeVarint(this.records, pos, text.length);
    this.records.set(text, pos);
    this.pos = pos + text.length;
    if (this.pos >= FRAME_TARGET_BYTES) this.flushRecords();
  }

  row(tableIndex: number, ordinal: number, fields: ReadonlyArray<FieldRef>): void {
    this.assertOpen();
    if (!this.declared.has(tableIndex)) throw new Error(`row for undeclared table index ${tableIndex}`);
    const size = rowRecordSize(tableIndex, ordinal, fields);
    if (this.pos + size > this.records.length) this.makeRoom(size);
    const pos = writeRowRecord(this.records, this.pos, tableIndex, ordinal, fields);
    this.pos = pos;
    if (pos >= FRAME_TARGET_BYTES) this.flushRecords();
  }

  /**
   * Records serialized elsewhere (a worker thread's rows, by writeRowRecord), appended
   * as they are: the tables they name must be declared already.
   */
  appendRecords(bytes: Uint8Array): void {
    this.assertOpen();
    if (bytes.length === 0) return;
    if (this.pos + bytes.length > this.records.length) this.makeRoom(bytes.length);
    this.records.set(bytes, this.pos);
    this.pos += bytes.length;
    if (this.pos >= FRAME_TARGET_BYTES) this.flushRecords();
  }

  /**
   * Records serialized elsewhere as a whole records frame (`frame[0]` FRAME_RECORDS, then
   * the records): sealed as they are, after the records before them, without the copy
   * appendRecords makes. Small ones are appended (frames stay near FRAME_TARGET_BYTES or
   * above). `frame` must be ordinary memory: libsodium mis-reads SharedArrayBuffers.
   */
  appendFrame(frame: Uint8Array): void {
    this.assertOpen();
    if (frame[0] !== FRAME_RECORDS) throw new Error('appendFrame: not a records frame');
    if (frame.buffer instanceof SharedArrayBuffer) throw new Error('appendFrame: a frame in shared memory cannot be sealed');
    if (frame.length < FRAME_TARGET_BYTES / 4 || frame.length > MAX_FRAME_PLAINTEXT_BYTES) {
      this.appendRecords(frame.subarray(1));
      return;
    }
    this.flushRecords();
    this.writeFrame(frame, TAG_MESSAGE, null);
  }

  /**
   * A records frame (byte 0 FRAME_RECORDS, then the records) of `length` bytes at
   * `memory[SEAL_HEAD_BYTES..)`, with SEAL_TAIL_BYTES free after it: sealed where it lies, after
   * the records before it, and written. One long row's record is as large as its masked fields
   * (hundreds of MB for a document): sealed in place it needs no second buffer of that size
   * (issue 18). The plaintext is gone afterwards: `memory` holds the sealed frame.
   */
  appendFrameInPlace(memory: Uint8Array, length: number): void {
    this.assertOpen();
    const frame = memory.subarray(SEAL_HEAD_BYTES, SEAL_HEAD_BYTES + length);
    if (frame[0] !== FRAME_RECORDS || frame.length !== length) throw new Error('appendFrameInPlace: not a records frame');
    if (memory.length < SEAL_HEAD_BYTES + length + SEAL_TAIL_BYTES) throw new Error('appendFrameInPlace: no room to seal the frame in place');
    if (memory.buffer instanceof SharedArrayBuffer) throw new Error('appendFrameInPlace: a frame in shared memory cannot be sealed');
    if (length > MAX_FRAME_PLAINTEXT_BYTES) throw new PgcloakError('VAULT_FORMAT', `a records frame of ${length} bytes is too large for a vault`);
    this.flushRecords();
    if (!sealsInPlace()) {
      this.writeFrame(frame, TAG_MESSAGE, null);
      return;
    }
    const cipherBytes = length + ABYTES;
    Buffer.from(memory.buffer, memory.byteOffset, FRAME_LENGTH_BYTES).writeUInt32LE(cipherBytes, 0);
    sodium.crypto_secretstream_xchacha20poly1305_push(this.stream, memory.subarray(FRAME_LENGTH_BYTES, FRAME_LENGTH_BYTES + cipherBytes), frame, null, TAG_MESSAGE);
    this.writeOut(memory, FRAME_LENGTH_BYTES + cipherBytes);
  }

  /** Waits for the background sync in flight, if any: call before finish() or abort(). */
  async settle(): Promise<void> {
    await this.syncing;
  }

  finish(trailer: Record<string, unknown>): void {
    this.assertOpen();
    const trailerFrame = jsonFrame(FRAME_TRAILER, trailer);
    this.flushRecords();
    this.writeFrame(trailerFrame, TAG_FINAL, null);
    if (this.signed) {
      // After the FINAL frame, not hashed itself: the signature of everything before it.
      const block = signatureBlock(this.signed.message(), this.signKey!);
      this.writeOut(block, block.length, false);
    }
    try {
      const fd = this.fd!;
      fsyncSync(fd);
      this.fd = null;
      closeSync(fd);
      if (this.renames) renameSync(this.tmpPath, this.path);
    } catch (cause) {
      this.abort();
      throw ioError('finish vault', this.path, cause);
    }
    if (this.renames) syncDirectory(dirname(this.path));
    this.state = 'finished';
    this.wipe();
  }

  /** Drops the unfinished vault. Safe to call more than once; does nothing after finish(). */
  abort(): void {
    if (this.state !== 'open') return;
    this.state = 'aborted';
    if (this.fd !== null) closeQuietly(this.fd);
    this.fd = null;
    unlinkQuietly(this.tmpPath);
    this.wipe();
  }

  private assertOpen(): void {
    if (this.state !== 'open') throw new Error(`vault writer for ${this.path} is ${this.state}`);
  }

  /** Writes out the frame being filled, then makes sure a record of `size` bytes fits. */
  private makeRoom(size: number): void {
    this.flushRecords();
    if (1 + size > this.records.length) {
      sodium.sodium_memzero(this.records);
      this.records = newRecordsBuffer(1 + size);
    }
  }

  private flushRecords(): void {
    if (this.pos === 1) return;
    this.writeFrame(this.records.subarray(0, this.pos), TAG_MESSAGE, null);
    this.pos = 1;
    if (this.records.length > SHRINK_ABOVE) {
      sodium.sodium_memzero(this.records);
      this.records = newRecordsBuffer(RECORDS_CAPACITY);
    }
  }

  private writeFrame(plaintext: Uint8Array, tag: number, ad: Uint8Array | null): void {
    const cipherBytes = plaintext.length + ABYTES;
    const frameBytes = FRAME_LENGTH_BYTES + cipherBytes;
    if (this.frame.length < frameBytes || this.frame.length > SHRINK_ABOVE) {
      this.frame = Buffer.allocUnsafe(Math.max(frameBytes, FRAME_LENGTH_BYTES + RECORDS_CAPACITY + ABYTES));
    }
    this.frame.writeUInt32LE(cipherBytes, 0);
    sodium.crypto_secretstream_xchacha20poly1305_push(
      this.stream,
      this.frame.subarray(FRAME_LENGTH_BYTES, frameBytes),
      plaintext,
      ad,
      tag,
    );
    this.writeOut(this.frame, frameBytes);
  }

  private writeOut(buf: Uint8Array, length: number, signed = true): void {
    if (signed) this.signed?.update(buf.subarray(0, length));
    try {
      writeFully(this.fd!, buf, 0, length);
    } catch (cause) {
      // The stream state has moved on: whatever happens next, this vault cannot be completed.
      this.abort();
      throw ioError('write vault', this.tmpPath, cause);
    }
    this.written += length;
    this.unsynced += length;
    if (this.unsynced >= SYNC_EVERY_BYTES && this.syncing === undefined) {
      this.unsynced = 0;
      this.backgroundSyncs++;
      // Errors are left to finish()'s fsync, which must succeed for the vault to count.
      this.syncing = new Promise<void>((resolve) => fdatasync(this.fd!, () => resolve())).then(() => {
        this.syncing = undefined;
      });
    }
  }

  private wipe(): void {
    sodium.sodium_memzero(this.stream);
    sodium.sodium_memzero(this.records);
  }
}

let inPlace: boolean | undefined;

/**
 * Whether libsodium seals a message lying one byte after its output (the tag byte first, then
 * the ciphertext over the message, then the MAC), as its secretstream push does: checked once,
 * against a copy sealed apart with the same state, so that another libsodium that did not
 * would cost memory, never a wrong vault.
 */
export function sealsInPlace(): boolean {
  if (inPlace !== undefined) return inPlace;
  const key = Buffer.alloc(sodium.crypto_secretstream_xchacha20poly1305_KEYBYTES);
  sodium.randombytes_buf(key);
  const apart = Buffer.alloc(STREAM_STATE_BYTES);
  sodium.crypto_secretstream_xchacha20poly1305_init_push(apart, Buffer.alloc(STREAM_HEADER_BYTES), key);
  const within = Buffer.from(apart);
  const message = Buffer.alloc(1000);
  sodium.randombytes_buf(message);
  const sealed = Buffer.alloc(message.length + ABYTES);
  sodium.crypto_secretstream_xchacha20poly1305_push(apart, sealed, message, null, TAG_MESSAGE);
  const memory = Buffer.alloc(message.length + ABYTES);
  message.copy(memory, 1);
  sodium.crypto_secretstream_xchacha20poly1305_push(within, memory, memory.subarray(1, 1 + message.length), null, TAG_MESSAGE);
  inPlace = memory.equals(sealed);
  for (const b of [key, apart, within]) sodium.sodium_memzero(b);
  return inPlace;
}

function newRecordsBuffer(size: number): Buffer {
  const buf = Buffer.alloc(size);
  buf[0] = FRAME_RECORDS;
  return buf;
}

function jsonFrame(type: number, value: Record<string, unknown>): Buffer {
  const json = JSON.stringify(value);
  const frame = Buffer.alloc(1 + Buffer.byteLength(json, 'utf8'));
  frame[0] = type;
  frame.write(json, 1, 'utf8');
  if (frame.length > MAX_FRAME_PLAINTEXT_BYTES) {
    throw new PgcloakError('VAULT_FORMAT', `vault ${type === FRAME_METADATA ? 'metadata' : 'trailer'} is too large`);
  }
  return frame;
}

