// Writing a directory-format archive (pg_dump -Fd) into a temporary directory beside the
// target, renamed to the target by finish(): the archive appears whole or not at all. Each
// entry's data is its own file, so several can be written at once (the zlib work of each runs
// in the thread pool); toc.dat (never compressed, format byte "tar" as pg_dump writes it) is
// written last. Data is given uncompressed (writeData: NNNN.dat, or NNNN.dat.gz gzipped at the
// archive's level) or copied as stored from another directory archive (copyData).
// https://github.com/postgres/postgres/blob/master/src/bin/pg_dump/pg_backup_directory.c (_CloseArchive, _StartData, _EndLO)

import { createWriteStream } from 'node:fs';
import { copyFile, mkdtemp, readdir, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { finished } from 'node:stream/promises';
import { PgcloakError } from '../errors.js';
import { hasData } from './custom-writer.js';
import { type DirectoryArchiveReader, TOC_FILE } from './directory-reader.js';
import { type ArchiveHeader, type Compression, DEFAULT_GZIP_LEVEL, FORMAT_TAR, type TocEntry, describeEntry, hasRelkind } from './format.js';
import { encodeDirectoryTocEntry, encodeInt, withCompression } from './toc-codec.js';
import { deflateChunks } from './zlib-streams.js';

export interface DirectoryWriterOptions {
  /** The output's compression when it differs from the header's (gzip at a level, or none). */
  compression?: Compression;
}

export class DirectoryArchiveWriter {
  readonly header: ArchiveHeader;
  private readonly done = new Set<number>();
  private closed = false;

  private constructor(
    readonly target: string,
    /** The temporary directory the archive is built in. */
    readonly building: string,
    header: ArchiveHeader,
    private readonly toc: readonly TocEntry[],
  ) {
    this.header = header;
  }

  /** Starts an archive that will be at `target` (which must not exist, or be an empty directory). */
  static async create(target: string, header: ArchiveHeader, toc: readonly TocEntry[], options: DirectoryWriterOptions = {}): Promise<DirectoryArchiveWriter> {
    await checkTarget(target);
    let h = header.format === FORMAT_TAR ? header : { ...header, format: FORMAT_TAR };
    if (options.compression !== undefined || h !== header) h = withCompression(h, options.compression ?? header.compression);
    if (h.compression.algorithm !== 'none' && h.compression.algorithm !== 'gzip') throw new Error(`cannot write ${h.compression.algorithm} data`);
    let building: string;
    try {
      building = await mkdtemp(join(dirname(target), `.${basename(target)}.pgcloak-`));
    } catch (err) {
      throw ioError(`cannot create a directory beside ${target}`, err);
    }
    return new DirectoryArchiveWriter(target, building, h, toc);
  }

  /** The entry's file name in toc.dat: as read, or as pg_dump names it. */
  fileName(entry: TocEntry): string | null {
    if (entry.filename !== undefined) return entry.filename;
    if (!hasData(entry)) return null;
    if (entry.desc === 'BLOBS') return hasRelkind(this.header.version) ? `blobs_${entry.dumpId}.toc` : 'blobs.toc';
    return `${entry.dumpId}.dat`;
  }

  /** The entry's data file from uncompressed bytes (a TABLE DATA entry's COPY text). */
  async writeData(entry: TocEntry, data: AsyncIterable<Buffer> | Iterable<Buffer>): Promise<void> {
    const name = this.claim(entry);
    const gzip = this.header.compression.algorithm === 'gzip';
    const path = join(this.building, gzip ? name + '.gz' : name);
    const out = createWriteStream(path, { flags: 'wx', mode: 0o600 });
    try {
      const chunks = gzip ? deflateChunks(data, 'gzip', this.header.compression.level ?? DEFAULT_GZIP_LEVEL) : data;
      for await (const chunk of chunks) {
        if (!out.write(chunk)) await waitDrain(out);
      }
      out.end();
      await finished(out);
    } catch (err) {
      out.destroy();
      throw err instanceof PgcloakError ? err : ioError(`cannot write ${path}`, err);
    }
  }

  /** The entry's file(s) as stored in `from` (for BLOBS, the list and every large object's file). */
  async copyData(entry: TocEntry, from: DirectoryArchiveReader): Promise<void> {
    if (from.header.compression.algorithm !== this.header.compression.algorithm) {
      throw new Error(`${describeEntry(entry)} cannot be copied as stored: the output's compression differs`);
    }
    const name = this.claim(entry);
    const file = await from.dataFile(entry);
    if (file === null) throw new Error(`${describeEntry(entry)} has no data file`);
    const files = entry.desc === 'BLOBS' ? [file, ...(await from.largeObjects(entry))] : [file];
    for (const f of files) {
      const to = f === file ? name + file.name.slice(entry.filename!.length) : f.name;
      try {
        await copyFile(f.path, join(this.building, to));
      } catch (err) {
        throw ioError(`cannot copy ${f.path}`, err);
      }
    }
  }

  /** Writes toc.dat and renames the directory to its target. */
  async finish(): Promise<void> {
    for (const entry of this.toc) {
      if (hasData(entry) && !this.done.has(entry.dumpId)) throw new Error(`no data was written for ${describeEntry(entry)}`);
    }
    const parts = [this.header.raw, encodeInt(this.toc.length, this.header.intSize)];
    for (const entry of this.toc) parts.push(encodeDirectoryTocEntry(entry, this.header, this.fileName(entry)));
    const out = createWriteStream(join(this.building, TOC_FILE), { flags: 'wx', mode: 0o600 });
    out.end(Buffer.concat(parts));
    await finished(out);
    await checkTarget(this.target);
    try {
      // rename(2) replaces an empty directory; anything else at the target was refused above.
      await rename(this.building, this.target);
    } catch (err) {
      throw ioError(`cannot rename ${this.building} to ${this.target}`, err);
    }
    this.closed = true;
  }

  /** Removes the temporary directory. */
  async abort(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await rm(this.building, { recursive: true, force: true });
  }

  private claim(entry: TocEntry): string {
    const name = this.fileName(entry);
    if (name === null) throw new Error(`${describeEntry(entry)} has no data in the TOC`);
    if (this.done.has(entry.dumpId)) throw new Error(`the data of ${describeEntry(entry)} was already written`);
    this.done.add(entry.dumpId);
    return name;
  }
}

/** The target must not exist, or be an empty directory (as pg_dump -Fd accepts). */
async function checkTarget(target: string): Promise<void> {
  try {
    const st = await stat(target);
    if (!st.isDirectory() || (await readdir(target)).length > 0) {
      throw new PgcloakError('IO', `${target} exists and is not an empty directory`);
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
}

function waitDrain(out: NodeJS.WritableStream): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = (err?: Error): void => {
      out.removeListener('drain', onDrain);
      out.removeListener('error', done);
      if (err) reject(err);
      else resolve();
    };
    const onDrain = (): void => done();
    out.once('drain', onDrain);
    out.once('error', done);
  });
}

function ioError(what: string, err: unknown): PgcloakError {
  const e = err as NodeJS.ErrnoException;
  return new PgcloakError('IO', `${what} (${e.code ?? 'error'}: ${e.message})`);
}
