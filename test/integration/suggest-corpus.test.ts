// inspect --suggest on real dumps nobody on this project wrote (fixtures/corpus): every
// personal column (names, e-mails, addresses, phones, ...) is suggested, nothing that is
// catalogue data is, and the draft masks (with --require-coverage) and restores into
// PostgreSQL with ON_ERROR_STOP.

import { mkdtempSync, rmSync } from 'node:fs';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { parseRules } from '../../src/rules/rules-file.js';
import { runPgcloakOk } from './cli.js';
import { describeWithCorpus, redumpFile } from './corpus-files.js';
import { createDatabase, dropDatabase, psqlFile, queryValue, uniqueDatabaseName } from './pg.js';

interface SuggestCase {
  name: string;
  dump: string;
  /** Every column the draft must give a strategy: table → columns, in table order. */
  expected: Record<string, string[]>;
  /** Columns that must not be suggested. */
  notSuggested: string[];
  /** A masked table whose row count is checked after the restore. */
  countTable: string;
}

const CASES: SuggestCase[] = [
  {
    name: 'pagila',
    dump: redumpFile('pagila', 'plain'),
    expected: {
      'public.customer': ['first_name', 'last_name', 'email'],
      'public.actor': ['first_name', 'last_name'],
      'public.address': ['address', 'address2', 'district', 'postal_code', 'phone'],
      'public.staff': ['first_name', 'last_name', 'email', 'username', 'password', 'picture'],
    },
    notSuggested: ['public.film.title', 'public.film.description', 'public.category.name', 'public.language.name', 'public.city.city', 'public.country.country'],
    countTable: 'public.customer',
  },
  {
    name: 'chinook',
    dump: redumpFile('chinook', 'plain'),
    expected: {
      'public.customer': ['first_name', 'last_name', 'company', 'address', 'city', 'state', 'postal_code', 'phone', 'fax', 'email'],
      'public.employee': ['last_name', 'first_name', 'birth_date', 'address', 'city', 'state', 'postal_code', 'phone', 'fax', 'email'],
      'public.invoice': ['billing_address', 'billing_city', 'billing_state', 'billing_postal_code'],
    },
    notSuggested: ['public.artist.name', 'public.track.name', 'public.employee.title', 'public.customer.country', 'public.invoice.total'],
    countTable: 'public.invoice',
  },
  {
    name: 'northwind',
    dump: redumpFile('northwind', 'plain'),
    expected: {
      'public.customers': ['company_name', 'contact_name', 'address', 'city', 'region', 'postal_code', 'phone', 'fax'],
      'public.employees': ['last_name', 'first_name', 'birth_date', 'address', 'city', 'region', 'postal_code', 'home_phone', 'photo', 'notes', 'photo_path'],
      'public.orders': ['ship_name', 'ship_address', 'ship_city', 'ship_region', 'ship_postal_code'],
      'public.shippers': ['company_name', 'phone'],
      'public.suppliers': ['company_name', 'contact_name', 'address', 'city', 'region', 'postal_code', 'phone', 'fax'],
    },
    notSuggested: ['public.products.product_name', 'public.categories.picture', 'public.us_states.state_name', 'public.region.region_description'],
    countTable: 'public.orders',
  },
];

describeWithCorpus.each(CASES)('inspect --suggest on $name', (c) => {
  const dumpFile = c.dump;
  let tmp = '';
  let draftFile = '';
  let db = '';

  beforeAll(() => {
    tmp = mkdtempSync(path.join(os.tmpdir(), `pgcloak-suggest-${c.name}-`));
    draftFile = path.join(tmp, 'draft.yaml');
    runPgcloakOk(['inspect', dumpFile, '--suggest', draftFile, '-q']);
  });

  afterAll(() => {
    if (db !== '') dropDatabase(db);
    if (tmp !== '') rmSync(tmp, { recursive: true, force: true });
  });

  it('suggests every personal column, each with a reason, and no catalogue column', () => {
    const draft = readFileSync(draftFile, 'utf8');
    const rules = parseRules(draft);
    const suggested = Object.fromEntries([...rules.tables].map(([t, r]) => [t, [...r.columns.keys()]]));
    expect(suggested).toEqual(c.expected);
    for (const [t, r] of rules.tables) {
      for (const col of r.columns.values()) expect(col.strategy.name, `${t}.${col.column}`).toBe('placeholder');
    }
    // One line per suggested column, each with its reason.
    const placeholderLines = draft.split('\n').filter((l) => /^ {6}\S+: placeholder/.test(l));
    expect(placeholderLines).toHaveLength(Object.values(c.expected).flat().length);
    for (const line of placeholderLines) expect(line).toMatch(/ # name "|content: /);
    for (const n of c.notSuggested) {
      const [schema, table, column] = n.split('.');
      expect(rules.tables.get(`${schema}.${table}`)?.columns.has(column!) ?? false, n).toBe(false);
    }
    expect(draft).not.toMatch(/^ {6}# /m); // nothing left undecided
  });

  it('masks with --require-coverage and restores with ON_ERROR_STOP', () => {
    const masked = path.join(tmp, 'masked.sql');
    runPgcloakOk(['keygen', '--output', path.join(tmp, 'k'), '-q']);
    runPgcloakOk(['mask', '--rules', draftFile, '--vault', path.join(tmp, 'v'), '--key-file', path.join(tmp, 'k'), '--input', dumpFile, '--output', masked, '--require-coverage', '-q']);
    db = uniqueDatabaseName(`suggest_${c.name}`);
    createDatabase(db);
    psqlFile(db, masked);
    const rows = readFileSync(dumpFile, 'utf8').split(`COPY ${c.countTable} (`)[1]!.split('\n\\.\n')[0]!.split('\n').length - 1;
    expect(Number(queryValue(db, `SELECT count(*) FROM ${c.countTable}`))).toBe(rows);
    const [table, columns] = Object.entries(c.expected)[0]!;
    expect(Number(queryValue(db, `SELECT count(*) FROM ${table} WHERE ${columns[0]} NOT LIKE 'xxx%'`))).toBe(0);
  });
});
