// Reading a custom-format archive (pg_dump -Fc) from a byte stream, front to back: the
// header and TOC first, then each data block in file order, as pg_restore reads an archive
// it cannot seek in (a pipe). A TABLE DATA block gives its COPY text decompressed, chunk by
// chunk; any block can instead be taken as stored (raw) to be copied without decompressing,
// or skipped. This is the async adapter around archive-parser.ts.
// https://github.com/postgres/postgres/blob/master/src/bin/pg_dump/pg_backup_custom.c (_PrintTocData, _PrintData)

import { ArchiveParser } from './archive-parser.js';
import { type ArchiveHeader, BLK_DATA, type TocEntry, archiveError, describeEntry } from './format.js';
import { type Piece, inflatePieces } from './zlib-streams.js';

/** Where the bytes come from: io/chunk-source.ts's ChunkSource fits, as does any async iterator of Buffers. */
export interface ByteSource {
  /** The next chunk, or null at the end. Its memory may be reused after the next call but one. */
  next(): Promise<Buffer | null>;
  close?(): Promise<void>;
}

type Event =
  | { kind: 'block'; blockType: number; entry: TocEntry; offset: number }
  | { kind: 'lob'; oid: number; offset: number }
  | { kind: 'payload'; parts: Buffer[]; offset: number }
  | { kind: 'raw'; parts: Buffer[] }
  | { kind: 'streamEnd' }
  | { kind: 'blockEnd'; offset: number }
  | { kind: 'tocEnd'; offset: number }
  | { kind: 'end'; length: number };

/** One data block of the archive. Use exactly one of data(), raw(), skip(); the reader skips what is left unread. */
export interface CustomDataBlock {
  readonly entry: TocEntry;
  /** BLK_DATA (a table's COPY data) or BLK_BLOBS (large objects). */
  readonly blockType: number;
  /** Byte offset of the block in the archive. */
  readonly offset: number;
  /** BLK_DATA: the data decompressed, chunk by chunk (the COPY text of a TABLE DATA entry). */
  data(): AsyncGenerator<Buffer>;
  /** The block's body exactly as stored, after its type byte and dump id: for CustomArchiveWriter.copyBlock. */
  raw(): AsyncGenerator<Buffer>;
  skip(): Promise<void>;
}

export class CustomArchiveReader {
  private current: BlockState | undefined;

  private constructor(
    private readonly events: EventSource,
    readonly header: ArchiveHeader,
    readonly toc: readonly TocEntry[],
    /** Byte offset where the data blocks start. */
    readonly dataStart: number,
  ) {}

  /** Reads the header and TOC. `length`: the archive's size, when known (a file), to check the TOC's offsets against. */
  static async open(source: ByteSource, length?: number): Promise<CustomArchiveReader> {
    const events = new EventSource(source, length);
    try {
      for (;;) {
        const ev = await events.pull();
        if (ev.kind === 'tocEnd') return new CustomArchiveReader(events, events.parser.header!, events.parser.toc, ev.offset);
      }
    } catch (err) {
      await events.close();
      throw err;
    }
  }

  /** The next data block in file order, or null after the last (when the whole archive has been checked). */
  async nextBlock(): Promise<CustomDataBlock | null> {
    try {
      if (this.current && !this.current.done) await this.current.drain();
      for (;;) {
        const ev = await this.events.pull();
        if (ev.kind === 'end') return null;
        if (ev.kind === 'block') {
          this.current = new BlockState(this.events, this.header, ev.entry, ev.blockType, ev.offset);
          return this.current.block;
        }
      }
    } catch (err) {
      await this.close();
      throw err;
    }
  }

  /** Every data block, in file order. */
  async *blocks(): AsyncGenerator<CustomDataBlock> {
    for (;;) {
      const block = await this.nextBlock();
      if (block === null) return;
      yield block;
    }
  }

  /** Stops early: releases the source. */
  close(): Promise<void> {
    return this.events.close();
  }
}

/** The parser's events, one at a time, reading more input whenever they run out. */
class EventSource {
  readonly parser: ArchiveParser;
  private readonly queue: Event[] = [];
  private head = 0;
  private ended = false;

  constructor(
    private readonly source: ByteSource,
    length: number | undefined,
  ) {
    this.parser = new ArchiveParser(eventsInto(this.queue), 'custom', length);
  }

