import { describe, expect, it } from 'vitest';
import { SqlScanner, type CopyDataMode, type ScannerHandler } from '../../src/dump/sql-scanner.js';
import { PgcloakError, type SourcePosition } from '../../src/errors.js';

interface Trace {
  output: Buffer;
  statements: string[];
  rows: string[];
  copyEnds: number[];
}

/** Runs the scanner over `chunks`; COPY blocks whose statement mentions `rows_me` are read row by row. */
function scan(chunks: Buffer[]): Trace {
  const out: Buffer[] = [];
  const trace: Trace = { output: Buffer.alloc(0), statements: [], rows: [], copyEnds: [] };
  const handler: ScannerHandler = {
    emit: (buf, s, e) => out.push(Buffer.from(buf.subarray(s, e))),
    statement(text: Buffer, at: SourcePosition): CopyDataMode | undefined {
      out.push(Buffer.from(text));
      const t = text.toString();
      trace.statements.push(`${at.line}:${at.offset}:${t}`);
      if (/^COPY\b/i.test(t) && /FROM stdin/i.test(t)) return t.includes('rows_me') ? 'rows' : t.includes('batch_me') ? 'batch' : 'passthrough';
      return undefined;
    },
    row(buf, s, e, eolEnd, at) {
      trace.rows.push(`${at.line}:${at.offset}:${buf.subarray(s, e).toString()}|${JSON.stringify(buf.subarray(e, eolEnd).toString())}`);
      out.push(Buffer.from(buf.subarray(s, eolEnd)));
    },
    // Batches are cut where chunks end: each of their rows is traced as 'rows' mode would.
    rows(buf, s, e, at, count) {
      let line = at.line;
      let n = 0;
      for (let p = s; p < e; n++) {
        const nl = buf.indexOf(0x0a, p);
        const eol = nl === -1 || nl >= e ? e : nl + 1;
        const end = eol > p && buf[eol - 1] === 0x0a ? (eol - 1 > p && buf[eol - 2] === 0x0d ? eol - 2 : eol - 1) : eol;
        trace.rows.push(`${line++}:${at.offset + (p - s)}:${buf.subarray(p, end).toString()}|${JSON.stringify(buf.subarray(end, eol).toString())}`);
        p = eol;
      }
      expect(n).toBe(count);
      out.push(Buffer.from(buf.subarray(s, e)));
    },
    copyEnd: (rows) => trace.copyEnds.push(rows),
  };
  const scanner = new SqlScanner(handler);
  for (const c of chunks) scanner.write(c);
  scanner.end();
  trace.output = Buffer.concat(out);
  return trace;
}

const DUMP = Buffer.from(
  [
    '--',
    '-- PostgreSQL database dump',
    '--',
    '',
    '\\restrict abcDEF123',
    'SET standard_conforming_strings = on;',
    "SELECT pg_catalog.set_config('search_path', '', false);",
    '/* a /* nested; */ comment; */',
    'CREATE TABLE public."weird;name" (id integer, "t;x" text DEFAULT \'it\'\'s; fine\', e text DEFAULT E\'\\\';\');',
    'CREATE FUNCTION f() RETURNS text AS $fn$ BEGIN RETURN $$;$$ || \'$fn\'; END; $fn$ LANGUAGE plpgsql;',
    'CREATE RULE r AS ON INSERT TO t DO INSTEAD (INSERT INTO a VALUES (1); INSERT INTO b VALUES (2));',
    'select $1, a$b from x; -- a comment; with semicolon',
    "INSERT INTO t VALUES ('two", 'lines; and', "three', 'it''s', E'back\\\\slash\\'s;');",
    'COPY public.plain (id, t) FROM stdin;',
    '1\tone',
    '2\t\\\\.not the end',
    '\\.',
    'COPY public.rows_me (id, t) FROM stdin;',
    '1\ta\\tb',
    '2\tcrlf row\r',
    '3\t\\N',
    '\\.',
    'COPY public.empty_rows_me (id) FROM stdin;',
    '\\.',
    'ALTER TABLE ONLY public.t ADD CONSTRAINT t_pkey PRIMARY KEY (id);',
    '',
    '\\unrestrict abcDEF123',
    '',
    '--',
    '-- PostgreSQL database dump complete',
    '--',
    '',
  ].join('\n'),
);

