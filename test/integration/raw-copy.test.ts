// Raw COPY data (COPY t TO STDOUT, text, CSV and binary): masked with types from a schema-only
// dump or from the rules, loaded back with COPY ... FROM, unmasked byte for byte.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runPgcloak, runPgcloakOk } from './cli.js';
import { createDatabase, describeWithPg, dropDatabase, pgDump, psqlCommand, queryRows, uniqueDatabaseName } from './pg.js';

const TABLE = `CREATE TABLE public.people (
  id integer PRIMARY KEY, name text, email varchar(30), born date, prefs jsonb, tags text[], note text);
CREATE TABLE public.people_back (LIKE public.people);`;
const DATA = `INSERT INTO public.people VALUES
  (1, E'Tab\\there, "quoted"', 'a@x.io', '1980-01-02', '{"en_US": "Chair"}', '{a,"b c"}', E'line1\\nline2\\\\'),
  (2, NULL, '', NULL, NULL, '{NULL}', 'plain, with comma'),
  (3, 'Zoë 🎉', 'z@x.io', '2000-02-29', '[1, "two"]', '{}', NULL);`;
const RULES_WITH_TYPES = `tables:
  people:
    columns:
      name: {strategy: placeholder, type: text}
      email: {strategy: placeholder, type: varchar(30)}
      born: {strategy: placeholder, type: date}
      prefs: {strategy: placeholder, type: jsonb}
      tags: {strategy: placeholder, type: "text[]"}
`;
const RULES_BARE = RULES_WITH_TYPES.replace(/, type: [^}]+\}/g, '}');

describeWithPg.each([
  { format: 'copy-text', copyOptions: '', extra: [] as string[], rules: 'bare', types: 'schema' },
  { format: 'copy-csv', copyOptions: 'WITH (FORMAT csv, HEADER)', extra: ['--header'], rules: 'typed', types: 'rules' },
  { format: 'copy-csv', copyOptions: 'WITH (FORMAT csv)', extra: ['--columns', 'id,name,email,born,prefs,tags,note'], rules: 'bare', types: 'schema' },
  { format: 'copy-binary', copyOptions: 'WITH (FORMAT binary)', extra: [], rules: 'bare', types: 'schema' },
])('raw $format data, types from the $types', ({ format, copyOptions, extra, rules, types }) => {
  const db = uniqueDatabaseName('raw');
  let tmp = '';
  let data = '';
  let masked = '';
  let vault = '';
  let key = '';

  beforeAll(() => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'pgcloak-raw-'));
    createDatabase(db);
    psqlCommand(db, TABLE + DATA);
    data = path.join(tmp, 'data');
    psqlCommand(db, `\\copy public.people TO '${data}' ${copyOptions}`);
    const rulesFile = path.join(tmp, 'rules.yaml');
    writeFileSync(rulesFile, rules === 'typed' ? RULES_WITH_TYPES : RULES_BARE);
    const schemaArgs: string[] = [];
    if (types === 'schema') {
      const schema = path.join(tmp, 'schema.sql');
      pgDump(db, schema, ['--schema-only']);
      schemaArgs.push('--schema', schema);
    }
    key = path.join(tmp, 'k');
    runPgcloakOk(['keygen', '--output', key]);
    masked = path.join(tmp, 'masked');
    vault = path.join(tmp, 'v');
    runPgcloakOk(['mask', '--rules', rulesFile, '--vault', vault, '--key-file', key, '--format', format, '--table', 'people', ...extra, ...schemaArgs, '--input', data, '--output', masked]);
  });

  afterAll(() => {
    dropDatabase(db);
    if (tmp !== '') rmSync(tmp, { recursive: true, force: true });
  });

  it('loads back with COPY FROM, every masked column a placeholder', () => {
    psqlCommand(db, `\\copy public.people_back FROM '${masked}' ${copyOptions}`);
    expect(queryRows(db, 'SELECT id, name, email, born, prefs::text, tags::text, note FROM public.people_back ORDER BY id')).toEqual([
      ['1', 'xxx1', 'xxx1', '2011-11-11', '{"en_US": "xxx1"}', '{xxx1,xxx1}', 'line1\nline2\\'],
      ['2', '\u2400', 'xxx2', '\u2400', '\u2400', '{NULL}', 'plain, with comma'],
      ['3', 'xxx3', 'xxx3', '2011-11-11', '[0, "xxx3"]', '{}', '\u2400'],
    ]);
  });

  it('unmasks to the same bytes', () => {
    const back = runPgcloakOk(['unmask', '--vault', vault, '--key-file', key, '--input', masked, '--quiet']);
    expect(back.stdout.equals(readFileSync(data))).toBe(true);
  });
});

describeWithPg('raw COPY data without types', () => {
  it('refuses a masked column whose type nobody gave', () => {
    const tmp = mkdtempSync(path.join(os.tmpdir(), 'pgcloak-raw-'));
    try {
      const rules = path.join(tmp, 'r.yaml');
      writeFileSync(rules, RULES_BARE);
      runPgcloakOk(['keygen', '--output', path.join(tmp, 'k')]);
      const r = runPgcloak(['mask', '--rules', rules, '--vault', path.join(tmp, 'v'), '--key-file', path.join(tmp, 'k'), '--format', 'copy-text', '--table', 'people', '--columns', 'id,name'], { input: Buffer.from('1\tx\n') });
      expect(r.status).toBe(3);
      expect(r.stderr).toContain('tables.people.columns.name: raw COPY data needs the column');
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});
