// The native kernel's walk through INSERT statements (insertRows) against what JavaScript
// reads in them (the statement scanner's boundaries, InsertRowReader's rows and fields): for
// any run of statements, plain or not, each statement it takes must be read exactly as
// JavaScript reads it, it must take every plain one, and it must stop before the first it
// cannot read the same way.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InsertRowReader } from '../../src/dump/insert-statement.js';
import { SqlScanner, type CopyDataMode } from '../../src/dump/sql-scanner.js';
import type { SourcePosition } from '../../src/errors.js';
import { INSERT_ROOM, LINES, NEED, POS, ROWS, STATE_SIZE, STATEMENTS, nativeRows } from '../../src/engine/native.js';

const native = nativeRows();
const required = process.env['PGCLOAK_REQUIRE_NATIVE'] === '1';
if (!native && !required) console.warn('native-inserts.test.ts: SKIPPED, the native kernel is not built or is off');

const HEADER = 'INSERT INTO public.t (a, b, c) VALUES';
const FIELDS = 3;

interface Read {
  /** Statement texts as the scanner hands them over. */
  statements: string[];
  /** Per statement: per row start, end, line, offset, field starts, field ends (offsets in the input); null when JavaScript cannot read it. */
  rows: (number[] | null)[];
}

/** What JavaScript reads: statements split by SqlScanner, rows by InsertRowReader. */
function jsRead(input: Buffer): Read {
  const statements: string[] = [];
  const rows: (number[] | null)[] = [];
  const scanner = new SqlScanner({
    emit: () => {},
    statement(text: Buffer, at: SourcePosition): CopyDataMode | undefined {
      statements.push(text.toString('utf8'));
      if (!text.toString('latin1').startsWith(HEADER)) {
        rows.push(null);
        return undefined;
      }
      const reader = new InsertRowReader(text, HEADER.length, true);
      const read: number[] = [];
      let lines = 0;
      let counted = 0;
      try {
        while (reader.next()) {
          for (let p = text.indexOf(10, counted); p !== -1 && p < reader.rowStart; p = text.indexOf(10, p + 1)) lines++;
          counted = reader.rowStart;
          const base = at.offset;
          read.push(base + reader.rowStart, base + reader.rowEnd, at.line + lines, base + reader.rowStart);
          read.push(...reader.starts.map((s) => base + s), ...reader.ends.map((e) => base + e));
        }
        reader.checkTail();
        rows.push(read);
      } catch {
        rows.push(null);
      }
      return undefined;
    },
    row: () => {},
    copyEnd: () => {},
  });
  try {
    scanner.write(input);
    scanner.end();
  } catch {
    // A comment in a value may hide the rest of the input: the statements before it count.
  }
  return { statements, rows };
}

/** What insertRows takes from `start`: statements (texts), rows as jsRead gives them, where it stopped. */
function nativeRead(input: Buffer, start: number, rowsRoom = 1 << 16): { taken: number; statements: number; rows: number[]; end: number; lines: number; room: boolean } {
  const rows = new Int32Array(rowsRoom);
  const state = new Float64Array(STATE_SIZE);
  native!.insertRows(input, start, input.length, Buffer.from(HEADER), FIELDS, Infinity, rows, 0, 0, 1, 0, state);
  const n = state[ROWS]! * (4 + 2 * FIELDS);
  return { taken: state[STATEMENTS]!, statements: state[STATEMENTS]!, rows: [...rows.subarray(0, n)], end: state[POS]!, lines: state[LINES]!, room: state[NEED] === INSERT_ROOM };
}

// Values JavaScript and the kernel read alike, and values the kernel must leave alone.
const plainValue = fc.oneof(
  fc.constantFrom('NULL', 'null', 'true', '42', '-7', '3.5e+2', '0.00', '+1', "''", "'it''s'", "'a;b)c('", "'line\nbreak'", "'é ü'", "'x' "),
  fc.stringMatching(/^[a-z0-9 ;(),\n-]{0,12}$/).map((s) => `'${s.replaceAll("'", "''")}'`),
  fc.integer().map(String),
);
const trickyValue = fc.constantFrom(
  "E'a\\'b'",
  "'x'::text",
  'now()',
  '$$dollar$$',
  "N'n'",
  "'a' 'b'",
  '1 -- comment\n',
  '/* c */ 1',
  '"col"',
  '- 1',
  '1--2',
  'ARRAY[1]',
  "X'1F'",
);
const spaces = fc.constantFrom('', ' ', '\n', '  \n\t', '\r\n');

function row(values: string[], sp: string): string {
  return `(${values.map((v) => sp + v).join(',')})`;
}

