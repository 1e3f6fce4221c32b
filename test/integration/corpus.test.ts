// Real dumps nobody on this project wrote (see fixtures/corpus/README.md): mask
// them with fixtures/corpus-rules/<name>.yaml, restore the result into PostgreSQL,
// check that masked columns hold placeholders, and unmask back to the exact bytes.

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { repoRoot, runPgcloakOk } from './cli.js';
import { describeWithCorpus, publishedFile, redumpFile } from './corpus-files.js';
import { copyBlocks } from './dump-lines.js';
import { spawnSync } from 'node:child_process';
import { createDatabase, dropDatabase, pgBinary, psqlFile, queryValue, uniqueDatabaseName } from './pg.js';

interface CorpusCase {
  name: string;
  /** The pg_dump re-dump in COPY form: its COPY blocks give the expected row counts. */
  dump: string;
  /** Other forms of the same data: pg_dump --inserts, --column-inserts, the published script. */
  forms: { form: string; file: string; database?: string; viaPgRestore?: boolean }[];
  /** Queries counting rows that break a rule: each must return 0. */
  violations: Record<string, string>;
  /** Queries that must return a positive count, so the checks above are not vacuous. */
  present: Record<string, string>;
  /** Values of masked columns that must not survive anywhere in the masked dump. */
  secrets: string[];
}

const CASES: CorpusCase[] = [
  {
    name: 'pagila',
    dump: redumpFile('pagila', 'plain'),
    forms: [
      { form: 'inserts', file: redumpFile('pagila', 'inserts') },
      { form: 'column-inserts', file: redumpFile('pagila', 'column-inserts') },
      { form: 'custom archive through pg_restore -f -', file: redumpFile('pagila', 'custom'), viaPgRestore: true },
    ],
    violations: {
      'customer names and e-mails': `SELECT count(*) FROM public.customer
         WHERE first_name <> 'xxx' || customer_id OR last_name <> 'xxx' || customer_id
            OR email IS DISTINCT FROM 'xxx' || customer_id`,
      'staff': `SELECT count(*) FROM public.staff
         WHERE username <> 'xxx' || staff_id OR password IS NOT NULL OR octet_length(picture) <> 0`,
      'address phones': `SELECT count(*) FROM public.address WHERE phone <> 'xxx' || address_id`,
      'payment amounts, through the partitioned parent': `SELECT count(*) FROM public.payment WHERE amount <> 0`,
      'payment partitions holding rows, of 7': 'SELECT 7 - count(DISTINCT tableoid) FROM public.payment',
    },
    present: {
      'payment rows': 'SELECT count(*) FROM public.payment',
      'staff with e-mails': `SELECT count(*) FROM public.staff WHERE email = 'xxx' || staff_id`,
    },
    secrets: ['MARY.SMITH@sakilacustomer.org', 'schneider9987@rosenbaumreichert.com'],
  },
  {
    name: 'chinook',
    dump: redumpFile('chinook', 'plain'),
    forms: [
      { form: 'inserts', file: redumpFile('chinook', 'inserts') },
      { form: 'column-inserts', file: redumpFile('chinook', 'column-inserts') },
      // Not made by pg_dump: multi-row INSERTs, DROP/CREATE DATABASE and \c chinook.
      { form: 'published script', file: publishedFile('chinook', 'Chinook_PostgreSql.sql'), database: 'chinook' },
      { form: 'custom archive through pg_restore -f -', file: redumpFile('chinook', 'custom'), viaPgRestore: true },
    ],
    violations: {
      'customer e-mails': `SELECT count(*) FROM public.customer WHERE email <> 'xxx' || customer_id`,
      'customer postal codes fit varchar(10)': `SELECT count(*) FROM public.customer WHERE length(postal_code) > 10`,
      'employee birth dates': `SELECT count(*) FROM public.employee WHERE birth_date <> TIMESTAMP '2011-11-11 11:11:11'`,
      'invoice billing addresses': `SELECT count(*) FROM public.invoice WHERE billing_address <> 'xxx' || invoice_id`,
    },
    present: {
      'employees with birth dates': 'SELECT count(birth_date) FROM public.employee',
      'invoices': 'SELECT count(billing_address) FROM public.invoice',
    },
    secrets: ['luisg@embraer.com.br', 'Theodor-Heuss-Straße 34'],
  },
  {
    name: 'northwind',
    dump: redumpFile('northwind', 'plain'),
    forms: [
      { form: 'inserts', file: redumpFile('northwind', 'inserts') },
      { form: 'column-inserts', file: redumpFile('northwind', 'column-inserts') },
      // Hand-edited pg_dump style: INSERTs without column lists.
      { form: 'published script', file: publishedFile('northwind', 'northwind.sql') },
      { form: 'custom archive through pg_restore -f -', file: redumpFile('northwind', 'custom'), viaPgRestore: true },
    ],
    violations: {
      'customers, keyed by text codes': `SELECT count(*) FROM public.customers
         WHERE company_name <> 'xxx' || customer_id OR contact_name <> 'xxx' || customer_id`,
      'employee extensions fit varchar(4)': `SELECT count(*) FROM public.employees WHERE length(extension) > 4`,
      'employee extensions stay unique': 'SELECT count(extension) - count(DISTINCT extension) FROM public.employees',
      'employee birth dates': `SELECT count(*) FROM public.employees WHERE birth_date <> DATE '2011-11-11'`,
      'order shipping addresses': `SELECT count(*) FROM public.orders WHERE ship_address <> 'xxx' || order_id`,
    },
    present: {
      'customers with contacts': 'SELECT count(contact_name) FROM public.customers',
      'employee extensions': 'SELECT count(extension) FROM public.employees',
    },
    secrets: ['Maria Anders', 'Obere Str. 57'],
  },
];


