import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeSqlLiteral, encodeSqlLiteral } from '../../src/dump/sql-literal.js';
import { InsertRowReader, parseInsertHeader } from '../../src/dump/insert-statement.js';
import { errorOf, goldenCase, maskInMemory } from './run-in-memory.js';

const { INPUT, EXPECTED, RULES } = goldenCase('inserts');

describe('masking INSERT statements (golden: pg_dump forms and hand-written SQL)', () => {
  it('writes exactly the golden output, reporting the input form', async () => {
    const warnings: string[] = [];
    const { output, summary } = await maskInMemory([INPUT], RULES, undefined, warnings);
    expect(output.toString()).toBe(EXPECTED.toString());
    expect(warnings).toEqual([]);
    expect(summary.format).toBe('plain SQL with INSERT statements');
    expect(summary.tables.map((t) => [t.table, t.rows])).toEqual([
      ['public.person', 8],
      ['"Sales"."Client List"', 2],
    ]);
  });

  it('refuses a row with the wrong number of values, with line and byte offset', async () => {
    const bad = Buffer.from(INPUT.toString().replace("(43, N'n@example.com', 'south')", "(43, N'n@example.com')"));
    const e = await errorOf(() => maskInMemory([bad], RULES));
    expect(e.code).toBe('COPY_FIELD_COUNT');
    expect(e.message).toMatch(/expected 3 fields, got 2/);
    expect(e.position.table).toBe('"Sales"."Client List"');
    expect(e.position.line).toBe(bad.toString().split('\n').findIndex((l) => l.includes("(43, N'n@example.com')")) + 1);
    expect(e.position.offset).toBe(bad.indexOf("(43, N'n@example.com')"));
  });

  it('reads an unqualified INSERT with the search_path in force, not the first one it met', async () => {
    const dump = Buffer.from(
      [
        'CREATE SCHEMA other;',
        'CREATE TABLE public.t (id int, a text);',
        'CREATE TABLE other.t (id int, a text);',
        "INSERT INTO t VALUES (1, 'public row');",
        "SELECT pg_catalog.set_config('search_path', 'other', false);",
        "INSERT INTO t VALUES (2, 'secret of other');",
        '',
      ].join('\n'),
    );
    const { output } = await maskInMemory([dump], 'tables:\n  other.t:\n    columns:\n      a: placeholder\n');
    expect(output.toString()).toContain("INSERT INTO t VALUES (1, 'public row');");
    expect(output.toString()).not.toContain('secret of other');
    expect(output.toString()).toContain("INSERT INTO t VALUES (2, 'xxx2');");
  });

  it('refuses unbalanced parentheses and unterminated strings', async () => {
    const extra = Buffer.from("CREATE TABLE t (id int, a text);\nINSERT INTO t VALUES (1, 'x'));\n");
    const e = await errorOf(() => maskInMemory([extra], 'tables:\n  t:\n    columns:\n      a: placeholder\n'));
    expect(e.code).toBe('COPY_VALUE');
    expect(e.position).toMatchObject({ table: 'public.t', line: 2 });
    const open = Buffer.from("CREATE TABLE t (id int, a text);\nINSERT INTO t VALUES (1, 'x';\n");
    expect((await errorOf(() => maskInMemory([open], 'tables:\n  t:\n    columns:\n      a: placeholder\n'))).code).toBe('SQL_UNTERMINATED');
    const quote = Buffer.from("CREATE TABLE t (id int, a text);\nINSERT INTO t VALUES (1, 'x);\n");
    expect((await errorOf(() => maskInMemory([quote], 'tables:\n  t:\n    columns:\n      a: placeholder\n'))).code).toBe('SQL_UNTERMINATED');
  });

  it('refuses a value-dependent placeholder on an expression it cannot read, naming the column', async () => {
    const dump = Buffer.from("CREATE TABLE t (id int, j jsonb);\nINSERT INTO t VALUES (1, jsonb_build_object('a', 'b'));\n");
    const e = await errorOf(() => maskInMemory([dump], 'tables:\n  t:\n    columns:\n      j: placeholder\n'));
    expect(e.code).toBe('COPY_VALUE');
    expect(e.position).toMatchObject({ table: 'public.t', column: 'j', line: 2 });
  });

  it('passes INSERTs of tables without rules through untouched, unparsed', async () => {
    const dump = Buffer.from("CREATE TABLE t (id int);\nINSERT INTO t VALUES (1, 'not even the right count', ((2)));\nINSERT INTO t SELECT 1;\n");
    const { output } = await maskInMemory([dump], 'tables: {}\n');
    expect(output.equals(dump)).toBe(true);
  });
});

describe('SQL literals', () => {
  const std = { standardStrings: true, encoding: 'utf8' as const };
  const off = { standardStrings: false, encoding: 'utf8' as const };
  const dec = (s: string, o = std): string | null => {
    const b = Buffer.from(s);
    return decodeSqlLiteral(b, 0, b.length, o);
  };

  it('decodes the literal forms', () => {
    expect(dec("'it''s'")).toBe("it's");
    expect(dec("E'a\\nb\\t\\\\\\'\\x41\\101\\u00e9'")).toBe("a\nb\t\\'AAé");
    expect(dec("'a\\nb'", off)).toBe('a\nb');
    expect(dec("'a\\nb'")).toBe('a\\nb');
    expect(dec('$$x$$')).toBe('x');
    expect(dec("$q$it's $$ here$q$")).toBe("it's $$ here");
    expect(dec("N'n'")).toBe('n');
    expect(dec('-12.5e3')).toBe('-12.5e3');
    expect(dec('NULL')).toBeNull();
    expect(dec('True')).toBe('true');
    expect(() => dec('upper(x)')).toThrow(/not a literal/);
  });

  it('encodes any string so that it decodes back, standard strings on and off', () => {
    fc.assert(
      fc.property(fc.option(fc.string({ unit: 'grapheme' }), { nil: null }), fc.boolean(), (value, standardStrings) => {
        const o = { standardStrings, encoding: 'utf8' as const };
        const b = encodeSqlLiteral(value, o);
        expect(decodeSqlLiteral(b, 0, b.length, o)).toBe(value);
      }),
    );
  });

  it('reads rows: casts stay outside the field, expressions are whole fields', () => {
    const text = Buffer.from("INSERT INTO s.t (a, \"B c\") VALUES ('x'::jsonb, upper('y') ), (-1, $$z$$::text[]) RETURNING a;");
    const header = parseInsertHeader(text, 'public', true)!;
    expect(header.target).toEqual({ schema: 's', name: 't' });
    expect(header.columns).toEqual(['a', 'B c']);
    const r = new InsertRowReader(text, header.valuesEnd, true);
    const rows: string[][] = [];
    while (r.next()) rows.push(r.starts.map((s, i) => text.toString('utf8', s, r.ends[i])));
    r.checkTail();
    expect(rows).toEqual([
      ["'x'", "upper('y')"],
      ['-1', '$$z$$'],
    ]);
  });
});
