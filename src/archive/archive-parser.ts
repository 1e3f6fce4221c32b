// The byte state machine of a custom-format archive (and of a directory archive's toc.dat,
// which is the same header and TOC with nothing after): write(chunk) as bytes come, end()
// at the end of input; it reports through a handler and never needs to seek, so it reads
// `pg_dump -Fc | pgcloak` on a pipe. Host-free: no streams, no zlib (custom-reader.ts adds those).
//
// After the TOC come the data blocks, in file order (pg_backup_custom.c, _StartData/_EndData,
// _StartLOs/_StartLO/_EndLO/_EndLOs, and compress_io.c's writeF):
//   BLK_DATA  byte 1, int dumpId, then chunks: int length, `length` bytes; int 0 ends the block.
//   BLK_BLOBS byte 3, int dumpId, then per large object: int oid, chunks as above, int 0;
//             an oid of 0 ends the block.
// The chunks of one stream are one zlib stream cut into pieces (or the raw bytes, uncompressed).
// https://github.com/postgres/postgres/blob/master/src/bin/pg_dump/pg_backup_custom.c

import {
  type ArchiveHeader,
  BLK_BLOBS,
  BLK_DATA,
  FORMAT_CUSTOM,
  FORMAT_TAR,
  OFFSET_NO_DATA,
  OFFSET_POS_SET,
  type TocEntry,
  archiveError,
  describeEntry,
} from './format.js';
import { type Container, Short, checkCompression, checkFormat, decodeHeader, decodeInt, decodeTocEntry, notAnArchive } from './toc-codec.js';

export interface ArchiveHandler {
  header?(header: ArchiveHeader): void;
  tocEntry?(entry: TocEntry): void;
  /** The TOC is complete; the data section starts at `offset`. */
  tocEnd?(offset: number): void;
  /** A data block's type byte and dump id were read; its body follows. */
  blockStart?(blockType: number, entry: TocEntry, offset: number): void;
  /** BLOBS: the next large object's stream starts. */
  lobStart?(oid: number, offset: number): void;
  /** Bytes of the current stream's chunks (compressed, or raw when the archive is not), framing removed. */
  payload?(bytes: Buffer, offset: number): void;
  /** The current stream's terminating zero-length chunk. */
  streamEnd?(offset: number): void;
  /** The block is complete; `offset` is the first byte after it. */
  blockEnd?(entry: TocEntry, offset: number): void;
  /** The block's body exactly as stored (everything after its dump id), for copying without decoding. */
  raw?(bytes: Buffer): void;
  /** The archive ended where it may end. */
  end?(length: number): void;
}

const enum State {
  Meta,
  BlockType,
  BlockId,
  ChunkLength,
  Payload,
  LobOid,
  Done,
}

export class ArchiveParser {
  private readonly handler: ArchiveHandler;
  private readonly container: Container;
  private state = State.Meta;
  /** Absolute offset of the next byte written. */
  private pos = 0;

  // Header and TOC: gathered until a whole value is in, parsed again only once `need` bytes are.
  private acc = Buffer.alloc(4096);
  private accLen = 0;
  /** Absolute offset of acc[0]. */
  private accStart = 0;
  private need = 0;
  private head: ArchiveHeader | undefined;
  private tocCount = -1;
  private readonly entries: TocEntry[] = [];
  private readonly byId = new Map<number, TocEntry>();

  // Data blocks.
  private carry = Buffer.alloc(16);
  private carryHave = 0;
  private intValue = 0;
  private intAt = 0;
  private blockType = 0;
  private blockOffset = 0;
  private block: TocEntry | undefined;
  private remaining = 0;
  private readonly seen = new Set<number>();

  /**
   * `length`: the archive's size when known (a file): a TOC offset at or past it is reported as
   * soon as the TOC is read, not when the data section ends.
   */
  constructor(handler: ArchiveHandler, container: Container = 'custom', private readonly length?: number) {
    this.handler = handler;
    this.container = container;
  }

  get header(): ArchiveHeader | undefined {
    return this.head;
  }

  get toc(): readonly TocEntry[] {
    return this.entries;
  }

  write(chunk: Buffer): void {
    if (this.state === State.Done) throw new Error('write after end');
    if (this.state === State.Meta) {
      this.gather(chunk);
      if (this.accLen < this.need) return;
      const rest = this.parseMeta();
      if (rest === undefined) return;
      chunk = rest;
    }
    if (chunk.length > 0) this.parseData(chunk);
  }

