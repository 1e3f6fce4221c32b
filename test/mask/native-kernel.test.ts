// The native COPY kernel (native/copy_kernel.c) against the JavaScript kernel it stands in
// for: for any table of constant, xxx<key> and json placeholder columns and any rows
// (escapes, tabs, CRs, wrong field counts, keys too long for their column, NULLs, json
// valid or not, plain or not, a last line without its end),
// the same output bytes, records, changed rows and errors, whether the output and records
// areas have room to spare or only the room asked for. (Which rows go to the general path
// may differ: the JavaScript kernel sends a row there when it is unsure of its room.) The
// rest of the suite runs through the native kernel wherever it is built.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { TextEncoding } from '../../src/copy/text-field.js';
import type { SourcePosition } from '../../src/errors.js';
import { TestArea } from './run-in-memory.js';
import { kernelOf } from '../../src/engine/kernel-choice.js';
import { copyTextCodec, sqlLiteralCodec } from '../../src/engine/field-codecs.js';
import { InsertRowReader } from '../../src/dump/insert-statement.js';
import { RecordShape } from '../../src/engine/masked-record.js';
import { maskRow } from '../../src/engine/masked-row.js';
import { maskInsertRun } from '../../src/engine/row-kernel.js';
import { ROW_FOR_JS, nativeRows, nativeStatus, type NativeRows } from '../../src/engine/native.js';
import { RecordBuffer } from '../../src/engine/record-buffer.js';
import { RowMasker } from '../../src/engine/row-masker.js';
import type { MaskedField, TablePlan } from '../../src/engine/table-plans.js';
import type { ResolvedType } from '../../src/schema/types.js';
import { placeholderMask } from '../../src/strategies/placeholder.js';
import { RowRestorer } from '../../src/engine/row-restorer.js';

const native = nativeRows();
const required = process.env['PGCLOAK_REQUIRE_NATIVE'] === '1';
if (!native && !required) console.warn(`native-kernel.test.ts: SKIPPED, the native COPY kernel is ${nativeStatus()} (npm run install builds it)`);

type ColumnKind = 'key' | 'short' | 'text' | 'numeric' | 'date' | 'bytea' | 'json' | 'kept';

const TYPES: Record<Exclude<ColumnKind, 'key' | 'kept'>, (maxLength: number) => ResolvedType> = {
  short: (n) => ({ kind: 'text', display: `character varying(${n})`, base: 'varchar', maxLength: n, notNull: false }),
  text: () => ({ kind: 'text', display: 'text', base: 'text', notNull: false }),
  numeric: () => ({ kind: 'numeric', display: 'numeric', base: 'numeric', notNull: false }),
  date: () => ({ kind: 'date', display: 'date', base: 'date', notNull: false }),
  bytea: () => ({ kind: 'bytea', display: 'bytea', base: 'bytea', notNull: false }),
  json: () => ({ kind: 'jsonb', display: 'jsonb', base: 'jsonb', notNull: false }),
};

/** `keyTextKept`: records also keep the xxx<key> values, as vaults of format 1 do. */
function planOf(kinds: readonly ColumnKind[], maxLength: number, tableIndex: number, keyTextKept = false): TablePlan {
  const columnNames = kinds.map((k, i) => `${k}${i}`);
  const masked: MaskedField[] = [];
  kinds.forEach((k, i) => {
    if (k === 'key' || k === 'kept') return;
    const type = TYPES[k](maxLength);
    const name = columnNames[i]!;
    const column = { table: 'public.t', column: name, type, notNull: false, path: 'p', warn: () => undefined, columns: columnNames, masked: new Set([name]), secret: undefined };
    const mask = placeholderMask(column, type);
    if (mask.kind === 'keep') throw new Error('unexpected keep');
    masked.push({ name, strategy: 'placeholder', type, mask, spec: { strategy: 'placeholder', params: {}, column: { ...column, masked: [name] } }, index: i });
  });
  const key = kinds.indexOf('key');
  return { index: tableIndex, table: 'public.t', ruleTable: 'public.t', columnNames, keyIndexes: key === -1 ? [] : [key], keyNames: key === -1 ? [] : [columnNames[key]!], masked, keyTextKept };
}

interface Result {
  out: string;
  records: string;
  changed: number;
  handedOver: number[];
  error?: string;
}

/** One batch through the kernel (the native one when `rows` is given, else JavaScript only). */
function run(plan: TablePlan, batch: Buffer, ordinal: number, tight: boolean, vault: boolean, rows: NativeRows | null, encoding: TextEncoding = 'utf8'): Result {
  const codec = copyTextCodec({ encoding, fromUnicode: (t) => t });
  const rm = new RowMasker(plan, codec);
  const shape = new RecordShape(plan);
  const out = new TestArea(tight);
  const records = new TestArea(tight);
  const recorder = new RecordBuffer();
  const handedOver: number[] = [];
  const kernel = kernelOf(rows);
  let changed = -1;
  let error: string | undefined;
  try {
    changed = kernel.maskBatch(rm, shape, batch, 0, batch.length, ordinal, 1, 0, out, vault ? records : undefined, (s, e, lineEnd, n, at: SourcePosition) => {
      handedOver.push(n);
      rm.splitCopyRow(batch, s, e, at);
      recorder.reset();
      const c = maskRow(rm, shape, n, batch, s, e, at, out, vault ? recorder : undefined);
      if (vault) records.write(recorder.view(), 0, recorder.length);
      out.write(batch, e, lineEnd);
      return c;
    });
  } catch (err) {
    error = `${(err as { code?: string }).code}: ${(err as Error).message} ${JSON.stringify(err)}`;
  }
  return { out: out.view().toString('latin1'), records: records.view().toString('latin1'), changed, handedOver, ...(error === undefined ? {} : { error }) };
}