/** Every form of each corpus database, checked against the COPY re-dump's row counts. */
const FORM_CASES = CASES.flatMap((corpus) =>
  [{ form: 'COPY re-dump', file: corpus.dump } as CorpusCase['forms'][number], ...corpus.forms].map((f) => ({ ...f, corpus, label: `${corpus.name} ${f.form}` })),
);

describeWithCorpus.each(FORM_CASES)('corpus: $label', ({ corpus, file, database, viaPgRestore }) => {
  let dumpFile = file;
  const rulesFile = path.join(repoRoot, 'fixtures', 'corpus-rules', `${corpus.name}.yaml`);
  let tmp = '';
  let keyFile = '';
  let vaultFile = '';
  let maskedFile = '';
  let maskedDb = '';

  beforeAll(() => {
    tmp = mkdtempSync(path.join(os.tmpdir(), `pgcloak-${corpus.name}-form-`));
    keyFile = path.join(tmp, 'k');
    vaultFile = path.join(tmp, 'v');
    maskedFile = path.join(tmp, 'masked.sql');
    runPgcloakOk(['keygen', '--output', keyFile]);
    if (viaPgRestore) {
      // The documented route for custom-format archives, as a user types it.
      const archive = dumpFile;
      // A fixed \restrict key, so that the two pg_restore runs below write the same bytes.
      const pipe = `"${pgBinary('pg_restore')}" --restrict-key=pgcloakCorpusTest -f - "${archive}" | "${process.execPath}" bin/pgcloak.js mask --rules "${rulesFile}" --vault "${vaultFile}" --key-file "${keyFile}" > "${maskedFile}"`;
      const r = spawnSync('bash', ['-o', 'pipefail', '-c', pipe], { cwd: repoRoot, encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      dumpFile = path.join(tmp, 'restored-plain.sql');
      const plain = spawnSync(pgBinary('pg_restore'), ['--restrict-key=pgcloakCorpusTest', '-f', dumpFile, archive], { encoding: 'utf8' });
      expect(plain.status, plain.stderr).toBe(0);
    } else {
      runPgcloakOk(['mask', '--rules', rulesFile, '--vault', vaultFile, '--key-file', keyFile, '--input', dumpFile, '--output', maskedFile]);
    }
    if (database) {
      // The script creates its own database and connects to it.
      psqlFile('postgres', maskedFile);
      maskedDb = database;
    } else {
      maskedDb = uniqueDatabaseName(`${corpus.name}_form`);
      createDatabase(maskedDb);
      psqlFile(maskedDb, maskedFile);
    }
  });

  afterAll(() => {
    if (maskedDb !== '') dropDatabase(maskedDb);
    if (tmp !== '') rmSync(tmp, { recursive: true, force: true });
  });

  it('restores every row', () => {
    const blocks = copyBlocks(readFileSync(corpus.dump, 'utf8').split('\n'));
    expect(blocks.length).toBeGreaterThan(5);
    const counts = blocks.map((block) => [block.table, queryValue(maskedDb, `SELECT count(*) FROM ${block.table}`)]);
    expect(counts).toEqual(blocks.map((block) => [block.table, String(block.end - block.first)]));
  });

  it.each(Object.entries(corpus.violations))('masks %s', (_what, sql) => {
    expect(queryValue(maskedDb, sql)).toBe('0');
  });

  it.each(Object.entries(corpus.present))('still has %s', (_what, sql) => {
    expect(Number(queryValue(maskedDb, sql))).toBeGreaterThan(0);
  });

  it('leaves none of the masked values in the masked dump', () => {
    const original = readFileSync(dumpFile);
    const masked = readFileSync(maskedFile);
    for (const secret of corpus.secrets) {
      expect(original.includes(secret), `${secret} is in the original`).toBe(true);
      expect(masked.includes(secret), `${secret} in the masked dump`).toBe(false);
    }
  });

  it('unmasks to the original, byte for byte', () => {
    const back = path.join(tmp, 'back.sql');
    runPgcloakOk(['unmask', '--vault', vaultFile, '--key-file', keyFile, '--input', maskedFile, '--output', back]);
    expect(readFileSync(back).equals(readFileSync(dumpFile))).toBe(true);
  });

  it('with rules that mask nothing, outputs the input unchanged', () => {
    const rules = path.join(tmp, 'nothing.yaml');
    writeFileSync(rules, 'tables: {}\n');
    const out = path.join(tmp, 'unchanged.sql');
    runPgcloakOk(['mask', '--rules', rules, '--vault', path.join(tmp, 'nothing.vault'), '--key-file', keyFile, '--input', dumpFile, '--output', out]);
    expect(readFileSync(out).equals(readFileSync(dumpFile))).toBe(true);
  });
});
