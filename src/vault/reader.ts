// Reads a vault (format in ./format.ts) one record at a time, in constant memory: the file is
// read in READ_CHUNK_BYTES pieces and each frame is decrypted and checked before any of its
// records is handed out.
//
// Every record returned has been authenticated, but only a null from next() proves that the
// vault is whole (FINAL frame seen, nothing after it) and, for a signed vault, that its
// signature holds. A consumer that acts on records as they come must be ready to undo its
// work when a later next() throws. The signer (and with `verify` that it is the expected
// one) is checked when the vault is opened, before any key is derived.

import { fstatSync, openSync, readSync } from 'node:fs';
import { PgcloakError } from '../errors.js';
import {
  ABYTES,
  FRAME_LENGTH_BYTES,
  FRAME_METADATA,
  FRAME_RECORDS,
  FRAME_TRAILER,
  MAX_FRAME_BYTES,
  MAX_HEADER_BYTES,
  RECORD_ROW,
  RECORD_STATEMENT,
  RECORD_TABLE,
  STREAM_STATE_BYTES,
  TAG_FINAL,
  TAG_MESSAGE,
  decodeHeader,
  type TableDecl,
  type VaultHeader,
} from './format.js';
import { closeQuietly, ioError } from './io.js';
import { deriveVaultKey, type KeySource } from './key.js';
import { SIGNATURE_BLOCK_BYTES, SignedBytes, blockSigner, readSignatureBlock, signatureValid, signerFingerprint, wrongSigner } from './signature.js';
import { sodium } from '../sodium.js';
import { ScratchBuffer } from '../io/byte-sink.js';
import { readVarint, type Cursor } from './varint.js';

/**
 * One vault record. A row's fields are views into the decrypted frame they came from (each
 * frame has its own buffer, so they stay valid after later calls to next()).
 */
export type VaultRecord =
  | { type: 'table'; decl: TableDecl }
  | { type: 'row'; tableIndex: number; ordinal: number; fields: Buffer[] }
  /** A statement masking replaced, as it was in the dump (format 3). */
  | { type: 'statement'; text: Buffer };

export interface VaultInfo {
  metadata: Record<string, unknown>;
  trailer: Record<string, unknown>;
  tables: TableDecl[];
  /** Rows per declared table index, 0 for a table without rows. */
  rowCounts: Record<number, number>;
  /** Statements masking replaced (statistics of masked columns), kept whole. */
  statements?: number;
  /** Signed vaults: the signer's key fingerprint, and whether it was the --verify key (else only self-consistent). */
  signature?: { signer: string; verified: boolean };
}

/**
 * Finds where whole row records end at once (the native kernel's, when it is built: the
 * engine gives it, ../engine/native.ts): from `records[start]`, at most `count` whole,
 * well-formed row records of one table, up to `end`. `skipped.rows` is how many, `skipped.end`
 * where they end, `skipped.table` their table index (-1: none). It stops before anything
 * else, which the reader reads itself.
 */
export interface RowRecordSkipper {
  skipRows(records: Uint8Array, start: number, end: number, count: number, skipped: { rows: number; end: number; table: number }): void;
}

export interface ReaderOptions {
  /**
   * Decrypt each records frame into the memory of the one before, once that is used up. A
   * record's fields are then valid only until the next call of next() or rowRecords(): for
   * readers that use each record at once (unmask), which then make no garbage per frame.
   */
  reuseFrames?: boolean;
  /** Skips whole row records many at a time in rowRecords() (default: none, they are read one by one). */
  skipper?: RowRecordSkipper | undefined;
  /**
   * The Ed25519 public key (`--verify NAME.pub`) that must have signed the vault: an unsigned
   * vault or another signer is refused at open (VAULT_SIGNATURE), a signature that does not
   * hold at the end. Without it a signed vault's signature is still checked, against the key
   * it names itself: that finds damage, but anyone can sign with a key of their own.
   */
  verify?: Buffer | undefined;
}

