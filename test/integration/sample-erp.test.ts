// The bundled OpenERP 6.1-like sample (fixtures/sample-erp) and the ready rule sets
// in rules/: the dump is what schema-and-data.sql gives, every rule of
// rules/odoo-6.1.yaml matches a column of it, and masking it restores and reverses.

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeRun, repoRoot, runPgcloak, runPgcloakOk } from './cli.js';
import {
  createDatabase,
  describeWithPg,
  dropDatabase,
  pgDump,
  psqlFile,
  queryValue,
  uniqueDatabaseName,
} from './pg.js';

const sampleDir = path.join(repoRoot, 'fixtures', 'sample-erp');
const dumpFile = path.join(sampleDir, 'dump.sql');
const odoo61Rules = path.join(repoRoot, 'rules', 'odoo-6.1.yaml');
const odoo17Rules = path.join(repoRoot, 'rules', 'odoo-17.yaml');

describeWithPg('sample ERP dump and the Odoo rule sets', () => {
  const databases: string[] = [];
  let tmp = '';
  let keyFile = '';

  const freshDatabase = (prefix: string): string => {
    const name = uniqueDatabaseName(prefix);
    databases.push(name);
    createDatabase(name);
    return name;
  };

  beforeAll(() => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'pgcloak-sample-'));
    keyFile = path.join(tmp, 'k');
    runPgcloakOk(['keygen', '--output', keyFile]);
  });

  afterAll(() => {
    for (const db of databases) dropDatabase(db);
    if (tmp !== '') rmSync(tmp, { recursive: true, force: true });
  });

  it('dump.sql is up to date with schema-and-data.sql (scripts/make-sample-dump.sh)', () => {
    const db = freshDatabase('sample_src');
    psqlFile(db, path.join(sampleDir, 'schema-and-data.sql'));
    const fresh = path.join(tmp, 'fresh.sql');
    pgDump(db, fresh, ['--restrict-key=pgcloakSampleErpDump']);
    // The server and pg_dump versions differ between machines; the rest must not.
    const comparable = (file: string): string =>
      readFileSync(file, 'utf8').replace(/^-- Dumped (from database|by pg_dump) version .*$/gm, '');
    expect(comparable(fresh)).toBe(comparable(dumpFile));
  });

  it('masks with rules/odoo-6.1.yaml, every rule matching, and restores and reverses', () => {
    const vault = path.join(tmp, 'odoo61.vault');
    const masked = path.join(tmp, 'odoo61.sql');
    runPgcloakOk(['mask', '--strict', '--rules', odoo61Rules, '--vault', vault, '--key-file', keyFile, '--input', dumpFile, '--output', masked]);

    const db = freshDatabase('sample_masked');
    psqlFile(db, masked);
    const violations = {
      partners: `SELECT count(*) FROM res_partner WHERE name <> 'xxx' || id OR ref <> 'xxx' || id`,
      addresses: `SELECT count(*) FROM res_partner_address WHERE email <> 'xxx' || id OR street <> 'xxx' || id`,
      invoices: 'SELECT count(*) FROM account_invoice WHERE amount_total <> 0 OR residual <> 0',
      'journal items': 'SELECT count(*) FROM account_move_line WHERE debit <> 0 OR credit <> 0',
      'sale order lines': 'SELECT count(*) FROM sale_order_line WHERE price_unit <> 0 OR discount <> 0',
      attachments: 'SELECT count(*) FROM ir_attachment WHERE octet_length(db_datas) <> 0',
    };
    for (const [what, sql] of Object.entries(violations)) expect(queryValue(db, sql), what).toBe('0');
    expect(queryValue(db, 'SELECT count(*) FROM res_currency')).toBe('20');
    expect(readFileSync(masked).includes('alice.example@example.com')).toBe(false);

    const back = path.join(tmp, 'odoo61-back.sql');
    runPgcloakOk(['unmask', '--vault', vault, '--key-file', keyFile, '--input', masked, '--output', back]);
    expect(readFileSync(back).equals(readFileSync(dumpFile))).toBe(true);
  });

  it('rules/odoo-17.yaml is a valid rules file (its tables are not all in a 6.1 dump)', () => {
    const args = ['mask', '--rules', odoo17Rules, '--vault', path.join(tmp, 'odoo17.vault'), '--key-file', keyFile, '--input', dumpFile, '--output', path.join(tmp, 'odoo17.sql')];
    const result = runPgcloak(args);
    expect(result.status, describeRun(args, result)).toBe(0);
    expect(result.stderr).toMatch(/not existing/);
  });
});
