// Dumps in single-byte encodings (pg_dump --encoding=LATIN1 / WIN1252): unmasked bytes
// pass through untouched, placeholders and constants are written in the dump's encoding,
// the masked dump restores into a UTF-8 database, and unmask gives back the same bytes.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runPgcloakOk } from './cli.js';
import { createDatabase, databaseUrl, describeWithPg, dropDatabase, pgDump, psqlCommand, psqlFile, queryRows, uniqueDatabaseName } from './pg.js';

const RULES = `tables:
  "Städte":
    columns:
      name: placeholder
      city: {strategy: constant, value: "Zürich"}
      prefs: placeholder
`;

describeWithPg.each([
  { encoding: 'LATIN1', pgDumpArgs: [] as string[] },
  { encoding: 'WIN1252', pgDumpArgs: [] as string[] },
  { encoding: 'LATIN1', pgDumpArgs: ['--inserts'] },
])('a $encoding dump $pgDumpArgs', ({ encoding, pgDumpArgs }) => {
  const source = uniqueDatabaseName('enc_src');
  const target = uniqueDatabaseName('enc_dst');
  let tmp = '';
  let dump = '';
  let masked = '';
  let vault = '';
  let key = '';

  beforeAll(() => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'pgcloak-enc-'));
    createDatabase(source);
    const euro = encoding === 'WIN1252' ? ' 5 €' : '';
    psqlCommand(
      source,
      `CREATE TABLE public."Städte" (id integer, name text, city varchar(10), prefs jsonb, "größe" text);
       INSERT INTO public."Städte" VALUES
         (1, 'Renée Müller', 'Genève', '{"nom": "Chloé"}', 'grün${euro}'),
         (2, 'Åsa Ñúñez', 'Köln', '["ça"]', 'naïve façade');`,
    );
    dump = path.join(tmp, 'dump.sql');
    pgDump(source, dump, [`--encoding=${encoding}`, ...pgDumpArgs]);
    const rules = path.join(tmp, 'rules.yaml');
    writeFileSync(rules, RULES);
    key = path.join(tmp, 'k');
    runPgcloakOk(['keygen', '--output', key]);
    masked = path.join(tmp, 'masked.sql');
    vault = path.join(tmp, 'v');
    const result = runPgcloakOk(['mask', '--rules', rules, '--vault', vault, '--key-file', key, '--input', dump, '--output', masked]);
    expect(result.stderr).toContain(encoding);
    const back = path.join(tmp, 'back.sql');
    runPgcloakOk(['unmask', '--vault', vault, '--key-file', key, '--input', masked, '--output', back, '--quiet']);
    expect(readFileSync(back).equals(readFileSync(dump)), 'unmask gives back the same bytes').toBe(true);
    createDatabase(target);
    psqlFile(target, masked);
  });

  afterAll(() => {
    dropDatabase(source);
    dropDatabase(target);
    if (tmp !== '') rmSync(tmp, { recursive: true, force: true });
  });

  it('is really in that encoding', () => {
    const bytes = readFileSync(dump);
    expect(bytes.includes(Buffer.from('Genève', 'latin1'))).toBe(true);
    expect(bytes.includes(Buffer.from('Genève', 'utf8'))).toBe(false);
  });

  it('leaves the bytes of unmasked values as they were', () => {
    const m = readFileSync(masked);
    expect(m.includes(Buffer.from('naïve façade', 'latin1'))).toBe(true);
    if (encoding === 'WIN1252') expect(m.includes(Buffer.from([0x35, 0x20, 0x80]))).toBe(true); // "5 €"
  });

  it('writes constants in the dump encoding, and restores', () => {
    expect(readFileSync(masked).includes(Buffer.from('Zürich', 'latin1'))).toBe(true);
    expect(queryRows(target, `SELECT id, name, city, prefs::text, "größe" FROM public."Städte" ORDER BY id`)).toEqual([
      ['1', 'xxx1', 'Zürich', '{"nom": "xxx1"}', `grün${encoding === 'WIN1252' ? ' 5 €' : ''}`],
      ['2', 'xxx2', 'Zürich', '["xxx2"]', 'naïve façade'],
    ]);
  });
});

describeWithPg.each([{ encoding: 'LATIN1' }, { encoding: 'WIN1252' }])('a $encoding vault put back into a database', ({ encoding }) => {
  it('restores the originals with unmask --db', () => {
    const tmp = mkdtempSync(path.join(os.tmpdir(), 'pgcloak-enc-db-'));
    const source = uniqueDatabaseName('enc_db_src');
    const target = uniqueDatabaseName('enc_db_dst');
    try {
      createDatabase(source);
      psqlCommand(
        source,
        `CREATE TABLE public."Städte" (id integer PRIMARY KEY, name text, city varchar(10), prefs jsonb, "größe" text);
         INSERT INTO public."Städte" VALUES (1, 'Renée Müller', 'Genève', '{"nom": "Chloé"}', 'grün'), (2, 'Åsa Ñúñez', 'Köln', '["ça"]', 'naïve');`,
      );
      const dump = path.join(tmp, 'dump.sql');
      pgDump(source, dump, [`--encoding=${encoding}`]);
      const rules = path.join(tmp, 'rules.yaml');
      writeFileSync(rules, RULES);
      const key = path.join(tmp, 'k');
      runPgcloakOk(['keygen', '--output', key]);
      const masked = path.join(tmp, 'masked.sql');
      const vault = path.join(tmp, 'v');
      runPgcloakOk(['mask', '--rules', rules, '--vault', vault, '--key-file', key, '--input', dump, '--output', masked, '--quiet']);
      createDatabase(target);
      psqlFile(target, masked);
      runPgcloakOk(['unmask', '--vault', vault, '--key-file', key, '--db', databaseUrl(target), '--quiet']);
      const sql = `SELECT id, name, city, prefs::text, "größe" FROM public."Städte" ORDER BY id`;
      expect(queryRows(target, sql)).toEqual(queryRows(source, sql));
    } finally {
      dropDatabase(source);
      dropDatabase(target);
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});