const READ_CHUNK_BYTES = 256 * 1024;
/** io keeps room grown for frames up to this size. */
const KEEP_IO_BYTES = 4 * 1024 * 1024;

const WRONG_KEY_MESSAGE = 'wrong key or passphrase for this vault (neither its first frame nor the one after opens with it), or its header is damaged';

/** A second frame larger than this is not read to tell a wrong key from damage (see firstFrameFailure). */
const MAX_PROBE_FRAME_BYTES = 64 * 1024 * 1024;

// The layout of libsodium's crypto_secretstream_xchacha20poly1305_state: k[32], then the
// nonce: a 4-byte little-endian counter and an 8-byte "inonce" (then 8 bytes of padding).
// After each message, pull XORs the message's MAC into inonce and increments the counter
// (libsodium src/libsodium/crypto_secretstream/xchacha20poly1305/secretstream_xchacha20poly1305.c).
const STATE_COUNTER = 32;
const STATE_INONCE = 36;
const INONCE_BYTES = 8;
const MAC_BYTES = 16;

export class VaultReader {
  readonly metadata: Record<string, unknown>;
  readonly mode: VaultHeader['mode'];
  /** 1: rows also keep their xxx<row key> placeholders (see READABLE_VERSIONS). */
  readonly formatVersion: number;
  /** The public key a signed vault names as its signer (checked by the end of the vault), else undefined. */
  readonly signer: Buffer | undefined;
  /** The signer was the `verify` key. */
  readonly verified: boolean;
  trailer: Record<string, unknown> | undefined = undefined;

  private readonly path: string;
  private fd: number | null;
  private readonly fileSize: number;
  /** Where the frames end: the file's end, or a signed vault's signature block. */
  private readonly dataEnd: number;
  /** Signed vaults: the hash of every byte before the signature block, fed as frames are read. */
  private readonly signedBytes: SignedBytes | undefined;
  private readonly verifyKey: Buffer | undefined;
  private readonly stream = Buffer.alloc(STREAM_STATE_BYTES);
  private readonly tag = Buffer.alloc(1);
  /** File bytes read but not consumed are io[ioStart..ioEnd); io[ioEnd] is at file offset readOffset. */
  private io = Buffer.allocUnsafe(READ_CHUNK_BYTES);
  private ioStart = 0;
  private ioEnd = 0;
  private readOffset = 0;
  /** Frames pulled so far, and the number and file offset of the latest one (for errors). */
  private framesPulled = 0;
  private frameNumber = 0;
  private frameOffset = 0;
  /** Plaintext of the records frame being handed out, from `cursor.pos` on. */
  private records: Buffer | null = null;
  private readonly cursor: Cursor = { pos: 0 };
  private reuseFrames = false;
  /** The records frame before this one, used up: the next one may be decrypted into it (reuseFrames). */
  private spareFrame: Buffer | null = null;
  /** Row records handed out by rowRecords(). */
  private readonly raw = new ScratchBuffer();
  /** Finds where rowRecords()' records end, if given (else each is read here). */
  private skipper: RowRecordSkipper | undefined = undefined;
  private readonly skipped = { rows: 0, end: 0, table: -1 };
  private readonly declared = new Set<number>();
  private failure: unknown = undefined;
  /** The stream state before the first frame, kept until it is read (firstFrameFailure); then wiped. */
  private firstState: Buffer | null = null;