  end(): void {
    const at = this.pos;
    const state = this.state;
    this.state = State.Done;
    if (state === State.Meta) {
      if (this.head === undefined) {
        const start = this.acc.subarray(0, this.accLen);
        if (!start.subarray(0, 5).equals(Buffer.from('PGDMP').subarray(0, Math.min(5, start.length)))) throw notAnArchive(start);
        throw archiveError(this.pos === 0 ? 'input is empty' : 'archive is truncated inside its header', at);
      }
      throw archiveError(`archive is truncated inside its TOC, after ${this.entries.length} of ${Math.max(this.tocCount, 0)} entries`, at);
    }
    if (state !== State.BlockType || this.carryHave !== 0) {
      const entry = this.block;
      throw archiveError(`archive is truncated inside the data of ${entry ? describeEntry(entry) : 'a block'}, which starts at byte ${this.blockOffset}`, at, entry);
    }
    this.checkAllData(at);
    this.handler.end?.(at);
  }

  /** Every entry the TOC says has data must have had its block: else the archive was cut at a block boundary, or its TOC is wrong. */
  private checkAllData(length: number): void {
    if (this.container !== 'custom') return;
    for (const entry of this.entries) {
      if (entry.dataState === OFFSET_NO_DATA || this.seen.has(entry.dumpId)) continue;
      if (entry.dataState === OFFSET_POS_SET && entry.dataOffset! >= length) {
        throw archiveError(`the TOC points past the end of the archive: ${describeEntry(entry)} has its data at byte ${entry.dataOffset}, the archive is ${length} bytes`, entry.offset, entry);
      }
      throw archiveError(`archive ends before the data of ${describeEntry(entry)}: truncated, or its TOC is damaged`, length, entry);
    }
  }

  private gather(chunk: Buffer): void {
    if (this.accLen + chunk.length > this.acc.length) {
      const grown = Buffer.alloc(Math.max(this.acc.length * 2, this.accLen + chunk.length));
      this.acc.copy(grown, 0, 0, this.accLen);
      this.acc = grown;
    }
    chunk.copy(this.acc, this.accLen);
    this.accLen += chunk.length;
    this.pos += chunk.length;
  }

  /** Parses what it can of the header and TOC; at the TOC's end returns the bytes after it (data), else undefined. */
  private parseMeta(): Buffer | undefined {
    const buf = this.acc.subarray(0, this.accLen);
    let at = 0;
    try {
      if (this.head === undefined) {
        const header = decodeHeader(buf);
        checkFormat(header, this.container === 'custom' ? FORMAT_CUSTOM : FORMAT_TAR, this.container === 'custom' ? 'not a custom-format archive' : 'toc.dat is not a directory archive TOC');
        checkCompression(header);
        this.head = { ...header, raw: Buffer.from(header.raw) };
        at = header.raw.length;
        this.handler.header?.(this.head);
      }
      const { intSize } = this.head;
      if (this.tocCount < 0) {
        if (at + 1 + intSize > buf.length) throw new Short(at + 1 + intSize);
        this.tocCount = decodeInt(buf, at, intSize);
        if (this.tocCount < 0) throw archiveError(`TOC entry count ${this.tocCount} is negative: the TOC is damaged`, this.accStart + at);
        at += 1 + intSize;
      }
      while (this.entries.length < this.tocCount) {
        const { end } = decodeTocEntry(buf, at, this.head, this.container, this.accStart + at);
        // Decoded again from its own copy: the entry must not hold on to the gathering buffer.
        const { entry } = decodeTocEntry(Buffer.from(buf.subarray(at, end)), 0, this.head, this.container, this.accStart + at);
        if (this.byId.has(entry.dumpId)) throw archiveError(`TOC has entry ${entry.dumpId} twice: the TOC is damaged`, entry.offset, entry);
        this.entries.push(entry);
        this.byId.set(entry.dumpId, entry);
        at = end;
        this.handler.tocEntry?.(entry);
      }
    } catch (err) {
      if (!(err instanceof Short)) throw err;
      this.need = err.need - at;
      this.compact(at);
      return undefined;
    }
    const dataStart = this.accStart + at;
    if (this.length !== undefined) {
      for (const entry of this.entries) {
        if (entry.dataState === OFFSET_POS_SET && entry.dataOffset! >= this.length) {
          throw archiveError(`the TOC points past the end of the archive: ${describeEntry(entry)} has its data at byte ${entry.dataOffset}, the archive is ${this.length} bytes`, entry.offset, entry);
        }
      }
    }
    this.state = State.BlockType;
    this.handler.tocEnd?.(dataStart);
    // The data parser counts positions itself from here: it is handed the rest as a new chunk.
    const rest = Buffer.from(buf.subarray(at));
    this.pos = dataStart;
    this.acc = Buffer.alloc(0);
    this.accLen = 0;
    if (this.container === 'directory' && rest.length > 0) throw archiveError('toc.dat has bytes after its TOC', dataStart);
    return rest;
  }

  private compact(consumed: number): void {
    if (consumed === 0) return;
    this.acc.copy(this.acc, 0, consumed, this.accLen);
    this.accLen -= consumed;
    this.accStart += consumed;
  }

