// The bytes of one row record (format in ./format.ts), written by the vault writer and,
// for rows masked on worker threads, by ./row-records.ts, whose bytes the writer then
// appends as they are.

import { PgcloakError } from '../errors.js';
import { copyBytes } from '../io/bytes.js';
import { MAX_FRAME_PLAINTEXT_BYTES, RECORD_ROW } from './format.js';
import { varintLength, writeVarint } from './varint.js';

/** A field's bytes: `buf[start..end)`. Copied at once, so the caller may reuse `buf`. */
export interface FieldRef {
  buf: Uint8Array;
  start: number;
  end: number;
}

// Type byte of the frame, then the record.
export const MAX_RECORD_BYTES = MAX_FRAME_PLAINTEXT_BYTES - 1;

/** The size of the row record; throws when it is out of range or too large for a frame. */
export function rowRecordSize(tableIndex: number, ordinal: number, fields: ReadonlyArray<FieldRef>): number {
  if (!Number.isSafeInteger(ordinal) || ordinal < 0) {
    throw new RangeError(`row ordinal must be a non-negative safe integer, got ${ordinal}`);
  }
  const count = fields.length;
  let size = 1 + varintLength(tableIndex) + varintLength(ordinal) + varintLength(count);
  for (let i = 0; i < count; i++) {
    const { buf, start, end } = fields[i]!;
    if (!(start >= 0 && end >= start && end <= buf.length)) {
      throw new RangeError(`field ${i} range [${start}, ${end}) is outside its buffer of ${buf.length} bytes`);
    }
    size += varintLength(end - start) + end - start;
  }
  if (size > MAX_RECORD_BYTES) throw recordTooLarge(tableIndex, ordinal, size);
  return size;
}

export function recordTooLarge(tableIndex: number, ordinal: number, size: number): PgcloakError {
  return new PgcloakError(
    'VAULT_FORMAT',
    `row ${ordinal} of table index ${tableIndex} holds ${size} bytes of original values; a vault record holds at most ${MAX_RECORD_BYTES}`,
  );
}

/** Writes the row record at `records[pos]` (room checked by the caller); returns the end. */
export function writeRowRecord(records: Uint8Array, pos: number, tableIndex: number, ordinal: number, fields: ReadonlyArray<FieldRef>): number {
  const count = fields.length;
  records[pos++] = RECORD_ROW;
  pos = writeVarint(records, pos, tableIndex);
  pos = writeVarint(records, pos, ordinal);
  pos = writeVarint(records, pos, count);
  for (let i = 0; i < count; i++) {
    const { buf, start, end } = fields[i]!;
    pos = writeVarint(records, pos, end - start);
    copyBytes(buf, start, end, records, pos);
    pos += end - start;
  }
  return pos;
}