  private constructor(path: string, fd: number, keySource: KeySource, verify: Buffer | undefined) {
    this.path = path;
    this.fd = fd;
    try {
      this.fileSize = fstatSync(fd).size;
    } catch (cause) {
      throw ioError('read vault', path, cause);
    }

    this.fill(MAX_HEADER_BYTES);
    const available = Math.min(this.ioEnd - this.ioStart, MAX_HEADER_BYTES);
    const { header, length, version } = decodeHeader(this.io.subarray(this.ioStart, this.ioStart + available));
    // A copy: reading the first frame may move the bytes in io.
    const headerBytes = Buffer.from(this.io.subarray(this.ioStart, this.ioStart + length));
    this.ioStart += length;
    this.mode = header.mode;
    this.formatVersion = version;

    // Who signed it, before a key is derived (a passphrase costs seconds): a vault that
    // --verify refuses is refused at once.
    if (header.signed) {
      let block: Buffer;
      try {
        block = readSignatureBlock(fd, this.fileSize, length);
      } catch (cause) {
        if (cause instanceof PgcloakError) throw cause;
        throw ioError('read vault', path, cause);
      }
      this.signer = blockSigner(block);
      this.dataEnd = this.fileSize - SIGNATURE_BLOCK_BYTES;
      this.signedBytes = new SignedBytes();
      this.signedBytes.update(headerBytes);
    } else {
      this.signer = undefined;
      this.dataEnd = this.fileSize;
      this.signedBytes = undefined;
    }
    if (verify !== undefined && (this.signer === undefined || !this.signer.equals(verify))) throw wrongSigner(this.signer, verify);
    this.verifyKey = verify;
    this.verified = verify !== undefined;

    const key = deriveVaultKey(keySource, header);
    try {
      sodium.crypto_secretstream_xchacha20poly1305_init_pull(this.stream, header.streamHeader, key);
    } finally {
      sodium.sodium_memzero(key);
    }
    this.firstState = Buffer.from(this.stream);
    try {
      const plaintext = this.pullFrame(headerBytes);
      sodium.sodium_memzero(this.firstState);
      this.firstState = null;
      try {
        if (plaintext[0] !== FRAME_METADATA || this.tag[0] !== TAG_MESSAGE) {
          throw this.tampered('the first frame is not the metadata');
        }
        this.metadata = this.parseJsonObject(plaintext.subarray(1), 'metadata');
      } finally {
        // It may hold the key a run made for its pseudonyms (mask/strategy-secret.ts).
        sodium.sodium_memzero(plaintext);
      }
    } catch (error) {
      sodium.sodium_memzero(this.stream);
      if (this.firstState) sodium.sodium_memzero(this.firstState);
      this.firstState = null;
      throw error;
    }
  }

  static open(path: string, keySource: KeySource, options: ReaderOptions = {}): VaultReader {
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch (cause) {
      throw ioError('open vault', path, cause);
    }
    try {
      const reader = new VaultReader(path, fd, keySource, options.verify);
      reader.reuseFrames = options.reuseFrames ?? false;
      reader.skipper = options.skipper;
      return reader;
    } catch (error) {
      closeQuietly(fd);
      throw error;
    }
  }

  /** The next record, or null once the whole vault has been read and checked. */
  next(): VaultRecord | null {
    if (this.failure !== undefined) throw this.failure;
    try {
      for (;;) {
        const records = this.records;
        if (records !== null) {
          if (this.cursor.pos < records.length) return this.parseRecord(records);
          this.records = null;
        }
        if (this.trailer !== undefined) return null;
        if (this.fd === null) throw new Error(`vault reader for ${this.path} is closed`);
        this.readFrame();
      }
    } catch (error) {
      this.failure = error;
      this.close();
      throw error;
    }
  }