/** The native kernel, with the calls of one of its kernels counted, and the rows it handed back. */
function countingCalls(kernel: 'maskRows' | 'restoreRows' | 'maskInserts' | 'restoreInserts'): { rows: NativeRows; calls: number; handedBack: number } {
  const counts = { rows: native!, calls: 0, handedBack: 0 };
  const counted = (...args: unknown[]): number => {
    counts.calls++;
    const status = (native![kernel] as (...a: unknown[]) => number)(...args);
    if (status === ROW_FOR_JS) counts.handedBack++;
    return status;
  };
  counts.rows = Object.assign(Object.create(native!) as NativeRows, { [kernel]: counted });
  return counts;
}

const columnKind = fc.constantFrom<ColumnKind>('short', 'text', 'numeric', 'date', 'bytea', 'json', 'kept');
// A table: its key somewhere among 1 to 6 other columns, or no key (then no xxx<key> column).
const table = fc
  .tuple(fc.array(columnKind, { minLength: 1, maxLength: 6 }), fc.nat(6), fc.boolean())
  .map(([others, at, keyed]) => {
    const kinds = keyed ? [...others.slice(0, at), 'key' as const, ...others.slice(at)] : others.map((k) => (k === 'short' || k === 'text' ? 'numeric' : k));
    return kinds.some((k) => k !== 'key' && k !== 'kept') ? kinds : [...kinds, 'date' as const];
  });
const plainField = fc.stringMatching(/^[a-zA-Z0-9 .@~-]{0,12}$/);
const anyField = fc.oneof(
  plainField,
  fc.constant('\\N'),
  fc.string({ maxLength: 8, unit: fc.constantFrom('a', '\\', '\\t', '\\n', '\r', '\x7f', 'é', '🎉', ' ', 'N') }),
  fc.string({ minLength: 150, maxLength: 400, unit: fc.constantFrom('a', 'é', ' ') }),
);

/** Text as a COPY text field. */
function copyText(text: string): string {
  return text.replace(/[\\\n\r\t]/g, (c) => ({ '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t' })[c]!);
}

// Json edge cases, as text (copyText makes them COPY text): valid, plain or not...
const JSON_VALID = [
  '0', '-0', '0.5', '[0.25, 0e3, 0E+1, -0.0]', '1e5', '-0.5E-2', '10', 'true', 'false', 'null', ' { } ', '[ ]', '"x"', '""',
  ' [0, 1,true ,"a", false, null] ', '{"a":{"b":[]},"a":"é"}', '{"a" : 1 , "b":[ "c" ,{ } ]}', '["a\\"b", "\\\\"]', '[1,\t2]', '\t[1]',
  '['.repeat(63) + ']'.repeat(63), '['.repeat(64) + '1' + ']'.repeat(64), '['.repeat(65) + ']'.repeat(65),
];
// Plain, but needing more room for its placeholders than the kernel takes on (JSON_ROOM_MAX): JavaScript's.
const JSON_LARGE = `[${'"a",'.repeat(400_000)}true]`;
// ...and not.
const JSON_INVALID = [
  '', ' ', '{', '[', '[1,]', '01', '-01', 'tru', 'nul', 'fals', '{"a" 1}', '"', '[1 2]', '{"a":1,}', '-', '1.', '1.e5', '1e', '1e+', '{1:2}', '[1]x',
  '{"a":1]', '[1}', 'nulx', 'trux', 'falsx', '"a\tb"', '{"k\n": 1}', '{"a":}', '[,]', '{,}', '"a"b"', '{"a":1 "b":2}', '[' + '1,'.repeat(3) + ']',
];
// Json as COPY text: any value (escapes, UTF-8: JavaScript's), spaced out, and the edges of the grammar.
const jsonValue = fc.jsonValue({ maxDepth: 3 });
const jsonField = fc
  .oneof(
    jsonValue.map((v) => JSON.stringify(v)),
    jsonValue.map((v) => JSON.stringify(v, null, 1).replace(/\n/g, '')),
    fc.constantFrom(...JSON_VALID, ...JSON_INVALID),
  )
  .map(copyText);
// Only json that masks (for the restore tests, which need a masked batch to start from).
const validJsonField = fc
  .oneof(
    jsonValue.map((v) => JSON.stringify(v)),
    jsonValue.map((v) => JSON.stringify(v, null, 1).replace(/\n/g, '')),
    fc.constantFrom(...JSON_VALID),
  )
  .map(copyText);
// Keys: a quote is plain in COPY text but not in json.
const keyField = fc.oneof(plainField, plainField, anyField, fc.constantFrom('a"b', '"'));

/** A row's fields, as the column kinds call for them; `maskable`: only rows that mask without an error. */
function fieldsFor(kinds: readonly ColumnKind[], maskable = false): fc.Arbitrary<string[]> {
  const json = maskable ? fc.oneof(validJsonField, validJsonField, validJsonField, fc.constant('\\N')) : fc.oneof(jsonField, jsonField, jsonField, anyField);
  const field = (k: ColumnKind): fc.Arbitrary<string> => (k === 'key' ? keyField : k === 'json' ? json : fc.oneof(anyField, plainField, plainField));
  return fc.tuple(...kinds.map(field));
}

// Json the native kernel masks itself: printable ASCII without backslashes.
const PLAIN_JSON = ['{"en_US": "Ann", "n": 12, "ok": true, "l": [0, -1.5e3, null, false, ""]}', '[]', ' "x" ', '0', '{"a":{"b":[1,{}]}}'];

function lines(fields: readonly (readonly string[])[], ends: readonly string[], cutLast: boolean): Buffer {
  const text = fields.map((f, i) => f.join('\t') + ends[i % ends.length]!).join('');
  return Buffer.from(cutLast ? text.replace(/\r?\n$/, '') : text, 'utf8');
}

