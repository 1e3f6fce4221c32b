// How a field's bytes relate to its value, per input form: COPY text format fields
// (escaped, \N for NULL), COPY CSV fields (quoted, unquoted empty for NULL) and SQL
// literals in INSERT statements ('it''s', NULL, 42).
// The row masker only ever needs these four operations.

import { decodeCopyField, encodeCopyField, encodeCopyFieldInto, isCopyNull, type TextEncoding } from '../copy/text-field.js';
import { binaryFieldCodec } from '../copy/binary-values.js';
import type { ResolvedType } from '../schema/types.js';
import { decodeCsvField, encodeCsvField, type CsvOptions } from '../copy/csv-rows.js';
import { decodeSqlLiteral, encodeSqlLiteral, isSqlNull, type LiteralOptions } from '../dump/sql-literal.js';

export type FieldEncoding = 'copy-text' | 'sql-literal' | 'copy-csv' | 'copy-binary';

export interface FieldCodec {
  readonly encoding: FieldEncoding;
  isNull(buf: Buffer, start: number, end: number): boolean;
  /** The field's value; throws COPY_VALUE when it cannot be decoded. */
  decode(buf: Buffer, start: number, end: number): string | null;
  encode(value: string | null): Buffer;
  /**
   * Encodes a non-NULL value into `target` and returns its length, or minus the length
   * needed when it does not fit. Optional: saves a Buffer per value on the hot path.
   */
  encodeInto?(value: string, target: Buffer): number;
  /** A value from the rules file (real characters), written in the dump's encoding. */
  encodeConstant(value: string | null): Buffer;
  /** Encodes a value derived from the field `buf[start..end)`, keeping what the text form lacks (binary arrays' element type). */
  encodeLike?(value: string, buf: Buffer, start: number, end: number): Buffer;
}

/** The dump's text encoding, shared by the codecs and changed by `SET client_encoding`. */
export interface TextOptions {
  encoding: TextEncoding;
  fromUnicode(text: string): string;
}

export function copyTextCodec(options: TextOptions): FieldCodec {
  return {
    encoding: 'copy-text',
    isNull: isCopyNull,
    decode: (buf, start, end) => decodeCopyField(buf, start, end, options.encoding),
    encode: (value) => encodeCopyField(value, options.encoding),
    encodeInto: (value, target) => encodeCopyFieldInto(value, target, options.encoding),
    encodeConstant: (value) => encodeCopyField(value === null ? null : options.fromUnicode(value), options.encoding),
  };
}

/** `options` is read at each call: `SET standard_conforming_strings` may change it between statements. */
export function sqlLiteralCodec(options: LiteralOptions & TextOptions): FieldCodec {
  return {
    encoding: 'sql-literal',
    isNull: isSqlNull,
    decode: (buf, start, end) => decodeSqlLiteral(buf, start, end, options),
    encode: (value) => encodeSqlLiteral(value, options),
    encodeConstant: (value) => encodeSqlLiteral(value === null ? null : options.fromUnicode(value), options),
  };
}

/** COPY CSV fields, with the input's delimiter and quote. */
export function csvCodec(options: TextOptions, csv: CsvOptions): FieldCodec {
  return {
    encoding: 'copy-csv',
    isNull: (_buf, start, end) => start === end,
    decode: (buf, start, end) => decodeCsvField(buf, start, end, csv.quote, options.encoding),
    encode: (value) => encodeCsvField(value, csv.delimiter, csv.quote, options.encoding),
    encodeConstant: (value) => encodeCsvField(value === null ? null : options.fromUnicode(value), csv.delimiter, csv.quote, options.encoding),
  };
}

/** Binary COPY fields (length-prefixed send format) of one column's type. */
export function binaryCodec(type: ResolvedType, options: TextOptions): FieldCodec {
  const b = binaryFieldCodec(type, options.encoding);
  return {
    encoding: 'copy-binary',
    isNull: b.isNull,
    decode: b.decode,
    encode: b.encode,
    encodeConstant: (value) => b.encode(value === null ? null : options.fromUnicode(value)),
    encodeLike: b.encodeLike,
  };
}