  /**
   * The next `count` records as the vault holds them, when they are row records (checked
   * as next() checks them): fewer when another kind of record or the end comes first (left
   * for next()). A view, valid until the next call.
   */
  rowRecords(count: number): Buffer {
    if (this.failure !== undefined) throw this.failure;
    const out = this.raw;
    out.reset();
    try {
      let n = 0;
      while (n < count) {
        let records = this.records;
        while (records === null || this.cursor.pos >= records.length) {
          this.records = null;
          if (this.trailer !== undefined) return out.view();
          if (this.fd === null) throw new Error(`vault reader for ${this.path} is closed`);
          this.readFrame();
          records = this.records;
        }
        // The frame's row records up to the count are copied in one piece.
        const start = this.cursor.pos;
        const end = records.length;
        while (n < count && this.cursor.pos < end && records[this.cursor.pos] === RECORD_ROW) {
          // Well-formed records of one table natively; the one it stops at is read here (and refused if it must be).
          if (this.skipper) {
            const skipped = this.skipped;
            this.skipper.skipRows(records, this.cursor.pos, end, count - n, skipped);
            if (skipped.rows > 0) {
              if (!this.declared.has(skipped.table)) throw this.tampered(`row for undeclared table index ${skipped.table}`);
              n += skipped.rows;
              this.cursor.pos = skipped.end;
              continue;
            }
          }
          this.skipRowRecord(records);
          n++;
        }
        // All of them in this frame: a view of it, without a copy (a long row's record may be
        // hundreds of MB, issue 18). The frame's memory is not reused before the next call.
        if (out.length === 0 && (n === count || this.cursor.pos < end)) return records.subarray(start, this.cursor.pos);
        out.write(records, start, this.cursor.pos);
        if (n < count && this.cursor.pos < end) return out.view();
      }
      return out.view();
    } catch (error) {
      this.failure = error;
      this.close();
      throw error;
    }
  }

  close(): void {
    if (this.fd !== null) closeQuietly(this.fd);
    this.fd = null;
    this.records = null;
    sodium.sodium_memzero(this.stream);
  }

  private readFrame(): void {
    const plaintext = this.pullFrame(null, this.spareFrame);
    const type = plaintext[0];
    const tag = this.tag[0];
    if (type === FRAME_RECORDS && tag === TAG_MESSAGE) {
      this.records = plaintext;
      // Read only when this frame is used up: its memory can take the next one.
      if (this.reuseFrames) this.spareFrame = Buffer.from(plaintext.buffer, plaintext.byteOffset, Math.max(plaintext.length, this.spareFrame?.length ?? 0));
      this.cursor.pos = 1;
      return;
    }
    if (type === FRAME_TRAILER && tag === TAG_FINAL) {
      const trailer = this.parseJsonObject(plaintext.subarray(1), 'trailer');
      if (this.signedBytes) this.checkSignature();
      else if (this.fill(1)) {
        throw new PgcloakError('VAULT_TAMPERED', 'unexpected bytes after the end of the vault', {
          offset: this.offset(),
        });
      }
      this.trailer = trailer;
      this.close();
      return;
    }
    throw this.tampered(`unexpected frame type ${type} with tag ${tag}`);
  }

  /**
   * After the FINAL frame of a signed vault: the signature block follows, and nothing after
   * it; it names the signer seen at open, and signs what was read (with the --verify key).
   */
  private checkSignature(): void {
    const offset = this.offset();
    if (offset !== this.dataEnd || !this.fill(SIGNATURE_BLOCK_BYTES) || this.fill(SIGNATURE_BLOCK_BYTES + 1)) {
      throw new PgcloakError('VAULT_TAMPERED', 'unexpected bytes between the final frame and the signature block, or after it', { offset });
    }
    const block = this.io.subarray(this.ioStart, this.ioStart + SIGNATURE_BLOCK_BYTES);
    const signer = blockSigner(block);
    if (!signer.equals(this.signer!)) throw new PgcloakError('VAULT_SIGNATURE', 'the vault changed while it was read (another signer)', { offset });
    if (!signatureValid(block, this.signedBytes!.message(), this.verifyKey ?? signer)) {
      throw new PgcloakError(
        'VAULT_SIGNATURE',
        `the signature by key ${signerFingerprint(signer)} does not hold: the vault was altered after it was signed`,
        { offset },
      );
    }
    this.ioStart += SIGNATURE_BLOCK_BYTES;
  }

