// The archive header and TOC entries, bytes to values and back: ReadInt/ReadStr/ReadOffset
// and WriteInt/WriteStr/WriteOffset, ReadHead/WriteHead, ReadToc/WriteToc, and the
// format-specific tail of each entry (_ReadExtraToc/_WriteExtraToc: a data offset in the
// custom format, a file name in the directory format).
//
// Mirrors src/bin/pg_dump/pg_backup_archiver.c, pg_backup_custom.c and pg_backup_directory.c
// (https://github.com/postgres/postgres/blob/master/src/bin/pg_dump/pg_backup_archiver.c).
// Integers are a sign byte then `intSize` bytes, least significant first; strings an integer
// length (-1 for NULL) then the bytes; offsets a K_OFFSET_* byte then `offSize` bytes.
//
// The decoders work on a Buffer that may end early: they throw SHORT with the number of
// bytes they would need, so a streaming caller (custom-parser.ts) retries once that many
// have come, and a whole-buffer caller reports truncation.

import {
  type ArchiveHeader,
  type ArchiveTime,
  type Compression,
  FORMAT_CUSTOM,
  MAGIC,
  MAX_VERSION,
  MIN_VERSION,
  OFFSET_NO_DATA,
  OFFSET_POS_NOT_SET,
  OFFSET_POS_SET,
  TOC_TEXT_FIELDS,
  type TocEntry,
  type TocTextField,
  algorithmCode,
  archiveError,
  compressionFromAlgorithm,
  compressionFromLevel,
  hasCompressionAlgorithm,
  hasRelkind,
  hasTableAm,
  versionText,
} from './format.js';

/** Thrown by the decoders when the buffer ends before the value: `need` is the buffer length that would do. */
export class Short {
  constructor(readonly need: number) {}
}

/** Which container a TOC belongs to: decides the entry's tail. */
export type Container = 'custom' | 'directory';

/** A cursor over one buffer, reading pg_dump's integers and strings. */
export class ByteReader {
  pos: number;

  constructor(
    readonly buf: Buffer,
    start: number,
    private readonly intSize: number,
    private readonly offSize: number,
  ) {
    this.pos = start;
  }

  byte(): number {
    if (this.pos >= this.buf.length) throw new Short(this.pos + 1);
    return this.buf[this.pos++]!;
  }

  bytes(n: number): Buffer {
    if (this.pos + n > this.buf.length) throw new Short(this.pos + n);
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }

  int(): number {
    const end = this.pos + 1 + this.intSize;
    if (end > this.buf.length) throw new Short(end);
    const v = decodeInt(this.buf, this.pos, this.intSize);
    this.pos = end;
    return v;
  }

  str(): Buffer | null {
    const start = this.pos;
    const length = this.int();
    if (length < 0) return null;
    if (this.pos + length > this.buf.length) {
      const need = this.pos + length;
      this.pos = start;
      throw new Short(need);
    }
    return this.bytes(length);
  }

  /** ReadOffset: [flag, offset]. */
  offset(): [number, number] {
    const end = this.pos + 1 + this.offSize;
    if (end > this.buf.length) throw new Short(end);
    const flag = this.buf[this.pos]!;
    let value = 0;
    for (let i = this.offSize; i >= 1; i--) value = value * 256 + this.buf[this.pos + i]!;
    this.pos = end;
    return [flag, value];
  }
}

/** ReadInt: a sign byte (any non-zero value means negative), then the magnitude, least significant byte first. */
export function decodeInt(buf: Buffer, at: number, intSize: number): number {
  let v = 0;
  for (let i = intSize; i >= 1; i--) v = v * 256 + buf[at + i]!;
  return buf[at] !== 0 ? -v : v;
}

export function encodeInt(value: number, intSize: number): Buffer {
  const out = Buffer.alloc(1 + intSize);
  let v = value;
  if (v < 0) {
    out[0] = 1;
    v = -v;
  }
  for (let i = 1; i <= intSize; i++) {
    out[i] = v % 256;
    v = Math.floor(v / 256);
  }
  return out;
}

export function encodeStr(value: Buffer | string | null, intSize: number): Buffer {
  if (value === null) return encodeInt(-1, intSize);
  const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
  return Buffer.concat([encodeInt(bytes.length, intSize), bytes]);
}

/** WriteOffset: the K_OFFSET_* flag, then the offset in `offSize` bytes, least significant first. */
export function encodeOffset(flag: number, offset: number, offSize: number): Buffer {
  const out = Buffer.alloc(1 + offSize);
  out[0] = flag;
  let v = offset;
  for (let i = 1; i <= offSize; i++) {
    out[i] = v % 256;
    v = Math.floor(v / 256);
  }
  return out;
}

const text = (b: Buffer | null): string | null => (b === null ? null : b.toString('utf8'));

/**
 * ReadHead. Throws SHORT while the header is incomplete, INPUT_FORMAT for anything that is
 * not an archive this module reads (with the archive version and compression named).
 */
