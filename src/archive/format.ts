// What pg_dump's archives are made of, as data: the header, the table of contents (TOC)
// entries, the byte codes and version numbers that decide their layout, and the one way
// this module reports a damaged or unsupported archive.
//
// Mirrors src/bin/pg_dump/pg_backup_archiver.h and the ReadHead/ReadToc/WriteHead/WriteToc
// routines of pg_backup_archiver.c (https://github.com/postgres/postgres/tree/master/src/bin/pg_dump).
// Layout by archive version (the version pg_dump writes, not PostgreSQL's):
//   1.12  separate BLOB entries (pg_dump 9.0+)    1.13  search_path handling (2018 security releases)
//   1.14  TOC entry table access method (pg_dump 12–15)
//   1.15  header holds the compression algorithm (a byte) instead of the zlib level (pg_dump 16)
//   1.16  TOC entry relkind (an int); BLOB METADATA entries, several BLOBS entries (pg_dump 17+)

import { PgcloakError } from '../errors.js';

export const MAGIC = Buffer.from('PGDMP', 'latin1');

/** ArchiveFormat in pg_backup.h: the header's format byte. Directory archives write archTar in toc.dat. */
export const FORMAT_CUSTOM = 1;
export const FORMAT_TAR = 3;

/** Data block types of the custom format (pg_backup_archiver.h). BLK_BLOB (2) was never written by 8.0+. */
export const BLK_DATA = 1;
export const BLK_BLOBS = 3;

/** How a custom archive's TOC entry locates its data (K_OFFSET_* in pg_backup_archiver.h). */
export const OFFSET_POS_NOT_SET = 1;
export const OFFSET_POS_SET = 2;
export const OFFSET_NO_DATA = 3;

/** pg_compress_algorithm (src/include/common/compression.h): the 1.15+ header byte. */
const ALGORITHMS = ['none', 'gzip', 'lz4', 'zstd'] as const;
export type CompressionAlgorithm = (typeof ALGORITHMS)[number];

/** The zlib level pg_dump stores for plain -Fc (Z_DEFAULT_COMPRESSION). */
export const DEFAULT_GZIP_LEVEL = -1;

export const MIN_VERSION = version(1, 12, 0);
export const MAX_VERSION = version(1, 16, 255);
const V1_14 = version(1, 14, 0);
const V1_15 = version(1, 15, 0);
const V1_16 = version(1, 16, 0);

export function version(major: number, minor: number, rev: number): number {
  return (major * 256 + minor) * 256 + rev;
}

export function versionText(v: number): string {
  return `${(v >> 16) & 255}.${(v >> 8) & 255}`;
}

export function hasTableAm(v: number): boolean {
  return v >= V1_14;
}

export function hasCompressionAlgorithm(v: number): boolean {
  return v >= V1_15;
}

export function hasRelkind(v: number): boolean {
  return v >= V1_16;
}

export interface Compression {
  readonly algorithm: CompressionAlgorithm;
  /** The zlib level: stored in headers before 1.15 (-1 is zlib's default, 6); unknown (undefined) from 1.15 on. */
  readonly level: number | undefined;
}

export function compressionFromLevel(level: number): Compression {
  return { algorithm: level === 0 ? 'none' : 'gzip', level };
}

export function compressionFromAlgorithm(code: number): Compression | undefined {
  const algorithm = ALGORITHMS[code];
  return algorithm === undefined ? undefined : { algorithm, level: undefined };
}

export function algorithmCode(algorithm: CompressionAlgorithm): number {
  return ALGORITHMS.indexOf(algorithm);
}

/** The creation time as pg_dump stores it: the fields of a C `struct tm`, in the dumping machine's zone. */
export interface ArchiveTime {
  readonly sec: number;
  readonly min: number;
  readonly hour: number;
  readonly mday: number;
  /** 0–11 */
  readonly mon: number;
  /** Years since 1900. */
  readonly year: number;
  readonly isdst: number;
}