  /** Reads, checks and decrypts the next frame; leaves its tag in this.tag. */
  /** `into`: memory to decrypt into, when large enough (else a new buffer). */
  private pullFrame(ad: Buffer | null, into: Buffer | null = null): Buffer {
    this.frameNumber = this.framesPulled;
    this.frameOffset = this.offset();
    if (!this.fill(FRAME_LENGTH_BYTES)) throw this.truncated();
    const cipherBytes = this.io.readUInt32LE(this.ioStart);
    if (cipherBytes < ABYTES + 1 || cipherBytes > MAX_FRAME_BYTES) {
      throw this.tampered(`impossible frame length ${cipherBytes}`);
    }
    const frameBytes = FRAME_LENGTH_BYTES + cipherBytes;
    // Checked before fill() grows io to the frame's size.
    if (frameBytes > this.dataEnd - this.frameOffset) throw this.truncated();
    if (!this.fill(frameBytes)) throw this.truncated();

    this.signedBytes?.update(this.io.subarray(this.ioStart, this.ioStart + frameBytes));
    const cipher = this.io.subarray(this.ioStart + FRAME_LENGTH_BYTES, this.ioStart + frameBytes);
    const plaintext = into && into.length >= cipherBytes - ABYTES ? into.subarray(0, cipherBytes - ABYTES) : Buffer.allocUnsafe(cipherBytes - ABYTES);
    try {
      sodium.crypto_secretstream_xchacha20poly1305_pull(this.stream, plaintext, this.tag, cipher, ad);
    } catch {
      // Only the first frame depends on the key and header alone; a later failure means the
      // bytes of that frame (or its position) changed.
      if (this.frameNumber === 0) throw this.firstFrameFailure(cipher.subarray(cipher.length - MAC_BYTES), frameBytes);
      throw this.tampered('frame failed authentication');
    }
    this.ioStart += frameBytes;
    this.framesPulled++;
    if (this.io.length > KEEP_IO_BYTES && this.ioEnd - this.ioStart <= READ_CHUNK_BYTES) {
      // A very large frame made io grow: go back to the normal size. (Frames of a few
      // hundred KB, as batches of rows from worker threads make them, keep their room:
      // growing and shrinking io for each was 0.6 MB of garbage a frame.)
      const smaller = Buffer.allocUnsafe(READ_CHUNK_BYTES);
      this.ioEnd = this.io.copy(smaller, 0, this.ioStart, this.ioEnd);
      this.ioStart = 0;
      this.io = smaller;
    }
    return plaintext;
  }

  /** Checks the row record at the cursor as parseRecord does, and moves past it (no allocation). */
  private skipRowRecord(records: Buffer): void {
    const cursor = this.cursor;
    const end = records.length;
    readVarint(records, cursor, end); // RECORD_ROW, seen by the caller
    const tableIndex = readVarint(records, cursor, end);
    const ordinal = readVarint(records, cursor, end);
    const count = readVarint(records, cursor, end);
    if (tableIndex < 0 || ordinal < 0 || count < 0 || count > end - cursor.pos) throw this.tampered('malformed row record');
    if (!this.declared.has(tableIndex)) throw this.tampered(`row for undeclared table index ${tableIndex}`);
    for (let i = 0; i < count; i++) {
      const length = readVarint(records, cursor, end);
      if (length < 0 || length > end - cursor.pos) throw this.tampered('malformed row record');
      cursor.pos += length;
    }
  }

