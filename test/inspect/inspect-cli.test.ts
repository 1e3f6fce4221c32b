// pgcloak inspect (listing, --json, --rules states, what is new since the rules, --suggest)
// and mask --require-coverage, through the CLI, on small hand-made dumps.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EXIT_CODES } from '../../src/errors.js';
import { parseRules } from '../../src/rules/rules-file.js';
import { runPgcloak, runPgcloakOk } from '../integration/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'pgcloak-inspect-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const key = join(dir, 'k');
runPgcloakOk(['keygen', '--output', key, '--quiet']);

function dump(extraColumn: boolean): string {
  const customerColumns = ['id', 'name', 'email', 'phone', 'notes', 'created', ...(extraColumn ? ['mobile'] : [])];
  const row = (cells: string[]): string => cells.join('\t');
  return [
    '--',
    '-- PostgreSQL database dump',
    '--',
    "SET standard_conforming_strings = on;",
    "SELECT pg_catalog.set_config('search_path', '', false);",
    '',
    `CREATE TABLE public.customer (\n    id integer NOT NULL,\n    name text NOT NULL,\n    email text,\n    phone text,\n    notes text,\n    created date${extraColumn ? ',\n    mobile text' : ''}\n);`,
    '',
    'CREATE TABLE public.orders (\n    id integer NOT NULL,\n    customer_id integer,\n    amount numeric(10,2),\n    ship_address text\n);',
    '',
    ...(extraColumn ? ['CREATE TABLE public.loyalty (\n    id integer NOT NULL,\n    points integer\n);', ''] : []),
    `COPY public.customer (${customerColumns.join(', ')}) FROM stdin;`,
    row(['1', 'Alice Martin', 'alice@example.org', '+33 1 23 45 67 89', 'met at the fair', '2020-01-02', ...(extraColumn ? ['06 12 34 56 78'] : [])]),
    row(['2', 'Bob Dupont', 'bob@example.net', '030-1234567', 'write to bob.d@example.com', '2021-03-04', ...(extraColumn ? ['\\N'] : [])]),
    '\\.',
    '',
    'COPY public.orders (id, customer_id, amount, ship_address) FROM stdin;',
    row(['10', '1', '12.50', '1 rue de la Paix']),
    '\\.',
    '',
    ...(extraColumn ? ['COPY public.loyalty (id, points) FROM stdin;', row(['1', '100']), '\\.', ''] : []),
    'ALTER TABLE ONLY public.customer ADD CONSTRAINT customer_pkey PRIMARY KEY (id);',
    'ALTER TABLE ONLY public.orders ADD CONSTRAINT orders_customer_id_fkey FOREIGN KEY (customer_id) REFERENCES public.customer(id);',
    '',
    '--',
    '-- PostgreSQL database dump complete',
    '--',
    '',
  ].join('\n');
}

const v1 = join(dir, 'v1.sql');
const v2 = join(dir, 'v2.sql');
writeFileSync(v1, dump(false));
writeFileSync(v2, dump(true));

interface Col {
  name: string;
  type: string;
  state?: string;
  strategy?: string;
  personal: { source: string; category: string; why: string }[];
}
interface Report {
  tables: { table: string; rows: number; bytes: number; columns: Col[] }[];
  rules?: { notExisting: string[]; newSinceRules: { basis: string; tables: string[]; columns: { table: string; column: string }[] } };
}

function inspectJson(args: string[]): Report {
  return JSON.parse(runPgcloakOk(['inspect', '--json', ...args]).stdout.toString('utf8')) as Report;
}

function writeRules(name: string, text: string): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