describe.skipIf(!native && !required)('native COPY kernel', () => {
  it('is built (PGCLOAK_REQUIRE_NATIVE=1 makes a missing kernel a failure)', () => {
    expect(nativeStatus()).toBe('native');
  });

  it('writes what the JavaScript kernel writes, for any constant and xxx<key> table and any rows', () => {
    const batch = table.chain((kinds) =>
      fc.record({
        kinds: fc.constant(kinds),
        // Mostly one field per column; sometimes one more or one less.
        rows: fc.array(
          fc.tuple(fieldsFor(kinds), fc.constantFrom(0, 0, 0, 0, 1, -1)).map(([f, extra]) =>
            extra > 0 ? [...f, 'x'] : extra < 0 ? f.slice(0, -1) : f,
          ),
          { minLength: 1, maxLength: 12 },
        ),
        ends: fc.array(fc.constantFrom('\n', '\n', '\r\n'), { minLength: 1, maxLength: 3 }),
        cutLast: fc.boolean(),
        maxLength: fc.integer({ min: 1, max: 14 }),
        tableIndex: fc.constantFrom(0, 1, 127, 128, 300),
        keyTextKept: fc.boolean(),
        ordinal: fc.constantFrom(0, 5, 126, 127, 16383, 2 ** 31 - 2, 2 ** 40),
        tight: fc.boolean(),
        vault: fc.boolean(),
      }),
    );
    fc.assert(
      fc.property(batch, (b) => {
        const plan = planOf(b.kinds, b.maxLength, b.tableIndex, b.keyTextKept);
        const input = lines(b.rows, b.ends, b.cutLast);
        const viaNative = run(plan, input, b.ordinal, b.tight, b.vault, native!);
        const viaJs = run(plan, input, b.ordinal, b.tight, b.vault, null);
        // On an error, the same error; the output is then left unfinished, and where it stops
        // depends on the path a row took (the general one writes a row field by field).
        if (viaJs.error !== undefined) expect(viaNative.error).toBe(viaJs.error);
        else expect({ ...viaNative, handedOver: [] }).toEqual({ ...viaJs, handedOver: [] });
      }),
      { numRuns: 400 },
    );
  });

  it('masks every json edge case as JavaScript does, or leaves it to JavaScript', () => {
    const plan = planOf(['key', 'json', 'kept'], 12, 0);
    const counting = countingCalls('maskRows');
    for (const text of [...JSON_VALID, JSON_LARGE, ...JSON_INVALID]) {
      for (const key of ['7', 'a"b', 'k-1']) {
        const input = lines([[key, copyText(text), 'k']], ['\n'], false);
        const viaJs = run(plan, input, 0, true, true, null);
        // The lists say which is which: JavaScript's mask is the reference.
        expect({ text: text.slice(0, 80), valid: viaJs.error === undefined }).toEqual({ text: text.slice(0, 80), valid: text === JSON_LARGE || JSON_VALID.includes(text) });
        for (const tight of [true, false]) {
          counting.handedBack = 0;
          const viaNative = run(plan, input, 0, tight, true, counting.rows);
          if (text === JSON_LARGE) expect(counting.handedBack).toBe(1);
          if (viaJs.error !== undefined) expect(viaNative.error).toBe(viaJs.error);
          else expect({ text, key, ...viaNative, handedOver: [] }).toEqual({ text, key, ...viaJs, handedOver: [] });
        }
        if (viaJs.error !== undefined) continue;
        const restored = restore(plan, Buffer.from(viaJs.out, 'latin1'), Buffer.from(viaJs.records, 'latin1'), 0, true, native!);
        expect({ text, key, ...restored }).toEqual({ text, key, ...restore(plan, Buffer.from(viaJs.out, 'latin1'), Buffer.from(viaJs.records, 'latin1'), 0, true, null) });
        expect(restored.out).toBe(input.toString('latin1'));
      }
    }
  });

  it('masks json with UTF-8 in its strings itself, and leaves what is not UTF-8 to JavaScript, in UTF-8 and single-byte dumps', () => {
    const b = (...parts: (string | number[])[]): Buffer => Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : Buffer.from(p))));
    const utf8Valid = [
      b('["', [0xf0, 0x9f, 0x8e, 0x89], '"]'),
      b('{"', [0xc3, 0xa9], '": "', [0xe2, 0x82, 0xac], '"}'),
      b('"', [0xef, 0xbf, 0xbe], '"'),
      b('"', [0x7f], '"'),
      b('"', [0xed, 0x9f, 0xbf, 0xf4, 0x8f, 0xbf, 0xbf, 0xe0, 0xa0, 0x80, 0xf0, 0x90, 0x80, 0x80], '"'),
    ];
    const utf8Invalid = [
      b('"', [0x80], '"'),
      b('"', [0xc0, 0x80], '"'),
      b('"', [0xc3], '"'),
      b('"', [0xed, 0xa0, 0x80], '"'),
      b('"', [0xf4, 0x90, 0x80, 0x80], '"'),
      b('"', [0xf5, 0x80, 0x80, 0x80], '"'),
      b('"', [0xe2, 0x82], '"'),
      b('"', [0xe0, 0x9f, 0x80], '"'),
      b('"', [0xf0, 0x8f, 0xbf, 0xbf], '"'),
      b('"', [0xe2, 0x82, 0x41], '"'),
      b('"', [0xf0, 0x9f, 0x8e, 0x41], '"'),
      b('"', [0xe2, 0x82]),
      b('[1]', [0xc3, 0xa9]),
      b('[', [0xc3, 0xa9], ']'),
      b('"', [0x01], '"'),
      b('[1,', [0x7f], ']'),
    ];
    const plan = planOf(['key', 'json'], 12, 0);
    const counting = countingCalls('maskRows');
    for (const encoding of ['utf8', 'latin1'] as const) {
      for (const json of [...utf8Valid, ...utf8Invalid]) {
        const input = b('K\t', [...json], '\n');
        const viaJs = run(plan, input, 0, true, true, null, encoding);
        if (encoding === 'utf8') expect({ json, valid: viaJs.error === undefined }).toEqual({ json, valid: utf8Valid.includes(json) });
        counting.handedBack = 0;
        const viaNative = run(plan, input, 0, true, true, counting.rows, encoding);
        if (viaJs.error !== undefined) expect(viaNative.error).toBe(viaJs.error);
        else expect({ json, ...viaNative, handedOver: [] }).toEqual({ json, ...viaJs, handedOver: [] });
        // UTF-8 in strings is the kernel's to mask, whatever the dump's encoding.
        if (utf8Valid.includes(json)) expect({ json, handedBack: counting.handedBack }).toEqual({ json, handedBack: 0 });
        if (viaJs.error !== undefined) continue;
        const masked = [Buffer.from(viaJs.out, 'latin1'), Buffer.from(viaJs.records, 'latin1')] as const;
        expect(restore(plan, ...masked, 0, true, native!, encoding)).toEqual(restore(plan, ...masked, 0, true, null, encoding));
      }
    }
  });

  it('does plain rows itself, handing none to JavaScript', () => {
    const counting = countingCalls('maskRows');
    const plan = planOf(['key', 'short', 'text', 'numeric', 'kept', 'date', 'json'], 12, 3);
    const rows = Array.from({ length: 500 }, (_, i) => [String(i + 1), `name ${i}`, `note\\t${i}`, '12.50', 'kept', '2020-01-02', PLAIN_JSON[i % PLAIN_JSON.length]!]);
    const input = lines(rows, ['\n'], false);
    const viaNative = run(plan, input, 0, false, true, counting.rows);
    expect({ ...viaNative, handedOver: [] }).toEqual({ ...run(plan, input, 0, false, true, null), handedOver: [] });
    expect(viaNative.out).toContain('\t{"en_US": "xxx1", "n": 0, "ok": false, "l": [0, 0, null, false, "xxx1"]}\n');
    expect(counting.handedBack).toBe(0);
    expect(counting.calls).toBeLessThan(20);
    expect(viaNative.changed).toBe(500);
    expect(viaNative.handedOver).toEqual([]);
    expect({ ...viaNative, handedOver: [] }).toEqual({ ...run(plan, input, 0, false, true, null), handedOver: [] });
  });

  it('rejects plans and ranges it cannot use', () => {
    const n = native!;
    const i32 = (...v: number[]): Int32Array => Int32Array.from(v);
    expect(() => n.createPlan(2, 0, 0, i32(0, 1), i32(5), Uint8Array.of(1), i32(-1), [Buffer.from('0')], [Buffer.from('\\N')], i32(), 100, false)).toThrow(/invalid plan/);
    expect(() => n.createPlan(2, 0, 0, i32(0, 1), i32(1), Uint8Array.of(4), i32(-1), [Buffer.from('0')], [Buffer.from('\\N')], i32(), 100, false)).toThrow(/invalid plan/);
    const plan = n.createPlan(2, 0, 0, i32(0, 1), i32(1), Uint8Array.of(1), i32(-1), [Buffer.from('0')], [Buffer.from('\\N')], i32(), 100, false);
    const literal = n.createPlan(2, 0, 0, i32(0, 1), i32(1), Uint8Array.of(1), i32(-1), [Buffer.from("'0'")], [Buffer.from('NULL')], i32(), 100, true);
    const state = new Float64Array(6);
    // Each kernel takes plans of its own fields only.
    expect(() => n.maskRows(literal, Buffer.from('1\t2\n'), 0, 4, 0, Buffer.alloc(64), 0, null, 0, state)).toThrow(/bad arguments/);
    expect(() => n.restoreRows(literal, Buffer.from('1\t2\n'), 0, 4, 0, Buffer.alloc(0), 0, Buffer.alloc(64), 0, state)).toThrow(/bad arguments/);
    const row = Buffer.from("(1, 'a')");
    const rows = i32(0, 8, 1, 0, 1, 4, 2, 7);
    expect(() => n.maskInserts(plan, row, rows, 0, 8, 0, 0, Buffer.alloc(64), 0, null, 0, state)).toThrow(/bad arguments/);
    expect(() => n.maskInserts(literal, row, rows, 0, 9, 0, 0, Buffer.alloc(64), 0, null, 0, state)).toThrow(/out of bounds/);
    expect(() => n.maskInserts(literal, row, rows, 0, 7, 0, 0, Buffer.alloc(64), 0, null, 0, state)).toThrow(/out of bounds/);
    expect(() => n.maskInserts(literal, row, i32(0, 9, 1, 0, 1, 4, 2, 7), 0, 8, 0, 0, Buffer.alloc(64), 0, null, 0, state)).toThrow(/out of bounds/);
    expect(() => n.maskInserts(literal, row, i32(0, 8, 1, 0, 1, 4, 5, 7), 0, 8, 0, 0, Buffer.alloc(64), 0, null, 0, state)).toThrow(/out of bounds/);
    expect(n.maskInserts(literal, row, rows, 0, 8, 0, 0, Buffer.alloc(64), 0, null, 0, state)).toBe(0);
    expect([...state.subarray(0, 5)]).toEqual([8, 1, 8, 0, 1]);
    expect(() => n.maskRows(plan, Buffer.from('1\t2\n'), 0, 9, 0, Buffer.alloc(64), 0, null, 0, state)).toThrow(/out of bounds/);
    expect(() => n.maskRows(plan, Buffer.from('1\t2\n'), 0, 4, 0, Buffer.alloc(64), 65, null, 0, state)).toThrow(/out of bounds/);
    expect(n.maskRows(plan, Buffer.from('1\t2\n'), 0, 4, 0, Buffer.alloc(64), 0, null, 0, state)).toBe(0);
    expect([...state.subarray(0, 5)]).toEqual([4, 1, 4, 0, 1]);
  });
});

