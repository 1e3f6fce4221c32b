// The leak scan over hand-made dumps: which places, how many finds, whatever the chunking;
// the originals' filters built from a vault's records with their column types.
import { beforeAll, describe, expect, it } from 'vitest';
import { LeakScanner, placeName, type LeakReport } from '../../src/leaks/leak-scanner.js';
import { OriginalsCollector, OriginalsIndex, dataLikeKey, maskedColumnType } from '../../src/leaks/originals.js';
import { SchemaCatalog, loadSqlParser } from '../../src/schema/catalog.js';

beforeAll(() => loadSqlParser());

const DUMP = Buffer.from(
  [
    '--',
    '-- PostgreSQL database dump',
    '--',
    'SET standard_conforming_strings = on;',
    'CREATE TABLE public.person (id integer, email text, notes text, profile jsonb);',
    'CREATE SEQUENCE public.seq_for_alice_martin_example_org;',
    "COMMENT ON TABLE public.person IS 'ask alice.martin@example.org';",
    '-- written by bob.dupont@example.net',
    'COPY public.person (id, email, notes, profile) FROM stdin;',
    '1\txxx1\tmail alice.martin@example.org\\nor ALICE.MARTIN@example.org\t{"e": "bob.dupont@example.net"}',
    '2\txxx2\t\\N\t{}',
    '\\.',
    "INSERT INTO public.person (id, email, notes, profile) VALUES (3, 'xxx3', 'it''s bob.dupont@example.net', NULL), (4, 'xxx4', 'nothing', '{}');",
    '',
  ].join('\n'),
);

function scan(chunks: Buffer[], originals: string[], seen?: (catalog: SchemaCatalog) => void): LeakReport {
  const scanner = new LeakScanner((catalog) => {
    seen?.(catalog);
    const index = new OriginalsIndex();
    for (const o of originals) index.add(o);
    return index;
  });
  for (const c of chunks) scanner.write(c);
  scanner.end();
  return scanner.report();
}

function summary(report: LeakReport): Record<string, number> {
  return Object.fromEntries(report.places.map((p) => [placeName(p), p.count]));
}

const EXPECTED = {
  'SQL CREATE SEQUENCE': 1,
  'SQL COMMENT ON TABLE': 1,
  'comments and psql commands between statements': 1,
  'public.person.notes': 3,
  'public.person.profile': 1,
};

describe('LeakScanner', () => {
  it('finds originals in fields, INSERT values, statements, names and comments', () => {
    let tables: string[] = [];
    const report = scan([DUMP], ['alice.martin@example.org', 'bob.dupont@example.net'], (c) => {
      tables = [...c.tables.keys()];
    });
    expect(tables).toEqual(['public.person']); // the filters are built once the DDL is known
    expect(summary(report)).toEqual(EXPECTED);
    expect(report.finds).toBe(7);
    expect(report.places.find((p) => p.column === 'notes')?.firstLine).toBe(10);
    expect(report.places.find((p) => p.statement === 'COMMENT ON TABLE')?.firstLine).toBe(7);
    expect(report.falsePositiveBound).toBeLessThan(1e-9);
  });

  it('gives the same report for every chunking', () => {
    for (let size = 1; size <= 13; size++) {
      const chunks: Buffer[] = [];
      for (let i = 0; i < DUMP.length; i += size) chunks.push(DUMP.subarray(i, i + size));
      expect(summary(scan(chunks, ['alice.martin@example.org', 'bob.dupont@example.net'])), `chunks of ${size}`).toEqual(EXPECTED);
    }
  });

  it('finds nothing when no original appears, and ignores short values', () => {
    const report = scan([DUMP], ['carol@example.org', 'ask', 'xxx1', '1234']);
    // 'xxx1' is 4 characters and is in the output: it is found; 'ask' (3) and '1234' (a short number) are not looked for.
    expect(summary(report)).toEqual({ 'public.person.email': 1 });
  });

  it('counts finds in CSV COPY data per row, and reads text that is not UTF-8 as Latin-1', () => {
    const dump = Buffer.concat([
      Buffer.from('CREATE TABLE public.t (a text, b text);\nCOPY public.t (a, b) FROM stdin WITH (FORMAT csv);\n"x","write to alice.martin@example.org"\n\\.\n-- M'),
      Buffer.from([0xfc]), // ü in Latin-1
      Buffer.from('ller Straße\n'),
    ]);
    expect(summary(scan([dump], ['alice.martin@example.org', 'Müller']))).toEqual({
      'public.t."(whole rows)"': 1,
      'comments and psql commands between statements': 1,
    });
  });

  it('matches whole word sequences only', () => {
    // 'martin example' is inside the e-mail's words; 'example org alice' is not in that order.
    expect(summary(scan([DUMP], ['martin example']))).toMatchObject({ 'public.person.notes': 2 });
    expect(scan([DUMP], ['example org alice']).places).toEqual([]);
  });
});

