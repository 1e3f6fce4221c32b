// docs/library.md's example, run as written against the test cluster: a table's rows from
// `COPY t TO STDOUT` (pg-copy-streams) through createMaskStream into a file, and back through
// createUnmaskStream into another table. The masked file is what `pgcloak mask --format
// copy-text` writes for the same rows, and `pgcloak unmask` reverses it byte for byte.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { repoRoot, runPgcloakOk } from './cli.js';
import { createDatabase, describeWithPg, dropDatabase, pg, psqlCommand, queryRows, uniqueDatabaseName } from './pg.js';

const TABLE = `CREATE TABLE public.t (id integer PRIMARY KEY, name text, email text);
INSERT INTO public.t VALUES
  (1, E'Tab\\there, "quoted"', 'a@x.io'),
  (2, NULL, E'line1\\nline2\\\\'),
  (3, 'Zoë 🎉', '');
INSERT INTO public.t SELECT i, 'name ' || i, 'p' || i || '@example.com' FROM generate_series(4, 5000) i;`;

/** The code block under `<!-- example: NAME -->` in docs/library.md. */
function docExample(name: string): string {
  const lines = readFileSync(path.join(repoRoot, 'docs', 'library.md'), 'utf8').split('\n');
  const from = lines.findIndex((l) => l === `<!-- example: ${name} -->`) + 2;
  const to = lines.findIndex((l, i) => i >= from && l.startsWith('```'));
  expect(from).toBeGreaterThan(1);
  return lines.slice(from, to).join('\n');
}

describeWithPg('docs/library.md: COPY t TO STDOUT through the mask stream, and back', () => {
  const db = uniqueDatabaseName('libstream');
  let dir = '';

  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'pgcloak-library-'));
    createDatabase(db);
    psqlCommand(db, TABLE);
    runPgcloakOk(['keygen', '--output', path.join(dir, 't.key')]);
  });
  afterAll(() => {
    dropDatabase(db);
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
  });

  it('runs as written: the rows come back unchanged into t_back, and the masked file holds none of them', () => {
    // `pgcloak` is this checkout's build; pg and pg-copy-streams its dependencies.
    const require = createRequire(import.meta.url);
    const url = (file: string): string => pathToFileURL(file).href;
    const script = docExample('copy-stream')
      .replace("from 'pgcloak'", `from '${url(path.join(repoRoot, 'dist', 'index.js'))}'`)
      .replace("from 'pg-copy-streams'", `from '${url(require.resolve('pg-copy-streams'))}'`)
      .replace("from 'pg'", `from '${url(require.resolve('pg'))}'`);
    expect(script).not.toMatch(/from '(pgcloak|pg|pg-copy-streams)'/);
    const file = path.join(dir, 'example.mjs');
    writeFileSync(file, script);
    const env: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('PG')) env[k] = v;
    Object.assign(env, { PGHOST: pg!.host, PGPORT: String(pg!.port), PGUSER: pg!.user, PGDATABASE: db });
    const r = spawnSync(process.execPath, [file], { cwd: dir, env, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe('5000 rows masked\n5000 rows unmasked\n');

    const original = queryRows(db, 'SELECT * FROM t ORDER BY id');
    expect(queryRows(db, 'SELECT * FROM t_back ORDER BY id')).toEqual(original);
    const masked = readFileSync(path.join(dir, 't.masked'), 'utf8');
    expect(masked.split('\n')[0]).toBe('1\txxx1\txxx1');
    for (const value of ['a@x.io', 'line1', 'Zoë', 'p4999@example.com', 'name 17']) expect(masked).not.toContain(value);
  });

  it('wrote what `pgcloak mask --format copy-text` writes for the same rows, and `pgcloak unmask` reverses it', () => {
    const data = path.join(dir, 't.copy');
    psqlCommand(db, `\\copy public.t (id, name, email) TO '${data}'`);
    const rules = path.join(dir, 'rules.yaml');
    writeFileSync(rules, 'tables:\n  t:\n    columns:\n      name: {strategy: placeholder, type: text}\n      email: {strategy: placeholder, type: text}\n');
    const key = path.join(dir, 't.key');
    const cliMasked = path.join(dir, 'cli.masked');
    runPgcloakOk(['mask', '--rules', rules, '--vault', path.join(dir, 'cli.vault'), '--key-file', key, '--format', 'copy-text', '--table', 't', '--columns', 'id,name,email', '--input', data, '--output', cliMasked, '--quiet']);
    expect(readFileSync(path.join(dir, 't.masked')).equals(readFileSync(cliMasked))).toBe(true);
    const back = runPgcloakOk(['unmask', '--vault', path.join(dir, 't.vault'), '--key-file', key, '--input', path.join(dir, 't.masked'), '--quiet']);
    expect(back.stdout.equals(readFileSync(data))).toBe(true);
  });
});
