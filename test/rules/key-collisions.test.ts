// Which keys a rules file breaks (src/rules/key-collisions.ts), decided from a dump's DDL as
// pg_dump writes it (keys after the data) or as a hand-written script does (keys in CREATE
// TABLE), with row counts: the strategies that repeat a value against every kind of key, the
// ones that keep rows apart, generated columns and expressions, multi-column keys, NULL, and
// foreign keys.
import { beforeAll, describe, expect, it } from 'vitest';
import { findKeyCollisions, formatKeyCollision, type KeyCollision } from '../../src/rules/key-collisions.js';
import { parseRules } from '../../src/rules/rules-file.js';
import { loadSqlParser, SchemaCatalog } from '../../src/schema/catalog.js';
import { DeclaredKeys } from '../../src/schema/declared-keys.js';

beforeAll(async () => {
  await loadSqlParser();
});

/**
 * The keys `rules` (YAML: `table: {column: strategy}`) break in the dump `sql`, its tables
 * holding `rows` rows each (10 unless given; null: not counted).
 */
function collisions(sql: string, rules: Record<string, Record<string, string>>, rows: Record<string, number | null> = {}): KeyCollision[] {
  const catalog = new SchemaCatalog();
  const keys = new DeclaredKeys();
  for (const statement of sql.split(/;\s*\n/)) {
    if (statement.trim() === '') continue;
    catalog.learn(`${statement};`, { line: 1, offset: 0 });
    keys.learn(`${statement};`, catalog.defaultSchema);
  }
  const yaml = Object.entries(rules)
    .map(([t, cols]) => `  ${t}:\n    columns:\n${Object.entries(cols).map(([c, s]) => `      ${c}: ${s}\n`).join('')}`)
    .join('');
  return findKeyCollisions({
    keys,
    catalog,
    rules: parseRules(`tables:\n${yaml}`),
    rows: (table) => {
      const n = rows[table];
      return n === null ? undefined : (n ?? 10);
    },
  });
}

const brief = (c: KeyCollision): string => `${c.kind} ${c.constraint}${c.condition !== undefined ? ' (if)' : ''}`;

/** gtest23p and gtest23q of PostgreSQL's regression suite (src/test/regress/sql/generated.sql), as pg_dump 15 writes them. */
const GTEST23 = `
CREATE TABLE public.gtest23p (
    x integer,
    y integer GENERATED ALWAYS AS ((x * 2)) STORED NOT NULL
);
CREATE TABLE public.gtest23q (
    a integer NOT NULL,
    b integer
);
ALTER TABLE ONLY public.gtest23p
    ADD CONSTRAINT gtest23p_pkey PRIMARY KEY (y);
ALTER TABLE ONLY public.gtest23q
    ADD CONSTRAINT gtest23q_pkey PRIMARY KEY (a);
ALTER TABLE ONLY public.gtest23q
    ADD CONSTRAINT gtest23q_b_fkey FOREIGN KEY (b) REFERENCES public.gtest23p(y);
`;

describe('the regression database: gtest23p', () => {
  it('a placeholder on x makes the generated primary key y the same in every row, and the foreign key on it fails next', () => {
    const found = collisions(GTEST23, { gtest23p: { x: 'placeholder' } }, { 'public.gtest23p': 3, 'public.gtest23q': 1 });
    expect(found).toHaveLength(1);
    const c = found[0]!;
    expect(c).toMatchObject({
      kind: 'duplicate',
      table: 'public.gtest23p',
      constraint: 'gtest23p_pkey',
      constraintKind: 'primary key',
      columns: ['y'],
      causes: [{ path: 'tables.gtest23p.columns.x', strategy: 'placeholder', column: 'x', writes: 'writes 1 in every row' }],
      error: 'could not create unique index "gtest23p_pkey"',
      rows: 3,
      dependents: [{ table: 'public.gtest23q', constraint: 'gtest23q_b_fkey', error: 'there is no unique constraint matching given keys for referenced table "gtest23p"' }],
    });
    expect(c.condition).toBeUndefined();
    expect(formatKeyCollision(c)).toBe(
      'public.gtest23p: primary key gtest23p_pkey (y) gets the same value in all 3 rows once masked (y is generated from x; tables.gtest23p.columns.x: placeholder writes 1 in every row): ' +
        `restoring the masked dump fails with 'could not create unique index "gtest23p_pkey"', then public.gtest23q foreign key gtest23q_b_fkey with 'there is no unique constraint matching given keys for referenced table "gtest23p"'`,
    );
  });

  it('one row cannot collide with itself (but gtest23q.b may no longer find its y); rows not counted are taken as some', () => {
    const one = collisions(GTEST23, { gtest23p: { x: 'placeholder' } }, { 'public.gtest23p': 1 });
    expect(one.map(brief)).toEqual(['reference gtest23q_b_fkey (if)']);
    expect(one[0]!.condition).toBe('every public.gtest23p.y becomes one value, which b may not hold');
    expect(collisions(GTEST23, { gtest23p: { x: 'placeholder' } }, { 'public.gtest23p': null }).map(brief)).toEqual(['duplicate gtest23p_pkey']);
  });

  it('keep on x, or no rule, breaks nothing', () => {
    expect(collisions(GTEST23, { gtest23p: { x: 'keep' } })).toEqual([]);
    expect(collisions(GTEST23, { gtest23q: { a: 'keep' } })).toEqual([]);
  });

  it('a placeholder on the referencing column b: 1 everywhere, which gtest23p.y may not hold (a warning with its condition)', () => {
    const [c, ...more] = collisions(GTEST23, { gtest23q: { b: 'placeholder' } });
    expect(more).toEqual([]);
    expect(c).toMatchObject({ kind: 'reference', constraint: 'gtest23q_b_fkey', error: 'insert or update on table "gtest23q" violates foreign key constraint "gtest23q_b_fkey"' });
    expect(c!.condition).toBe('every b becomes 1, which public.gtest23p.y may not hold');
  });
});

