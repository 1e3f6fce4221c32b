// The native COPY kernel (native/copy_kernel.c) against the JavaScript kernel it stands in
// for: for any table of constant and xxx<key> columns and any rows (escapes, tabs, CRs,
// wrong field counts, keys too long for their column, NULLs, a last line without its end),
// the same output bytes, records, changed rows and errors, whether the output and records
// areas have room to spare or only the room asked for. (Which rows go to the general path
// may differ: the JavaScript kernel sends a row there when it is unsure of its room.) The
// rest of the suite runs through the native kernel wherever it is built.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { SourcePosition } from '../../src/dump/sql-scanner.js';
import { TestArea } from './run-in-memory.js';
import { CopyKernel } from '../../src/mask/copy-kernel.js';
import { copyTextCodec } from '../../src/mask/field-codecs.js';
import { RecordShape } from '../../src/mask/masked-record.js';
import { maskRow } from '../../src/mask/masked-row.js';
import { ROW_FOR_JS, nativeRows, nativeStatus, type NativeRows } from '../../src/native.js';
import { RecordBuffer } from '../../src/mask/parallel/record-buffer.js';
import { RowMasker } from '../../src/mask/row-masker.js';
import type { MaskedField, TablePlan } from '../../src/mask/table-plans.js';
import type { ResolvedType } from '../../src/schema/types.js';
import { placeholderMask } from '../../src/strategies/placeholder.js';
import { RowRestorer } from '../../src/unmask/row-restorer.js';

const native = nativeRows();
const required = process.env['PGCLOAK_REQUIRE_NATIVE'] === '1';
if (!native && !required) console.warn(`native-kernel.test.ts: SKIPPED, the native COPY kernel is ${nativeStatus()} (npm run install builds it)`);

type ColumnKind = 'key' | 'short' | 'text' | 'numeric' | 'date' | 'bytea' | 'kept';

const TYPES: Record<Exclude<ColumnKind, 'key' | 'kept'>, (maxLength: number) => ResolvedType> = {
  short: (n) => ({ kind: 'text', display: `character varying(${n})`, base: 'varchar', maxLength: n, notNull: false }),
  text: () => ({ kind: 'text', display: 'text', base: 'text', notNull: false }),
  numeric: () => ({ kind: 'numeric', display: 'numeric', base: 'numeric', notNull: false }),
  date: () => ({ kind: 'date', display: 'date', base: 'date', notNull: false }),
  bytea: () => ({ kind: 'bytea', display: 'bytea', base: 'bytea', notNull: false }),
};

function planOf(kinds: readonly ColumnKind[], maxLength: number, tableIndex: number): TablePlan {
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
  return { index: tableIndex, table: 'public.t', ruleTable: 'public.t', columnNames, keyIndexes: key === -1 ? [] : [key], keyNames: key === -1 ? [] : [columnNames[key]!], masked };
}

interface Result {
  out: string;
  records: string;
  changed: number;
  handedOver: number[];
  error?: string;
}

