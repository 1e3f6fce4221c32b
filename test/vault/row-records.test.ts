// VaultReader.rowRecords() finds where a batch's row records end natively when the kernel is
// built, else in JavaScript: the same records handed out, the same refusals, whatever the
// records hold. Authentication keeps damage out of a vault's plaintext, so malformed records
// are written here through the writer, as a faulty writer (or one holding the key) could.
import { describe, expect, it, afterAll } from 'vitest';
import { join } from 'node:path';
import fc from 'fast-check';
import { nativeRecordSkipper, nativeRows, type NativeRows } from '../../src/engine/native.js';
import { FRAME_RECORDS, FRAME_TARGET_BYTES, RECORD_ROW, RECORD_TABLE } from '../../src/vault/format.js';
import { VaultReader, type VaultRecord } from '../../src/vault/reader.js';
import { writeVarint } from '../../src/vault/varint.js';
import { VaultWriter } from '../../src/vault/writer.js';
import { keySource, makeTempDir, randomKey, removeTempDirs } from './helpers.js';

afterAll(removeTempDirs);
const native = nativeRows();
const required = process.env['PGCLOAK_REQUIRE_NATIVE'] === '1';
const key = randomKey();
const dir = makeTempDir();

/** The bytes of one row record: table index, ordinal, fields (each its length, then its bytes). */
function row(table: number, ordinal: number, fields: readonly string[]): number[] {
  const out = Buffer.alloc(64 + fields.reduce((n, f) => n + f.length + 8, 0));
  let pos = 0;
  out[pos++] = RECORD_ROW;
  pos = writeVarint(out, pos, table);
  pos = writeVarint(out, pos, ordinal);
  pos = writeVarint(out, pos, fields.length);
  for (const f of fields) {
    pos = writeVarint(out, pos, f.length);
    pos += out.write(f, pos, 'latin1');
  }
  return [...out.subarray(0, pos)];
}

/** A record of another kind: a table declaration (index 1, already declared by the writer: any reader refuses it as a repeat or reads it). */
const DECLARATION = (() => {
  const json = Buffer.from(JSON.stringify({ index: 7 }));
  return [RECORD_TABLE, json.length, ...json];
})();

// What a run of records may hold: rows of declared tables (0, 1), of an undeclared one (5),
// a declaration, and malformed rows: a field running past the frame, a count no frame holds.
const piece = fc.oneof(
  { weight: 6, arbitrary: fc.tuple(fc.constantFrom(0, 0, 1), fc.nat(1000), fc.array(fc.string({ maxLength: 6 }), { maxLength: 4 })).map(([t, o, f]) => row(t, o, f)) },
  { weight: 1, arbitrary: fc.constant(row(5, 1, ['x'])) },
  { weight: 1, arbitrary: fc.constant(DECLARATION) },
  { weight: 1, arbitrary: fc.constant([RECORD_ROW, 0, 1, 2, 3, 0x61]) },
  { weight: 1, arbitrary: fc.constant([RECORD_ROW, 0, 1, 0x7f]) },
  { weight: 1, arbitrary: fc.constant([RECORD_ROW, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01]) },
);

/**
 * A row of table 1 large enough (over FRAME_TARGET_BYTES / 4) that the writer seals the frame
 * it begins as a frame of its own rather than appending it to the one being filled.
 */
const FRAME_START = row(1, 0, ['p'.repeat(FRAME_TARGET_BYTES / 4)]);

/** A vault whose records are `frames` (each one records frame, after FRAME_START), tables 0 and 1 declared. */
function vaultOf(frames: readonly number[][]): string {
  const path = join(dir, `v${Math.random().toString(36).slice(2)}`);
  const writer = VaultWriter.create(path, keySource(key), {});
  writer.declareTable({ index: 0 });
  writer.declareTable({ index: 1 });
  for (const f of frames) writer.appendFrame(Buffer.from([FRAME_RECORDS, ...FRAME_START, ...f]));
  writer.finish({});
  return path;
}

/** Each call: rowRecords(count) for a count, next() for 'next'; then next() to the end: what each gave, or the error. */
function readAll(path: string, calls: readonly (number | 'next')[], kernel: NativeRows | null): string[] {
  const reader = VaultReader.open(path, keySource(key), { skipper: kernel ? nativeRecordSkipper(kernel) : undefined });
  const seen: string[] = [];
  const record = (r: VaultRecord | null): string => (r === null ? 'null' : r.type === 'row' ? `row ${r.tableIndex} ${r.ordinal} ${r.fields.length}` : r.type === 'table' ? `table ${r.decl.index}` : 'statement');
  try {
    for (const c of calls) seen.push(c === 'next' ? record(reader.next()) : `rows(${c}) ${reader.rowRecords(c).toString('hex')}`);
    for (let r = reader.next(); r !== null; r = reader.next()) seen.push(record(r));
    seen.push('end');
  } catch (error) {
    seen.push(`${(error as { code?: string }).code}: ${(error as Error).message}`);
  } finally {
    reader.close();
  }
  return seen;
}

describe.skipIf(!native && !required)('rowRecords with the native kernel', () => {
  it('hands out the same records and refuses the same ones as JavaScript, for any records', () => {
    fc.assert(
      fc.property(fc.array(fc.array(piece, { minLength: 1, maxLength: 8 }), { minLength: 1, maxLength: 3 }), fc.array(fc.oneof(fc.integer({ min: 0, max: 9 }), fc.constant('next' as const)), { maxLength: 8 }), (frames, calls) => {
        const path = vaultOf(frames.map((f) => f.flat()));
        expect(readAll(path, calls, native!)).toEqual(readAll(path, calls, null));
      }),
      { numRuns: 150 },
    );
  });

  it('takes a batch whole across tables and frames, stopping where a record is not a row', () => {
    const a = row(0, 1, ['k', 'v']);
    const b = row(1, 1, ['k']);
    const path = vaultOf([[...a, ...a, ...b], [...b, ...DECLARATION, ...a]]);
    const hex = (xs: number[]): string => Buffer.from(xs).toString('hex');
    const calls = ['next', 'next', 6, 3, 'next', 1] as const;
    const seen = readAll(path, calls, native!);
    // The first frame's rows, the second's up to the declaration: six rows from two frames.
    expect(seen).toEqual(['table 0', 'table 1', `rows(6) ${hex([...FRAME_START, ...a, ...a, ...b, ...FRAME_START, ...b])}`, 'rows(3) ', 'table 7', `rows(1) ${hex(a)}`, 'end']);
    expect(seen).toEqual(readAll(path, calls, null));
  });
});