/** One batch of masked rows restored from its records (the native kernel when `rows` is given). */
function restore(
  plan: TablePlan,
  masked: Buffer,
  records: Buffer,
  ordinal: number,
  tight: boolean,
  rows: NativeRows | null,
  encoding: TextEncoding = 'utf8',
): Omit<Result, 'records' | 'handedOver'> {
  const rm = new RowMasker(plan, copyTextCodec({ encoding, fromUnicode: (t) => t }));
  const out = new TestArea(tight);
  try {
    const changed = kernelOf(rows).restoreBatch(new RowRestorer(rm), masked, 0, masked.length, records, ordinal, 1, 0, out);
    return { out: out.view().toString('latin1'), changed };
  } catch (err) {
    return { out: out.view().toString('latin1'), changed: -1, error: `${(err as { code?: string }).code}: ${(err as Error).message} ${JSON.stringify(err)}` };
  }
}

// An edit of masked rows or their records for the restore tests: none, one byte of a row
// changed, one bit of the records, the records cut short, or the rows shifted by one.
const restoreEdit = fc.oneof(fc.constant({ kind: 'none' as const, at: 0 }), fc.record({ kind: fc.constantFrom('row' as const, 'record' as const, 'cut' as const, 'ordinal' as const), at: fc.nat() }));

