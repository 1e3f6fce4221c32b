import { beforeAll, describe, expect, it } from 'vitest';
import { loadSqlParser, SchemaCatalog } from '../../src/schema/catalog.js';

const at = { line: 1, offset: 0 };

describe('schema catalog (libpg-query)', () => {
  beforeAll(async () => {
    await loadSqlParser();
  });

  function learnAll(sql: string[]): SchemaCatalog {
    const c = new SchemaCatalog();
    for (const s of sql) c.learn(s, at);
    return c;
  }

  it('resolves built-in types, typmods, arrays, enums and domains', () => {
    const c = learnAll([
      "CREATE TYPE public.mood AS ENUM ('a', 'b');",
      'CREATE DOMAIN public.mail AS character varying(64) NOT NULL;',
      'CREATE DOMAIN public.mail2 AS public.mail;',
      'CREATE TYPE public.pt AS (x integer, y integer);',
      'CREATE TABLE public.t (a character varying(5), b character(3), c text[], d public.mood, e public.mail2, f numeric(5,2)[][], g public.pt, h public.citext, i "char", j tsvector);',
    ]);
    const cols = c.tables.get('public.t')!.columns;
    const r = (name: string) => c.resolveType(cols.find((x) => x.name === name)!.type);
    expect(r('a')).toMatchObject({ kind: 'text', maxLength: 5 });
    expect(r('b')).toMatchObject({ kind: 'text', maxLength: 3 });
    expect(r('c')).toMatchObject({ kind: 'array', element: { kind: 'text' } });
    expect(r('d')).toMatchObject({ kind: 'enum', labels: ['a', 'b'] });
    expect(r('e')).toMatchObject({ kind: 'text', maxLength: 64, notNull: true });
    expect(r('f')).toMatchObject({ kind: 'array', element: { kind: 'numeric' } });
    expect(r('g').kind).toBe('unsupported');
    expect(r('h').kind).toBe('text');
    expect(r('i')).toMatchObject({ kind: 'text', maxLength: 1 });
    expect(r('j').kind).toBe('unsupported');
  });

  it('follows partitions: PARTITION OF and ATTACH PARTITION, across schemas and levels', () => {
    const c = learnAll([
      'CREATE TABLE public.p (id integer NOT NULL, at date) PARTITION BY RANGE (at);',
      'CREATE TABLE public.p_2020 (id integer NOT NULL, at date) PARTITION BY LIST (id);',
      'CREATE TABLE archive.p_2020_a (id integer NOT NULL, at date);',
      "ALTER TABLE ONLY public.p ATTACH PARTITION public.p_2020 FOR VALUES FROM ('2020-01-01') TO ('2021-01-01');",
      'ALTER TABLE ONLY public.p_2020 ATTACH PARTITION archive.p_2020_a FOR VALUES IN (1);',
      "CREATE TABLE other.p_2021 PARTITION OF public.p FOR VALUES FROM ('2021-01-01') TO ('2022-01-01');",
    ]);
    expect(c.ancestors('archive.p_2020_a')).toEqual(['public.p_2020', 'public.p']);
    expect(c.ancestors('other.p_2021')).toEqual(['public.p']);
    expect(c.tables.get('other.p_2021')!.columns.map((x) => x.name)).toEqual(['id', 'at']);
  });

  it('reads COPY targets with their column lists and quoted names', () => {
    const c = new SchemaCatalog();
    const l = c.learn('COPY "Sales Dept"."Client List" ("ID", "E-mail") FROM stdin;', at);
    expect(l).toMatchObject({ kind: 'copy', target: { key: '"Sales Dept"."Client List"', columns: ['ID', 'E-mail'], nonDefaultOptions: [] } });
    expect(c.learn("COPY t FROM '/tmp/x';", at).kind).toBe('other');
    expect(c.learn('COPY public.t (a) FROM stdin WITH (FORMAT csv);', at)).toMatchObject({ target: { nonDefaultOptions: ['format csv'] } });
  });

  it('reports a statement the parser rejects, with its position', () => {
    const c = new SchemaCatalog();
    expect(() => c.learn('CREATE TABLE (broken', { line: 7, offset: 99 })).toThrow(/SQL_PARSE.*line 7, byte 99/);
  });
});
