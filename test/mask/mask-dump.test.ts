import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeCopyField } from '../../src/copy/text-field.js';
import { chunksOf, errorOf, goldenCase, maskInMemory, MemoryVault, unmaskInMemory } from './run-in-memory.js';

const { INPUT, EXPECTED, RULES } = goldenCase('types');

describe('masking a plain dump (golden: every placeholder type and strategy)', () => {
  it('counts rows and reports the rule tables', async () => {
    const { summary } = await maskInMemory([INPUT], RULES);
    expect(summary.tables.map((t) => [t.table, t.rows, t.changedRows, t.ruleTable !== undefined])).toEqual([
      ['public.person', 3, 3, true],
      ['"Sales Dept"."Client List"', 2, 2, true],
      ['public.pair', 3, 3, true],
      ['public.untouched', 1, 0, false],
    ]);
    expect(summary.notExisting).toEqual([]);
  });

  it('keeps the key columns and the masked originals in the vault', async () => {
    const { vault } = await maskInMemory([INPUT], RULES);
    const pairRows = vault.records.filter((r) => r.type === 'row' && r.tableIndex === 2);
    expect(pairRows.map((r) => (r.type === 'row' ? r.fields.map(String) : []))).toEqual([
      ['1', 'x', 'first'],
      ['1', 'y', 'second'],
      ['2', 'x', 'third'],
    ]);
  });

  it('gives output identical to the input when the rules mask nothing', async () => {
    for (const rules of ['tables: {}', 'tables:\n  person:\n    columns:\n      name: keep\n']) {
      const { output } = await maskInMemory(chunksOf(INPUT, [7, 1, 300]), rules);
      expect(output.equals(INPUT)).toBe(true);
    }
  });

  it('reports rules that match nothing, and warns about unknown columns', async () => {
    const warnings: string[] = [];
    const { summary } = await maskInMemory([INPUT], 'tables:\n  person:\n    columns:\n      nmae: placeholder\n  nowhere:\n    columns:\n      x: null\n', undefined, warnings);
    expect(warnings).toContain('tables.person.columns.nmae: no such column in the dump');
    expect(summary.notExisting).toEqual(['tables.nowhere: no such table in the dump', 'tables.person.columns.nmae: no such column in the dump']);
  });

  it('warns when a table has neither key nor id and is keyed by position', async () => {
    const warnings: string[] = [];
    const { output } = await maskInMemory([INPUT], 'tables:\n  untouched:\n    columns:\n      secret: placeholder\n', undefined, warnings);
    expect(warnings).toEqual([]);
    expect(output.toString()).toContain('1\txxx1\n');
    const w2: string[] = [];
    const { summary } = await maskInMemory([INPUT], 'tables:\n  pair:\n    columns:\n      b: placeholder\n', undefined, w2);
    expect(w2.join()).toMatch(/tables.pair: no key and no id column/);
    expect(summary.tables.find((t) => t.table === 'public.pair')?.keyedByPosition).toBe(true);
  });
});