  async pull(): Promise<Event> {
    while (this.head >= this.queue.length) {
      this.queue.length = 0;
      this.head = 0;
      if (this.ended) return { kind: 'end', length: -1 };
      const chunk = await this.source.next();
      if (chunk === null) {
        this.ended = true;
        this.parser.end();
      } else {
        this.parser.write(chunk);
      }
    }
    return this.queue[this.head++]!;
  }

  async close(): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    await this.source.close?.();
  }
}

/** The handler that turns parser callbacks into queued events, joining the pieces of one chunk. */
function eventsInto(queue: Event[]): ConstructorParameters<typeof ArchiveParser>[0] {
  const last = (): Event | undefined => queue[queue.length - 1];
  return {
    tocEnd: (offset) => queue.push({ kind: 'tocEnd', offset }),
    blockStart: (blockType, entry, offset) => queue.push({ kind: 'block', blockType, entry, offset }),
    lobStart: (oid, offset) => queue.push({ kind: 'lob', oid, offset }),
    payload: (bytes, offset) => {
      const prev = last();
      if (prev?.kind === 'payload') prev.parts.push(bytes);
      else queue.push({ kind: 'payload', parts: [bytes], offset });
    },
    raw: (bytes) => {
      const prev = last();
      if (prev?.kind === 'raw') prev.parts.push(bytes);
      else queue.push({ kind: 'raw', parts: [bytes] });
    },
    streamEnd: () => queue.push({ kind: 'streamEnd' }),
    blockEnd: (_entry, offset) => queue.push({ kind: 'blockEnd', offset }),
    end: (length) => queue.push({ kind: 'end', length }),
  };
}

/** The parts of an event as one Buffer of its own (the source's chunk memory is reused). */
function joined(parts: Buffer[]): Buffer {
  return parts.length === 1 ? Buffer.from(parts[0]!) : Buffer.concat(parts);
}

class BlockState {
  done = false;
  private claimed = false;
  readonly block: CustomDataBlock;

  constructor(
    private readonly events: EventSource,
    private readonly header: ArchiveHeader,
    readonly entry: TocEntry,
    readonly blockType: number,
    readonly offset: number,
  ) {
    const self = this;
    this.block = {
      entry,
      blockType,
      offset,
      data: () => self.data(),
      raw: () => self.raw(),
      skip: () => self.drain(),
    };
  }

  private claim(what: string): void {
    if (this.claimed) throw new Error(`the data of ${describeEntry(this.entry)} was already read (${what})`);
    this.claimed = true;
  }

  async drain(): Promise<void> {
    this.claimed = true;
    while (!this.done) {
      const ev = await this.events.pull();
      if (ev.kind === 'blockEnd') this.done = true;
    }
  }

  async *raw(): AsyncGenerator<Buffer> {
    this.claim('raw');
    while (!this.done) {
      const ev = await this.events.pull();
      if (ev.kind === 'raw') yield joined(ev.parts);
      else if (ev.kind === 'blockEnd') this.done = true;
    }
  }

  async *data(): AsyncGenerator<Buffer> {
    this.claim('data');
    if (this.blockType !== BLK_DATA) throw new Error(`${describeEntry(this.entry)} holds large objects: copy it with raw()`);
    const { algorithm } = this.header.compression;
    if (algorithm === 'none') {
      for await (const piece of this.pieces()) yield piece.bytes;
      return;
    }
    const entry = this.entry;
    yield* inflatePieces(this.pieces(), 'zlib', (err, at) =>
      at === undefined
        ? archiveError(`the compressed data of ${describeEntry(entry)} ends early (${zlibReason(err)}): the archive is damaged`, this.endOffset, entry)
        : archiveError(`the compressed data of ${describeEntry(entry)} is damaged (${zlibReason(err)}) in the chunks from byte ${at}`, at, entry),
    );
  }

  private endOffset = 0;

  /** The stored chunks' bytes, joined per input chunk. */
  private async *pieces(): AsyncGenerator<Piece> {
    while (!this.done) {
      const ev = await this.events.pull();
      if (ev.kind === 'payload') yield { bytes: joined(ev.parts), offset: ev.offset };
      else if (ev.kind === 'blockEnd') {
        this.done = true;
        this.endOffset = ev.offset;
      }
    }
  }
}

function zlibReason(err: Error): string {
  return err.message.replace(/^[A-Z_]+: /, '');
}