export function decodeHeader(buf: Buffer): ArchiveHeader {
  if (buf.length < MAGIC.length) throw new Short(MAGIC.length);
  if (!buf.subarray(0, MAGIC.length).equals(MAGIC)) {
    // Enough to tell a tar archive (its first 512-byte header) from anything else.
    if (buf.length < TAR_BLOCK) throw new Short(TAR_BLOCK);
    throw notAnArchive(buf);
  }
  // intSize is not known until byte 8: read the fixed bytes by hand.
  if (buf.length < 11) throw new Short(11);
  const major = buf[5]!;
  const minor = buf[6]!;
  const rev = buf[7]!;
  const v = (major * 256 + minor) * 256 + rev;
  if (v < MIN_VERSION || v > MAX_VERSION) {
    throw archiveError(
      `archive version ${major}.${minor} is not supported: pgcloak reads versions 1.12 to 1.16 (pg_dump 9.0 to 18)`,
      5,
    );
  }
  const intSize = buf[8]!;
  const offSize = buf[9]!;
  if (intSize < 2 || intSize > 6 || offSize < 4 || offSize > 8) {
    throw archiveError(`archive of version ${versionText(v)} has integers of ${intSize} bytes and offsets of ${offSize}: not supported`, 8);
  }
  const format = buf[10]!;
  const r = new ByteReader(buf, 11, intSize, offSize);
  let compression: Compression | undefined;
  if (hasCompressionAlgorithm(v)) {
    const code = r.byte();
    compression = compressionFromAlgorithm(code);
    if (compression === undefined) throw archiveError(`archive of version ${versionText(v)} names an unknown compression algorithm (${code})`, 11);
  } else {
    const level = r.int();
    if (level < -1 || level > 9) throw archiveError(`archive of version ${versionText(v)} names an unknown compression level (${level})`, 11);
    compression = compressionFromLevel(level);
  }
  const created: ArchiveTime = {
    sec: r.int(),
    min: r.int(),
    hour: r.int(),
    mday: r.int(),
    mon: r.int(),
    year: r.int(),
    isdst: r.int(),
  };
  const dbname = text(r.str());
  const serverVersion = text(r.str());
  const dumpVersion = text(r.str());
  return { version: v, intSize, offSize, format, compression, created, dbname, serverVersion, dumpVersion, raw: buf.subarray(0, r.pos) };
}

const TAR_BLOCK = 512;
/** POSIX tar: "ustar" at byte 257 of the member header (pg_backup_tar.c writes ustar headers). */
const TAR_MAGIC_AT = 257;

/** The error for input that does not start with PGDMP: what it looks like instead. */
export function notAnArchive(buf: Buffer): Error {
  if (buf.length === 0) return archiveError('input is empty');
  if (buf.subarray(TAR_MAGIC_AT, TAR_MAGIC_AT + 5).toString('latin1') === 'ustar') {
    return archiveError(
      'input is a tar-format archive (pg_dump -Ft), which pgcloak does not read: extract it (tar -xf) into a directory and give that ' +
        'directory instead (a tar archive holds the files of a directory archive), or dump again with -Fc or -Fd',
    );
  }
  const start = buf.subarray(0, 64).toString('latin1');
  if (/^(--|SET |CREATE |\\)/.test(start)) return archiveError('input is a plain SQL dump, not a pg_dump archive');
  return archiveError('input is not a pg_dump custom archive (no PGDMP signature)', 0);
}

/** Throws INPUT_FORMAT when the archive's data uses a compression this module cannot decode. */
export function checkCompression(header: ArchiveHeader): void {
  const { algorithm } = header.compression;
  if (algorithm === 'lz4' || algorithm === 'zstd') {
    throw archiveError(
      `archive version ${versionText(header.version)} (pg_dump ${header.dumpVersion ?? '?'}) is compressed with ${algorithm}, which pgcloak cannot decode: ` +
        `dump again with --compress=gzip or --compress=none`,
    );
  }
}

/** WriteHead: the header with some fields changed (the compression, when the output's differs). */
export function encodeHeader(h: Omit<ArchiveHeader, 'raw'>): ArchiveHeader {
  const { intSize } = h;
  const int = (n: number): Buffer => encodeInt(n, intSize);
  const compression = hasCompressionAlgorithm(h.version)
    ? Buffer.from([algorithmCode(h.compression.algorithm)])
    : int(h.compression.algorithm === 'none' ? 0 : (h.compression.level ?? -1));
  const raw = Buffer.concat([
    MAGIC,
    Buffer.from([(h.version >> 16) & 255, (h.version >> 8) & 255, h.version & 255, intSize, h.offSize, h.format]),
    compression,
    ...[h.created.sec, h.created.min, h.created.hour, h.created.mday, h.created.mon, h.created.year, h.created.isdst].map(int),
    encodeStr(h.dbname, intSize),
    encodeStr(h.serverVersion, intSize),
    encodeStr(h.dumpVersion, intSize),
  ]);
  return { ...h, raw };
}

/** The header of an archive written with another compression. */
export function withCompression(h: ArchiveHeader, compression: Compression): ArchiveHeader {
  if (compression.algorithm === 'lz4' || compression.algorithm === 'zstd') throw new Error(`cannot write ${compression.algorithm} data`);
  return encodeHeader({ ...h, compression });
}