describe('refusing what cannot be masked safely', () => {
  it("refuses 'null' on a NOT NULL column (a NOT NULL domain too) before any data", async () => {
    const e = await errorOf(() => maskInMemory([INPUT], 'tables:\n  person:\n    columns:\n      mail: null\n'));
    expect(e.code).toBe('RULES_SCHEMA');
    expect(e.message).toContain('tables.person.columns.mail');
    const e2 = await errorOf(() => maskInMemory([INPUT], 'tables:\n  person:\n    columns:\n      id: null\n'));
    expect(e2.code).toBe('RULES_SCHEMA');
  });

  it('refuses a placeholder for a type it cannot mask, naming the column', async () => {
    const dump = Buffer.from('CREATE TABLE public.doc (id integer, body tsvector);\nCOPY public.doc (id, body) FROM stdin;\n1\t\'a\'\n\\.\n');
    const e = await errorOf(() => maskInMemory([dump], 'tables:\n  doc:\n    columns:\n      body: placeholder\n'));
    expect(e.code).toBe('TYPE_UNSUPPORTED');
    expect(e.message).toContain('tables.doc.columns.body');
    const ok = await maskInMemory([dump], 'tables:\n  doc:\n    columns:\n      body: null\n');
    expect(ok.output.toString()).toContain('1\t\\N\n');
  });

  it('refuses to mask the row key, explicit or the default id column', async () => {
    const e = await errorOf(() => maskInMemory([INPUT], 'tables:\n  person:\n    columns:\n      id: placeholder\n'));
    expect(e.code).toBe('RULES_SCHEMA');
    expect(e.message).toContain('tables.person.columns.id');
    const e2 = await errorOf(() => maskInMemory([INPUT], 'tables:\n  person:\n    key: name\n    columns:\n      name: placeholder\n'));
    expect(e2.code).toBe('RULES_INVALID');
  });

  it('checks constants against the column type', async () => {
    const e = await errorOf(() => maskInMemory([INPUT], 'tables:\n  person:\n    columns:\n      age: {strategy: constant, value: "old"}\n'));
    expect(e.code).toBe('RULES_SCHEMA');
    expect(e.message).toMatch(/not an integer/);
    const e2 = await errorOf(() => maskInMemory([INPUT], 'tables:\n  person:\n    columns:\n      code: {strategy: constant, value: "toolong"}\n'));
    expect(e2.message).toMatch(/longer than/);
  });

  it('refuses a COPY row with the wrong number of fields, with table, line and byte offset', async () => {
    const bad = Buffer.from(INPUT.toString().replace('42\tboss@example.com\tnorth', '42\tboss@example.com'));
    const e = await errorOf(() => maskInMemory([bad], RULES));
    expect(e.code).toBe('COPY_FIELD_COUNT');
    expect(e.position.table).toBe('"Sales Dept"."Client List"');
    expect(e.position.line).toBe(bad.toString().split('\n').indexOf('42\tboss@example.com') + 1);
    expect(e.position.offset).toBe(bad.indexOf('42\tboss@example.com'));
    expect(e.message).toMatch(/expected 3 fields, got 2/);
    const tooMany = Buffer.from(INPUT.toString().replace('1\tx\tfirst', '1\tx\tfirst\textra'));
    expect((await errorOf(() => maskInMemory([tooMany], RULES))).message).toMatch(/expected 3 fields, got 4/);
  });

  it('refuses a COPY cut off before its \\. line, naming the table', async () => {
    const cut = INPUT.subarray(0, INPUT.indexOf('43\t\\N'));
    const e = await errorOf(() => maskInMemory([cut], RULES));
    expect(e.code).toBe('COPY_UNTERMINATED');
    expect(e.position.table).toBe('"Sales Dept"."Client List"');
    expect(e.position.line).toBe(INPUT.toString().split('\n').findIndex((l) => l.startsWith('COPY "Sales Dept"')) + 1);
  });

  it('refuses COPY data for a ruled table whose CREATE TABLE the dump lacks', async () => {
    const dump = Buffer.from('COPY public.ghost (id, name) FROM stdin;\n1\tx\n\\.\n');
    const e = await errorOf(() => maskInMemory([dump], 'tables:\n  ghost:\n    columns:\n      name: placeholder\n'));
    expect(e.code).toBe('TABLE_UNKNOWN');
    expect(e.position).toMatchObject({ table: 'public.ghost', line: 1, offset: 0 });
  });

  it('refuses an INSERT of a ruled table it cannot read (INSERT ... SELECT)', async () => {
    const dump = Buffer.from('CREATE TABLE public."Client" (id integer, name text);\nINSERT INTO public."Client" SELECT 1, \'Alice\';\n');
    const e = await errorOf(() => maskInMemory([dump], 'tables:\n  Client:\n    columns:\n      name: placeholder\n'));
    expect(e.code).toBe('COPY_UNSUPPORTED');
    expect(e.position).toMatchObject({ line: 2 });
  });

  it('warns when a pg_dump dump lacks its closing line', async () => {
    const cut = INPUT.subarray(0, INPUT.indexOf('\\unrestrict'));
    const { summary } = await maskInMemory([cut], RULES);
    expect(summary.warnings.join()).toMatch(/may be truncated/);
  });
});