  private parseData(chunk: Buffer): void {
    if (this.container === 'directory') throw archiveError('toc.dat has bytes after its TOC', this.pos);
    const base = this.pos;
    const n = chunk.length;
    const h = this.handler;
    let i = 0;
    // Start of the current block body's bytes in this chunk, or -1 outside a body.
    let rawFrom = this.state === State.BlockType || this.state === State.BlockId ? -1 : 0;
    while (i < n) {
      switch (this.state) {
        case State.BlockType: {
          this.blockOffset = base + i;
          this.blockType = chunk[i++]!;
          if (this.blockType !== BLK_DATA && this.blockType !== BLK_BLOBS) {
            throw archiveError(`unknown data block type ${this.blockType}: the archive is damaged`, this.blockOffset);
          }
          this.state = State.BlockId;
          break;
        }
        case State.BlockId: {
          const next = this.takeInt(chunk, i, base);
          if (next < 0) {
            i = n;
            break;
          }
          i = next;
          this.startBlock(this.intValue);
          rawFrom = i;
          this.state = this.blockType === BLK_DATA ? State.ChunkLength : State.LobOid;
          break;
        }
        case State.LobOid: {
          const next = this.takeInt(chunk, i, base);
          if (next < 0) {
            i = n;
            break;
          }
          i = next;
          if (this.intValue === 0) {
            i = this.endBlock(chunk, rawFrom, i, base);
            rawFrom = -1;
          } else {
            h.lobStart?.(this.intValue >>> 0, this.intAt);
            this.state = State.ChunkLength;
          }
          break;
        }
        case State.ChunkLength: {
          const next = this.takeInt(chunk, i, base);
          if (next < 0) {
            i = n;
            break;
          }
          i = next;
          const length = this.intValue;
          const at = this.intAt;
          if (length < 0) throw archiveError(`negative chunk length ${length} in the data of ${describeEntry(this.block!)}: the archive is damaged`, at, this.block);
          if (length > 0) {
            this.remaining = length;
            this.state = State.Payload;
          } else {
            h.streamEnd?.(at);
            if (this.blockType === BLK_BLOBS) {
              this.state = State.LobOid;
            } else {
              i = this.endBlock(chunk, rawFrom, i, base);
              rawFrom = -1;
            }
          }
          break;
        }
        case State.Payload: {
          const take = Math.min(this.remaining, n - i);
          h.payload?.(chunk.subarray(i, i + take), base + i);
          i += take;
          this.remaining -= take;
          if (this.remaining === 0) this.state = State.ChunkLength;
          break;
        }
        default:
          throw new Error(`parser state ${this.state}`);
      }
    }
    if (rawFrom >= 0 && rawFrom < n) h.raw?.(chunk.subarray(rawFrom, n));
    this.pos = base + n;
  }

  private startBlock(dumpId: number): void {
    const entry = this.byId.get(dumpId);
    if (entry === undefined) throw archiveError(`data block for dump id ${dumpId}, which the TOC does not have: the archive is damaged`, this.blockOffset);
    if (this.seen.has(dumpId)) throw archiveError(`second data block for ${describeEntry(entry)}: the archive is damaged`, this.blockOffset, entry);
    if (entry.dataState === OFFSET_NO_DATA) throw archiveError(`data block for ${describeEntry(entry)}, which the TOC says has none`, this.blockOffset, entry);
    if (entry.dataState === OFFSET_POS_SET && entry.dataOffset !== this.blockOffset) {
      throw archiveError(`the TOC places the data of ${describeEntry(entry)} at byte ${entry.dataOffset}, but it is at byte ${this.blockOffset}: the TOC is damaged`, this.blockOffset, entry);
    }
    this.seen.add(dumpId);
    this.block = entry;
    this.handler.blockStart?.(this.blockType, entry, this.blockOffset);
  }

  private endBlock(chunk: Buffer, rawFrom: number, i: number, base: number): number {
    if (rawFrom >= 0 && i > rawFrom) this.handler.raw?.(chunk.subarray(rawFrom, i));
    this.state = State.BlockType;
    this.handler.blockEnd?.(this.block!, base + i);
    return i;
  }

  /**
   * Reads an int (which may straddle chunks) into intValue, and where it started into intAt:
   * the index after it, or -1 when the chunk ran out first.
   */
  private takeInt(chunk: Buffer, i: number, base: number): number {
    const size = 1 + this.head!.intSize;
    if (this.carryHave === 0) this.intAt = base + i;
    if (this.carryHave === 0 && chunk.length - i >= size) {
      this.intValue = decodeInt(chunk, i, this.head!.intSize);
      return i + size;
    }
    const n = Math.min(size - this.carryHave, chunk.length - i);
    chunk.copy(this.carry, this.carryHave, i, i + n);
    this.carryHave += n;
    if (this.carryHave < size) return -1;
    this.carryHave = 0;
    this.intValue = decodeInt(this.carry, 0, this.head!.intSize);
    return i + n;
  }
}