/**
 * One TOC entry (ReadToc's loop body and the container's _ReadExtraToc) starting at `start`.
 * Throws SHORT when the buffer ends inside it.
 */
export function decodeTocEntry(buf: Buffer, start: number, header: ArchiveHeader, container: Container, fileOffset: number): { entry: TocEntry; end: number } {
  const r = new ByteReader(buf, start, header.intSize, header.offSize);
  const v = header.version;
  const dumpId = r.int();
  if (dumpId <= 0) throw archiveError(`TOC entry ID ${dumpId} out of range: the TOC is damaged`, fileOffset);
  const hadDumper = r.int() !== 0;
  const bytes = {} as Record<TocTextField, Buffer | null>;
  bytes.tableOid = r.str();
  bytes.oid = r.str();
  bytes.tag = r.str();
  bytes.desc = r.str();
  const section = r.int();
  bytes.defn = r.str();
  bytes.dropStmt = r.str();
  bytes.copyStmt = r.str();
  bytes.namespace = r.str();
  bytes.tablespace = r.str();
  bytes.tableam = hasTableAm(v) ? r.str() : null;
  const relkind = hasRelkind(v) ? r.int() : undefined;
  bytes.owner = r.str();
  bytes.withOids = r.str();
  const dependencies: number[] = [];
  for (;;) {
    const dep = r.str();
    if (dep === null) break;
    dependencies.push(Number.parseInt(dep.toString('latin1'), 10));
  }
  const coreEnd = r.pos;
  let dataState: number | undefined;
  let dataOffset: number | undefined;
  let filename: string | null | undefined;
  if (container === 'custom') {
    [dataState, dataOffset] = r.offset();
    if (dataState !== OFFSET_POS_NOT_SET && dataState !== OFFSET_POS_SET && dataState !== OFFSET_NO_DATA) {
      throw archiveError(`unexpected data offset flag ${dataState} in TOC ${describeId(dumpId, bytes)}`, fileOffset);
    }
  } else {
    const name = r.str();
    filename = name === null || name.length === 0 ? null : name.toString('utf8');
  }
  const fields = Object.fromEntries(TOC_TEXT_FIELDS.map((f) => [f, text(bytes[f])])) as Record<TocTextField, string | null>;
  const entry: TocEntry = {
    dumpId,
    hadDumper,
    section,
    ...fields,
    relkind,
    dependencies,
    bytes,
    core: buf.subarray(start, coreEnd),
    dataState,
    dataOffset,
    filename,
    offset: fileOffset,
  };
  return { entry, end: r.pos };
}

function describeId(dumpId: number, bytes: Record<TocTextField, Buffer | null>): string {
  return `entry ${dumpId} (${text(bytes.desc) ?? '?'} ${text(bytes.tag) ?? ''})`;
}

/** WriteToc's body for one entry with its custom-format tail. */
export function encodeCustomTocEntry(entry: TocEntry, header: ArchiveHeader, dataState: number, dataOffset: number): Buffer {
  return Buffer.concat([entry.core, encodeOffset(dataState, dataOffset, header.offSize)]);
}

/** WriteToc's body for one entry with its directory-format tail ("" when it has no file). */
export function encodeDirectoryTocEntry(entry: TocEntry, header: ArchiveHeader, filename: string | null): Buffer {
  return Buffer.concat([entry.core, encodeStr(filename ?? '', header.intSize)]);
}

/**
 * A TOC entry's core bytes made from its fields (WriteToc), for a caller that changes an
 * entry: the result reads back as `fields`.
 */
export function encodeTocCore(fields: Omit<TocEntry, 'bytes' | 'core' | 'dataState' | 'dataOffset' | 'filename' | 'offset'>, header: ArchiveHeader): Buffer {
  const { intSize } = header;
  const str = (s: string | null): Buffer => encodeStr(s, intSize);
  const parts = [
    encodeInt(fields.dumpId, intSize),
    encodeInt(fields.hadDumper ? 1 : 0, intSize),
    str(fields.tableOid),
    str(fields.oid),
    str(fields.tag),
    str(fields.desc),
    encodeInt(fields.section, intSize),
    str(fields.defn),
    str(fields.dropStmt),
    str(fields.copyStmt),
    str(fields.namespace),
    str(fields.tablespace),
  ];
  if (hasTableAm(header.version)) parts.push(str(fields.tableam));
  if (hasRelkind(header.version)) parts.push(encodeInt(fields.relkind ?? 0, intSize));
  parts.push(str(fields.owner), str(fields.withOids));
  for (const dep of fields.dependencies) parts.push(str(String(dep)));
  parts.push(encodeStr(null, intSize));
  return Buffer.concat(parts);
}

/** The header's check that the container is what the caller opened. */
export function checkFormat(header: ArchiveHeader, expected: number, what: string): void {
  if (header.format !== expected) {
    const found = header.format === FORMAT_CUSTOM ? 'custom' : header.format === 3 ? 'tar/directory' : `unknown (${header.format})`;
    throw archiveError(`${what}: the header's format is ${found}`, 10);
  }
}