const ONE_KEY = (type: string, key = 'PRIMARY KEY (c)'): string => `
CREATE TABLE public.t (id integer NOT NULL, c ${type}, other integer);
ALTER TABLE ONLY public.t ADD CONSTRAINT t_c_key ${key};
`;

describe('which strategies break a one-column key', () => {
  const flagged = (type: string, strategy: string, key?: string): string[] => collisions(ONE_KEY(type, key), { t: { c: strategy } }).map(brief);

  it.each([
    ['integer', 'placeholder'],
    ['numeric(10,2)', 'placeholder'],
    ['boolean', 'placeholder'],
    ['date', 'placeholder'],
    ['timestamp with time zone', 'placeholder'],
    ['bytea', 'placeholder'],
    ['inet', 'placeholder'],
    ['text', 'empty'],
    ['text', '{strategy: constant, value: x}'],
    ['integer', '{strategy: constant, value: 7}'],
    ['text', '{strategy: template, value: fixed}'],
  ])('%s under %s: the same value in every row', (type, strategy) => {
    expect(flagged(type, strategy)).toEqual(['duplicate t_c_key']);
  });

  it('an enum under placeholder: its first label in every row', () => {
    const sql = `CREATE TYPE public.mood AS ENUM ('sad', 'ok');\n${ONE_KEY('public.mood')}`;
    const [c] = collisions(sql, { t: { c: 'placeholder' } });
    expect(c?.causes[0]?.writes).toBe('writes sad in every row');
  });

  it.each([
    ['text', 'placeholder'],
    ['character varying(20)', 'placeholder'],
    ['uuid', 'placeholder'],
    ['text', 'pseudonym'],
    ['text', 'hash'],
    ['text', '{strategy: hash, length: 16}'],
    ['text', '{strategy: template, value: "c-{key}"}'],
    ['integer', 'keep'],
  ])('%s under %s: rows stay apart, nothing flagged', (type, strategy) => {
    expect(flagged(type, strategy)).toEqual([]);
    expect(flagged(type, strategy, 'UNIQUE (c)')).toEqual([]);
  });

  it('a template of another column: rows that share it collide, unless it is a key itself', () => {
    const [c] = collisions(ONE_KEY('text'), { t: { c: '{strategy: template, value: "{col:other}"}' } });
    expect(c?.condition).toBe('rows that share (other) get the same key, and the schema does not say that no two rows do');
    const sql = `${ONE_KEY('text', 'UNIQUE (c)')}ALTER TABLE ONLY public.t ADD CONSTRAINT t_pkey PRIMARY KEY (other);\n`;
    expect(collisions(sql, { t: { c: '{strategy: template, value: "{col:other}"}' } })).toEqual([]);
  });

  it('a unique index, an exclusion constraint, and keys in CREATE TABLE, each with the error its restore gives', () => {
    const index = collisions('CREATE TABLE public.t (c integer);\nCREATE UNIQUE INDEX t_c_idx ON public.t USING btree (c);\n', { t: { c: 'placeholder' } });
    expect(index.map((c) => [c.constraintKind, c.error])).toEqual([['unique index', 'could not create unique index "t_c_idx"']]);
    const exclusion = collisions('CREATE TABLE public.t (c integer);\nALTER TABLE ONLY public.t ADD CONSTRAINT t_c_excl EXCLUDE USING gist (c WITH =);\n', { t: { c: 'placeholder' } });
    expect(exclusion.map((c) => c.error)).toEqual(['could not create exclusion constraint "t_c_excl"']);
    // Unnamed, in CREATE TABLE: PostgreSQL's names, and the error comes with the rows.
    const inline = collisions('CREATE TABLE public.t (c integer PRIMARY KEY, d integer, e integer, UNIQUE (d, e));\n', { t: { c: 'placeholder', d: 'placeholder', e: 'placeholder' } });
    expect(inline.map((c) => [c.constraint, c.error])).toEqual([
      ['t_pkey', 'duplicate key value violates unique constraint "t_pkey"'],
      ['t_d_e_key', 'duplicate key value violates unique constraint "t_d_e_key"'],
    ]);
  });
});

