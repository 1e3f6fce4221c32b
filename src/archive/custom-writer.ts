// Writing a custom-format archive as pg_dump does (pg_backup_custom.c, _CloseArchive): the
// header, the TOC with every data offset "not set", then the data blocks in the caller's
// order; at the end, when the output is a regular file, back to the TOC to write it again
// with each block's offset (K_OFFSET_POS_SET), which pg_restore -j and -L need. On a pipe the
// offsets stay unset, as pg_dump leaves them.
//
// A block's data is either given uncompressed (writeData: compressed here, one zlib stream
// per block, cut into 4096-byte chunks as compress_io.c's DeflateCompressorZlib does; or,
// uncompressed, one chunk per line, as pg_dump writes each COPY row), or copied as stored
// from a reader's block (copyBlock), without decompressing.
// https://github.com/postgres/postgres/blob/master/src/bin/pg_dump/pg_backup_custom.c

import type { ArchiveOutput } from './archive-output.js';
import type { CustomDataBlock } from './custom-reader.js';
import {
  type ArchiveHeader,
  BLK_DATA,
  type Compression,
  DEFAULT_GZIP_LEVEL,
  FORMAT_CUSTOM,
  OFFSET_NO_DATA,
  OFFSET_POS_NOT_SET,
  OFFSET_POS_SET,
  type TocEntry,
  describeEntry,
} from './format.js';
import { encodeCustomTocEntry, encodeInt, withCompression } from './toc-codec.js';
import { deflateChunks } from './zlib-streams.js';

/** compress_io.h's ZLIB_OUT_SIZE: pg_dump hands zlib's output to the archive in pieces of this size. */
export const ZLIB_OUT_SIZE = 4096;
const NEWLINE = 0x0a;
/** The line ending COPY data. */
const END_MARKER = Buffer.from('\\.\n', 'latin1');

export interface CustomWriterOptions {
  /** The output's compression when it differs from the header's (gzip at a level, or none). */
  compression?: Compression;
}

export class CustomArchiveWriter {
  readonly header: ArchiveHeader;
  private readonly output: ArchiveOutput;
  private readonly toc: readonly TocEntry[];
  private readonly level: number;
  private tocStart = 0;
  /** Data block offsets by dump id. */
  private readonly offsets = new Map<number, number>();
  private finished = false;

  /** Writes the header and the TOC (offsets not set yet). */
  static async begin(output: ArchiveOutput, header: ArchiveHeader, toc: readonly TocEntry[], options: CustomWriterOptions = {}): Promise<CustomArchiveWriter> {
    const writer = new CustomArchiveWriter(output, header, toc, options);
    await output.write(writer.header.raw);
    writer.tocStart = output.position;
    await output.write(writer.encodeToc(false));
    return writer;
  }

  private constructor(output: ArchiveOutput, header: ArchiveHeader, toc: readonly TocEntry[], options: CustomWriterOptions) {
    let h = header.format === FORMAT_CUSTOM ? header : { ...header, format: FORMAT_CUSTOM };
    if (options.compression !== undefined || h !== header) h = withCompression(h, options.compression ?? header.compression);
    if (h.compression.algorithm !== 'none' && h.compression.algorithm !== 'gzip') throw new Error(`cannot write ${h.compression.algorithm} data`);
    this.header = h;
    this.output = output;
    this.toc = toc;
    this.level = h.compression.level ?? DEFAULT_GZIP_LEVEL;
  }

  /** The block of `entry` from uncompressed bytes (a TABLE DATA entry's COPY text), compressed as the header says. */
  async writeData(entry: TocEntry, data: AsyncIterable<Buffer> | Iterable<Buffer>): Promise<void> {
    await this.startBlock(entry, BLK_DATA);
    const int = this.header.intSize;
    if (this.header.compression.algorithm === 'none') {
      await this.writeLines(data);
    } else {
      // Cut the zlib stream into ZLIB_OUT_SIZE pieces, each with its length before it.
      let carry = Buffer.alloc(0);
      for await (const out of deflateChunks(data, 'zlib', this.level)) {
        const bytes = carry.length > 0 ? Buffer.concat([carry, out]) : out;
        const whole = bytes.length - (bytes.length % ZLIB_OUT_SIZE);
        if (whole > 0) await this.output.write(framed(bytes, 0, whole, int));
        carry = Buffer.from(bytes.subarray(whole));
      }
      if (carry.length > 0) await this.output.write(framed(carry, 0, carry.length, int));
    }
    await this.output.write(encodeInt(0, int));
  }