describe('pgcloak inspect', () => {
  it('lists tables, columns, types, rows and sizes, and what looks personal', () => {
    const report = inspectJson([v1]);
    const customer = report.tables.find((t) => t.table === 'public.customer')!;
    expect(customer.rows).toBe(2);
    expect(customer.bytes).toBe(dump(false).split('\n').filter((l) => /^[12]\t/.test(l)).reduce((n, l) => n + l.length + 1, 0));
    expect(customer.columns.map((c) => [c.name, c.type])).toEqual([
      ['id', 'int4'],
      ['name', 'text'],
      ['email', 'text'],
      ['phone', 'text'],
      ['notes', 'text'],
      ['created', 'date'],
    ]);
    const personal = Object.fromEntries(customer.columns.map((c) => [c.name, c.personal.map((f) => `${f.source}:${f.category}`)]));
    expect(personal).toEqual({
      id: [],
      name: ['name:name'],
      email: ['name:e-mail', 'content:e-mail'],
      phone: ['name:phone', 'content:phone'],
      notes: ['name:notes', 'content:e-mail'],
      created: [],
    });
    const orders = report.tables.find((t) => t.table === 'public.orders')!;
    expect(orders.columns.filter((c) => c.personal.length > 0).map((c) => c.name)).toEqual(['ship_address']);
  });

  it('prints a listing that names every table and never a value', () => {
    const r = runPgcloakOk(['inspect', '--input', v1]);
    const text = r.stdout.toString('utf8');
    expect(text).toMatch(/^public\.customer: 2 rows, /m);
    expect(text).toMatch(/^ {2}email +text +personal\? e-mail: /m);
    expect(text).not.toContain('alice@example.org');
    expect(text).not.toContain('bob.d@');
  });

  it('reads stdin', () => {
    const r = runPgcloakOk(['inspect', '--json'], { input: v1 });
    expect((JSON.parse(r.stdout.toString('utf8')) as Report).tables).toHaveLength(2);
  });

  it('gives each column its state under a rules file, and the rules that match nothing', () => {
    const rules = writeRules(
      'states.yaml',
      'tables:\n  customer:\n    columns:\n      name: placeholder\n      email: {strategy: constant, value: "x@y"}\n      notes: keep\n      nickname: placeholder\n  ghost:\n    columns:\n      a: placeholder\n',
    );
    const report = inspectJson([v1, '--rules', rules]);
    const customer = report.tables.find((t) => t.table === 'public.customer')!;
    expect(Object.fromEntries(customer.columns.map((c) => [c.name, c.state === 'masked' ? `masked: ${c.strategy}` : c.state]))).toEqual({
      id: 'not ruled',
      name: 'masked: placeholder',
      email: 'masked: constant',
      phone: 'not ruled',
      notes: 'kept',
      created: 'not ruled',
    });
    expect(report.rules!.notExisting).toEqual(['tables.customer.columns.nickname: no such column in the dump', 'tables.ghost: no such table in the dump']);
  });

  it('without a schema snapshot, lists what the rules do not mention', () => {
    const rules = writeRules('hand.yaml', 'tables:\n  customer:\n    columns:\n      name: placeholder\n      email: placeholder\n      phone: placeholder\n      notes: keep\n      created: keep\n');
    expect(inspectJson([v1, '--rules', rules]).rules!.newSinceRules).toEqual({ basis: 'unmentioned', tables: ['public.orders'], columns: [] });
    expect(inspectJson([v2, '--rules', rules]).rules!.newSinceRules).toEqual({
      basis: 'unmentioned',
      tables: ['public.orders', 'public.loyalty'],
      columns: [{ table: 'public.customer', column: 'mobile' }],
    });
    const text = runPgcloakOk(['inspect', v2, '--rules', rules]).stdout.toString('utf8');
    expect(text).toContain('  column public.customer.mobile');
  });

  it('--suggest writes a draft that loads, with reasons, keys and a schema snapshot; inspect --rules then lists only what is new', () => {
    const draftFile = join(dir, 'draft.yaml');
    const r = runPgcloakOk(['inspect', v1, '--suggest', draftFile]);
    expect(r.stderr).toMatch(/draft rules for 5 column\(s\) of 2 table\(s\)/);
    const draft = readFileSync(draftFile, 'utf8');
    const rules = parseRules(draft);
    expect([...rules.tables.get('public.customer')!.columns.keys()]).toEqual(['name', 'email', 'phone', 'notes']);
    expect(rules.tables.get('public.customer')!.keyColumns).toBeUndefined(); // the id column is the default key
    expect([...rules.tables.get('public.orders')!.columns.keys()]).toEqual(['ship_address']);
    expect(draft).toMatch(/^ {6}notes: +placeholder +# name "notes"; content: 1 of 2 sampled value\(s\) contain an e-mail address$/m);
    expect(draft).toContain('# pgcloak-schema: {"public.customer":["id","name","email","phone","notes","created"]}');
    expect(draft).not.toContain('alice');

    expect(inspectJson([v1, '--rules', draftFile]).rules!.newSinceRules).toEqual({ basis: 'snapshot', tables: [], columns: [] });
    expect(inspectJson([v2, '--rules', draftFile]).rules!.newSinceRules).toEqual({
      basis: 'snapshot',
      tables: ['public.loyalty'],
      columns: [{ table: 'public.customer', column: 'mobile' }],
    });
    const text = runPgcloakOk(['inspect', v2, '--rules', draftFile]).stdout.toString('utf8');
    expect(text).toMatch(/new since the rules were written \(not in their pgcloak-schema snapshot\):\n {2}column public\.customer\.mobile\n {2}table public\.loyalty/);

    // Never overwritten.
    const again = runPgcloak(['inspect', v1, '--suggest', draftFile]);
    expect(again.status).toBe(EXIT_CODES.IO);
    expect(readFileSync(draftFile, 'utf8')).toBe(draft);

    // The draft satisfies the coverage guard and masks.
    runPgcloakOk(['mask', '--rules', draftFile, '--vault', join(dir, 'draft.vault'), '--key-file', key, '--input', v1, '--output', join(dir, 'draft.sql'), '--require-coverage', '-q']);
  });

  it('--suggest leaves key, foreign key and unique columns that a placeholder would break for a person to decide', () => {
    const file = writeRules('fk.sql', [
      'CREATE TABLE public.member (email text NOT NULL, name text, birth_date date, phone bigint NOT NULL, search tsvector);',
      'CREATE UNIQUE INDEX member_birth ON public.member USING btree (birth_date);',
      'ALTER TABLE ONLY public.member ADD CONSTRAINT member_phone_key UNIQUE (phone);',
      'CREATE TABLE public.visit (member_email text, note text);',
      'ALTER TABLE ONLY public.member ADD CONSTRAINT member_pkey PRIMARY KEY (email);',
      'ALTER TABLE ONLY public.visit ADD CONSTRAINT visit_fkey FOREIGN KEY (member_email) REFERENCES public.member(email);',
      '',
    ].join('\n'));
    const draftFile = join(dir, 'fk.yaml');
    runPgcloakOk(['inspect', file, '--suggest', draftFile, '-q']);
    const draft = readFileSync(draftFile, 'utf8');
    expect(draft).toMatch(/^ {4}key: \[email\]/m);
    expect(draft).toMatch(/^ {6}# email: placeholder +# .*NOT RULED: it is the row key/m);
    expect(draft).toMatch(/^ {6}# member_email: placeholder +# .*NOT RULED: part of a foreign key/m);
    expect(draft).toMatch(/^ {6}name: +placeholder/m);
    expect(draft).toMatch(/^ {6}birth_date: +null +# name "birth_date"$/m); // unique: one date for every row would break it
    expect(draft).toMatch(/^ {6}# phone: placeholder +# .*NOT RULED: in a unique constraint, and its placeholder \(type int8\) is the same for every row/m);
    expect(draft).toMatch(/^ {6}note: +placeholder/m);
  });
});

describe('pgcloak mask --require-coverage', () => {
  const onlyEmail = writeRules('only-email.yaml', 'tables:\n  customer:\n    columns:\n      email: placeholder\n');

  it('fails before writing anything when a personal-looking column is neither masked nor kept', () => {
    const out = join(dir, 'uncovered.sql');
    const vault = join(dir, 'uncovered.vault');
    const r = runPgcloak(['mask', '--rules', onlyEmail, '--vault', vault, '--key-file', key, '--input', v1, '--output', out, '--require-coverage']);
    expect(r.status).toBe(EXIT_CODES.RULES_COVERAGE);
    expect(r.stderr).toContain('RULES_COVERAGE: --require-coverage: 4 column(s) look personal');
    for (const c of ['public.customer.name', 'public.customer.phone', 'public.customer.notes', 'public.orders.ship_address']) expect(r.stderr).toContain(c);
    expect(existsSync(out)).toBe(false);
    expect(existsSync(vault)).toBe(false);
  });

  it('on stdout, stops before any row is written', () => {
    const r = runPgcloak(['mask', '--rules', onlyEmail, '--vault', join(dir, 'stdout.vault'), '--key-file', key, '--require-coverage'], { input: v1 });
    expect(r.status).toBe(EXIT_CODES.RULES_COVERAGE);
    const out = r.stdout.toString('utf8');
    expect(out).not.toContain('Alice');
    expect(out).not.toContain('COPY public.customer');
  });

  it('passes when every flagged column is masked or keep, and without the flag', () => {
    const covered = writeRules(
      'covered.yaml',
      'tables:\n  customer:\n    columns:\n      name: placeholder\n      email: placeholder\n      phone: "null"\n      notes: keep\n  orders:\n    columns:\n      ship_address: keep\n',
    );
    const out = join(dir, 'covered.sql');
    runPgcloakOk(['mask', '--rules', covered, '--vault', join(dir, 'covered.vault'), '--key-file', key, '--input', v1, '--output', out, '--require-coverage', '-q']);
    expect(readFileSync(out, 'utf8')).toContain('xxx1');
    runPgcloakOk(['mask', '--rules', onlyEmail, '--vault', join(dir, 'noflag.vault'), '--key-file', key, '--input', v1, '--output', join(dir, 'noflag.sql'), '-q']);
  });
});