describe('older pg_dump styles', () => {
  it('resolves unqualified names through SET search_path (pg_dump 9.6 and earlier)', async () => {
    const dump = Buffer.from(
      [
        'SET search_path = sales, pg_catalog;',
        "CREATE TYPE mood AS ENUM ('ok', 'bad');",
        'CREATE TABLE client (id integer NOT NULL, name text, m mood);',
        'COPY client (id, name, m) FROM stdin;',
        '5\tAlice\tbad',
        '\\.',
        '',
      ].join('\n'),
    );
    const { output } = await maskInMemory([dump], 'tables:\n  sales.client:\n    columns:\n      name: placeholder\n      m: placeholder\n');
    expect(output.toString()).toContain('5\txxx5\tok\n');
  });

  it('takes the columns of a PARTITION OF table from its parent (pg_dump 10 style)', async () => {
    const dump = Buffer.from(
      [
        'CREATE TABLE public.ev (id integer, who text, at date) PARTITION BY RANGE (at);',
        "CREATE TABLE other.ev_2020 PARTITION OF public.ev FOR VALUES FROM ('2020-01-01') TO ('2021-01-01');",
        'COPY other.ev_2020 (id, who, at) FROM stdin;',
        '1\tBob\t2020-05-05',
        '\\.',
        '',
      ].join('\n'),
    );
    const { output, summary } = await maskInMemory([dump], 'tables:\n  ev:\n    columns:\n      who: placeholder\n      at: placeholder\n');
    expect(output.toString()).toContain('1\txxx1\t2011-11-11\n');
    expect(summary.tables[0]?.ruleTable).toBe('public.ev');
  });
});

describe('unmask refuses a dump that does not match the vault', () => {
  it('refuses an edited masked field', async () => {
    const { vault } = await maskInMemory([INPUT], RULES);
    const edited = Buffer.from(EXPECTED.toString().replace('42\txxx42\tsomewhere', '42\txxx42\telsewhere'));
    const e = await errorOf(() => unmaskInMemory([edited], RULES, vault));
    expect(e.code).toBe('VAULT_MISMATCH');
    expect(e.position.table).toBe('"Sales Dept"."Client List"');
  });

  it('refuses an added or a removed row', async () => {
    const { vault } = await maskInMemory([INPUT], RULES);
    const added = Buffer.from(EXPECTED.toString().replace('2\tx\t\\N\n', '2\tx\t\\N\n3\tz\t\\N\n'));
    expect((await errorOf(() => unmaskInMemory([added], RULES, vault))).code).toBe('VAULT_MISMATCH');
    const removed = Buffer.from(EXPECTED.toString().replace('2\tx\t\\N\n', ''));
    expect((await errorOf(() => unmaskInMemory([removed], RULES, vault))).code).toBe('VAULT_MISMATCH');
  });

  it('refuses a changed key', async () => {
    const { vault } = await maskInMemory([INPUT], RULES);
    const rekeyed = Buffer.from(EXPECTED.toString().replace('43\t\\N\tsomewhere', '44\t\\N\tsomewhere'));
    expect((await errorOf(() => unmaskInMemory([rekeyed], RULES, vault))).code).toBe('VAULT_MISMATCH');
  });
});