/** `masked` with `edit` made (a row byte only where `editable` takes it), and the ordinal of the row before the first. */
function applyEdit(
  edit: { kind: 'none' | 'row' | 'record' | 'cut' | 'ordinal'; at: number },
  masked: { out: string; records: string },
  ordinal: number,
  editable: (byte: number) => boolean,
): { rows: Buffer; records: Buffer; ordinal: number; edited: boolean } {
  const rows = Buffer.from(masked.out, 'latin1');
  let records = Buffer.from(masked.records, 'latin1');
  let edited = false;
  if (edit.kind === 'row' && rows.length > 0) {
    const i = edit.at % rows.length;
    if (editable(rows[i]!)) {
      rows[i] = rows[i] === 0x78 ? 0x79 : 0x78;
      edited = true;
    }
  } else if (edit.kind === 'record' && records.length > 0) {
    const i = edit.at % records.length;
    records[i] = records[i]! ^ 0x01;
    edited = true;
  } else if (edit.kind === 'cut') {
    const cut = edit.at % (records.length + 1);
    edited = cut < records.length;
    records = records.subarray(0, cut);
  } else if (edit.kind === 'ordinal') {
    ordinal += 1;
    edited = true;
  }
  return { rows, records, ordinal, edited };
}

/** Each byte of `masked` that `editable` takes, changed in turn: refused, natively as in JavaScript. */
function expectEditsRefused(masked: string, editable: (c: string, i: number) => boolean, restoreWith: (edited: Buffer, kernel: NativeRows | null) => Omit<Result, 'records' | 'handedOver'>): void {
  let edits = 0;
  for (let i = 0; i < masked.length; i++) {
    if (!editable(masked[i]!, i)) continue;
    const edited = Buffer.from(masked, 'latin1');
    edited[i] = edited[i] === 0x78 ? 0x79 : 0x78;
    const viaNative = restoreWith(edited, native!);
    expect(viaNative.error).toMatch(/^VAULT_MISMATCH/);
    expect(viaNative).toEqual(restoreWith(edited, null));
    edits++;
  }
  expect(edits).toBeGreaterThan(4);
}