const statement = fc
  .record({
    rows: fc.array(fc.array(plainValue, { minLength: FIELDS, maxLength: FIELDS }), { minLength: 1, maxLength: 3 }),
    sp: spaces,
    tricky: fc.option(fc.record({ value: trickyValue, row: fc.nat(2), field: fc.nat(FIELDS - 1) }), { freq: 4 }),
    fields: fc.option(fc.constantFrom(FIELDS - 1, FIELDS + 1), { freq: 10 }),
    header: fc.option(fc.constantFrom('INSERT INTO public.t (a, b) VALUES', 'INSERT INTO public.t (a, b, c) VALUESX', 'insert into public.t (a, b, c) values', 'SET x = 1'), { freq: 10 }),
    tail: fc.constantFrom(';', ';', ' ;', '\n;', ' ON CONFLICT DO NOTHING;'),
  })
  .map(({ rows, sp, tricky, fields, header, tail }) => {
    const values = rows.map((r) => [...r]);
    if (tricky) values[tricky.row % values.length]![tricky.field] = tricky.value;
    if (fields !== null) values[0] = fields < FIELDS ? values[0]!.slice(0, fields) : [...values[0]!, '0'];
    const plain = tricky === null && fields === null && header === null && tail !== ' ON CONFLICT DO NOTHING;';
    if (header === 'SET x = 1') return { text: 'SET x = 1;', plain: false };
    return { text: `${header ?? HEADER}${sp}${values.map((r) => row(r, sp)).join(`,${sp}`)}${tail}`, plain };
  });

describe.skipIf(!native && !required)('INSERT statements walked natively', () => {
  it('takes the plain statements JavaScript reads the same way, and stops before the first other', () => {
    fc.assert(
      fc.property(fc.array(statement, { minLength: 1, maxLength: 6 }), fc.array(spaces, { minLength: 6, maxLength: 6 }), (list, gaps) => {
        const input = Buffer.from(list.map((s, i) => s.text + gaps[i]).join(''));
        const js = jsRead(input);
        const n = nativeRead(input, 0);
        const plainRun = list.findIndex((s) => !s.plain);
        const expected = plainRun === -1 ? list.length : plainRun;
        expect(n.statements).toBe(expected);
        // Where it stopped: just after the last `;` taken.
        const text = list
          .slice(0, expected)
          .map((s, i) => s.text + (i < expected - 1 ? gaps[i] : ''))
          .join('');
        expect(n.end).toBe(Buffer.byteLength(text));
        expect(n.lines).toBe(text.split('\n').length - 1);
        // The same rows and fields as JavaScript, for the statements taken.
        expect(js.statements.slice(0, expected)).toEqual(list.slice(0, expected).map((s) => s.text));
        expect(js.rows.slice(0, expected).every((r) => r !== null)).toBe(true);
        expect(n.rows).toEqual(js.rows.slice(0, expected).flatMap((r) => r!));
      }),
      { numRuns: 3000 },
    );
  });

  it('stops before a statement cut short, and at a quote that may be doubled in bytes not here yet', () => {
    const whole = Buffer.from(`${HEADER} (1, 'a''b', NULL);\n${HEADER} (2, 'x', 'y');`);
    for (let cut = 0; cut <= whole.length; cut++) {
      const part = whole.subarray(0, cut);
      const n = nativeRead(part, 0);
      const first = whole.indexOf(';') + 1;
      expect(n.statements).toBe(cut === whole.length ? 2 : cut >= first ? 1 : 0);
      expect(n.end).toBe(cut === whole.length ? whole.length : cut >= first ? first : 0);
    }
  });

  it('stops for room in the rows array before a statement whose rows do not fit, and says so', () => {
    const input = Buffer.from(`${HEADER} (1, 2, 3);\n${HEADER} (4, 5, 6), (7, 8, 9);`);
    const stride = 4 + 2 * FIELDS;
    expect(nativeRead(input, 0, stride - 1)).toMatchObject({ statements: 0, room: true });
    expect(nativeRead(input, 0, 2 * stride)).toMatchObject({ statements: 1, room: true });
    expect(nativeRead(input, 0, 3 * stride)).toMatchObject({ statements: 2, room: false });
  });

  it('writes positions shifted, lines and 32-bit offsets from the ones given', () => {
    const input = Buffer.from(`xx${HEADER}\n(1, 'a\nb', 3);`);
    const rows = new Int32Array(64);
    const state = new Float64Array(STATE_SIZE);
    native!.insertRows(input, 2, input.length, Buffer.from(HEADER), FIELDS, Infinity, rows, 10, 100, 7, 2 ** 32 + 5, state);
    const rowStart = input.indexOf('\n(') + 1;
    expect([...rows.subarray(10, 14)]).toEqual([rowStart + 100, input.length - 1 + 100, 8, rowStart + 5]);
    expect(state[LINES]).toBe(2);
  });
});
