// Inputs that are not plain SQL text, told by their first bytes, so that an archive, a
// compressed dump or a binary file is refused with what to do instead (INPUT_FORMAT), rather
// than read as an SQL statement that never ends (SQL_UNTERMINATED; issue 18, item 11).
// Magic numbers: https://www.postgresql.org/docs/current/app-pgdump.html (PGDMP),
// RFC 1952 (gzip), RFC 8878 (zstd), the ELF, zip, xz, bzip2, lz4, 7z and tar specifications.

import { PgcloakError } from '../errors.js';

/** Enough bytes for every magic number below but tar's (which the text check catches by its NULs). */
export const MAGIC_BYTES = 16;

const PG_RESTORE = 'pipe it through pg_restore (pg_restore -f - dump | pgcloak mask ...)';

interface Form {
  magic: Buffer;
  /** Where the magic number is, from the start. */
  at?: number;
  what: string;
}

const byteString = (...bytes: number[]): Buffer => Buffer.from(bytes);

const FORMS: readonly Form[] = [
  { magic: Buffer.from('PGDMP'), what: `a pg_dump custom-format archive: ${PG_RESTORE}` },
  { magic: byteString(0x1f, 0x8b), what: 'gzip-compressed: decompress it first (gunzip -c dump.sql.gz | pgcloak mask ...)' },
  { magic: byteString(0x28, 0xb5, 0x2f, 0xfd), what: 'zstd-compressed: decompress it first (zstd -dc dump.sql.zst | pgcloak mask ...)' },
  { magic: byteString(0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00), what: 'xz-compressed: decompress it first (xz -dc dump.sql.xz | pgcloak mask ...)' },
  { magic: Buffer.from('BZh'), what: 'bzip2-compressed: decompress it first (bzip2 -dc dump.sql.bz2 | pgcloak mask ...)' },
  { magic: byteString(0x04, 0x22, 0x4d, 0x18), what: 'lz4-compressed: decompress it first (lz4 -dc dump.sql.lz4 | pgcloak mask ...)' },
  { magic: byteString(0x50, 0x4b, 0x03, 0x04), what: 'a zip archive: extract the dump from it first (unzip -p dump.zip dump.sql | pgcloak mask ...)' },
  { magic: byteString(0x50, 0x4b, 0x05, 0x06), what: 'an empty zip archive' },
  { magic: byteString(0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c), what: 'a 7z archive: extract the dump from it first' },
  { magic: byteString(0x7f, 0x45, 0x4c, 0x46), what: 'an ELF executable or library, not a dump' },
  { magic: byteString(0xff, 0xfe), what: 'UTF-16 text (little-endian byte order mark): convert it to UTF-8 first (iconv -f UTF-16 -t UTF-8)' },
  { magic: byteString(0xfe, 0xff), what: 'UTF-16 text (big-endian byte order mark): convert it to UTF-8 first (iconv -f UTF-16 -t UTF-8)' },
];

const TAR: Form = { magic: Buffer.from('ustar'), at: 257, what: `a tar archive (pg_dump -Ft?): ${PG_RESTORE}` };

const BINARY_COPY_MAGIC = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');

function has(buf: Buffer, form: Form): boolean {
  const at = form.at ?? 0;
  return buf.length >= at + form.magic.length && buf.subarray(at, at + form.magic.length).equals(form.magic);
}

/** The first bytes (at least MAGIC_BYTES of them, or the whole input) tell forms we cannot read as text: say what to do instead of masking nothing. */
export function refuseOtherForms(first: Buffer, rawFormat: string | undefined): void {
  if (rawFormat === 'copy-binary') return;
  if (has(first, { magic: BINARY_COPY_MAGIC, what: '' })) {
    throw new PgcloakError('INPUT_FORMAT', 'binary COPY data (PGCOPY): give --format copy-binary --table NAME --schema FILE');
  }
  for (const form of FORMS) if (has(first, form)) throw new PgcloakError('INPUT_FORMAT', `the input is ${form.what}`, { offset: 0 });
}

/**
 * Control bytes no SQL text has: NUL to BS, SO to US (ESC included) and DEL; tab, line feed,
 * vertical tab, form feed and carriage return are whitespace. Random bytes hold about one in
 * nine of them, executables and compressed data many more. (Invalid UTF-8 is not taken as a
 * sign: a LATIN1 script may begin with a comment in Latin-1 before its SET client_encoding.)
 */
export function controlByteAt(buf: Buffer, start = 0, end = buf.length): number {
  for (let i = start; i < end; i++) {
    const b = buf[i]!;
    if (b < 0x09 || (b > 0x0d && b < 0x20) || b === 0x7f) return i;
  }
  return -1;
}

/** The input's first SQL text (`head`, from its first byte), of which `head[from..]` was not looked at yet: an error when it is binary. */
export function refuseBinaryText(head: Buffer, from = 0): void {
  if (from <= TAR.at! && has(head, TAR)) throw new PgcloakError('INPUT_FORMAT', `the input is ${TAR.what}`, { offset: 0 });
  const at = controlByteAt(head, from);
  if (at !== -1) {
    throw new PgcloakError('INPUT_FORMAT', `the input is binary, not a plain SQL dump (control byte 0x${head[at]!.toString(16).padStart(2, '0')} in its SQL text)`, {
      offset: at,
    });
  }
}