describe('unmask names the real cause of a mismatch (issue 18, item 11)', () => {
  const NOT_THIS_DUMP = 'the input is not the masked dump this vault was made for';
  const inserts = goldenCase('inserts');
  const lines = EXPECTED.toString().split('\n');
  /** The masked dump without lines [from, to) (1-based, as the positions count). */
  const without = (from: number, to: number): Buffer => Buffer.from([...lines.slice(0, from - 1), ...lines.slice(to - 1)].join('\n'));

  it('the vault of another dump: said so at the first masked table, with its real position', async () => {
    const { vault } = await maskInMemory([inserts.INPUT], inserts.RULES);
    const e = await errorOf(() => unmaskInMemory([EXPECTED], inserts.RULES, vault));
    expect(e.code).toBe('VAULT_MISMATCH');
    expect(e.message).toContain(NOT_THIS_DUMP);
    expect(e.message).toContain('the input declares public.person otherwise than the dump the vault was made for (rows: vault sql-literal, input copy-text');
    // Not "byte 0": the COPY statement's own line and byte.
    expect(e.position).toMatchObject({ table: 'public.person', line: 75, offset: EXPECTED.indexOf('COPY public.person') });
  });

  it('an input that has none of the vault\'s tables, or nothing at all', async () => {
    const { vault } = await maskInMemory([INPUT], RULES);
    const none = await errorOf(() => unmaskInMemory([Buffer.from('SET x = 1;\nCREATE TABLE t (a int);\n')], RULES, vault));
    expect(none.message).toBe(`VAULT_MISMATCH: the input has none of the tables the vault holds originals of (the first: public.person): ${NOT_THIS_DUMP}`);
    const empty = await errorOf(() => unmaskInMemory([], RULES, vault));
    expect(empty.message).toContain('the input is empty (did the command before the pipe fail?)');
  });

  it('a first table other than the vault\'s', async () => {
    const { vault } = await maskInMemory([INPUT], RULES);
    const e = await errorOf(() => unmaskInMemory([without(75, 81)], RULES, vault));
    expect(e.message).toContain(`${NOT_THIS_DUMP}: its first masked table is "Sales Dept"."Client List", the vault's is public.person`);
  });

  it('a table left out later, a table cut, and rows left out or added: each says which', async () => {
    const { vault } = await maskInMemory([INPUT], RULES);
    const skipped = await errorOf(() => unmaskInMemory([without(81, 86)], RULES, vault));
    expect(skipped.message).toContain('the vault\'s next table is "Sales Dept"."Client List", the masked dump\'s is public.pair: tables were added, removed or reordered');
    const cut = await errorOf(() => unmaskInMemory([Buffer.from(lines.slice(0, 80).join('\n') + '\n')], RULES, vault));
    expect(cut.message).toContain('the vault holds originals of "Sales Dept"."Client List", which the masked dump does not have after public.person: the dump was cut or edited');
    const fewer = await errorOf(() => unmaskInMemory([without(78, 79)], RULES, vault));
    expect(fewer.message).toContain('the vault holds more rows of public.person than the masked dump');
    const more = await errorOf(() => unmaskInMemory([Buffer.from(EXPECTED.toString().replace('2\tx\t\\N\n', '2\tx\t\\N\n3\tz\t\\N\n'))], RULES, vault));
    expect(more.message).toContain('the vault has no original for row 4: the vault holds 3 row(s) of this table, the masked dump more');
  });
});

describe('property: any field values survive mask then unmask', () => {
  const value = fc.option(
    fc.oneof(
      fc.string({ unit: 'grapheme', maxLength: 30 }),
      fc.string({ unit: 'binary', maxLength: 30 }),
      fc.stringMatching(/^[\t\n\r\\N .é🎉x]{0,12}$/),
    ),
    { nil: null, freq: 5 },
  );
  const row = fc.tuple(value, value, value);

  it('round-trips random rows over random chunkings', async () => {
    const rules = 'tables:\n  t:\n    columns:\n      a: placeholder\n      b: {strategy: constant, value: "c"}\n';
    await fc.assert(
      fc.asyncProperty(fc.array(row, { maxLength: 20 }), fc.array(fc.integer({ min: 1, max: 40 }), { maxLength: 6 }), async (rows, sizes) => {
        const data = rows.map((r, i) => [String(i + 1), ...r.map((v) => encodeCopyField(v).toString('utf8'))].join('\t')).join('\n');
        const dump = Buffer.from(`CREATE TABLE public.t (id integer, a text, b text, c text);\nCOPY public.t (id, a, b, c) FROM stdin;\n${data}${rows.length > 0 ? '\n' : ''}\\.\n`);
        const vault = new MemoryVault();
        const { output } = await maskInMemory(chunksOf(dump, sizes), rules, vault);
        const lines = output.toString().split('\n').slice(2, 2 + rows.length);
        lines.forEach((line, i) => {
          const f = line.split('\t');
          expect(f[1]).toBe(rows[i]![0] === null ? '\\N' : `xxx${i + 1}`);
          expect(f[2]).toBe(rows[i]![1] === null ? '\\N' : 'c');
          expect(f[3]).toBe(encodeCopyField(rows[i]![2]!).toString('utf8'));
        });
        const back = await unmaskInMemory(chunksOf(output, [...sizes].reverse()), rules, vault);
        expect(back.equals(dump)).toBe(true);
      }),
      { numRuns: 150 },
    );
  });
});