describe('NULL', () => {
  it('in a primary key: the restore refuses the NULLs', () => {
    const sql = 'CREATE TABLE public.t (c integer, d integer);\nALTER TABLE ONLY public.t ADD CONSTRAINT t_pkey PRIMARY KEY (c);\n';
    expect(collisions(sql, { t: { c: 'null' } }).map((c) => [c.kind, c.error])).toEqual([['null', 'column "c" of relation "t" contains null values']]);
    expect(collisions(sql, { t: { c: 'null' } }, { 'public.t': 0 })).toEqual([]);
  });

  it('in a unique key: NULLs are distinct, so it never collides, unless NULLS NOT DISTINCT', () => {
    const sql = (nulls: string): string => `CREATE TABLE public.t (c integer, d integer);\nALTER TABLE ONLY public.t ADD CONSTRAINT t_c_d_key UNIQUE ${nulls}(c, d);\n`;
    expect(collisions(sql(''), { t: { c: 'null' } })).toEqual([]);
    expect(collisions(sql(''), { t: { c: 'null', d: 'placeholder' } })).toEqual([]);
    expect(collisions(sql('NULLS NOT DISTINCT '), { t: { c: 'null', d: 'placeholder' } }).map(brief)).toEqual(['duplicate t_c_d_key']);
  });
});

describe('multi-column keys', () => {
  const sql = `
CREATE TABLE public.t (id integer NOT NULL, tenant integer NOT NULL, email text NOT NULL, kind integer NOT NULL);
ALTER TABLE ONLY public.t ADD CONSTRAINT t_pkey PRIMARY KEY (id);
ALTER TABLE ONLY public.t ADD CONSTRAINT t_tenant_email_key UNIQUE (tenant, email);
ALTER TABLE ONLY public.t ADD CONSTRAINT t_id_kind_key UNIQUE (id, kind);
`;

  it('every column made constant: certain', () => {
    expect(collisions(sql, { t: { tenant: 'placeholder', email: '{strategy: constant, value: x}' } }).map(brief)).toEqual(['duplicate t_tenant_email_key']);
  });

  it('the rest provably differs (it holds the primary key): the masked columns made constant break nothing', () => {
    expect(collisions(sql, { t: { kind: 'placeholder' } })).toEqual([]);
  });

  it('the rest may or may not tell rows apart: a warning that names its condition, not the certain kind', () => {
    const [c, ...more] = collisions(sql, { t: { email: '{strategy: constant, value: x}' } });
    expect(more).toEqual([]);
    expect(brief(c!)).toBe('duplicate t_tenant_email_key (if)');
    expect(formatKeyCollision(c!)).toBe(
      'public.t: unique constraint t_tenant_email_key (tenant, email) may repeat once masked: rows that share (tenant) get the same key, and the schema does not say that no two rows do ' +
        `(tables.t.columns.email: constant writes "x" in every row); if so, restoring the masked dump fails with 'could not create unique index "t_tenant_email_key"'`,
    );
  });

  it('a masked column kept apart (pseudonym) beside a constant: rows that share the pseudonym\'s original collide', () => {
    expect(collisions(sql, { t: { tenant: 'placeholder', email: 'pseudonym' } }).map(brief)).toEqual(['duplicate t_tenant_email_key (if)']);
    expect(collisions(sql, { t: { tenant: 'keep', email: 'pseudonym' } })).toEqual([]);
  });
});

