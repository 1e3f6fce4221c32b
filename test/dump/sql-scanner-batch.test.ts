// The scanner's 'batch' COPY data mode (what masking and unmasking read tables with): whole
// rows handed over in runs of about `batchBytes`, never a row split, each run's row count and
// the position (line, byte offset) of its first row, `\n` and `\r\n` line ends, the `\.` line
// (and lines that only look like it) never in a run, and in raw COPY data a last row without
// its line end. Checked against hand-written expectations, then at every split point and byte
// by byte, for the native walk through COPY data and the JavaScript one.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SqlScanner, type CopyDataMode, type ScannerHandler } from '../../src/dump/sql-scanner.js';
import { PgcloakError, type SourcePosition } from '../../src/errors.js';
import { nativeLineCounter, nativeRows } from '../../src/engine/native.js';

interface Batch {
  line: number;
  offset: number;
  count: number;
  bytes: string;
}

interface Trace {
  /** Every byte the handler was given to write, in order. */
  out: string;
  batches: Batch[];
  copyEnds: number[];
}

type Walk = 'native' | 'JavaScript';

/** Scans `chunks` (latin1 strings: one character per byte) with every COPY block in 'batch' mode. */
function scan(chunks: readonly string[], options: { batchBytes: number; walk: Walk; raw?: boolean }): Trace {
  const out: string[] = [];
  const trace: Trace = { out: '', batches: [], copyEnds: [] };
  const handler: ScannerHandler = {
    emit: (buf, s, e) => out.push(buf.toString('latin1', s, e)),
    statement(text: Buffer): CopyDataMode | undefined {
      out.push(text.toString('latin1'));
      return /^COPY\b/.test(text.toString('latin1')) ? 'batch' : undefined;
    },
    row() {
      throw new Error("a single row in 'batch' mode");
    },
    rows(buf, s, e, at: SourcePosition, count) {
      const bytes = buf.toString('latin1', s, e);
      trace.batches.push({ line: at.line, offset: at.offset, count, bytes });
      out.push(bytes);
    },
    copyEnd: (rows) => trace.copyEnds.push(rows),
  };
  const scanner = new SqlScanner(handler, { lineCounter: options.walk === 'native' ? nativeLineCounter(native) : undefined });
  scanner.batchBytes = options.batchBytes;
  if (options.raw) scanner.startInCopyData('batch');
  for (const c of chunks) scanner.write(Buffer.from(c, 'latin1'));
  scanner.end();
  trace.out = out.join('');
  return trace;
}

/** `input` cut at every one of `points`. */
function cut(input: string, points: readonly number[]): string[] {
  const at = [0, ...points, input.length];
  return at.slice(1).map((end, i) => input.slice(at[i], end));
}

/** The rows of COPY data `data` (whole lines, line ends kept; a last one may lack it). */
function rowsOf(data: string): string[] {
  return data.match(/[^\n]*\n|[^\n]+$/g) ?? [];
}

/**
 * What holds however the input was cut: the batches hand over exactly `rows`, in order, whole
 * (each batch is `count` of them); each batch's position is where its bytes are in the input;
 * a batch goes on past `batchBytes` only to finish the row it is in; nothing is lost or added.
 */
function expectBatchesOf(trace: Trace, input: string, rows: readonly string[], batchBytes: number, what: string): void {
  expect(trace.out, what).toBe(input);
  let next = 0;
  for (const b of trace.batches) {
    const mine = rows.slice(next, next + b.count);
    expect({ what, batch: b.bytes }).toEqual({ what, batch: mine.join('') });
    expect(b.count, what).toBeGreaterThan(0);
    expect(input.slice(b.offset, b.offset + b.bytes.length), what).toBe(b.bytes);
    expect(b.line, what).toBe(input.slice(0, b.offset).split('\n').length);
    expect(b.bytes.length - mine[mine.length - 1]!.length, what).toBeLessThan(batchBytes);
    next += b.count;
  }
  expect(next, what).toBe(rows.length);
}

/** Batches as one chunk cuts them: rows gathered until they reach `batchBytes`, then a new batch (per COPY block). */
function greedyBatches(blocks: readonly (readonly string[])[], batchBytes: number): string[][] {
  const batches: string[][] = [];
  for (const rows of blocks) {
    let current: string[] = [];
    for (const r of rows) {
      current.push(r);
      if (current.join('').length >= batchBytes) {
        batches.push(current);
        current = [];
      }
    }
    if (current.length > 0) batches.push(current);
  }
  return batches;
}