  /** A reader's block as it is stored; the input and output must have the same compression and integer size. */
  async copyBlock(block: CustomDataBlock, from: ArchiveHeader): Promise<void> {
    if (from.compression.algorithm !== this.header.compression.algorithm || from.intSize !== this.header.intSize) {
      throw new Error(`${describeEntry(block.entry)} cannot be copied as stored: the output's compression or integer size differs`);
    }
    await this.startBlock(block.entry, block.blockType);
    for await (const bytes of block.raw()) await this.output.write(bytes);
  }

  /** Writes the TOC again with the data offsets (when the output can seek) and closes the output. */
  async finish(): Promise<void> {
    for (const entry of this.toc) {
      if (hasData(entry) && !this.offsets.has(entry.dumpId)) throw new Error(`no data was written for ${describeEntry(entry)}`);
    }
    this.finished = true;
    if (this.output.seekable && this.offsets.size > 0) await this.output.writeAt(this.encodeToc(true), this.tocStart);
    await this.output.finish();
  }

  async abort(): Promise<void> {
    if (!this.finished) await this.output.abort();
  }

  private async startBlock(entry: TocEntry, blockType: number): Promise<void> {
    if (!hasData(entry)) throw new Error(`${describeEntry(entry)} has no data in the TOC`);
    if (this.offsets.has(entry.dumpId)) throw new Error(`the data of ${describeEntry(entry)} was already written`);
    this.offsets.set(entry.dumpId, this.output.position);
    await this.output.write(Buffer.concat([Buffer.from([blockType]), encodeInt(entry.dumpId, this.header.intSize)]));
  }

  /**
   * Uncompressed: one chunk per line, as pg_dump calls WriteData once per COPY row; the end
   * marker line `\.` and whatever follows it (pg_dump writes "\.\n\n\n" in one call) are the
   * last chunk. So a COPY block comes out as pg_dump wrote it, byte for byte.
   */
  private async writeLines(data: AsyncIterable<Buffer> | Iterable<Buffer>): Promise<void> {
    const int = this.header.intSize;
    let partial: Buffer[] = [];
    let partialLength = 0;
    let tail = false;
    for await (const chunk of data) {
      if (tail) {
        partial.push(Buffer.from(chunk));
        partialLength += chunk.length;
        continue;
      }
      const pieces: Buffer[] = [];
      let from = 0;
      for (let nl = chunk.indexOf(NEWLINE); nl >= 0; nl = chunk.indexOf(NEWLINE, from)) {
        const line = chunk.subarray(from, nl + 1);
        if (partialLength + line.length === END_MARKER.length && Buffer.concat([...partial, line]).equals(END_MARKER)) {
          tail = true;
          break;
        }
        pieces.push(encodeInt(partialLength + line.length, int), ...partial, line);
        partial = [];
        partialLength = 0;
        from = nl + 1;
      }
      if (pieces.length > 0) await this.output.write(Buffer.concat(pieces));
      if (from < chunk.length) {
        partial.push(Buffer.from(chunk.subarray(from)));
        partialLength += chunk.length - from;
      }
    }
    // The end marker and what follows it; or data that does not end with a newline (not COPY text).
    if (partialLength > 0) await this.output.write(Buffer.concat([encodeInt(partialLength, int), ...partial]));
  }

  private encodeToc(withOffsets: boolean): Buffer {
    const parts = [encodeInt(this.toc.length, this.header.intSize)];
    for (const entry of this.toc) {
      const offset = this.offsets.get(entry.dumpId);
      const state = !hasData(entry) ? OFFSET_NO_DATA : withOffsets && offset !== undefined ? OFFSET_POS_SET : OFFSET_POS_NOT_SET;
      parts.push(encodeCustomTocEntry(entry, this.header, state, state === OFFSET_POS_SET ? offset! : 0));
    }
    return Buffer.concat(parts);
  }
}

/** Whether the entry has a data block: its offset flag says so in a custom archive, hadDumper otherwise. */
export function hasData(entry: TocEntry): boolean {
  return entry.dataState !== undefined ? entry.dataState !== OFFSET_NO_DATA : entry.hadDumper;
}

/** `bytes[from..to)` as chunks of ZLIB_OUT_SIZE, each after its length. */
function framed(bytes: Buffer, from: number, to: number, intSize: number): Buffer {
  const chunks = Math.ceil((to - from) / ZLIB_OUT_SIZE);
  const out = Buffer.allocUnsafe(to - from + chunks * (1 + intSize));
  let at = 0;
  for (let i = from; i < to; i += ZLIB_OUT_SIZE) {
    const n = Math.min(ZLIB_OUT_SIZE, to - i);
    at += encodeInt(n, intSize).copy(out, at);
    at += bytes.copy(out, at, i, i + n);
  }
  return out;
}