describe.skipIf(!native && !required)('native COPY kernel, unmasking', () => {
  it('restores what the JavaScript restorer restores, and refuses what it refuses: edited rows, other records, too few', () => {
    const batch = table.chain((kinds) =>
      fc.record({
        kinds: fc.constant(kinds),
        rows: fc.array(fieldsFor(kinds, true), { minLength: 1, maxLength: 10 }),
        ends: fc.array(fc.constantFrom('\n', '\n', '\r\n'), { minLength: 1, maxLength: 3 }),
        cutLast: fc.boolean(),
        maxLength: fc.integer({ min: 1, max: 14 }),
        tableIndex: fc.constantFrom(0, 1, 300),
        keyTextKept: fc.boolean(),
        ordinal: fc.constantFrom(0, 127, 2 ** 40),
        tight: fc.boolean(),
        edit: restoreEdit,
      }),
    );
    // Every run is a check: the rows are made to mask (fc.pre counts any that would not as a
    // discard, and fast-check then draws another).
    let checked = 0;
    fc.assert(
      fc.property(batch, (b) => {
        const plan = planOf(b.kinds, b.maxLength, b.tableIndex, b.keyTextKept);
        const input = lines(b.rows, b.ends, b.cutLast);
        const masked = run(plan, input, b.ordinal, false, true, null);
        fc.pre(masked.error === undefined);
        // A byte of a row, but not a line end or a field separator.
        const { rows, records, ordinal, edited } = applyEdit(b.edit, masked, b.ordinal, (c) => c !== 0x0a && c !== 0x09);
        const viaNative = restore(plan, rows, records, ordinal, b.tight, native!);
        const viaJs = restore(plan, rows, records, ordinal, b.tight, null);
        expect(viaNative).toEqual(viaJs);
        // (Unless masking left the last row, cut short of its line end, empty: then it is no row.)
        const lastRowGone = b.cutLast && (masked.out === '' || masked.out.endsWith('\n'));
        if (!edited && !lastRowGone) expect(viaNative.out).toBe(input.toString('latin1'));
        checked++;
      }),
      { numRuns: 400 },
    );
    expect(checked).toBe(400);
  });

  it('refuses an xxx<key> placeholder with any byte of it edited, as JavaScript does', () => {
    const plan = planOf(['key', 'text', 'short'], 4, 0);
    const input = lines([['42', 'Ann', 'Bo']], ['\n'], false);
    const masked = run(plan, input, 0, false, true, null);
    expect(masked.out).toBe('42\txxx42\txx42\n');
    const records = Buffer.from(masked.records, 'latin1');
    expectEditsRefused(masked.out, (c, i) => i >= 3 && c !== '\t' && c !== '\n', (edited, kernel) => restore(plan, edited, records, 0, false, kernel));
  });

  it("refuses a json field edited to what masking wrote in another row (the check is of the row's own original)", () => {
    const plan = planOf(['key', 'json'], 12, 0);
    // Two rows with the same key: the first json plain, the second not (an escape: native, then JavaScript).
    const input = lines([['K', '{"a":"b"}'], ['K', copyText('["\\u00e9"]')]], ['\n'], false);
    const masked = run(plan, input, 0, false, true, null);
    expect(masked.out).toBe('K\t{"a":"xxxK"}\nK\t["xxxK"]\n');
    const edited = Buffer.from('K\t{"a":"xxxK"}\nK\t{"a":"xxxK"}\n', 'latin1');
    const records = Buffer.from(masked.records, 'latin1');
    const viaNative = restore(plan, edited, records, 0, false, native!);
    expect(viaNative.error).toMatch(/^VAULT_MISMATCH/);
    expect(viaNative).toEqual(restore(plan, edited, records, 0, false, null));
  });

  it('refuses records cut short anywhere, as JavaScript does', () => {
    // The vault reader hands over whole records only; the restorers must not read past one all the same.
    const plan = planOf(['key', 'text', 'kept', 'text', 'json'], 1, 300);
    const input = lines([['', '@.@0a~', '', 'A.-~', '{"a":[1,"b"]}'], ['2', 'x', 'y', 'z', '[]']], ['\n'], false);
    const masked = run(plan, input, 2 ** 40, false, true, null);
    const rows = Buffer.from(masked.out, 'latin1');
    const records = Buffer.from(masked.records, 'latin1');
    for (let cut = 0; cut < records.length; cut++) {
      for (const tight of [true, false]) {
        const viaNative = restore(plan, rows, records.subarray(0, cut), 2 ** 40, tight, native!);
        expect({ cut, ...viaNative }).toEqual({ cut, ...restore(plan, rows, records.subarray(0, cut), 2 ** 40, tight, null) });
        expect({ cut, error: viaNative.error?.split(':')[0] }).toEqual({ cut, error: 'VAULT_MISMATCH' });
      }
    }
  });

  it('restores plain rows itself, handing none to JavaScript', () => {
    const counting = countingCalls('restoreRows');
    const plan = planOf(['key', 'short', 'text', 'numeric', 'kept', 'date', 'json'], 12, 3);
    const rows = Array.from({ length: 500 }, (_, i) => [String(i + 1), i % 7 === 0 ? '\\N' : `name ${i}`, `note\\t${i}`, '12.50', 'kept', '2020-01-02', i % 5 === 0 ? '\\N' : PLAIN_JSON[i % PLAIN_JSON.length]!]);
    const input = lines(rows, ['\n'], false);
    const masked = run(plan, input, 0, false, true, null);
    const restored = restore(plan, Buffer.from(masked.out, 'latin1'), Buffer.from(masked.records, 'latin1'), 0, false, counting.rows);
    expect(counting.handedBack).toBe(0);
    expect(restored).toEqual({ out: input.toString('latin1'), changed: 500 });
  });
});

/** A run of INSERT statements into `plan`'s table and its rows as DumpMasker notes them (InsertsJob.rows). */
function insertRun(plan: TablePlan, rows: readonly (readonly string[])[], perStatement: number): { buf: Buffer; rows: Int32Array } {
  const statements: string[] = [];
  for (let i = 0; i < rows.length; i += perStatement) {
    statements.push(`INSERT INTO public.t VALUES ${rows.slice(i, i + perStatement).map((r) => `(${r.join(', ')})`).join(',\n ')};\n`);
  }
  const buf = Buffer.from(statements.join(''), 'utf8');
  return { buf, rows: rowsOf(plan, buf) };
}

/** The rows of statements `buf` as the native walk gives them (InsertsJob.rows), read by InsertRowReader. */
function rowsOf(plan: TablePlan, buf: Buffer): Int32Array {
  const ints: number[] = [];
  let pos = 0;
  while (pos < buf.length) {
    const end = buf.indexOf(';\n', buf.indexOf(' VALUES ', pos)) + 2;
    const statement = buf.subarray(0, end);
    const reader = new InsertRowReader(statement, buf.indexOf(' VALUES ', pos) + 7, true);
    while (reader.next()) {
      if (reader.starts.length !== plan.columnNames.length) throw new Error('bad test row');
      ints.push(reader.rowStart, reader.rowEnd, 1, reader.rowStart, ...reader.starts, ...reader.ends);
    }
    pos = end;
  }
  return Int32Array.from(ints);
}

/** Whether the native walk would take the statements `buf` (an edit may make them something else). */
function walkable(plan: TablePlan, buf: Buffer): boolean {
  try {
    rowsOf(plan, buf);
    return true;
  } catch {
    return false;
  }
}