/** One batch through the kernel (the native one when `rows` is given, else JavaScript only). */
function run(plan: TablePlan, batch: Buffer, ordinal: number, tight: boolean, vault: boolean, rows: NativeRows | null): Result {
  const codec = copyTextCodec({ encoding: 'utf8', fromUnicode: (t) => t });
  const rm = new RowMasker(plan, codec);
  const shape = new RecordShape(plan);
  const out = new TestArea(tight);
  const records = new TestArea(tight);
  const recorder = new RecordBuffer();
  const handedOver: number[] = [];
  const kernel = CopyKernel.for(rm, rows)!;
  let changed = -1;
  let error: string | undefined;
  try {
    changed = kernel.maskBatch(shape, batch, 0, batch.length, ordinal, 1, 0, out, vault ? records : undefined, (s, e, lineEnd, n, at: SourcePosition) => {
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
function countingCalls(kernel: 'maskRows' | 'restoreRows'): { rows: NativeRows; calls: number; handedBack: number } {
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

const columnKind = fc.constantFrom<ColumnKind>('short', 'text', 'numeric', 'date', 'bytea', 'kept');
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
          fc.tuple(fc.array(fc.oneof(anyField, plainField, plainField), { minLength: kinds.length, maxLength: kinds.length }), fc.constantFrom(0, 0, 0, 0, 1, -1)).map(([f, extra]) =>
            extra > 0 ? [...f, 'x'] : extra < 0 ? f.slice(0, -1) : f,
          ),
          { minLength: 1, maxLength: 12 },
        ),
        ends: fc.array(fc.constantFrom('\n', '\n', '\r\n'), { minLength: 1, maxLength: 3 }),
        cutLast: fc.boolean(),
        maxLength: fc.integer({ min: 1, max: 14 }),
        tableIndex: fc.constantFrom(0, 1, 127, 128, 300),
        ordinal: fc.constantFrom(0, 5, 126, 127, 16383, 2 ** 31 - 2, 2 ** 40),
        tight: fc.boolean(),
        vault: fc.boolean(),
      }),
    );
    fc.assert(
      fc.property(batch, (b) => {
        const plan = planOf(b.kinds, b.maxLength, b.tableIndex);
        const input = lines(b.rows, b.ends, b.cutLast);
        const viaNative = run(plan, input, b.ordinal, b.tight, b.vault, native!);
        const viaJs = run(plan, input, b.ordinal, b.tight, b.vault, null);
        expect({ ...viaNative, handedOver: [] }).toEqual({ ...viaJs, handedOver: [] });
      }),
      { numRuns: 400 },
    );
  });

  it('does plain rows itself, handing none to JavaScript', () => {
    const counting = countingCalls('maskRows');
    const plan = planOf(['key', 'short', 'text', 'numeric', 'kept', 'date'], 12, 3);
    const rows = Array.from({ length: 500 }, (_, i) => [String(i + 1), `name ${i}`, `note\\t${i}`, '12.50', 'kept', '2020-01-02']);
    const input = lines(rows, ['\n'], false);
    const viaNative = run(plan, input, 0, false, true, counting.rows);
    expect(counting.handedBack).toBe(0);
    expect(counting.calls).toBeLessThan(20);
    expect(viaNative.changed).toBe(500);
    expect(viaNative.handedOver).toEqual([]);
    expect({ ...viaNative, handedOver: [] }).toEqual({ ...run(plan, input, 0, false, true, null), handedOver: [] });
  });

  it('rejects plans and ranges it cannot use', () => {
    const n = native!;
    const i32 = (...v: number[]): Int32Array => Int32Array.from(v);
    expect(() => n.createPlan(2, 0, 0, i32(0, 1), i32(5), Uint8Array.of(1), i32(-1), [Buffer.from('0')], [Buffer.from('\\N')], i32(), 100)).toThrow(/invalid plan/);
    expect(() => n.createPlan(2, 0, 0, i32(0, 1), i32(1), Uint8Array.of(3), i32(-1), [Buffer.from('0')], [Buffer.from('\\N')], i32(), 100)).toThrow(/invalid plan/);
    const plan = n.createPlan(2, 0, 0, i32(0, 1), i32(1), Uint8Array.of(1), i32(-1), [Buffer.from('0')], [Buffer.from('\\N')], i32(), 100);
    const state = new Float64Array(6);
    expect(() => n.maskRows(plan, Buffer.from('1\t2\n'), 0, 9, 0, Buffer.alloc(64), 0, null, 0, state)).toThrow(/out of bounds/);
    expect(() => n.maskRows(plan, Buffer.from('1\t2\n'), 0, 4, 0, Buffer.alloc(64), 65, null, 0, state)).toThrow(/out of bounds/);
    expect(n.maskRows(plan, Buffer.from('1\t2\n'), 0, 4, 0, Buffer.alloc(64), 0, null, 0, state)).toBe(0);
    expect([...state.subarray(0, 5)]).toEqual([4, 1, 4, 0, 1]);
  });
});

