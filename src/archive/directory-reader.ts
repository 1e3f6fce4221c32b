// Reading a directory-format archive (pg_dump -Fd): toc.dat holds the header and TOC (the
// custom format's, with a file name where the custom format has a data offset), and each
// entry with data has its own file: NNNN.dat, or NNNN.dat.gz when compressed (a gzip file,
// gzopen). Large objects: a BLOBS entry's file (blobs.toc, or blobs_NNNN.toc from archive
// 1.16 on) lists "oid blob_oid.dat" lines, one file per large object. Entries are read in any
// order and at once: each is its own file, which is what lets tables be masked in parallel.
// https://github.com/postgres/postgres/blob/master/src/bin/pg_dump/pg_backup_directory.c

import { createReadStream } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { PgcloakError } from '../errors.js';
import { ArchiveParser } from './archive-parser.js';
import { type ArchiveHeader, type TocEntry, archiveError, describeEntry } from './format.js';
import { inflatePieces, type Piece } from './zlib-streams.js';

export const TOC_FILE = 'toc.dat';
const GZIP_SUFFIX = '.gz';
const READ_CHUNK = 1024 * 1024;

export interface DataFile {
  /** Name inside the archive directory, with the .gz suffix when it has one. */
  readonly name: string;
  readonly path: string;
  readonly compressed: boolean;
}

export interface LargeObjectFile extends DataFile {
  readonly oid: number;
}

export class DirectoryArchiveReader {
  private constructor(
    readonly dir: string,
    readonly header: ArchiveHeader,
    readonly toc: readonly TocEntry[],
  ) {}

  /** Reads toc.dat (streamed through the same parser as a custom archive's header and TOC). */
  static async open(dir: string): Promise<DirectoryArchiveReader> {
    const tocPath = join(dir, TOC_FILE);
    try {
      await access(tocPath);
    } catch {
      throw archiveError(`${dir} is not a directory archive: it has no ${TOC_FILE}`);
    }
    const parser = new ArchiveParser({}, 'directory');
    for await (const chunk of createReadStream(tocPath, { highWaterMark: READ_CHUNK })) parser.write(chunk as Buffer);
    try {
      parser.end();
    } catch (err) {
      throw err instanceof PgcloakError ? archiveError(`${tocPath}: ${err.detail}`, err.position.offset) : err;
    }
    const header = parser.header!;
    for (const entry of parser.toc) {
      if (entry.hadDumper && !entry.filename) throw archiveError(`${tocPath}: ${describeEntry(entry)} has data but no file name: the TOC is damaged`, entry.offset, entry);
      if (entry.filename && !/^[A-Za-z0-9_.]+$/.test(entry.filename)) throw archiveError(`${tocPath}: ${describeEntry(entry)} names the file ${JSON.stringify(entry.filename)}`, entry.offset, entry);
    }
    return new DirectoryArchiveReader(dir, header, parser.toc);
  }

  /** The entry's data file as it is on disk (NNNN.dat or NNNN.dat.gz; blobs_NNNN.toc for BLOBS), or null without data. */
  async dataFile(entry: TocEntry): Promise<DataFile | null> {
    if (!entry.filename) return null;
    const file = await this.find(entry.filename);
    if (file === null) throw archiveError(`the directory archive ${this.dir} has no data file ${entry.filename} for ${describeEntry(entry)}`, undefined, entry);
    return file;
  }

  /** The entry's data, decompressed (a TABLE DATA entry's COPY text), chunk by chunk. */
  async *data(entry: TocEntry): AsyncGenerator<Buffer> {
    const file = await this.dataFile(entry);
    if (file === null) return;
    const bytes = readPieces(file.path);
    if (!file.compressed) {
      for await (const piece of bytes) yield piece.bytes;
      return;
    }
    yield* inflatePieces(bytes, 'gzip', (err, at) =>
      archiveError(`the compressed file ${file.name} of ${describeEntry(entry)} is damaged (${err.message.replace(/^[A-Z_]+: /, '')})${at === undefined ? ' at its end' : ` from byte ${at}`}`, at, entry),
    );
  }

  /** A BLOBS entry's large objects: their OIDs and files, from its blobs TOC file. */
  async largeObjects(entry: TocEntry): Promise<LargeObjectFile[]> {
    const list = await this.dataFile(entry);
    if (list === null) return [];
    let text = '';
    for await (const piece of readPieces(list.path)) text += piece.bytes.toString('latin1');
    const objects: LargeObjectFile[] = [];
    for (const line of text.split('\n')) {
      if (line === '') continue;
      const m = /^(\d+) (\S+)$/.exec(line);
      if (m === null) throw archiveError(`invalid line in the large object list ${list.name} of ${describeEntry(entry)}: ${JSON.stringify(line)}`, undefined, entry);
      const file = await this.find(m[2]!);
      if (file === null) throw archiveError(`the directory archive ${this.dir} has no file ${m[2]} for large object ${m[1]} of ${describeEntry(entry)}`, undefined, entry);
      objects.push({ ...file, oid: Number(m[1]) });
    }
    return objects;
  }

  /** `name`, or `name.gz`, as pg_restore looks for them. */
  private async find(name: string): Promise<DataFile | null> {
    for (const candidate of [name, name + GZIP_SUFFIX]) {
      const path = join(this.dir, candidate);
      try {
        if ((await stat(path)).isFile()) return { name: candidate, path, compressed: candidate.endsWith(GZIP_SUFFIX) };
      } catch {
        // not this one
      }
    }
    return null;
  }
}

/** A file's bytes as pieces with their offsets, for error positions. */
async function* readPieces(path: string): AsyncGenerator<Piece> {
  let offset = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: READ_CHUNK })) {
    const bytes = chunk as Buffer;
    yield { bytes, offset };
    offset += bytes.length;
  }
}