  private parseRecord(records: Buffer): VaultRecord {
    const cursor = this.cursor;
    const end = records.length;
    const kind = readVarint(records, cursor, end);
    if (kind === RECORD_ROW) {
      const tableIndex = readVarint(records, cursor, end);
      const ordinal = readVarint(records, cursor, end);
      const count = readVarint(records, cursor, end);
      // Each field takes at least its length byte: a larger count cannot be real.
      if (tableIndex < 0 || ordinal < 0 || count < 0 || count > end - cursor.pos) {
        throw this.tampered('malformed row record');
      }
      if (!this.declared.has(tableIndex)) throw this.tampered(`row for undeclared table index ${tableIndex}`);
      const fields: Buffer[] = [];
      for (let i = 0; i < count; i++) {
        const length = readVarint(records, cursor, end);
        if (length < 0 || length > end - cursor.pos) throw this.tampered('malformed row record');
        fields.push(records.subarray(cursor.pos, cursor.pos + length));
        cursor.pos += length;
      }
      return { type: 'row', tableIndex, ordinal, fields };
    }
    if (kind === RECORD_TABLE) {
      const length = readVarint(records, cursor, end);
      if (length < 0 || length > end - cursor.pos) throw this.tampered('malformed table record');
      const decl = this.parseJsonObject(records.subarray(cursor.pos, cursor.pos + length), 'table declaration');
      cursor.pos += length;
      const index = decl['index'];
      if (typeof index !== 'number' || !Number.isSafeInteger(index) || index < 0 || this.declared.has(index)) {
        throw this.tampered('table declaration with a missing, invalid or repeated index');
      }
      this.declared.add(index);
      return { type: 'table', decl: decl as TableDecl };
    }
    if (kind === RECORD_STATEMENT && this.formatVersion >= 3) {
      const length = readVarint(records, cursor, end);
      if (length < 0 || length > end - cursor.pos) throw this.tampered('malformed statement record');
      const text = records.subarray(cursor.pos, cursor.pos + length);
      cursor.pos += length;
      return { type: 'statement', text };
    }
    throw this.tampered(`unknown record type ${kind}`);
  }

  private parseJsonObject(bytes: Buffer, what: string): Record<string, unknown> {
    let value: unknown;
    try {
      value = JSON.parse(bytes.toString('utf8'));
    } catch {
      throw this.tampered(`${what} is not valid JSON`);
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw this.tampered(`${what} is not a JSON object`);
    }
    return value as Record<string, unknown>;
  }

  /** Makes io hold at least n unconsumed bytes; false if the file ends first. */
  private fill(n: number): boolean {
    const buffered = this.ioEnd - this.ioStart;
    if (buffered >= n) return true;
    if (this.ioStart + n > this.io.length) {
      if (n > this.io.length) {
        const bigger = Buffer.allocUnsafe(n);
        this.io.copy(bigger, 0, this.ioStart, this.ioEnd);
        this.io = bigger;
      } else {
        this.io.copyWithin(0, this.ioStart, this.ioEnd);
      }
      this.ioStart = 0;
      this.ioEnd = buffered;
    }
    while (this.ioEnd - this.ioStart < n) {
      let got: number;
      try {
        got = readSync(this.fd!, this.io, this.ioEnd, this.io.length - this.ioEnd, this.readOffset);
      } catch (cause) {
        throw ioError('read vault', this.path, cause);
      }
      if (got === 0) return false;
      this.ioEnd += got;
      this.readOffset += got;
    }
    return true;
  }

  /** File offset of the first unconsumed byte. */
  private offset(): number {
    return this.readOffset - (this.ioEnd - this.ioStart);
  }