/** Masked INSERT statements back through the row kernel's restoreInserts (the native kernel when `kernel` is given). */
function restoreInserts(plan: TablePlan, masked: Buffer, records: Buffer, ordinal: number, tight: boolean, kernel: NativeRows | null): Omit<Result, 'records' | 'handedOver'> {
  const rm = new RowMasker(plan, sqlLiteralCodec({ standardStrings: true, encoding: 'utf8', fromUnicode: (t) => t }));
  const out = new TestArea(tight);
  try {
    const changed = kernelOf(kernel).restoreInserts(new RowRestorer(rm), masked, 0, masked.length, rowsOf(plan, masked), ordinal, 0, records, out);
    return { out: out.view().toString('latin1'), changed };
  } catch (err) {
    return { out: '', changed: -1, error: `${(err as { code?: string }).code}: ${(err as Error).message} ${JSON.stringify(err)}` };
  }
}

/** A run through maskInsertRun (the native kernel when `rows` is given, else JavaScript only). */
function runInserts(plan: TablePlan, run: { buf: Buffer; rows: Int32Array }, ordinal: number, tight: boolean, vault: boolean, kernel: NativeRows | null, offsetBase = 0): Omit<Result, 'handedOver'> {
  const rm = new RowMasker(plan, sqlLiteralCodec({ standardStrings: true, encoding: 'utf8', fromUnicode: (t) => t }));
  const out = new TestArea(tight);
  const recorder = new RecordBuffer();
  try {
    const changed = maskInsertRun(kernelOf(kernel), rm, new RecordShape(plan), run.buf, run.rows, ordinal, offsetBase, out, vault ? recorder : undefined);
    return { out: out.view().toString('latin1'), records: vault ? recorder.view().toString('latin1') : '', changed };
  } catch (err) {
    return { out: '', records: '', changed: -1, error: `${(err as { code?: string }).code}: ${(err as Error).message} ${JSON.stringify(err)}` };
  }
}

/** Text as a standard SQL string literal. */
const sqlString = (text: string): string => `'${text.replaceAll("'", "''")}'`;
const sqlPlain = fc.stringMatching(/^[a-zA-Z0-9 .@~-]{0,12}$/).map(sqlString);
const sqlAny = fc.oneof(
  sqlPlain,
  fc.constantFrom('NULL', 'null', 'Null', '42', '-1.5e3', 'true', "E'a\\nb'", "'x'::text", "N'n'", "''", "'it''s'", "'a\\b'", "'é'", "'line\nbreak'", 'now()'),
  fc.string({ maxLength: 8, unit: fc.constantFrom('a', '\\', "'", '\n', 'é', '🎉', ' ', 'N') }).map(sqlString),
);
const sqlKey = fc.oneof(fc.integer({ min: 0, max: 99999 }).map(String), sqlPlain, sqlAny, fc.constantFrom("'a\"b'", "'k''1'", '007', "'é'", "''"));
const sqlJson = fc.oneof(
  jsonValue.map((v) => sqlString(JSON.stringify(v))),
  jsonValue.map((v) => sqlString(JSON.stringify(v, null, 1))),
  fc.constantFrom(...JSON_VALID, ...JSON_INVALID).map(sqlString),
  fc.constantFrom(...PLAIN_JSON).map(sqlString),
  fc.constantFrom('NULL', "'{\"a\": \"it''s\"}'", '5', "'{\"a\": 1}'::jsonb"),
);
// Only literals that mask (for the restore tests): no expression, valid json.
const sqlAnyMaskable = sqlAny.filter((literal) => literal !== 'now()');
const sqlJsonMaskable = fc.oneof(
  jsonValue.map((v) => sqlString(JSON.stringify(v))),
  jsonValue.map((v) => sqlString(JSON.stringify(v, null, 1))),
  fc.constantFrom(...JSON_VALID, ...PLAIN_JSON).map(sqlString),
  fc.constantFrom('NULL', "'{\"a\": \"it''s\"}'", '5', "'{\"a\": 1}'::jsonb"),
);

/** A table, rows of SQL literals for it and how a run is made of them, with `extra`; `maskable`: only rows that mask. */
function insertBatch<E extends object>(extra: fc.Arbitrary<E>, maskable = false) {
  const any = maskable ? sqlAnyMaskable : sqlAny;
  const json = maskable ? sqlJsonMaskable : fc.oneof(sqlJson, sqlJson, sqlAny);
  return table.chain((kinds) =>
    fc.tuple(
      fc.record({
        kinds: fc.constant(kinds),
        rows: fc.array(fc.tuple(...kinds.map((k) => (k === 'key' ? sqlKey : k === 'json' ? json : fc.oneof(any, sqlPlain)))), { minLength: 1, maxLength: 12 }),
        perStatement: fc.constantFrom(1, 1, 3),
        maxLength: fc.integer({ min: 1, max: 14 }),
        tableIndex: fc.constantFrom(0, 1, 300),
        keyTextKept: fc.boolean(),
        ordinal: fc.constantFrom(0, 127, 2 ** 40),
        tight: fc.boolean(),
      }),
      extra,
    ).map(([base, more]) => ({ ...base, ...more })),
  );
}