// A dump with three COPY blocks: rows with \n and \r\n, a NULL, lines that only look like the
// end marker, an empty block, a block ended by `\.\r\n`.
const T_ROWS = ['1\talice\n', '2\tbob\r\n', '3\t\\N\n', '4\t\\\\.not the end\n', '\\.x\t5\n', '\\\\.\n'];
const V_ROWS = ['10\n', '11\r\n'];
const DUMP = [
  'SET a = 1;\n',
  'COPY public.t (id, name) FROM stdin;\n',
  ...T_ROWS,
  '\\.\n',
  'COPY public.u (id) FROM stdin;\n',
  '\\.\n',
  '-- between\n',
  'COPY public.v (id) FROM stdin;\n',
  ...V_ROWS,
  '\\.\r\n',
  'SELECT 1;\n',
].join('');
const T_AT = DUMP.indexOf('1\talice');
const V_AT = DUMP.indexOf('10\n');

const native = nativeRows();
const WALKS: Walk[] = native ? ['native', 'JavaScript'] : ['JavaScript'];
if (!native) console.warn('sql-scanner-batch.test.ts: the native walk through COPY data is not built or is off: JavaScript only');

describe.each(WALKS)("SqlScanner 'batch' mode, %s walk", (walk) => {
  it('hands over each block in one batch when it is below batchBytes: count, line and offset of its first row', () => {
    const t = scan([DUMP], { batchBytes: 1 << 20, walk });
    expect(t.out).toBe(DUMP);
    expect(t.batches).toEqual([
      { line: 3, offset: T_AT, count: 6, bytes: T_ROWS.join('') },
      { line: 14, offset: V_AT, count: 2, bytes: '10\n11\r\n' },
    ]);
    expect(t.copyEnds).toEqual([6, 0, 2]);
  });

  it('cuts batches at the first line end at or past batchBytes, never inside a row', () => {
    // T_ROWS are 8, 7, 5, 17, 6 and 4 bytes long: 8+7 reach 12, then 5+17, then 6+4 (the block's end).
    const t = scan([DUMP], { batchBytes: 12, walk });
    expect(t.batches).toEqual([
      { line: 3, offset: T_AT, count: 2, bytes: '1\talice\n2\tbob\r\n' },
      { line: 5, offset: T_AT + 15, count: 2, bytes: '3\t\\N\n4\t\\\\.not the end\n' },
      { line: 7, offset: T_AT + 37, count: 2, bytes: '\\.x\t5\n\\\\.\n' },
      { line: 14, offset: V_AT, count: 2, bytes: '10\n11\r\n' },
    ]);
    expect(t.copyEnds).toEqual([6, 0, 2]);
  });

  it('hands over one row per batch when batchBytes is 1, and a row longer than batchBytes alone and whole', () => {
    const t = scan([DUMP], { batchBytes: 1, walk });
    expect(t.batches.map((b) => [b.line, b.count, b.bytes])).toEqual([
      ...T_ROWS.map((r, i) => [3 + i, 1, r]),
      [14, 1, '10\n'],
      [15, 1, '11\r\n'],
    ]);
    const long = `1\t${'x'.repeat(40)}\n`;
    const input = `COPY public.t (id, t) FROM stdin;\n2\ta\n${long}3\tb\n\\.\n`;
    expect(scan([input], { batchBytes: 8, walk }).batches.map((b) => b.bytes)).toEqual(['2\ta\n' + long, '3\tb\n']);
    expect(scan([input], { batchBytes: 4, walk }).batches.map((b) => b.bytes)).toEqual(['2\ta\n', long, '3\tb\n']);
  });

  it('gives batches of the same rows, positions and counts at every split point and byte by byte', () => {
    const rows = [...T_ROWS, ...V_ROWS];
    for (const batchBytes of [1, 12, 1 << 20]) {
      const whole = scan([DUMP], { batchBytes, walk });
      const splits = Array.from({ length: DUMP.length + 1 }, (_, i) => ({ what: `batchBytes ${batchBytes}, split at ${i}`, chunks: cut(DUMP, [i]) }));
      for (const { what, chunks } of [...splits, { what: `batchBytes ${batchBytes}, byte by byte`, chunks: [...DUMP] }]) {
        const t = scan(chunks, { batchBytes, walk });
        expectBatchesOf(t, DUMP, rows, batchBytes, what);
        expect(t.batches.map((b) => b.bytes).join(''), what).toBe(whole.batches.map((b) => b.bytes).join(''));
        expect(t.copyEnds, what).toEqual(whole.copyEnds);
      }
    }
  });

  it('in raw COPY data, hands over a last row without its line end, as a row', () => {
    const data = '1\ta\n2\tb\r\n3\tc';
    const t = scan([data], { batchBytes: 1 << 20, walk, raw: true });
    expect(t.batches).toEqual([
      { line: 1, offset: 0, count: 2, bytes: '1\ta\n2\tb\r\n' },
      { line: 3, offset: 9, count: 1, bytes: '3\tc' },
    ]);
    expect(t.copyEnds).toEqual([3]);
    for (let i = 0; i <= data.length; i++) {
      const split = scan(cut(data, [i]), { batchBytes: 1 << 20, walk, raw: true });
      expectBatchesOf(split, data, ['1\ta\n', '2\tb\r\n', '3\tc'], 1 << 20, `split at ${i}`);
      expect(split.copyEnds).toEqual([3]);
    }
  });

  it('in raw COPY data, takes an optional \\. line and empty data', () => {
    expect(scan(['1\n2\n\\.\n'], { batchBytes: 1 << 20, walk, raw: true })).toEqual({ out: '1\n2\n\\.\n', batches: [{ line: 1, offset: 0, count: 2, bytes: '1\n2\n' }], copyEnds: [2] });
    expect(scan([''], { batchBytes: 1 << 20, walk, raw: true })).toEqual({ out: '', batches: [], copyEnds: [0] });
    // A last row that is a lone backslash (or \.\r) is a row, not an end marker cut short.
    expect(scan(['1\n\\'], { batchBytes: 1 << 20, walk, raw: true }).batches.map((b) => [b.count, b.bytes])).toEqual([[1, '1\n'], [1, '\\']]);
  });

  it('refuses a dump whose COPY data ends without its \\. line, at the COPY statement', () => {
    for (const tail of ['1\n2\n', '1\n2']) {
      const input = `SET a = 1;\nCOPY public.t (id) FROM stdin;\n${tail}`;
      let error: unknown;
      try {
        scan([input], { batchBytes: 1 << 20, walk });
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(PgcloakError);
      expect([(error as PgcloakError).code, (error as PgcloakError).position]).toEqual(['COPY_UNTERMINATED', { line: 2, offset: 11 }]);
    }
  });

  it('for any COPY data, chunks and batchBytes: whole rows, exact positions and counts, the bytes of one-chunk feeding', () => {
    const line = fc.oneof(fc.stringMatching(/^[a-z0-9\t ]{0,12}$/), fc.constantFrom('\\.x', '\\\\.', '\\', '\\N', 'a\r', '\r', ''));
    fc.assert(
      fc.property(
        fc.array(fc.array(line, { maxLength: 8 }), { minLength: 1, maxLength: 3 }),
        fc.constantFrom('\n', '\r\n'),
        fc.array(fc.nat(), { maxLength: 6 }),
        fc.integer({ min: 1, max: 40 }),
        (blocks, eol, cuts, batchBytes) => {
          const rowBlocks = blocks.map((b) => b.map((l) => l + eol));
          const input = rowBlocks.map((rows, i) => `COPY public.t${i} (a) FROM stdin;\n${rows.join('')}\\.${eol}`).join('') + 'SELECT 1;\n';
          const points = [...new Set(cuts.map((c) => c % (input.length + 1)))].sort((a, b) => a - b);
          const whole = scan([input], { batchBytes, walk });
          expect(whole.batches.map((b) => b.bytes)).toEqual(greedyBatches(rowBlocks, batchBytes).map((rows) => rows.join('')));
          const t = scan(cut(input, points), { batchBytes, walk });
          expectBatchesOf(t, input, rowBlocks.flat(), batchBytes, `cut at ${points.join(',')}`);
          expect(t.copyEnds).toEqual(rowBlocks.map((rows) => rows.length));
          expect(t.batches.map((b) => b.bytes).join('')).toBe(whole.batches.map((b) => b.bytes).join(''));
        },
      ),
      { numRuns: 200 },
    );
  });
});