  /**
   * The first frame failed authentication: a wrong key, or a changed byte in the header (its
   * additional data) or in the frame? The key is checked against the frame after it instead
   * (issue 18: a flipped byte there was reported as a wrong key). Its nonce follows from the
   * first frame's MAC as the frame holds it, not from its plaintext, so the stream state after
   * the first frame can be made without opening it: if the second frame then opens, the key
   * is right and the first frame or the header was altered (a forgery would need the key). A
   * sealed vault whose key opened with this identity needs no such check. Left undecided (a
   * wrong key, or damage to the stream header, the salt or the first frame's MAC): said so.
   */
  private firstFrameFailure(firstMac: Buffer, firstFrameBytes: number): PgcloakError {
    const state = this.firstState;
    if (this.mode === 'recipient') return this.tampered('the header or the first frame was altered: it fails authentication, although the sealed key opened with this identity');
    if (state === null) return new PgcloakError('VAULT_WRONG_KEY', WRONG_KEY_MESSAGE);
    for (let i = 0; i < INONCE_BYTES; i++) state[STATE_INONCE + i]! ^= firstMac[i]!;
    for (let i = STATE_COUNTER; i < STATE_COUNTER + 4 && ++state[i]! === 256; i++) state[i] = 0;
    const verdict = this.probeFrame(this.frameOffset + firstFrameBytes, state);
    if (verdict === 'opens') return this.tampered('the header or the first frame was altered: it fails authentication, while the frame after it opens with this key');
    if (verdict === 'misplaced') return this.tampered('its length is damaged: no frame follows where it ends');
    return new PgcloakError('VAULT_WRONG_KEY', WRONG_KEY_MESSAGE);
  }

  /** Whether the frame at file offset `at` opens with stream state `state` (which it uses up); 'misplaced' when no frame can start there. */
  private probeFrame(at: number, state: Buffer): 'opens' | 'fails' | 'misplaced' {
    const fd = this.fd;
    if (fd === null) return 'fails';
    const length = Buffer.alloc(FRAME_LENGTH_BYTES);
    if (at + FRAME_LENGTH_BYTES > this.fileSize || readSync(fd, length, 0, FRAME_LENGTH_BYTES, at) !== FRAME_LENGTH_BYTES) return 'misplaced';
    const cipherBytes = length.readUInt32LE(0);
    if (cipherBytes < ABYTES + 1 || cipherBytes > this.fileSize - at - FRAME_LENGTH_BYTES) return 'misplaced';
    if (cipherBytes > MAX_PROBE_FRAME_BYTES) return 'fails';
    const cipher = Buffer.allocUnsafe(cipherBytes);
    if (readSync(fd, cipher, 0, cipherBytes, at + FRAME_LENGTH_BYTES) !== cipherBytes) return 'fails';
    const plaintext = Buffer.alloc(cipherBytes - ABYTES);
    try {
      sodium.crypto_secretstream_xchacha20poly1305_pull(state, plaintext, Buffer.alloc(1), cipher, null);
      return 'opens';
    } catch {
      return 'fails';
    } finally {
      sodium.sodium_memzero(plaintext);
    }
  }

  private tampered(what: string): PgcloakError {
    return new PgcloakError('VAULT_TAMPERED', `vault frame ${this.frameNumber} is damaged: ${what}`, {
      offset: this.frameOffset,
    });
  }

  private truncated(): PgcloakError {
    return new PgcloakError('VAULT_TRUNCATED', `vault ends before its final frame (frame ${this.frameNumber})`, {
      offset: this.frameOffset,
    });
  }
}

export function readVaultInfo(path: string, keySource: KeySource, verify?: Buffer): VaultInfo {
  const reader = VaultReader.open(path, keySource, { verify });
  try {
    const tables: TableDecl[] = [];
    const rowCounts: Record<number, number> = {};
    let statements = 0;
    for (let record = reader.next(); record !== null; record = reader.next()) {
      if (record.type === 'table') {
        tables.push(record.decl);
        rowCounts[record.decl.index] = 0;
      } else if (record.type === 'row') {
        rowCounts[record.tableIndex] = (rowCounts[record.tableIndex] ?? 0) + 1;
      } else {
        statements++;
      }
    }
    if (reader.trailer === undefined) throw new Error('vault reader ended without a trailer');
    const info: VaultInfo = { metadata: reader.metadata, trailer: reader.trailer, tables, rowCounts, statements };
    if (reader.signer) info.signature = { signer: signerFingerprint(reader.signer), verified: reader.verified };
    return info;
  } finally {
    reader.close();
  }
}