export interface ArchiveHeader {
  /** MAKE_ARCHIVE_VERSION(major, minor, rev). */
  readonly version: number;
  readonly intSize: number;
  readonly offSize: number;
  /** FORMAT_CUSTOM, or FORMAT_TAR in a directory archive's toc.dat. */
  readonly format: number;
  readonly compression: Compression;
  readonly created: ArchiveTime;
  readonly dbname: string | null;
  readonly serverVersion: string | null;
  readonly dumpVersion: string | null;
  /** The header exactly as read (or as encodeHeader made it). */
  readonly raw: Buffer;
}

/** The text fields of a TOC entry (WriteStr in WriteToc), in file order. */
export const TOC_TEXT_FIELDS = ['tableOid', 'oid', 'tag', 'desc', 'defn', 'dropStmt', 'copyStmt', 'namespace', 'tablespace', 'tableam', 'owner', 'withOids'] as const;
export type TocTextField = (typeof TOC_TEXT_FIELDS)[number];

export interface TocEntry {
  readonly dumpId: number;
  /** pg_dump had a data dumper for it: the entry has a data block (custom) or file (directory). */
  readonly hadDumper: boolean;
  /** teSection: 1 none, 2 pre-data, 3 data, 4 post-data. */
  readonly section: number;
  readonly tableOid: string | null;
  readonly oid: string | null;
  readonly tag: string | null;
  /** "TABLE DATA", "BLOBS", "TABLE", "ENCODING", … */
  readonly desc: string | null;
  readonly defn: string | null;
  readonly dropStmt: string | null;
  /** For TABLE DATA: `COPY schema.table (cols) FROM stdin;` (empty for --inserts dumps). */
  readonly copyStmt: string | null;
  readonly namespace: string | null;
  readonly tablespace: string | null;
  /** 1.14+ */
  readonly tableam: string | null;
  /** 1.16+: the relation kind character code (RELKIND_*), 0 when not a relation. */
  readonly relkind: number | undefined;
  readonly owner: string | null;
  readonly withOids: string | null;
  readonly dependencies: readonly number[];
  /** The text fields as stored: UTF-8 is a guess, these are the bytes (the dump's encoding). */
  readonly bytes: Readonly<Record<TocTextField, Buffer | null>>;
  /** Everything before the format-specific tail (the data offset or file name), as stored: written back verbatim. */
  readonly core: Buffer;
  /** Custom format: K_OFFSET_* and the byte offset of the entry's data block (when POS_SET). */
  readonly dataState: number | undefined;
  readonly dataOffset: number | undefined;
  /** Directory format: the data file's name ("1234.dat", "blobs.toc"), null for entries without data. */
  readonly filename: string | null | undefined;
  /** Byte offset of the entry in the archive (custom) or toc.dat (directory). */
  readonly offset: number;
}

/** How errors name an entry: `entry 3456 (TABLE DATA public.orders)`. */
export function describeEntry(entry: Pick<TocEntry, 'dumpId' | 'desc' | 'tag' | 'namespace'>): string {
  const name = entry.namespace ? `${entry.namespace}.${entry.tag ?? ''}` : (entry.tag ?? '');
  return `entry ${entry.dumpId} (${entry.desc ?? '?'} ${name})`;
}

/** The table an entry's data belongs to, for error positions. */
export function entryTable(entry: Pick<TocEntry, 'tag' | 'namespace'>): string | undefined {
  if (entry.tag === null) return undefined;
  return entry.namespace ? `${entry.namespace}.${entry.tag}` : entry.tag;
}

/** The archive is damaged, truncated or of a kind this module does not read. */
export function archiveError(message: string, offset?: number, entry?: Pick<TocEntry, 'tag' | 'namespace'>): PgcloakError {
  const table = entry ? entryTable(entry) : undefined;
  return new PgcloakError('INPUT_FORMAT', message, {
    ...(table !== undefined ? { table } : {}),
    ...(offset !== undefined ? { offset } : {}),
  });
}
