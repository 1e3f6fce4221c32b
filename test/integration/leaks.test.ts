// The leak scan end to end: a real pg_dump of leaks/schema.sql, masked with rules that
// cover only the e-mail column. mask --leak-check and pgcloak scan must name exactly the
// notes and jsonb columns with their counts, print no original value, and fail unless
// --allow-leaks.

import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { EXIT_CODES } from '../../src/errors.js';
import { runPgcloak, runPgcloakOk, type PgcloakResult } from './cli.js';
import { createDatabase, describeWithPg, dropDatabase, pgDump, psqlFile, uniqueDatabaseName } from './pg.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const ORIGINALS = ['alice.martin@example.org', 'bob.dupont@example.net', 'BOB.DUPONT', 'chloe@example.com', 'dan@x.io', 'eve@example.org'];

function expectNoOriginal(r: PgcloakResult): void {
  const said = `${r.stdout.toString('utf8')}\n${r.stderr}`.toLowerCase();
  for (const o of ORIGINALS) expect(said, `printed ${o}`).not.toContain(o.toLowerCase());
}

/** `place count` pairs from a human report. */
function places(report: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of report.matchAll(/^ {2}(\S+) +(\d+) {2}first at line \d+$/gm)) out[m[1]!] = Number(m[2]);
  return out;
}

const LEAKS = { 'public.person.notes': 4, 'public.person.profile': 2 };

describeWithPg('leak scan', () => {
  let tmp = '';
  let db = '';
  let dump = '';
  let key = '';
  let emailOnly = '';

  beforeAll(() => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'pgcloak-leaks-'));
    db = uniqueDatabaseName('leaks');
    createDatabase(db);
    psqlFile(db, path.join(here, 'leaks', 'schema.sql'));
    dump = path.join(tmp, 'dump.sql');
    pgDump(db, dump);
    key = path.join(tmp, 'k');
    runPgcloakOk(['keygen', '--output', key, '-q']);
    emailOnly = path.join(tmp, 'email-only.yaml');
    writeFileSync(emailOnly, 'tables:\n  person:\n    columns:\n      email: placeholder\n');
  });

  afterAll(() => {
    if (db !== '') dropDatabase(db);
    if (tmp !== '') rmSync(tmp, { recursive: true, force: true });
  });

  it('mask --leak-check names the notes and jsonb columns with their counts, prints no value, and leaves nothing behind', () => {
    const out = path.join(tmp, 'checked.sql');
    const vault = path.join(tmp, 'checked.vault');
    const r = runPgcloak(['mask', '--rules', emailOnly, '--vault', vault, '--key-file', key, '--input', dump, '--output', out, '--leak-check']);
    expect(r.status).toBe(EXIT_CODES.LEAKS_FOUND);
    expect(places(r.stderr)).toEqual(LEAKS);
    expect(r.stderr).toContain('LEAKS_FOUND: masked original values appear in 2 place(s) of the masked output (6 find(s))');
    expect(r.stderr).toMatch(/each wrong with probability < 9\.3e-10/);
    expectNoOriginal(r);
    expect(existsSync(out)).toBe(false);
    expect(existsSync(vault)).toBe(false);
  });

  it('mask --leak-check --allow-leaks reports and succeeds; pgcloak scan finds the same afterwards', () => {
    const out = path.join(tmp, 'allowed.sql');
    const vault = path.join(tmp, 'allowed.vault');
    const r = runPgcloakOk(['mask', '--rules', emailOnly, '--vault', vault, '--key-file', key, '--input', dump, '--output', out, '--leak-check', '--allow-leaks', '-q']);
    expect(places(r.stderr)).toEqual(LEAKS);
    expectNoOriginal(r);
    expect(readFileSync(out, 'utf8')).toContain('alice.martin@example.org'); // the leak is real

    const scan = runPgcloak(['scan', '--vault', vault, '--key-file', key, out]);
    expect(scan.status).toBe(EXIT_CODES.LEAKS_FOUND);
    expect(places(scan.stdout.toString('utf8'))).toEqual(LEAKS);
    expectNoOriginal(scan);

    const json = runPgcloak(['scan', '--vault', vault, '--key-file', key, '--json', '--input', out]);
    expect(json.status).toBe(EXIT_CODES.LEAKS_FOUND);
    const report = JSON.parse(json.stdout.toString('utf8')) as { places: { table: string; column: string; count: number }[]; vaultMatchesInput: boolean };
    expect(report.places.map((p) => [p.table, p.column, p.count])).toEqual([
      ['public.person', 'notes', 4],
      ['public.person', 'profile', 2],
    ]);
    expect(report.vaultMatchesInput).toBe(true);
    expectNoOriginal(json);

    const allowed = runPgcloakOk(['scan', '--vault', vault, '--key-file', key, '--allow-leaks'], { input: out });
    expect(places(allowed.stdout.toString('utf8'))).toEqual(LEAKS);
  });

  it('finds nothing once the copies are masked too', () => {
    const all = path.join(tmp, 'all.yaml');
    writeFileSync(all, 'tables:\n  person:\n    columns:\n      email: placeholder\n      notes: placeholder\n      profile: placeholder\n');
    const out = path.join(tmp, 'clean.sql');
    const vault = path.join(tmp, 'clean.vault');
    const r = runPgcloakOk(['mask', '--rules', all, '--vault', vault, '--key-file', key, '--input', dump, '--output', out, '--leak-check']);
    expect(r.stderr).toContain('pgcloak mask --leak-check: no masked original value found in the masked output');
    expect(existsSync(out) && existsSync(vault)).toBe(true);
    const scan = runPgcloakOk(['scan', '--vault', vault, '--key-file', key, out]);
    expect(scan.stdout.toString('utf8')).toContain('no masked original value found');
  });

  it('--leak-check needs an output file', () => {
    const r = runPgcloak(['mask', '--rules', emailOnly, '--vault', path.join(tmp, 'x.vault'), '--key-file', key, '--leak-check'], { input: dump });
    expect(r.status).toBe(EXIT_CODES.USAGE);
    expect(r.stdout.length).toBe(0);
  });
});