describe.skipIf(!native && !required)('native INSERT kernel', () => {
  it('writes what JavaScript writes for the rows of a run of INSERT statements, for any table and values', () => {
    const batch = insertBatch(fc.record({ vault: fc.boolean() }));
    fc.assert(
      fc.property(batch, (b) => {
        const plan = planOf(b.kinds, b.maxLength, b.tableIndex, b.keyTextKept);
        const run = insertRun(plan, b.rows, b.perStatement);
        const viaJs = runInserts(plan, run, b.ordinal, b.tight, b.vault, null);
        const viaNative = runInserts(plan, run, b.ordinal, b.tight, b.vault, native!);
        if (viaJs.error !== undefined) expect(viaNative.error).toBe(viaJs.error);
        else expect(viaNative).toEqual(viaJs);
      }),
      { numRuns: 500 },
    );
  });

  it('does plain rows itself, json too, handing none to JavaScript', () => {
    const counting = countingCalls('maskInserts');
    const plan = planOf(['key', 'short', 'text', 'numeric', 'kept', 'date', 'json'], 12, 3);
    const rows = Array.from({ length: 500 }, (_, i) => [String(i + 1), sqlString(`name ${i}`), sqlString(`it's\n${i}`), '12.50', "'kept'", "'2020-01-02'", sqlString(PLAIN_JSON[i % PLAIN_JSON.length]!)]);
    const run = insertRun(plan, rows, 1);
    const viaNative = runInserts(plan, run, 0, false, true, counting.rows);
    expect(viaNative).toEqual(runInserts(plan, run, 0, false, true, null));
    expect(viaNative.out).toContain(`INSERT INTO public.t VALUES (1, 'xxx1', 'xxx1', '0', 'kept', '2011-11-11', '{"en_US": "xxx1", "n": 0, "ok": false, "l": [0, 0, null, false, "xxx1"]}');\n`);
    expect(counting.handedBack).toBe(0);
    expect(counting.calls).toBeLessThan(20);
    expect(viaNative.changed).toBe(500);
  });

  it('reports a row it cannot mask at its offset in the whole dump, past 32 bits too', () => {
    const plan = planOf(['key', 'json'], 12, 0);
    const run = insertRun(plan, [['1', "'[1]'"], ['2', "'{bad'"]], 1);
    const stride = 4 + 2 * 2;
    // The second row's offset in the run (insertRun counts from the run's first byte).
    const second = run.rows[stride + 3]!;
    for (const kernel of [native!, null]) {
      const { error } = runInserts(plan, run, 0, true, true, kernel, 5_000_000_000);
      expect(error).toContain(`"offset":${5_000_000_000 + second}`);
    }
  });

  it('leaves to JavaScript a json literal with a quote or an escape in it, and a key that is not plain', () => {
    const counting = countingCalls('maskInserts');
    const plan = planOf(['key', 'json'], 12, 0);
    for (const [key, json] of [["'a''b'", "'[1]'"], ['1', "'{\"a\": \"it''s\"}'"], ['1', "'[\"\\n\"]'"], ["'é'", "'[1]'"], ['1', "'[1,\n2]'"]] as const) {
      counting.handedBack = 0;
      const run = insertRun(plan, [[key, json]], 1);
      const viaNative = runInserts(plan, run, 0, true, true, counting.rows);
      expect(viaNative).toEqual(runInserts(plan, run, 0, true, true, null));
      expect({ key, json, handedBack: counting.handedBack }).toEqual({ key, json, handedBack: 1 });
    }
  });
});

describe.skipIf(!native && !required)('native INSERT kernel, unmasking', () => {
  const batch = insertBatch(
    fc.record({
      edit: restoreEdit,
    }),
    true,
  );

  it('restores what the JavaScript restorer restores, and refuses what it refuses: edited rows, other records, too few', () => {
    // Every run is a check (as for COPY above): what does not mask, or an edit that makes the
    // statements something the walk would not take, is a discard fast-check replaces.
    let checked = 0;
    fc.assert(
      fc.property(batch, (b) => {
        const plan = planOf(b.kinds, b.maxLength, b.tableIndex, b.keyTextKept);
        const input = insertRun(plan, b.rows, b.perStatement);
        const masked = runInserts(plan, input, b.ordinal, false, true, null);
        fc.pre(masked.error === undefined);
        // A letter or digit of a statement: the statements stay statements.
        const { rows, records, ordinal, edited } = applyEdit(b.edit, masked, b.ordinal, (c) => /[a-zA-Z0-9]/.test(String.fromCharCode(c)));
        fc.pre(walkable(plan, rows));
        const viaNative = restoreInserts(plan, rows, records, ordinal, b.tight, native!);
        const viaJs = restoreInserts(plan, rows, records, ordinal, b.tight, null);
        expect(viaNative).toEqual(viaJs);
        if (!edited) expect(viaNative.out).toBe(input.buf.toString('latin1'));
        checked++;
      }),
      { numRuns: 500 },
    );
    expect(checked).toBe(500);
  });

  it('refuses an xxx<key> placeholder with any byte of it edited, quotes kept, as JavaScript does', () => {
    const plan = planOf(['key', 'text', 'short'], 4, 0);
    const input = insertRun(plan, [['42', "'Ann'", "'Bo'"]], 1);
    const masked = runInserts(plan, input, 0, false, true, null);
    expect(masked.out).toBe("INSERT INTO public.t VALUES (42, 'xxx42', 'xx42');\n");
    const records = Buffer.from(masked.records, 'latin1');
    const first = masked.out.indexOf("'xxx42'");
    expectEditsRefused(masked.out, (c, i) => i > first && /[x0-9]/.test(c), (edited, kernel) => restoreInserts(plan, edited, records, 0, false, kernel));
  });

  it('restores plain rows itself, json too, handing none to JavaScript', () => {
    const counting = countingCalls('restoreInserts');
    const plan = planOf(['key', 'short', 'text', 'numeric', 'kept', 'date', 'json'], 12, 3);
    const rows = Array.from({ length: 500 }, (_, i) => [String(i + 1), sqlString(`name ${i}`), sqlString(`it's\n${i}`), '12.50', "'kept'", "'2020-01-02'", sqlString(PLAIN_JSON[i % PLAIN_JSON.length]!)]);
    const input = insertRun(plan, rows, 2);
    const masked = runInserts(plan, input, 0, false, true, null);
    const back = restoreInserts(plan, Buffer.from(masked.out, 'latin1'), Buffer.from(masked.records, 'latin1'), 0, false, counting.rows);
    expect(back).toEqual({ out: input.buf.toString('latin1'), changed: 500 });
    expect(counting.handedBack).toBe(0);
    expect(counting.calls).toBeLessThan(20);
  });
});