/** One batch of masked rows restored from its records (the native kernel when `rows` is given). */
function restore(plan: TablePlan, masked: Buffer, records: Buffer, ordinal: number, tight: boolean, rows: NativeRows | null): Omit<Result, 'records' | 'handedOver'> {
  const rm = new RowMasker(plan, copyTextCodec({ encoding: 'utf8', fromUnicode: (t) => t }));
  const out = new TestArea(tight);
  try {
    const changed = new RowRestorer(rm, rows).restoreBatch(masked, 0, masked.length, records, ordinal, 1, 0, out);
    return { out: out.view().toString('latin1'), changed };
  } catch (err) {
    return { out: out.view().toString('latin1'), changed: -1, error: `${(err as { code?: string }).code}: ${(err as Error).message} ${JSON.stringify(err)}` };
  }
}

describe.skipIf(!native && !required)('native COPY kernel, unmasking', () => {
  it('restores what the JavaScript restorer restores, and refuses what it refuses: edited rows, other records, too few', () => {
    const batch = table.chain((kinds) =>
      fc.record({
        kinds: fc.constant(kinds),
        rows: fc.array(fc.array(fc.oneof(anyField, plainField, plainField), { minLength: kinds.length, maxLength: kinds.length }), { minLength: 1, maxLength: 10 }),
        ends: fc.array(fc.constantFrom('\n', '\n', '\r\n'), { minLength: 1, maxLength: 3 }),
        cutLast: fc.boolean(),
        maxLength: fc.integer({ min: 1, max: 14 }),
        tableIndex: fc.constantFrom(0, 1, 300),
        ordinal: fc.constantFrom(0, 127, 2 ** 40),
        tight: fc.boolean(),
        // An edit of the masked rows or the records: none, one byte changed, records cut short or shifted.
        edit: fc.oneof(fc.constant({ kind: 'none' as const, at: 0 }), fc.record({ kind: fc.constantFrom('row' as const, 'record' as const, 'cut' as const, 'ordinal' as const), at: fc.nat() })),
      }),
    );
    fc.assert(
      fc.property(batch, (b) => {
        const plan = planOf(b.kinds, b.maxLength, b.tableIndex);
        const input = lines(b.rows, b.ends, b.cutLast);
        const masked = run(plan, input, b.ordinal, false, true, null);
        if (masked.error) return;
        let rows = Buffer.from(masked.out, 'latin1');
        let records = Buffer.from(masked.records, 'latin1');
        let ordinal = b.ordinal;
        if (b.edit.kind === 'row' && rows.length > 0) {
          rows = Buffer.from(rows);
          const i = b.edit.at % rows.length;
          if (rows[i] !== 0x0a && rows[i] !== 0x09) rows[i] = rows[i] === 0x78 ? 0x79 : 0x78;
        } else if (b.edit.kind === 'record' && records.length > 0) {
          records = Buffer.from(records);
          const i = b.edit.at % records.length;
          records[i] = records[i]! ^ 0x01;
        } else if (b.edit.kind === 'cut') {
          records = records.subarray(0, b.edit.at % (records.length + 1));
        } else if (b.edit.kind === 'ordinal') {
          ordinal += 1;
        }
        const viaNative = restore(plan, rows, records, ordinal, b.tight, native!);
        const viaJs = restore(plan, rows, records, ordinal, b.tight, null);
        expect(viaNative).toEqual(viaJs);
        // (Unless masking left the last row, cut short of its line end, empty: then it is no row.)
        const lastRowGone = b.cutLast && (masked.out === '' || masked.out.endsWith('\n'));
        if (b.edit.kind === 'none' && !lastRowGone) expect(viaNative.out).toBe(input.toString('latin1'));
      }),
      { numRuns: 400 },
    );
  });

  it('restores plain rows itself, handing none to JavaScript', () => {
    const counting = countingCalls('restoreRows');
    const plan = planOf(['key', 'short', 'text', 'numeric', 'kept', 'date'], 12, 3);
    const rows = Array.from({ length: 500 }, (_, i) => [String(i + 1), i % 7 === 0 ? '\\N' : `name ${i}`, `note\\t${i}`, '12.50', 'kept', '2020-01-02']);
    const input = lines(rows, ['\n'], false);
    const masked = run(plan, input, 0, false, true, null);
    const restored = restore(plan, Buffer.from(masked.out, 'latin1'), Buffer.from(masked.records, 'latin1'), 0, false, counting.rows);
    expect(counting.handedBack).toBe(0);
    expect(restored).toEqual({ out: input.toString('latin1'), changed: 500 });
  });
});