describe('expressions, partitions', () => {
  it('an index on lower(email): repeated when email is, not when its pseudonym keeps rows apart', () => {
    const sql = 'CREATE TABLE public.t (id integer, email text);\nCREATE UNIQUE INDEX t_lower_idx ON public.t USING btree (lower(email));\n';
    expect(collisions(sql, { t: { email: 'empty' } }).map((c) => [c.constraint, c.columns])).toEqual([['t_lower_idx', ['(lower(email))']]]);
    expect(collisions(sql, { t: { email: 'pseudonym' } })).toEqual([]);
    expect(collisions(sql, { t: { email: 'placeholder' } })).toEqual([]);
  });

  it('a generated column over one constant and one kept column: a function of the kept one', () => {
    const sql = 'CREATE TABLE public.t (a integer, b integer, s integer GENERATED ALWAYS AS ((a + b)) STORED);\nALTER TABLE ONLY public.t ADD CONSTRAINT t_s_key UNIQUE (s);\n';
    expect(collisions(sql, { t: { a: 'placeholder' } }).map(brief)).toEqual(['duplicate t_s_key (if)']);
    expect(collisions(sql, { t: { a: 'placeholder', b: 'placeholder' } }).map(brief)).toEqual(['duplicate t_s_key']);
  });

  it('pg_dump\'s partitioned table: the partition\'s key is checked, the parent\'s ONLY key (no rows of its own) is not', () => {
    const sql = `
CREATE TABLE public.p (id integer NOT NULL, c integer NOT NULL) PARTITION BY RANGE (id);
CREATE TABLE public.p1 (id integer NOT NULL, c integer NOT NULL);
ALTER TABLE ONLY public.p ATTACH PARTITION public.p1 FOR VALUES FROM (0) TO (100);
ALTER TABLE ONLY public.p ADD CONSTRAINT p_pkey PRIMARY KEY (c, id);
ALTER TABLE ONLY public.p1 ADD CONSTRAINT p1_pkey PRIMARY KEY (c, id);
ALTER TABLE ONLY public.p ADD CONSTRAINT p_c_key UNIQUE (c);
`;
    expect(collisions(sql, { p: { c: 'placeholder' } }, { 'public.p': null }).map(brief)).toEqual(['duplicate p1_pkey (if)']);
    // A key without ONLY on the parent covers its partitions' rows.
    const inline = 'CREATE TABLE public.p (c integer UNIQUE) PARTITION BY RANGE (c);\nCREATE TABLE public.p1 PARTITION OF public.p FOR VALUES FROM (0) TO (100);\n';
    expect(collisions(inline, { p: { c: 'placeholder' } }, { 'public.p': null, 'public.p1': 5 }).map((c) => [c.constraint, c.rows])).toEqual([['p_c_key', 5]]);
  });
});

describe('foreign keys', () => {
  const sql = (on: string): string => `
CREATE TABLE public.customer (id integer NOT NULL, email text NOT NULL);
CREATE TABLE public.orders (id integer NOT NULL, email text, customer integer);
ALTER TABLE ONLY public.customer ADD CONSTRAINT customer_pkey PRIMARY KEY (id);
ALTER TABLE ONLY public.customer ADD CONSTRAINT customer_email_key UNIQUE (email);
ALTER TABLE ONLY public.orders ADD CONSTRAINT orders_fkey FOREIGN KEY (${on}) REFERENCES public.customer(${on === 'customer' ? 'id' : 'email'});
`;

  it('both sides under one function (pseudonym or hash in one domain), or the referencing side NULL: still matching', () => {
    expect(collisions(sql('email'), { customer: { email: 'pseudonym' }, orders: { email: 'pseudonym' } })).toEqual([]);
    expect(collisions(sql('email'), { customer: { email: 'hash' }, orders: { email: 'hash' } })).toEqual([]);
    expect(collisions(sql('email'), { orders: { email: 'null' } })).toEqual([]);
    expect(collisions(sql('customer'), { orders: { customer: 'null' } })).toEqual([]);
  });

  it('one side masked, or the two by different functions: certain', () => {
    const broken = (rules: Record<string, Record<string, string>>): string[] => collisions(sql('email'), rules).map(brief);
    expect(broken({ customer: { email: 'pseudonym' } })).toEqual(['reference orders_fkey']);
    expect(broken({ orders: { email: 'hash' } })).toEqual(['reference orders_fkey']);
    expect(broken({ customer: { email: 'placeholder' }, orders: { email: 'placeholder' } })).toEqual(['reference orders_fkey']);
    expect(broken({ customer: { email: 'pseudonym' }, orders: { email: '{strategy: pseudonym, domain: other}' } })).toEqual(['reference orders_fkey']);
    const [c] = collisions(sql('email'), { customer: { email: 'pseudonym' } });
    expect(formatKeyCollision(c!)).toContain('(email keeps its values, public.customer.email becomes a pseudonym; tables.customer.columns.email: pseudonym writes a value made from the original alone)');
  });

  it('no rows referencing: nothing to break', () => {
    expect(collisions(sql('email'), { customer: { email: 'pseudonym' } }, { 'public.orders': 0 })).toEqual([]);
  });
});