describe('SqlScanner', () => {
  const whole = scan([DUMP]);

  it('passes every byte through unchanged', () => {
    expect(whole.output.equals(DUMP)).toBe(true);
  });

  it('finds statements the way psql does (quotes, dollar quotes, comments, parentheses)', () => {
    expect(whole.statements.map((s) => s.replace(/^\d+:\d+:/, '').slice(0, 40))).toEqual([
      'SET standard_conforming_strings = on;',
      "SELECT pg_catalog.set_config('search_pat",
      'CREATE TABLE public."weird;name" (id int',
      'CREATE FUNCTION f() RETURNS text AS $fn$',
      'CREATE RULE r AS ON INSERT TO t DO INSTE',
      'select $1, a$b from x;',
      "INSERT INTO t VALUES ('two\nlines; and\nth",
      'COPY public.plain (id, t) FROM stdin;',
      'COPY public.rows_me (id, t) FROM stdin;',
      'COPY public.empty_rows_me (id) FROM stdi',
      'ALTER TABLE ONLY public.t ADD CONSTRAINT',
    ]);
    expect(whole.statements[2]).toContain("E'\\';');");
    expect(whole.statements[3]!.endsWith('LANGUAGE plpgsql;')).toBe(true);
    expect(whole.statements[6]!.endsWith("E'back\\\\slash\\'s;');")).toBe(true);
  });

  it('reports positions of statements and rows (line, byte offset)', () => {
    const copyLine = DUMP.toString().split('\n').indexOf('COPY public.rows_me (id, t) FROM stdin;') + 1;
    const stmt = whole.statements.find((s) => s.includes('rows_me (id, t)'))!;
    expect(stmt.split(':')[0]).toBe(String(copyLine));
    expect(Number(stmt.split(':')[1])).toBe(DUMP.indexOf('COPY public.rows_me'));
    expect(whole.rows).toEqual([
      `${copyLine + 1}:${DUMP.indexOf('1\ta\\tb')}:1\ta\\tb|"\\n"`,
      `${copyLine + 2}:${DUMP.indexOf('2\tcrlf')}:2\tcrlf row|"\\r\\n"`,
      `${copyLine + 3}:${DUMP.indexOf('3\t\\N')}:3\t\\N|"\\n"`,
    ]);
    expect(whole.copyEnds).toEqual([2, 3, 0]);
  });

  it('gives the same result at every split point', () => {
    for (let i = 0; i <= DUMP.length; i++) {
      const t = scan([DUMP.subarray(0, i), DUMP.subarray(i)]);
      expect(t, `split at ${i}`).toEqual(whole);
    }
  });

  it('gives the same result fed one byte at a time', () => {
    const chunks: Buffer[] = [];
    for (let i = 0; i < DUMP.length; i++) chunks.push(DUMP.subarray(i, i + 1));
    expect(scan(chunks)).toEqual(whole);
  });

  it('gives the same result at every pair of split points in the COPY part', () => {
    const from = DUMP.indexOf('COPY public.plain');
    const to = DUMP.indexOf('ALTER TABLE');
    for (let i = from; i < to; i += 1) {
      for (let j = i; j < to; j += 3) {
        expect(scan([DUMP.subarray(0, i), DUMP.subarray(i, j), DUMP.subarray(j)]), `split at ${i},${j}`).toEqual(whole);
      }
    }
  });

  describe('long rows (issue 18: joined once, not again with each chunk)', () => {
    const long = 'x'.repeat(3000);
    const LONG_DUMP = Buffer.from(
      [
        'SET a = 1;',
        'COPY public.rows_me (id, t) FROM stdin;',
        `1\t${long}`,
        `2\t${long}\r`,
        '\\.',
        'COPY public.batch_me (id, t) FROM stdin;',
        `1\t${long}`,
        '2\tshort',
        `3\t${long}\r`,
        '\\.',
        'COPY public.plain (id, t) FROM stdin;',
        `1\t${long}`,
        '\\.',
        'SET b = 2;',
        '',
      ].join('\n'),
    );
    const whole = scan([LONG_DUMP]);
    /** toEqual, with the output compared as bytes (a deep comparison, byte by byte, of every split is minutes). */
    const expectSame = (t: Trace, what: string): void => {
      expect(t.output.equals(whole.output), what).toBe(true);
      expect({ ...t, output: null }, what).toEqual({ ...whole, output: null });
    };

    it('hands over each long row whole, in rows and batch modes', () => {
      expect(whole.output.equals(LONG_DUMP)).toBe(true);
      expect(whole.rows.map((r) => r.replace(/x{3000}/, 'LONG'))).toEqual([
        `3:${LONG_DUMP.indexOf('1\tx')}:1\tLONG|"\\n"`,
        `4:${LONG_DUMP.indexOf('2\tx')}:2\tLONG|"\\r\\n"`,
        `7:${LONG_DUMP.indexOf('1\tx', LONG_DUMP.indexOf('batch_me'))}:1\tLONG|"\\n"`,
        `8:${LONG_DUMP.indexOf('2\tshort')}:2\tshort|"\\n"`,
        `9:${LONG_DUMP.indexOf('3\tx')}:3\tLONG|"\\r\\n"`,
      ]);
      expect(whole.copyEnds).toEqual([2, 3, 1]);
    });

    it('gives the same result at every split point', () => {
      for (let i = 0; i <= LONG_DUMP.length; i++) {
        expectSame(scan([LONG_DUMP.subarray(0, i), LONG_DUMP.subarray(i)]), `split at ${i}`);
      }
    });

    it('gives the same result fed in chunks of every size from 1 to 13 bytes', () => {
      for (let size = 1; size <= 13; size++) {
        const chunks: Buffer[] = [];
        for (let i = 0; i < LONG_DUMP.length; i += size) chunks.push(LONG_DUMP.subarray(i, i + size));
        expectSame(scan(chunks), `chunks of ${size}`);
      }
    });

    /** The bytes the scanner examines for one row of `length` bytes (COPY or a string in an INSERT), fed in 64 KiB chunks. */
    function scanned(length: number, form: 'rows' | 'batch' | 'insert'): number {
      const value = Buffer.alloc(length, 'abcdefgh');
      const input =
        form === 'insert'
          ? Buffer.concat([Buffer.from("INSERT INTO t VALUES (1, '"), value, Buffer.from("');\n")])
          : Buffer.concat([Buffer.from(`COPY public.${form}_me (id, t) FROM stdin;\n1\t`), value, Buffer.from('\n\\.\n')]);
      const scanner = new SqlScanner({ emit: () => undefined, statement: (t) => (t[0] === 0x43 ? form as CopyDataMode : undefined), row: () => undefined, rows: () => undefined, copyEnd: () => undefined });
      for (let i = 0; i < input.length; i += 65536) scanner.write(input.subarray(i, i + 65536));
      scanner.end();
      return scanner.bytesScanned / input.length;
    }

    it('examines each byte of a long row at most about twice, however long the row (counted, not timed)', () => {
      for (const form of ['rows', 'batch', 'insert'] as const) {
        const short = scanned(1 << 20, form);
        const longer = scanned(8 << 20, form);
        // Re-joining the row with every chunk examined it (length / 64 KiB) / 2 times over: 64 times at 8 MiB.
        expect(short, form).toBeLessThanOrEqual(2.01);
        expect(longer, form).toBeLessThanOrEqual(2.01);
      }
    });
  });

  function errorOf(input: string): PgcloakError {
    try {
      scan([Buffer.from(input)]);
    } catch (err) {
      if (err instanceof PgcloakError) return err;
      throw err;
    }
    throw new Error('no error');
  }

  it('refuses COPY data without its \\. line (truncated dump)', () => {
    const e = errorOf('SET x = 1;\nCOPY public.rows_me (id) FROM stdin;\n1\n2\n');
    expect(e.code).toBe('COPY_UNTERMINATED');
    expect(e.position.line).toBe(2);
    expect(e.position.offset).toBe(11);
    expect(errorOf('COPY public.plain (id) FROM stdin;\n1\n\\').code).toBe('COPY_UNTERMINATED');
  });

  it('accepts a final \\. without a line end', () => {
    const t = scan([Buffer.from('COPY public.rows_me (id) FROM stdin;\n1\n\\.')]);
    expect(t.copyEnds).toEqual([1]);
  });

  it('refuses input that ends inside a string, comment or statement', () => {
    expect(errorOf("CREATE TABLE t (a text DEFAULT 'x);\n").code).toBe('SQL_UNTERMINATED');
    expect(errorOf('CREATE FUNCTION f() AS $$ select 1;\n').code).toBe('SQL_UNTERMINATED');
    expect(errorOf('/* comment\n').code).toBe('SQL_UNTERMINATED');
    const e = errorOf('SET a = 1;\nCREATE TABLE t (a int)\n');
    expect(e.code).toBe('SQL_UNTERMINATED');
    expect(e.position.line).toBe(2);
  });

  it('honours standard_conforming_strings = off for backslashes in strings', () => {
    const input = Buffer.from("CREATE TABLE t (a text DEFAULT 'x\\';y');\nSET z = 1;\n");
    const statements: string[] = [];
    const scanner = new SqlScanner(
      {
        emit: () => undefined,
        statement: (text) => {
          statements.push(text.toString());
          return undefined;
        },
        row: () => undefined,
        copyEnd: () => undefined,
      },
    );
    scanner.setStandardConformingStrings(false);
    scanner.write(input);
    scanner.end();
    expect(statements).toEqual(["CREATE TABLE t (a text DEFAULT 'x\\';y');", 'SET z = 1;']);
  });
});