describe('OriginalsCollector', () => {
  it('reads originals by their column types: text and json strings, not numbers, dates or enum labels', () => {
    const catalog = new SchemaCatalog();
    catalog.learn("CREATE TYPE public.mood AS ENUM ('happy', 'grumpy');", { line: 1, offset: 0 });
    catalog.learn('CREATE TABLE public.t (id integer, name text, born date, mood public.mood, doc jsonb, tags text[], n numeric);', { line: 2, offset: 0 });
    const index = new OriginalsIndex();
    const collector = new OriginalsCollector(index, (t, c, d) => maskedColumnType(catalog, t, c, d));
    collector.declareTable({
      index: 0,
      table: 'public.t',
      encoding: 'copy-text',
      keyColumns: ['id'],
      maskedColumns: ['name', 'born', 'mood', 'doc', 'tags', 'n'],
      types: ['text', 'date', 'public.mood', 'jsonb', 'text[]', 'numeric'],
    });
    const fields = ['7', 'Grace\\tHopper', '1906-12-09', 'grumpy', '{"key_name": "value one", "n": 12345678}', '{alpha,"beta gamma"}', '123456789'];
    collector.row(0, 1, fields.map((f) => {
      const buf = Buffer.from(f);
      return { buf, start: 0, end: buf.length };
    }));
    // Grace Hopper, value one, alpha... no: alpha is 5 letters, beta gamma: 3 values + 1 = 4.
    expect(index.values).toBe(4);
    const found = (text: string): boolean => {
      const s = new LeakScanner(() => index);
      s.write(Buffer.from(`SELECT '${text}';\n`));
      s.end();
      return s.report().finds > 0;
    };
    expect(found('grace hopper')).toBe(true);
    expect(found('value one')).toBe(true);
    expect(found('beta gamma')).toBe(true);
    expect(found('alpha')).toBe(true);
    expect(found('grumpy')).toBe(false);
    expect(found('key name')).toBe(false);
    expect(found('1906-12-09')).toBe(false);
    expect(found('123456789')).toBe(false);
  });

  it('looks for json keys that hold data (a phone number, an e-mail, a name), not field names', () => {
    const catalog = new SchemaCatalog();
    catalog.learn('CREATE TABLE public.t (id integer, doc jsonb);', { line: 1, offset: 0 });
    const index = new OriginalsIndex();
    const collector = new OriginalsCollector(index, (t, c, d) => maskedColumnType(catalog, t, c, d));
    collector.declareTable({ index: 0, table: 'public.t', encoding: 'copy-text', keyColumns: ['id'], maskedColumns: ['doc'], types: ['jsonb'] });
    const doc = '{"+49 30 1234567": {"alice@example.org": 1, "Alice Martin": [true]}, "en_US": "x", "street2": 1, "content-type": 2, "mail.catchall": 3, "4711": 4}';
    const buf = Buffer.from(doc);
    collector.row(0, 1, [{ buf: Buffer.from('1'), start: 0, end: 1 }, { buf, start: 0, end: buf.length }]);
    const found = (text: string): boolean => {
      const s = new LeakScanner(() => index);
      s.write(Buffer.from(`SELECT '${text}';\n`));
      s.end();
      return s.report().finds > 0;
    };
    expect(found('{"+49 30 1234567": true}')).toBe(true);
    expect(found('alice@example.org')).toBe(true);
    expect(found('alice martin')).toBe(true);
    for (const structure of ['en_US', 'street2', 'content-type', 'mail.catchall']) expect(found(structure), structure).toBe(false);
    expect(index.values).toBe(3); // '4711' has no letter and fewer than 7 digits
    expect([dataLikeKey('en_US'), dataLikeKey('_id'), dataLikeKey('0301234567'), dataLikeKey('a b'), dataLikeKey('x@y')]).toEqual([false, false, true, true, true]);
  });
});
