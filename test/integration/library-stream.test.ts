// docs/library.md's example, run as written against the test cluster: a table's rows from
// `COPY t TO STDOUT` (pg-copy-streams) through createMaskStream into a file, and back through
// createUnmaskStream into another table. The masked file is what `pgcloak mask --format
// copy-text` writes for the same rows, and `pgcloak unmask` reverses it byte for byte; and a
// malformed row is the error `pgcloak mask` reports, word for word.
import { spawnSync } from 'node:child_process';
import { createReadStream, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createMaskStream, EXIT_CODES, parseRules, PgcloakError, readKeyFile } from '../../src/index.js';
import { repoRoot, runPgcloak, runPgcloakOk } from './cli.js';
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
    // The same rows as raw COPY data in a file, for the command line to read.
    psqlCommand(db, `\\copy public.t (id, name, email) TO '${path.join(dir, 't.copy')}'`);
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
    const rules = path.join(dir, 'rules.yaml');
    writeFileSync(rules, 'tables:\n  t:\n    columns:\n      name: {strategy: placeholder, type: text}\n      email: {strategy: placeholder, type: text}\n');
    const key = path.join(dir, 't.key');
    const cliMasked = path.join(dir, 'cli.masked');
    runPgcloakOk(['mask', '--rules', rules, '--vault', path.join(dir, 'cli.vault'), '--key-file', key, '--format', 'copy-text', '--table', 't', '--columns', 'id,name,email', '--input', data, '--output', cliMasked, '--quiet']);
    expect(readFileSync(path.join(dir, 't.masked')).equals(readFileSync(cliMasked))).toBe(true);
    const back = runPgcloakOk(['unmask', '--vault', path.join(dir, 't.vault'), '--key-file', key, '--input', path.join(dir, 't.masked'), '--quiet']);
    expect(back.stdout.equals(readFileSync(data))).toBe(true);
  });

  it("a malformed row: the stream's one error is the message, code and position `pgcloak mask` reports", async () => {
    const data = readFileSync(path.join(dir, 't.copy'));
    const lines = data.toString().split('\n');
    lines[4000] = '4001\tonly two fields';
    const bad = path.join(dir, 'bad.copy');
    writeFileSync(bad, lines.join('\n'));
    const rulesText = 'tables:\n  t:\n    columns:\n      name: {strategy: placeholder, type: text}\n      email: {strategy: placeholder, type: text}\n';
    writeFileSync(path.join(dir, 'bad-rules.yaml'), rulesText);
    const cli = runPgcloak(['mask', '--rules', path.join(dir, 'bad-rules.yaml'), '--vault', path.join(dir, 'bad-cli.vault'), '--key-file', path.join(dir, 't.key'), '--format', 'copy-text', '--table', 't', '--columns', 'id,name,email', '--input', bad, '--quiet']);
    expect(cli.status).toBe(EXIT_CODES.COPY_FIELD_COUNT);
    const mask = createMaskStream({ rules: parseRules(rulesText), vault: { path: path.join(dir, 'bad-stream.vault'), keySource: { kind: 'key', key: readKeyFile(path.join(dir, 't.key')) } }, format: 'copy-text', table: 't', columns: ['id', 'name', 'email'] });
    const errors: unknown[] = [];
    mask.on('error', (e) => errors.push(e));
    await expect(pipeline(createReadStream(bad, { highWaterMark: 4096 }), mask, new Writable({ write: (_c, _e, done) => done() }))).rejects.toThrow();
    expect(errors).toHaveLength(1);
    const err = errors[0] as PgcloakError;
    expect(err.code).toBe('COPY_FIELD_COUNT');
    expect(err.position.line).toBe(4001);
    expect(cli.stderr.split('\n')).toContain(`pgcloak: ${err.message}`);
    expect(readdirSync(dir).filter((f) => f.startsWith('bad-') && f.includes('vault'))).toEqual([]);
  });
});
